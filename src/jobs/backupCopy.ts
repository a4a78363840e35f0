/**
 * `virtdeck backup copy`: each finished run of a destination sent on to a copy target. A run is
 * checked against its manifest's checksums before it leaves (a damaged run is never copied),
 * written under RUN.partial on a directory or ssh target and renamed only after its checksums were
 * read back there, or sent into restic and checked with `restic check --read-data-subset`. Only
 * then is it recorded (copyState.ts), so an interrupted copy is never listed as copied and the next
 * copy starts it over. Afterwards the target's own retention (keepLast) drops its oldest runs,
 * never a run a kept incremental builds on.
 */
import { hostname } from 'node:os';
import { posix } from 'node:path';
import { HostError } from '../host/errors.js';
import { type Executor, SshExecutor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import * as restic from '../host/restic.js';
import { type CatalogRun, DOMAIN_XML_NAME, MANIFEST_NAME, PARTIAL_SUFFIX } from '../model/backupManifest.js';
import { type CopyPick, type CopyRecord, type CopyTarget, copiesToDrop, describeTarget, runsToCopy, type SshCopyTarget } from '../model/copyTarget.js';
import { type Progress, ProgressTracker } from '../model/progress.js';
import { shellQuote } from '../model/shellQuote.js';
import { UserError } from '../model/userError.js';
import { readCatalog } from './backupCatalog.js';
import { copiesOn, forgetCopy, recordCopy } from './copyState.js';

/** tar's default record is 10240 bytes; a checkpoint every 100 records is one progress tick per ~1 MB. */
const CHECKPOINT_RECORDS = 100;
const CHECKPOINT_BYTES = CHECKPOINT_RECORDS * 10240;
const DELETING_SUFFIX = '.deleting';

export type CopyEvent =
  | { type: 'run-start'; guest: string; run: string; index: number; count: number; bytes: number }
  | { type: 'progress'; guest: string; run: string; progress: Progress }
  | { type: 'run-end'; guest: string; run: string; ok: boolean; bytesSent: number; error?: { sentence: string; fix: string } }
  | { type: 'dropped'; guest: string; run: string }
  | { type: 'log'; line: string };

export interface CopyOptions {
  target: CopyTarget;
  dest: string;
  /** Only these guests (empty or absent: every guest at dest). */
  guests?: string[];
  dryRun?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: CopyEvent) => void;
  stateDir?: string;
  /** Only these runs (guest/run), e.g. the run selected in the Backups pane. */
  runs?: string[];
}

export interface CopiedRun {
  guest: string;
  run: string;
  /** Bytes of the run (its files). */
  bytes: number;
  /** Bytes that went over the wire or into the repository (restic: data_added after deduplication). */
  bytesSent: number;
  snapshot?: string;
}

export interface CopyResult {
  ok: boolean;
  target: string;
  where: string;
  dest: string;
  dryRun: boolean;
  planned: { guest: string; run: string; bytes: number }[];
  copied: CopiedRun[];
  skipped: { guest: string; run: string; reason: string }[];
  failed: { guest: string; run: string; error: { sentence: string; fix: string } }[];
  dropped: { guest: string; run: string }[];
}

function errorOf(e: unknown): { sentence: string; fix: string } {
  if (e instanceof UserError || e instanceof HostError) return { sentence: e.sentence, fix: e.fix };
  return { sentence: String((e as Error)?.message ?? e), fix: 'See the message above; run the copy again.' };
}

/** The files of a run that travel: the manifest's images, the domain XML and the manifest itself. */
export function runFiles(run: CatalogRun): string[] {
  return [...run.manifest.disks.map((d) => d.file), DOMAIN_XML_NAME, MANIFEST_NAME];
}

/** Pure: `sha256sum` output → file name → hash (names as given, so only our own plain names match). */
export function parseSha256sum(stdout: string, dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (!m) continue;
    const path = m[2] as string;
    if (posix.dirname(path) === dir) out.set(posix.basename(path), m[1] as string);
  }
  return out;
}

async function sums(exec: Executor, dir: string, files: string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const r = await exec.run(['sha256sum', '--', ...files.map((f) => `${dir}/${f}`)], { signal, timeoutMs: 0 });
  return parseSha256sum(r.stdout, dir);
}

async function sizes(exec: Executor, dir: string, files: string[], signal?: AbortSignal): Promise<number> {
  const r = await exec.run(['stat', '-L', '-c', '%s', '--', ...files.map((f) => `${dir}/${f}`)], { signal });
  return r.stdout.split('\n').reduce((s, l) => s + (/^\d+$/.test(l.trim()) ? Number(l.trim()) : 0), 0);
}

/**
 * Reads the run's files once and refuses a run whose images no longer match the checksums its
 * manifest recorded: bit rot on the backup disk must not be copied offsite as if it were good.
 */
async function checkSource(exec: Executor, runDir: string, run: CatalogRun, signal?: AbortSignal): Promise<Map<string, string>> {
  const files = runFiles(run);
  const got = await sums(exec, runDir, files, signal);
  for (const f of files) {
    if (!got.has(f)) throw new UserError(`The run ${runDir} lacks ${f}.`, 'The run is damaged: verify it (virtdeck backup verify) and take a new backup.');
  }
  for (const d of run.manifest.disks) {
    if (d.sha256 !== null && got.get(d.file) !== d.sha256) {
      throw new UserError(`The image ${runDir}/${d.file} does not match the checksum in its manifest, so it is not copied.`, 'Verify the run (virtdeck backup verify) and take a new full backup.');
    }
  }
  return got;
}

function targetExec(host: HostContext, t: CopyTarget): Executor {
  if (t.type === 'ssh') return sshTargetExecutor(t);
  return host.sysExec;
}

/** Argv, run where the backups are, that unpacks a tar stream into `dir` on the target. */
function sinkArgv(t: Exclude<CopyTarget, { type: 'restic' }>, dir: string): string[] {
  const unpack = ['tar', '-C', dir, '-xf', '-'];
  if (t.type === 'dir') return unpack;
  return [...sshTargetExecutor(t).commandPrefix(), unpack.map(shellQuote).join(' ')];
}

/** The ssh target's host, reached as every ssh host virtdeck uses (BatchMode: an unknown host key fails, never asks). */
export function sshTargetExecutor(t: SshCopyTarget): SshExecutor {
  return new SshExecutor({ destination: t.host, port: t.port, identityFile: t.identityFile, ...(t.knownHostsFile ? { options: [`UserKnownHostsFile=${t.knownHostsFile}`] } : {}) });
}

/** Checkpoint lines of GNU tar ("tar: 300") → bytes moved so far. */
function checkpointReader(onBytes: (n: number) => void): (chunk: string) => void {
  return (chunk) => {
    for (const m of chunk.matchAll(/tar: (\d+)\s*$/gm)) onBytes(Number(m[1]) * CHECKPOINT_BYTES);
  };
}

/**
 * One shell on the backup host: tar reads the named files (a NUL-separated list on its stdin, so
 * no name is ever a word of the script) and the sink (local tar, or ssh + tar on the target),
 * the shell's own positional parameters, unpacks them.
 */
const PACK_SCRIPT = [
  'src="$1"; shift',
  `tar -C "$src" -cf - --null -T - --checkpoint=${CHECKPOINT_RECORDS} --checkpoint-action=echo=%u | "$@"`,
].join('\n');

async function pushTar(
  host: HostContext,
  t: Exclude<CopyTarget, { type: 'restic' }>,
  srcDir: string,
  files: string[],
  tmp: string,
  total: number,
  onProgress: (p: Progress) => void,
  signal?: AbortSignal,
): Promise<void> {
  const tracker = new ProgressTracker(Math.max(1, total));
  await host.sysExec.run(['sh', '-c', PACK_SCRIPT, 'sh', srcDir, ...sinkArgv(t, tmp)], {
    input: files.map((f) => `${f}\0`).join(''),
    signal,
    timeoutMs: 0,
    onStderr: checkpointReader((n) => onProgress(tracker.update(Math.min(n, total) / Math.max(1, total), Date.now()))),
  });
  onProgress(tracker.update(1, Date.now()));
}

interface Ctx {
  host: HostContext;
  o: CopyOptions;
  emit: (e: CopyEvent) => void;
}

async function copyToTree(c: Ctx, t: Exclude<CopyTarget, { type: 'restic' }>, pick: CopyPick, srcSums: Map<string, string>, bytes: number): Promise<CopiedRun> {
  const exec = targetExec(c.host, t);
  const guestDir = `${t.path}/${pick.guest}`;
  const final = `${guestDir}/${pick.run.name}`;
  const tmp = `${final}${PARTIAL_SUFFIX}`;
  const files = runFiles(pick.run);
  const signal = c.o.signal;
  const there = await exec.run(['sh', '-c', 'test -d "$1" || { echo noroot; exit 0; }; test -e "$2" && echo exists; exit 0', 'sh', t.path, final], { signal });
  if (there.stdout.includes('noroot')) {
    throw new UserError(`The copy target ${t.name} (${describeTarget(t)}) does not exist.`, 'Mount the offsite disk or create the directory there, then copy again.');
  }
  const verify = async (dir: string) => {
    const got = await sums(exec, dir, files, signal);
    const bad = files.filter((f) => got.get(f) !== srcSums.get(f));
    if (bad.length > 0) {
      throw new UserError(`The copy of ${pick.guest}/${pick.run.name} on ${t.name} does not match the original (${bad.join(', ')}).`, 'Check the target disk (dmesg, fsck), then copy again.');
    }
  };
  if (there.stdout.includes('exists')) {
    // Copied before but not recorded (a lost state file): adopt it only if every checksum matches.
    await verify(final);
    return { guest: pick.guest, run: pick.run.name, bytes, bytesSent: 0 };
  }
  // A .partial left by an interrupted copy is ours to remove; the run directory is made private.
  await exec.run(['sh', '-c', 'install -d -m 0700 -- "$1" && rm -rf -- "$2" && install -d -m 0700 -- "$2"', 'sh', guestDir, tmp], { signal });
  try {
    await pushTar(c.host, t, `${c.o.dest}/${pick.guest}/${pick.run.name}`, files, tmp, bytes, (p) => c.emit({ type: 'progress', guest: pick.guest, run: pick.run.name, progress: p }), signal);
    await verify(tmp);
    await exec.run(['mv', '-T', '--', tmp, final], { signal });
  } catch (e) {
    // Leave nothing that looks like a copy; a cancelled remote command is already stopped.
    await exec.run(['rm', '-rf', '--', tmp]).catch(() => undefined);
    throw e;
  }
  return { guest: pick.guest, run: pick.run.name, bytes, bytesSent: bytes };
}

async function copyToRestic(c: Ctx, t: Extract<CopyTarget, { type: 'restic' }>, pick: CopyPick, bytes: number): Promise<CopiedRun> {
  const runDir = `${c.o.dest}/${pick.guest}/${pick.run.name}`;
  const tracker = new ProgressTracker(Math.max(1, bytes));
  const r = await restic.backupRun(c.host.sysExec, t, runDir, pick.run.name, {
    signal: c.o.signal,
    onProgress: (done, total) => c.emit({ type: 'progress', guest: pick.guest, run: pick.run.name, progress: tracker.update(done / Math.max(1, total || bytes), Date.now()) }),
  });
  const snaps = await restic.listSnapshots(c.host.sysExec, t, c.o.signal);
  if (!snaps.some((s) => s.id.startsWith(r.snapshot) && s.paths.length === 1 && s.paths[0] === runDir)) {
    throw new UserError(`restic reported snapshot ${r.snapshot} of ${pick.guest}/${pick.run.name}, but the repository does not list it.`, `Check the repository (restic check --repo ${t.repository}), then copy again.`);
  }
  // Snapshots of this run an interrupted copy left behind (never recorded, so retention would never
  // see them) go now that a verified one replaces them.
  const me = hostname();
  const stale = snaps.filter((s) => !s.id.startsWith(r.snapshot) && s.paths.length === 1 && s.paths[0] === runDir && (s.hostname === undefined || s.hostname === me));
  await restic.forgetSnapshots(c.host.sysExec, t, stale.map((s) => s.id), c.o.signal);
  return { guest: pick.guest, run: pick.run.name, bytes, bytesSent: r.dataAdded, snapshot: r.snapshot };
}

/** Removes runs from a target under its retention, then their records. */
async function dropCopies(c: Ctx, t: CopyTarget, recs: CopyRecord[]): Promise<void> {
  if (recs.length === 0) return;
  if (t.type === 'restic') {
    // One forget --prune for all: prune rewrites packs, once is enough.
    await restic.forgetSnapshots(c.host.sysExec, t, recs.flatMap((r) => (r.snapshot ? [r.snapshot] : [])), c.o.signal);
  }
  for (const rec of recs) {
    if (t.type !== 'restic') {
      const run = `${t.path}/${rec.guest}/${rec.run}`;
      // Renamed first: a half-deleted run is never taken for a copy.
      await targetExec(c.host, t).run(['sh', '-c', 'if test -d "$1"; then mv -T -- "$1" "$1$2"; fi; rm -rf -- "$1$2"', 'sh', run, DELETING_SUFFIX], { signal: c.o.signal, timeoutMs: 0 });
    }
    forgetCopy(t.name, rec.guest, rec.run, c.o.stateDir);
    c.emit({ type: 'dropped', guest: rec.guest, run: rec.run });
  }
}

export async function copyRuns(host: HostContext, o: CopyOptions): Promise<CopyResult> {
  const t = o.target;
  const emit = (e: CopyEvent) => o.onEvent?.(e);
  const c: Ctx = { host, o, emit };
  const result: CopyResult = { ok: true, target: t.name, where: describeTarget(t), dest: o.dest, dryRun: Boolean(o.dryRun), planned: [], copied: [], skipped: [], failed: [], dropped: [] };
  const catalog = await readCatalog(host.sysExec, o.dest, o.signal);
  const known = new Set(catalog.map((g) => g.guest));
  for (const g of o.guests ?? []) {
    if (!known.has(g)) throw new UserError(`${o.dest} holds no backup of ${g}.`, 'List the backed-up guests with virtdeck backup list.');
  }
  const { picks: all, skipped } = runsToCopy(catalog, copiesOn(t.name, o.stateDir), o.guests);
  const picks = o.runs ? all.filter((p) => o.runs?.includes(`${p.guest}/${p.run.name}`)) : all;
  result.skipped = skipped;
  for (const g of catalog) {
    for (const p of g.partials) result.skipped.push({ guest: g.guest, run: p, reason: 'an interrupted run (incomplete), never copied' });
    for (const d of g.damaged) result.skipped.push({ guest: g.guest, run: d.name, reason: d.reason });
  }
  const sized: { pick: CopyPick; bytes: number }[] = [];
  for (const pick of picks) sized.push({ pick, bytes: await sizes(host.sysExec, `${o.dest}/${pick.guest}/${pick.run.name}`, runFiles(pick.run), o.signal) });
  result.planned = sized.map((s) => ({ guest: s.pick.guest, run: s.pick.run.name, bytes: s.bytes }));
  if (o.dryRun) return result;

  const failedGuests = new Set<string>();
  for (const [index, { pick, bytes }] of sized.entries()) {
    if (o.signal?.aborted) break;
    // After a failed run, what builds on it would arrive without its parent.
    if (failedGuests.has(pick.guest)) {
      result.skipped.push({ guest: pick.guest, run: pick.run.name, reason: 'an earlier run of this guest failed to copy' });
      continue;
    }
    emit({ type: 'run-start', guest: pick.guest, run: pick.run.name, index, count: sized.length, bytes });
    try {
      const srcDir = `${o.dest}/${pick.guest}/${pick.run.name}`;
      const srcSums = await checkSource(host.sysExec, srcDir, pick.run, o.signal);
      const copied = t.type === 'restic' ? await copyToRestic(c, t, pick, bytes) : await copyToTree(c, t, pick, srcSums, bytes);
      if (t.type === 'restic') {
        // What restic stored is read back before the run counts as copied.
        await restic.checkRepository(host.sysExec, t, o.signal);
      }
      recordCopy(t.name, { guest: pick.guest, run: pick.run.name, parent: pick.run.manifest.parent, at: new Date().toISOString(), bytes, ...(copied.snapshot ? { snapshot: copied.snapshot } : {}) }, o.stateDir);
      result.copied.push(copied);
      emit({ type: 'run-end', guest: pick.guest, run: pick.run.name, ok: true, bytesSent: copied.bytesSent });
    } catch (e) {
      const error = errorOf(e);
      result.failed.push({ guest: pick.guest, run: pick.run.name, error });
      failedGuests.add(pick.guest);
      emit({ type: 'run-end', guest: pick.guest, run: pick.run.name, ok: false, bytesSent: 0, error });
      // A wrong password or a missing target fails every run the same way.
      if (e instanceof UserError && /password|does not exist|no restic repository/.test(e.sentence)) break;
    }
  }
  if (!o.signal?.aborted && result.failed.length === 0) {
    const drops = copiesToDrop(copiesOn(t.name, o.stateDir), t.keepLast);
    try {
      await dropCopies(c, t, drops);
      result.dropped.push(...drops.map((r) => ({ guest: r.guest, run: r.run })));
    } catch (e) {
      result.failed.push({ guest: drops[0]?.guest ?? '', run: drops[0]?.run ?? '', error: errorOf(e) });
    }
  }
  result.ok = result.failed.length === 0 && !o.signal?.aborted;
  return result;
}
