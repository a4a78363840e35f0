/**
 * Live block copy of one disk (`virsh blockcopy` without --wait): started, polled for progress,
 * pivoted or aborted by virtdeck itself, so the console can draw percent, bytes and rate and a
 * cancel stops QEMU's job instead of only the virsh that waited for it.
 */
import type { HostContext } from './hostContext.js';
import { virshArgv } from './virsh.js';

export interface BlockJobInfo {
  type: string;
  cur: number;
  end: number;
}

/** Pure: `virsh blockjob --raw` → the job, or null when the disk has none (virsh prints nothing then). */
export function parseBlockJobRaw(text: string): BlockJobInfo | null {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z]+)=(.*)$/.exec(line);
    if (m?.[1]) fields.set(m[1], (m[2] ?? '').trim());
  }
  const type = fields.get('type');
  if (!type) return null;
  const num = (k: string) => {
    const n = Number(fields.get(k));
    return Number.isFinite(n) && n >= 0 ? n : 0;
  };
  return { type, cur: num('cur'), end: num('end') };
}

export function blockCopyArgv(host: HostContext, name: string, target: string, dest: string): string[] {
  // --transient-job: the persistent definition keeps the overlay until the pivot, so a power cut
  // mid-copy leaves a guest that boots as before.
  return virshArgv(host, ['blockcopy', '--domain', name, '--path', target, '--dest', dest, '--format', 'qcow2', '--transient-job']);
}

export async function blockJobInfo(host: HostContext, name: string, target: string, signal?: AbortSignal): Promise<BlockJobInfo | null> {
  const r = await host.virshExec.run(virshArgv(host, ['blockjob', '--domain', name, '--path', target, '--raw']), { signal });
  return parseBlockJobRaw(r.stdout);
}

export async function startBlockCopy(host: HostContext, name: string, target: string, dest: string, signal?: AbortSignal): Promise<void> {
  await host.virshExec.run(blockCopyArgv(host, name, target, dest), { signal });
}

/** Switches the guest to the copy; false while QEMU has not yet reported the mirror ready. */
export async function pivotBlockJob(host: HostContext, name: string, target: string): Promise<boolean> {
  const r = await host.virshExec.run(virshArgv(host, ['blockjob', '--domain', name, '--path', target, '--pivot']), { okExitCodes: [1] });
  if (r.exitCode === 0) return true;
  if (/not ready|still active|not yet/i.test(r.stderr)) return false;
  // Any other refusal is the real error: run again so the executor words it.
  await host.virshExec.run(virshArgv(host, ['blockjob', '--domain', name, '--path', target, '--pivot']));
  return true;
}

/** Stops the job and leaves the guest on its current disk; no job is fine. */
export async function abortBlockJob(host: HostContext, name: string, target: string): Promise<void> {
  await host.virshExec.run(virshArgv(host, ['blockjob', '--domain', name, '--path', target, '--abort']), { okExitCodes: [1] });
}
