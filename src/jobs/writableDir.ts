import type { Executor } from '../host/exec.js';
import type { DirState } from '../model/writableDir.js';
import { PROBE, parseDestinationProbe } from './destination.js';

/**
 * What a job would find writing into `dir`: the real write probe backup destinations get.
 * Undefined when the probe's answer says nothing (then only the job's other checks decide).
 */
export async function probeWritableDir(exec: Executor, dir: string, signal?: AbortSignal): Promise<DirState | undefined> {
  const r = await exec.run(['sh', '-c', PROBE, 'sh', dir], { signal });
  if (!/^exists=/m.test(r.stdout)) return undefined;
  const f = parseDestinationProbe(dir, r.stdout);
  if (!f.exists) return 'missing';
  if (!f.isDir) return 'not-dir';
  return f.writable && f.probeOk ? 'ok' : 'read-only';
}
