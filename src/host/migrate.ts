/**
 * libvirt's migration as virtdeck drives it: the `virsh migrate` argv, the job statistics of
 * `virsh domjobinfo --rawstats`, `domjobabort`, and the destination facts the checks read. virsh
 * drives both ends (a managed, non-p2p migration), so the source never needs credentials for the
 * destination; QEMU's own stream goes to the migration URI (tcp://HOST).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shellQuote } from '../model/shellQuote.js';
import { HostError } from './errors.js';
import { type Executor, SshExecutor } from './exec.js';
import type { HostContext } from './hostContext.js';
import { virshArgv } from './virsh.js';
import type { VirshChannel } from './virshChannel.js';

export interface MigrateArgvOptions {
  guest: string;
  destUri: string;
  migrateUri: string;
  live: boolean;
  copyStorage: boolean;
  /** Keep the source's (now inactive) definition: no --undefinesource. */
  keepSource: boolean;
  bandwidthMiB?: number;
  autoConverge?: boolean;
  postCopy?: boolean;
  /**
   * Storage is shared but libvirt does not know the filesystem as shared (it trusts only NFS,
   * GFS2, Ceph, …): virtdeck's marker proved both hosts read the same file.
   */
  unsafe?: boolean;
}

/** `virsh migrate …` as run on the machine virtdeck runs on; the guest name is one argv word. */
export function migrateArgv(source: HostContext, o: MigrateArgvOptions): string[] {
  const flags = [
    ...(o.live ? ['--live'] : []),
    '--persistent',
    ...(o.keepSource ? [] : ['--undefinesource']),
    ...(o.copyStorage ? ['--copy-storage-all'] : []),
    ...(o.autoConverge ? ['--auto-converge'] : []),
    ...(o.postCopy ? ['--postcopy', '--postcopy-after-precopy'] : []),
    ...(o.bandwidthMiB ? ['--bandwidth', String(o.bandwidthMiB)] : []),
    ...(o.unsafe ? ['--unsafe'] : []),
  ];
  return virshArgv(source, ['migrate', ...flags, '--domain', o.guest, '--desturi', o.destUri, '--migrateuri', o.migrateUri]);
}

export interface JobStats {
  /** libvirt's job type: None, Bounded, Unbounded, Completed, Failed, Cancelled. */
  type: string;
  operation: string | null;
  elapsedMs: number | null;
  dataTotal: number | null;
  dataProcessed: number | null;
  dataRemaining: number | null;
  memoryTotal: number | null;
  memoryProcessed: number | null;
  memoryRemaining: number | null;
  diskTotal: number | null;
  diskProcessed: number | null;
  diskRemaining: number | null;
  /** Bytes per second of the memory stream. */
  memoryBps: number | null;
  diskBps: number | null;
  expectedDowntimeMs: number | null;
  /** Of a completed migration: how long the guest was paused. */
  downtimeMs: number | null;
}

const JOB_TYPES = ['None', 'Bounded', 'Unbounded', 'Completed', 'Failed', 'Cancelled'];
/** virDomainJobOperation, as --rawstats prints it (a number). */
const OPERATIONS = ['unknown', 'start', 'save', 'restore', 'incoming migration', 'outgoing migration', 'snapshot', 'snapshot revert', 'dump', 'backup', 'snapshot delete'];

/**
 * Pure: `virsh domjobinfo --rawstats` → numbers. virsh prints "Job type: N" (libvirt's enum, 0 is
 * none) and then one "name: value" line per typed parameter; a name instead of a number is read too.
 */
export function parseJobStats(text: string): JobStats {
  const raw = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_][\w. ]*?)\s*[:=]\s*(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined) raw.set(m[1].trim().toLowerCase(), m[2].trim());
  }
  const num = (k: string): number | null => {
    const v = raw.get(k);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
  };
  const named = (k: string, names: string[]): string | null => {
    const v = raw.get(k);
    if (v === undefined) return null;
    return /^\d+$/.test(v) ? (names[Number(v)] ?? v) : v;
  };
  return {
    type: named('job type', JOB_TYPES) ?? named('type', JOB_TYPES) ?? 'None',
    operation: named('operation', OPERATIONS),
    elapsedMs: num('time_elapsed'),
    dataTotal: num('data_total'),
    dataProcessed: num('data_processed'),
    dataRemaining: num('data_remaining'),
    memoryTotal: num('memory_total'),
    memoryProcessed: num('memory_processed'),
    memoryRemaining: num('memory_remaining'),
    diskTotal: num('disk_total'),
    diskProcessed: num('disk_processed'),
    diskRemaining: num('disk_remaining'),
    memoryBps: num('memory_bps'),
    diskBps: num('disk_bps'),
    expectedDowntimeMs: num('downtime'),
    downtimeMs: num('downtime'),
  };
}

/** The guest's current job (type None when there is none); a guest that is gone reads as None. */
export async function jobStats(host: HostContext, guest: string, o: { completed?: boolean; signal?: AbortSignal } = {}): Promise<JobStats> {
  const args = ['domjobinfo', '--domain', guest, '--rawstats', ...(o.completed ? ['--completed', '--keep-completed'] : [])];
  const r = await host.virshExec.run(virshArgv(host, args), { okExitCodes: [1], signal: o.signal });
  return r.exitCode === 0 ? parseJobStats(r.stdout) : parseJobStats('');
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * jobStats asked of a long-lived virsh (virshChannel.ts): a running migration is polled without
 * a process and a connection per poll, which on a small host take CPU from the guest being moved.
 * By UUID, as a channel's commands never hold a guest name.
 */
export async function jobStatsVia(channel: VirshChannel, uuid: string, o: { timeoutMs?: number } = {}): Promise<JobStats> {
  if (!UUID_RE.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  const a = await channel.ask([`domjobinfo --domain ${uuid} --rawstats`], o.timeoutMs ? { timeoutMs: o.timeoutMs } : {});
  return parseJobStats(a.stdout);
}

/**
 * The source's `job-completed` event for one guest, heard by a `virsh event` started before the
 * migration: libvirt sends the finished job's figures (totals, downtime) with it, so nobody has
 * to ask the destination over ssh afterwards. `stop()` ends the listener; `result` is null when
 * no event came (the migration failed, or the listener was not registered in time).
 */
export function listenJobCompleted(host: HostContext, uuid: string): { result: Promise<JobStats | null>; stop: () => void } {
  if (!UUID_RE.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  const stopper = new AbortController();
  // Without --loop virsh ends after the first event, having printed its head line and one
  // "name: value" line per figure.
  const run = host.virshExec.run(virshArgv(host, ['event', '--domain', uuid, '--event', 'job-completed']), { timeoutMs: 0, signal: stopper.signal, okExitCodes: [1] });
  const result = run.then((r) => (/job-completed/.test(r.stdout) ? parseJobStats(r.stdout) : null)).catch(() => null);
  return { result, stop: () => stopper.abort() };
}

/** `domjobabort`: whether libvirt took it (false: no job to abort yet, or one it cannot abort now). */
export async function abortJob(host: HostContext, guest: string): Promise<boolean> {
  return (await host.virshExec.run(virshArgv(host, ['domjobabort', '--domain', guest]), { okExitCodes: [1] })).exitCode === 0;
}

/** `hypervisor-cpu-compare` of the guest's XML on the destination: libvirt's verdict line. */
export async function cpuCompare(dest: HostContext, domainXml: string, virttype: string): Promise<{ compatible: boolean; text: string }> {
  // virsh reads the XML from a file on this machine; the directory is private (mkdtemp, 0700).
  const dir = mkdtempSync(join(tmpdir(), 'virtdeck-cpu-'));
  try {
    const file = join(dir, 'domain.xml');
    writeFileSync(file, domainXml, { mode: 0o600 });
    const r = await dest.virshExec.run(virshArgv(dest, ['hypervisor-cpu-compare', '--file', file, '--virttype', virttype]), { okExitCodes: [1] });
    const text = `${r.stdout}\n${r.stderr}`.trim().split('\n').find((l) => l.trim()) ?? '';
    return { compatible: r.exitCode === 0 && !/incompatible/i.test(r.stdout), text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the host's libvirt offers KVM (its capabilities list a kvm domain type). */
export async function offersKvm(host: HostContext): Promise<boolean> {
  const r = await host.virshExec.run(virshArgv(host, ['capabilities']));
  return /<domain type=['"]kvm['"]/.test(r.stdout);
}

/** Free memory for a new guest: free + buffers + cached, as `virsh nodememstats` reports it. */
export async function availableMemoryKiB(host: HostContext): Promise<number> {
  const r = await host.virshExec.run(virshArgv(host, ['nodememstats']));
  const kib = (k: string) => Number(new RegExp(`^${k}\\s*:\\s*(\\d+)\\s*KiB`, 'm').exec(r.stdout)?.[1] ?? 0);
  return kib('free') + kib('buffers') + kib('cached');
}

/** Names of the host's checkpoints of one guest. */
export async function checkpointNames(host: HostContext, guest: string): Promise<string[]> {
  const r = await host.virshExec.run(virshArgv(host, ['checkpoint-list', '--domain', guest, '--name']));
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Answers of a storage probe on one host: which of the paths exist, the free bytes of each directory. */
export interface StorageProbe {
  existing: string[];
  availBytes: Map<string, number | null>;
  /** The marker's content as this host reads it ('' when it does not see the file). */
  marker: string;
}

/**
 * One shell per host: the marker file (shared storage test), which disk paths already exist, and
 * df of each directory's nearest existing ancestor. Paths travel as arguments, never in the script.
 */
const STORAGE_PROBE = [
  'm="$1"; shift',
  'if test -n "$m" && test -f "$m"; then printf "marker=%s\\n" "$(head -c 64 -- "$m")"; fi',
  'for f in "$@"; do',
  '  if test -e "$f"; then printf "exists\\t%s\\n" "$f"; fi',
  '  d=$(dirname -- "$f"); while ! test -d "$d"; do d=$(dirname -- "$d"); done',
  '  printf "avail\\t%s\\t%s\\n" "$(df --output=avail -B1 -- "$d" 2>/dev/null | tail -n1 | tr -d " ")" "$f"',
  'done',
].join('\n');

export async function probeStorage(exec: Executor, marker: string, paths: string[]): Promise<StorageProbe> {
  const r = await exec.run(['sh', '-c', STORAGE_PROBE, 'sh', marker, ...paths]);
  const out: StorageProbe = { existing: [], availBytes: new Map(), marker: '' };
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('marker=')) out.marker = line.slice('marker='.length);
    const [kind, a, b] = line.split('\t');
    if (kind === 'exists' && a) out.existing.push(a);
    if (kind === 'avail' && a !== undefined && b) out.availBytes.set(b, /^\d+$/.test(a) ? Number(a) : null);
  }
  return out;
}

/** The argv that runs `argv` where `exec` runs its commands (through ssh for a remote host). */
function argvOn(exec: Executor, argv: string[]): string[] {
  return exec instanceof SshExecutor ? [...exec.commandPrefix(), argv.map(shellQuote).join(' ')] : argv;
}

export interface StreamCopyResult {
  bytes: number;
  sha256: string;
}

/**
 * Copies a file from one host to another through this machine: `dd` reads it there, `dd` writes
 * it on the other side (over each host's own ssh), and the bytes are hashed on the way. A cancel
 * kills both ends; the caller removes the partial copy.
 */
export function streamFile(
  from: Executor,
  fromPath: string,
  to: Executor,
  toPath: string,
  o: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<StreamCopyResult> {
  const readArgv = argvOn(from, ['dd', `if=${fromPath}`, 'bs=4M', 'status=none']);
  const writeArgv = argvOn(to, ['dd', `of=${toPath}`, 'bs=4M', 'conv=sparse', 'status=none']);
  return new Promise((resolve, reject) => {
    const reader = spawn(readArgv[0] as string, readArgv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    const writer = spawn(writeArgv[0] as string, writeArgv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    let errText = '';
    let failed = false;
    reader.stderr.on('data', (d: Buffer) => {
      errText += d.toString();
    });
    writer.stderr.on('data', (d: Buffer) => {
      errText += d.toString();
    });
    reader.stdout.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
      o.onBytes?.(bytes);
    });
    reader.stdout.pipe(writer.stdin);
    writer.stdin.on('error', () => undefined);
    const stopBoth = () => {
      failed = true;
      reader.kill('SIGTERM');
      writer.kill('SIGTERM');
    };
    o.signal?.addEventListener('abort', stopBoth, { once: true });
    // Settled once both ends have closed: the writer may end before the reader's exit is reported
    // (it has read the last byte), and a reader code not known yet is not a failure.
    let readerCode: number | null | undefined;
    let writerCode: number | null | undefined;
    const settle = () => {
      if (readerCode === undefined || writerCode === undefined) return;
      const code = writerCode;
      o.signal?.removeEventListener('abort', stopBoth);
      if (o.signal?.aborted) {
        reject(new HostError({ sentence: `The copy of ${fromPath} was cancelled.`, fix: 'Start the migration again when ready.', command: readArgv, stderr: '', code: 'cancelled' }));
      } else if (failed || readerCode !== 0 || code !== 0) {
        reject(
          new HostError({
            sentence: `Copying ${fromPath} to ${toPath} failed: ${firstError(errText) ?? `exit ${readerCode !== 0 ? readerCode : code}`}.`,
            fix: 'Check that both hosts answer over SSH and that the destination has room, then run the migration again.',
            command: [...readArgv, '|', ...writeArgv],
            stderr: errText,
          }),
        );
      } else resolve({ bytes, sha256: hash.digest('hex') });
    };
    reader.on('close', (code) => {
      readerCode = code;
      if (code !== 0) stopBoth();
      settle();
    });
    writer.on('close', (code) => {
      writerCode = code;
      // A reader with no one left to take its bytes would wait on a full pipe forever.
      if (code !== 0 && readerCode === undefined) stopBoth();
      settle();
    });
  });
}

/** The first line of the ends' stderr that says something: ssh's notice of a host key it added does not. */
function firstError(text: string): string | undefined {
  return text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !/^Warning: Permanently added .* to the list of known hosts\.?$/.test(l));
}
