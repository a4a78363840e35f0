/** Whether this host can serve a FUSE filesystem (restic mount): /dev/fuse and fusermount, in one process. */
import type { FuseProbe } from '../model/resticMount.js';
import type { Executor } from './exec.js';

const PROBE = 'if [ -c /dev/fuse ]; then echo dev; fi; command -v fusermount3 || command -v fusermount || true';

export async function probeFuse(exec: Executor, signal?: AbortSignal): Promise<FuseProbe> {
  const r = await exec.run(['sh', '-c', PROBE], { signal, okExitCodes: [0, 1] });
  const lines = r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  return { devFuse: lines[0] === 'dev', fusermount: lines.find((l) => l.startsWith('/')) ?? null };
}
