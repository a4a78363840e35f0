/**
 * Typed virsh calls the backup engine needs: libvirt's push backup and checkpoints, disk-only
 * external snapshots and active block commit, the disk list, and a guest-agent ping. Each has an
 * argv builder so plans show exactly what will run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostError } from './errors.js';
import type { ExecOptions, ExecResult } from './exec.js';
import type { HostContext } from './hostContext.js';
import { virshArgv } from './virsh.js';

function virsh(host: HostContext, args: string[], opts?: ExecOptions): Promise<ExecResult> {
  return host.virshExec.run(virshArgv(host, args), opts);
}

/**
 * virsh reads XML from files, and virsh always runs on this machine (libvirt does its own
 * remoting), so a private local temp dir serves remote hosts too.
 */
async function withXmlFiles<T>(files: Record<string, string>, fn: (paths: Record<string, string>) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'virtdeck-backup-'));
  try {
    const paths: Record<string, string> = {};
    for (const [name, text] of Object.entries(files)) {
      paths[name] = join(dir, name);
      await writeFile(paths[name] as string, text, { mode: 0o600 });
    }
    return await fn(paths);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Push backup

export function backupBeginArgv(host: HostContext, guest: string, backupXmlPath: string, checkpointXmlPath: string | null): string[] {
  return virshArgv(host, ['backup-begin', '--domain', guest, '--backupxml', backupXmlPath, ...(checkpointXmlPath ? ['--checkpointxml', checkpointXmlPath] : [])]);
}

/** Starts a push backup; it runs inside libvirtd/QEMU, so this returns at once. */
export async function backupBegin(host: HostContext, guest: string, backupXml: string, checkpointXml: string | null): Promise<void> {
  await withXmlFiles({ 'backup.xml': backupXml, ...(checkpointXml ? { 'checkpoint.xml': checkpointXml } : {}) }, async (p) => {
    const argv = backupBeginArgv(host, guest, p['backup.xml'] as string, p['checkpoint.xml'] ?? null);
    await host.virshExec.run(argv);
  });
}

export interface JobInfo {
  /** libvirt's job type: 0 none, 1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled. */
  type: number;
  /** 9 = backup. */
  operation: number | null;
  /** Bytes of disk the job has to read and has read (backup jobs report disk_*). */
  total: number | null;
  processed: number | null;
  /** Only in --completed answers: whether the job succeeded. */
  success: boolean | null;
  error: string | null;
}

export const JOB_TYPE = { none: 0, bounded: 1, unbounded: 2, completed: 3, failed: 4, cancelled: 5 } as const;

/** Parses `virsh domjobinfo --rawstats` ("key: value" lines). */
export function parseJobInfo(stdout: string): JobInfo {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^\s*([A-Za-z_ ]+?):\s*(.*)$/.exec(line);
    if (m) kv.set((m[1] as string).trim().toLowerCase().replace(/ /g, '_'), (m[2] as string).trim());
  }
  const num = (k: string) => (kv.has(k) && /^\d+$/.test(kv.get(k) as string) ? Number(kv.get(k)) : null);
  const success = kv.get('success');
  return {
    type: num('job_type') ?? JOB_TYPE.none,
    operation: num('operation'),
    total: num('disk_total') ?? num('data_total'),
    processed: num('disk_processed') ?? num('data_processed'),
    success: success === undefined ? null : success === '1',
    error: kv.get('errmsg') ?? null,
  };
}

export async function domJobInfo(host: HostContext, guest: string, opts: { completed?: boolean } = {}): Promise<JobInfo> {
  const r = await virsh(host, ['domjobinfo', '--domain', guest, '--rawstats', ...(opts.completed ? ['--completed', '--anystats'] : [])]);
  return parseJobInfo(r.stdout);
}

export function domJobAbortArgv(host: HostContext, guest: string): string[] {
  return virshArgv(host, ['domjobabort', '--domain', guest]);
}

/** Aborts the guest's running job; "no job" is not an error (it already ended). */
export async function domJobAbort(host: HostContext, guest: string): Promise<void> {
  try {
    await host.virshExec.run(domJobAbortArgv(host, guest));
  } catch (e) {
    if (e instanceof HostError && /no job is active|not running|is not active/i.test(e.stderr)) return;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

export async function checkpointList(host: HostContext, guest: string): Promise<string[]> {
  const r = await virsh(host, ['checkpoint-list', '--domain', guest, '--name', '--topological']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export function checkpointDeleteArgv(host: HostContext, guest: string, name: string, metadataOnly = false): string[] {
  return virshArgv(host, ['checkpoint-delete', '--domain', guest, '--checkpointname', name, ...(metadataOnly ? ['--metadata'] : [])]);
}

/**
 * Deletes a checkpoint and its bitmaps; a checkpoint that does not exist is already deleted.
 * When libvirt cannot remove the bitmaps (the image is gone or locked), its metadata goes anyway,
 * so no checkpoint is left that a later incremental would trust.
 */
export async function checkpointDelete(host: HostContext, guest: string, name: string): Promise<'deleted' | 'absent' | 'metadata-only'> {
  try {
    await host.virshExec.run(checkpointDeleteArgv(host, guest, name));
    return 'deleted';
  } catch (e) {
    if (!(e instanceof HostError)) throw e;
    if (/checkpoint not found|no domain checkpoint with matching name|Domain not found|failed to get domain/i.test(e.stderr)) return 'absent';
    await host.virshExec.run(checkpointDeleteArgv(host, guest, name, true));
    return 'metadata-only';
  }
}

/**
 * Bytes changed since a checkpoint per disk (`checkpoint-dumpxml --size`): needs the guest
 * running and the bitmap present in QEMU, so it doubles as the "bitmap missing" check.
 * A disk without a bitmap in the answer maps to null.
 */
export async function checkpointSizes(host: HostContext, guest: string, name: string): Promise<Map<string, number | null>> {
  const r = await virsh(host, ['checkpoint-dumpxml', '--domain', guest, '--checkpointname', name, '--size', '--no-domain']);
  return parseCheckpointSizes(r.stdout);
}

/** The attribute text of every `<disk …>` tag, found with indexOf: a regex scan restarted at each `<disk` of an unclosed run of them is quadratic. */
function diskTags(xml: string): string[] {
  const tags: string[] = [];
  let from = 0;
  for (;;) {
    const start = xml.indexOf('<disk', from);
    if (start < 0) break;
    const end = xml.indexOf('>', start);
    if (end < 0) break;
    const body = xml.slice(start + 5, end);
    if (/^\s/.test(body)) tags.push(body.replace(/\/$/, ''));
    from = end + 1;
  }
  return tags;
}

export function parseCheckpointSizes(xml: string): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const attrs of diskTags(xml)) {
    const name = /\bname='([^']*)'|\bname="([^"]*)"/.exec(attrs);
    const kind = /\bcheckpoint='([^']*)'|\bcheckpoint="([^"]*)"/.exec(attrs);
    const size = /\bsize='(\d+)'|\bsize="(\d+)"/.exec(attrs);
    const disk = name?.[1] ?? name?.[2];
    if (!disk) continue;
    if ((kind?.[1] ?? kind?.[2]) !== 'bitmap') continue;
    out.set(disk, size ? Number(size[1] ?? size[2]) : null);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Disk-only snapshots and active commit

export type DiskSpec = { target: string; file: string } | { target: string; snapshot: 'no' };

export function snapshotDiskOnlyArgv(host: HostContext, guest: string, name: string, disks: DiskSpec[], quiesce: boolean): string[] {
  const specs = disks.flatMap((d) => ['--diskspec', 'file' in d ? `${d.target},snapshot=external,file=${d.file.replace(/,/g, ',,')}` : `${d.target},snapshot=no`]);
  return virshArgv(host, ['snapshot-create-as', '--domain', guest, '--name', name, '--disk-only', '--atomic', '--no-metadata', ...(quiesce ? ['--quiesce'] : []), ...specs]);
}

export function blockCommitArgv(host: HostContext, guest: string, target: string): string[] {
  return virshArgv(host, ['blockcommit', '--domain', guest, '--path', target, '--active', '--pivot', '--wait']);
}

/**
 * Merges the active overlay of a running guest's disk into its backing file and pivots back.
 * Under heavy writes the job may not reach "ready" in time for the pivot: retried a few times.
 */
export async function blockCommitActive(host: HostContext, guest: string, target: string, opts: { attempts?: number; signal?: AbortSignal } = {}): Promise<void> {
  const attempts = opts.attempts ?? 5;
  for (let i = 1; ; i++) {
    try {
      await host.virshExec.run(blockCommitArgv(host, guest, target), { timeoutMs: 0, signal: opts.signal });
      return;
    } catch (e) {
      const retry = e instanceof HostError && /not ready for pivot|block job .* already|another block job/i.test(`${e.stderr} ${e.sentence}`);
      if (!retry || i >= attempts) throw e;
      await host.virshExec.run(virshArgv(host, ['blockjob', '--domain', guest, '--path', target, '--abort'])).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500 * i));
    }
  }
}

export interface BlockDevice {
  target: string;
  /** file, block, network… */
  type: string;
  /** disk, cdrom, floppy. */
  device: string;
  source: string | null;
}

/** Parses `virsh domblklist --details`. */
export function parseDomBlkList(stdout: string): BlockDevice[] {
  const out: BlockDevice[] = [];
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 3 || cols[0] === 'Type' || /^-+$/.test(cols[0] as string)) continue;
    const [type, device, target, ...rest] = cols as [string, string, string, ...string[]];
    const source = rest.join(' ');
    out.push({ type, device, target, source: source === '-' || source === '' ? null : source });
  }
  return out;
}

/** The current disk sources: the live ones of a running guest, or (inactive) the definition's. */
export async function domBlkList(host: HostContext, guest: string, opts: { inactive?: boolean } = {}): Promise<BlockDevice[]> {
  const r = await virsh(host, ['domblklist', '--domain', guest, '--details', ...(opts.inactive ? ['--inactive'] : [])]);
  return parseDomBlkList(r.stdout);
}

/** The definition to keep with a backup: inactive (what restores), with secrets kept (VNC passwords). */
export function dumpXmlForBackupArgv(host: HostContext, guest: string): string[] {
  return virshArgv(host, ['dumpxml', '--domain', guest, '--inactive', '--security-info']);
}

export async function dumpXmlForBackup(host: HostContext, guest: string): Promise<string> {
  return (await host.virshExec.run(dumpXmlForBackupArgv(host, guest))).stdout;
}

/** True when the guest agent answers (then a snapshot can be quiesced); any failure is false. */
export async function agentPing(host: HostContext, guest: string): Promise<boolean> {
  try {
    await virsh(host, ['qemu-agent-command', '--domain', guest, '--timeout', '5', '{"execute":"guest-ping"}'], { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}
