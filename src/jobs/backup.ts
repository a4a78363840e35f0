/**
 * Backups, the side-effect half: reads what each guest is (state, disks, checkpoints, agent) and
 * what the destination holds, lets model/backupPlan decide and plan, then runs each guest's plan
 * with the shared runner (one journal per guest). The actions here are the steps that are more
 * than one command: the push backup with its progress polling, saving the definition, committing
 * overlays, and writing the manifest.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname as localHostname } from 'node:os';
import { join } from 'node:path';
import { configuredGroup, loadConfig } from '../config/config.js';
import { configFile, stateDir as defaultStateDir } from '../config/paths.js';
import {
  agentPing,
  backupBegin,
  blockCommitActive,
  checkpointDelete,
  checkpointList,
  checkpointSizes,
  domBlkList,
  domJobAbort,
  domJobInfo,
  dumpXmlForBackup,
  JOB_TYPE,
} from '../host/backupApi.js';
import { HostError, toHostError } from '../host/errors.js';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { detectImageFormat } from '../host/imageInspect.js';
import * as qemuImg from '../host/qemuImg.js';
import { domState, type GuestRow, listGuests, virshArgv } from '../host/virsh.js';
import { type BackupConfig, backupConfigOf } from '../model/backupConfig.js';
import { DiskProgressTracker, type DiskTarget } from '../model/backupDiskProgress.js';
import { type BackupManifest, type CatalogRun, MANIFEST_NAME, serializeManifest } from '../model/backupManifest.js';
import {
  BACKUP_JOB_KIND,
  type BackupDecision,
  CHECKPOINT_PREFIX,
  copyFormat,
  type DiskFacts,
  decideBackup,
  type GuestBackupPlan,
  type GuestFacts,
  isOverlayPath,
  type ManifestDraft,
  planGuestBackup,
  pointDiskAt,
  spaceNeeded,
} from '../model/backupPlan.js';
import { isActive } from '../model/guest.js';
import { UserError } from '../model/userError.js';
import { readCatalog } from './backupCatalog.js';
import { defineRepointed } from './defineRepointed.js';
import { availableBytes, checkDestination, checkSpace } from './destination.js';
import { statIdentities } from './runCheck.js';
import { type Action, type RunnerEvent, runPlan } from './runner.js';
import { recordVerified, type VerifiedStore } from './verifiedRuns.js';

export function loadBackupConfig(file: string = configFile()): BackupConfig {
  return backupConfigOf(loadConfig(file), file);
}

// ---------------------------------------------------------------------------------------------
// Small file helpers on the host that holds the destination

/** Writes text to a file on the executor's host atomically (temp name, then rename). */
export async function writeRemoteFile(exec: Executor, path: string, text: string): Promise<void> {
  await exec.run(['sh', '-c', 'cat > "$1.tmp" && sync -- "$1.tmp" 2>/dev/null; mv -f -- "$1.tmp" "$1"', 'sh', path], { input: text });
}

/**
 * sha256 and allocated bytes of each file, in one process. openssl's sha256 uses the CPU's SHA
 * instructions where coreutils' sha256sum does not (1 GiB: 1 s against 3.8 s here); same digest.
 * Paths are absolute, so none is taken for an option.
 */
const HASH_SCRIPT = [
  'if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$@"; else sha256sum -- "$@"; fi || exit 1',
  'printf "@@stat@@\\n"',
  'stat -c "%b %B %n" -- "$@"',
].join('\n');

export async function hashFiles(exec: Executor, files: string[], signal?: AbortSignal): Promise<Map<string, { sha256: string; allocated: number }>> {
  const out = new Map<string, { sha256: string; allocated: number }>();
  if (files.length === 0) return out;
  const r = await exec.run(['sh', '-c', HASH_SCRIPT, 'sh', ...files], { signal, timeoutMs: 0 });
  const [sums = '', stats = ''] = r.stdout.split('@@stat@@\n');
  for (const line of sums.split('\n')) {
    const m = /^([0-9a-f]{64})\s+\*?(.+)$/.exec(line);
    if (m) out.set(m[2] as string, { sha256: m[1] as string, allocated: 0 });
  }
  for (const line of stats.split('\n')) {
    const m = /^(\d+) (\d+) (.+)$/.exec(line);
    const entry = m && out.get(m[3] as string);
    if (entry) entry.allocated = Number(m[1]) * Number(m[2]);
  }
  return out;
}

/** Bytes the files take on disk, together. */
export async function allocatedBytes(exec: Executor, files: string[]): Promise<number> {
  if (files.length === 0) return 0;
  const r = await exec.run(['stat', '-c', '%b %B', '--', ...files]);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(' ').map(Number))
    .reduce((sum, [blocks, size]) => sum + (blocks && size ? blocks * size : 0), 0);
}

async function removeFile(exec: Executor, path: string): Promise<void> {
  await exec.run(['rm', '-f', '--', path]);
}

// ---------------------------------------------------------------------------------------------
// Overlays: finding and committing them (also used by start-up recovery)

export interface OverlayFinding {
  guest: string;
  state: string;
  target: string;
  overlay: string;
}

/** Guests whose disks point at a virtdeck overlay: a backup was interrupted between snapshot and commit. */
export async function findOverlays(host: HostContext): Promise<OverlayFinding[]> {
  const guests = await listGuests(host);
  return guests.flatMap((g) =>
    g.disks.filter((d) => isOverlayPath(d.source)).map((d) => ({ guest: g.name, state: g.state, target: d.target, overlay: d.source as string })),
  );
}

function isMissingGuest(e: unknown): boolean {
  return e instanceof HostError && (e.code === 'no-such-guest' || /failed to get domain|Domain not found/i.test(e.stderr));
}

export type CommitOutcome = 'committed' | 'committed-offline' | 'not-on-overlay';

/**
 * Merges the virtdeck overlay of `target` back into its base and deletes it. Running guest:
 * `blockcommit --active --pivot` (checked first: the disk must really be on our overlay). Shut-off
 * guest: `qemu-img commit` and the definition pointed back at the base. A guest that no longer
 * exists: the overlay's writes are still committed into the base, so nothing the guest wrote is lost.
 * `expected`: the overlay this caller made; a disk on another file is left alone.
 */
export async function commitOverlay(host: HostContext, guest: string, target: string, expected?: string): Promise<CommitOutcome> {
  let state: string;
  try {
    state = await domState(host, guest);
  } catch (e) {
    if (!isMissingGuest(e)) throw e;
    if (expected && (await qemuImg.existingPaths(host.sysExec, [expected])).length > 0) {
      await host.sysExec.run(['qemu-img', 'commit', '-f', 'qcow2', expected], { timeoutMs: 0 });
      await removeFile(host.sysExec, expected);
      return 'committed-offline';
    }
    return 'not-on-overlay';
  }
  const live = isActive(state);
  const disk = (await domBlkList(host, guest, { inactive: !live })).find((d) => d.target === target);
  const current = disk?.source ?? null;
  const ours = isOverlayPath(current) && (!expected || current === expected);
  if (!ours) {
    // Killed after the pivot, before the delete: the guest is back on its base, the file is litter.
    if (expected && current !== expected) await removeFile(host.sysExec, expected);
    return 'not-on-overlay';
  }
  const overlay = current as string;
  const info = await qemuImg.info(host.sysExec, overlay, { format: 'qcow2', forceShare: true });
  const base = info.fullBackingFilename ?? info.backingFilename;
  if (!base) throw new UserError(`The overlay ${overlay} of ${guest} has no backing file.`, 'Do not delete it: it holds the whole disk. Inspect it with qemu-img info.');
  if (live) {
    await blockCommitActive(host, guest, target);
    const after = (await domBlkList(host, guest)).find((d) => d.target === target)?.source ?? null;
    if (after === overlay) {
      throw new HostError({
        sentence: `The guest ${guest} still writes to ${overlay} after the commit.`,
        fix: `Do not delete the overlay; run virsh blockcommit ${guest} ${target} --active --pivot --wait by hand.`,
        command: virshArgv(host, ['blockcommit', '--domain', guest, '--path', target, '--active', '--pivot', '--wait']),
        stderr: '',
      });
    }
    await removeFile(host.sysExec, overlay);
    return 'committed';
  }
  await host.sysExec.run(['qemu-img', 'commit', '-f', 'qcow2', overlay], { timeoutMs: 0 });
  const xml = await dumpXmlForBackup(host, guest);
  await defineRepointed(host, guest, pointDiskAt(xml, target, base, info.backingFilenameFormat ?? 'raw'), target, base);
  await removeFile(host.sysExec, overlay);
  return 'committed-offline';
}

// ---------------------------------------------------------------------------------------------
// Actions (registered for the runner and, through JOB_ACTIONS, for resumed journals)

/** domjobinfo is cheap; a short poll keeps the end of a quick job from waiting half a second. */
const POLL_MS = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function cancelledError(command: string[]): HostError {
  return new HostError({ sentence: 'The backup was cancelled.', fix: 'Nothing to do; start it again when ready.', command, stderr: '', code: 'cancelled' });
}

interface BackupApiArgs {
  guest: string;
  backupXml: string;
  checkpointXml: string;
  checkpoint: string;
  quiesce: boolean;
  totalBytes: number;
  /** Per-disk rows; absent in journals of older virtdecks. */
  disks?: DiskTarget[];
}

/** Target files are looked at less often than domjobinfo: over SSH each look is a round trip. */
const SIZE_POLL_MS = 1000;

/** Current size of each file (null: not there yet), in one process. */
export async function fileSizes(exec: Executor, files: string[]): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>(files.map((f) => [f, null]));
  if (files.length === 0) return out;
  // stat exits 1 when a file is missing but still prints the others.
  const r = await exec.run(['stat', '-c', '%s %n', '--', ...files], { okExitCodes: [1] });
  for (const line of r.stdout.split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line);
    if (m && out.has(m[2] as string)) out.set(m[2] as string, Number(m[1]));
  }
  return out;
}

async function freeze(host: HostContext, guest: string): Promise<boolean> {
  try {
    await host.virshExec.run(virshArgv(host, ['domfsfreeze', '--domain', guest]), { timeoutMs: 30_000 });
    return true;
  } catch {
    return false;
  }
}

async function thaw(host: HostContext, guest: string): Promise<void> {
  await host.virshExec.run(virshArgv(host, ['domfsthaw', '--domain', guest]), { timeoutMs: 30_000 }).catch(() => undefined);
}

/** Waits until the guest has no job any more (after an abort), briefly. */
async function waitNoJob(host: HostContext, guest: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const j = await domJobInfo(host, guest);
      if (j.type === JOB_TYPE.none) return;
    } catch {
      return;
    }
    await sleep(200);
  }
}

const backupApiAction: Action = async (raw, ctx) => {
  const a = raw as BackupApiArgs;
  const { host } = ctx;
  // The filesystems are frozen only for the instant the backup job takes its point in time.
  const frozen = a.quiesce ? await freeze(host, a.guest) : false;
  if (a.quiesce && !frozen) ctx.log(`${a.guest}: the guest agent did not freeze the filesystems; the backup is crash-consistent.`);
  try {
    await backupBegin(host, a.guest, a.backupXml, a.checkpointXml);
  } finally {
    if (frozen) await thaw(host, a.guest);
  }
  const perDisk = a.disks && a.disks.length > 0 ? new DiskProgressTracker(a.disks) : null;
  const files = (a.disks ?? []).map((d) => d.file);
  let sizes = new Map<string, number | null>();
  let sizedAt = 0;
  const parts = async (finished: boolean) => {
    if (!perDisk) return undefined;
    if (!finished && Date.now() - sizedAt >= SIZE_POLL_MS) {
      sizedAt = Date.now();
      // A failed look only skips this update; the backup itself is not affected.
      sizes = await fileSizes(host.sysExec, files).catch(() => new Map());
    }
    return perDisk.update(sizes, Date.now(), finished);
  };
  ctx.progress(0, a.totalBytes, await parts(false));
  for (;;) {
    if (ctx.signal.aborted) {
      await domJobAbort(host, a.guest).catch(() => undefined);
      await waitNoJob(host, a.guest);
      throw cancelledError(virshArgv(host, ['domjobabort', '--domain', a.guest]));
    }
    const job = await domJobInfo(host, a.guest);
    if (job.type === JOB_TYPE.bounded || job.type === JOB_TYPE.unbounded) {
      if (job.total && job.processed !== null) ctx.progress(job.processed / job.total, a.totalBytes, await parts(false));
    } else {
      const done = await domJobInfo(host, a.guest, { completed: true });
      if (done.success === true || done.type === JOB_TYPE.completed) {
        ctx.progress(1, a.totalBytes, await parts(true));
        return;
      }
      throw new HostError({
        sentence: `The backup job of ${a.guest} failed${done.error ? `: ${done.error}` : ''}.`,
        fix: 'Check free space and permissions at the destination and the guest log (/var/log/libvirt/qemu/GUEST.log), then run the backup again.',
        command: virshArgv(host, ['domjobinfo', '--domain', a.guest, '--completed']),
        stderr: done.error ?? '',
        code: 'backup-job-failed',
      });
    }
    await sleep(POLL_MS);
  }
};

/** Undo of the push backup: stop the job if it still runs, and never leave its checkpoint behind. */
const abortBackupApiAction: Action = async (raw, ctx) => {
  const a = raw as { guest: string; checkpoint: string };
  await domJobAbort(ctx.host, a.guest).catch(() => undefined);
  await waitNoJob(ctx.host, a.guest);
  try {
    await checkpointDelete(ctx.host, a.guest, a.checkpoint);
  } catch (e) {
    if (!isMissingGuest(e)) throw e;
  }
};

const saveDomainXmlAction: Action = async (raw, ctx) => {
  const a = raw as { guest: string; path: string };
  await writeRemoteFile(ctx.host.sysExec, a.path, await dumpXmlForBackup(ctx.host, a.guest));
};

const commitOverlaysAction: Action = async (raw, ctx) => {
  const a = raw as { guest: string; disks: { target: string; file: string }[] };
  for (const d of a.disks) {
    const outcome = await commitOverlay(ctx.host, a.guest, d.target, d.file);
    ctx.log(`${a.guest} ${d.target}: ${outcome}`);
  }
};

/** Reads what was written (checksums, sizes) and writes the manifest; a resumed job writes the same one. */
export async function writeManifest(exec: Executor, dir: string, draft: ManifestDraft, signal?: AbortSignal): Promise<BackupManifest> {
  const files = draft.disks.map((d) => `${dir}/${d.file}`);
  const hashes = await hashFiles(exec, files, signal);
  const manifest: BackupManifest = {
    version: 1,
    guest: draft.guest,
    uuid: draft.uuid,
    createdAt: draft.createdAt,
    finishedAt: new Date().toISOString(),
    kind: draft.kind,
    parent: draft.parent,
    checkpoint: draft.checkpoint,
    method: draft.method,
    consistency: draft.consistency,
    hostname: draft.hostname,
    uri: draft.uri,
    note: draft.note,
    verified: null,
    disks: draft.disks.map((d, i) => {
      const h = hashes.get(files[i] as string);
      if (!h) throw new UserError(`The backup image ${files[i]} is missing.`, 'The copy did not complete; run the backup again.');
      return {
        target: d.target,
        file: d.file,
        format: d.format,
        sourcePath: d.source,
        sourceFormat: d.sourceFormat,
        virtualSize: d.virtualSize,
        bytesWritten: h.allocated,
        sha256: h.sha256,
        backing: d.backing,
      };
    }),
  };
  await writeRemoteFile(exec, `${dir}/${MANIFEST_NAME}`, serializeManifest(manifest));
  return manifest;
}

const writeManifestAction: Action = async (raw, ctx) => {
  const a = raw as { dir: string; draft: ManifestDraft; readers?: string; trust?: VerifiedStore; finalDir?: string };
  const files = a.draft.disks.map((d) => `${a.dir}/${d.file}`);
  // libvirtd makes push-backup targets 0600 whatever our umask; the reader group's files are 0640
  // (widening only, in a directory that was never open to others).
  if (a.readers) await ctx.host.sysExec.run(['chmod', '0640', '--', ...files], { signal: ctx.signal });
  // Taken before the hash, so any later change to a file shows as a different identity.
  const ids = a.trust && a.finalDir ? await statIdentities(ctx.host.sysExec, files, ctx.signal) : null;
  const manifest = await writeManifest(ctx.host.sysExec, a.dir, a.draft, ctx.signal);
  if (ids && a.trust && a.finalDir) {
    // The run directory is renamed into place next; the files keep their inode and ctime.
    const finalDir = a.finalDir;
    recordVerified(a.trust, manifest.disks.flatMap((d) => (d.sha256 ? [{ path: `${finalDir}/${d.file}`, identity: ids.get(`${a.dir}/${d.file}`) ?? '', sha256: d.sha256 }] : [])));
  }
};

/** The actions a backup journal may name; also registered in JOB_ACTIONS for resumed journals. */
export function backupActions(_host?: HostContext): Record<string, Action> {
  return {
    'backup-api': backupApiAction,
    'abort-backup-api': abortBackupApiAction,
    'save-domain-xml': saveDomainXmlAction,
    'commit-overlays': commitOverlaysAction,
    'write-manifest': writeManifestAction,
  };
}

// ---------------------------------------------------------------------------------------------
// Facts

function backupDisks(g: GuestRow): { disks: GuestRow['disks']; skipped: { target: string; why: string }[] } {
  const disks: GuestRow['disks'] = [];
  const skipped: { target: string; why: string }[] = [];
  for (const d of g.disks) {
    if (d.device !== 'disk') skipped.push({ target: d.target, why: `${d.device} drive` });
    else if (!d.source?.startsWith('/')) skipped.push({ target: d.target, why: 'not a local file or block device' });
    else disks.push(d);
  }
  return { disks, skipped };
}

export async function gatherGuestFacts(host: HostContext, g: GuestRow, runs: CatalogRun[], partials: string[] = []): Promise<GuestFacts> {
  const { disks, skipped } = backupDisks(g);
  const diskFacts: DiskFacts[] = [];
  for (const d of disks) {
    // A disk without a driver type is read by its header, never probed by qemu-img.
    const info = await qemuImg.info(host.sysExec, d.source as string, { format: d.format ?? (await detectImageFormat(host.sysExec, d.source as string)), forceShare: true });
    const fs = info.formatSpecific;
    diskFacts.push({
      target: d.target,
      source: d.source as string,
      format: d.format ?? info.format,
      qcow2Compat: fs?.type === 'qcow2' ? fs.compat : null,
      bitmaps: fs?.type === 'qcow2' ? fs.bitmaps.map((b) => b.name) : [],
      virtualSize: info.virtualSize,
    });
  }
  const live = isActive(g.state);
  const agent = live ? await agentPing(host, g.name) : false;
  const checkpoints = live ? await checkpointList(host, g.name).catch(() => []) : [];
  const candidate = runs[runs.length - 1]?.manifest.checkpoint ?? null;
  let sizes: Map<string, number | null> | null = null;
  if (live && candidate && checkpoints.includes(candidate)) {
    sizes = await checkpointSizes(host, g.name, candidate).catch(() => null);
  }
  return { name: g.name, uuid: g.uuid, state: g.state, disks: diskFacts, skipped, agent, checkpoints, checkpointSizes: sizes, runs, partials };
}

// ---------------------------------------------------------------------------------------------
// Running

export type BackupEvent =
  | { type: 'warning'; line: string }
  | { type: 'guest-start'; guest: string; decision: BackupDecision; plan: GuestBackupPlan }
  | { type: 'runner'; guest: string; event: RunnerEvent }
  | { type: 'guest-end'; guest: string; result: GuestBackupResult };

export interface GuestBackupResult {
  guest: string;
  ok: boolean;
  /** Run directory name when it was written. */
  run: string | null;
  kind: 'full' | 'incremental' | null;
  method: string | null;
  consistency: string | null;
  note: string | null;
  bytesWritten: number;
  /** done, failed, cancelled, rolled-back…, or 'planned' for a dry run. */
  state: string;
  error?: { sentence: string; fix: string };
  /** The steps, for --dry-run. */
  steps?: string[];
}

export interface BackupRunResult {
  dest: string;
  warnings: string[];
  guests: GuestBackupResult[];
}

export interface RunBackupOptions {
  /** Guest names; empty = every persistent guest. */
  guests: string[];
  dest: string;
  full?: boolean;
  dryRun?: boolean;
  signal?: AbortSignal;
  onEvent?: (e: BackupEvent) => void;
  stateDir?: string;
  /** Append a line per guest to stateDir/logs/backup-DATE.log (default true). */
  log?: boolean;
  now?: () => Date;
}

function errorInfo(e: unknown): { sentence: string; fix: string } {
  if (e instanceof UserError || e instanceof HostError) return { sentence: e.sentence, fix: e.fix };
  const h = toHostError(e);
  return { sentence: h.sentence, fix: h.fix };
}

/** Which guests a run covers: the named ones (unknown names are a UserError), or all persistent ones. */
export function selectGuests(all: GuestRow[], names: string[]): GuestRow[] {
  if (names.length === 0) return all.filter((g) => g.persistent);
  return names.map((n) => {
    const g = all.find((x) => x.name === n);
    if (!g) throw new UserError(`There is no guest named "${n}".`, 'Run `virtdeck guest list` to see the names (they are case-sensitive).');
    return g;
  });
}

function logLine(dir: string, at: Date, line: string): void {
  try {
    const logs = join(dir, 'logs');
    mkdirSync(logs, { recursive: true, mode: 0o700 });
    appendFileSync(join(logs, `backup-${at.toISOString().slice(0, 10)}.log`), `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
  } catch {
    // A log that cannot be written must not fail the backup itself.
  }
}

/** Keeps the newest few virtdeck checkpoints: each one is a bitmap QEMU updates on every write. */
const KEEP_CHECKPOINTS = 4;

async function trimCheckpoints(host: HostContext, guest: string): Promise<void> {
  const ours = (await checkpointList(host, guest)).filter((c) => c.startsWith(CHECKPOINT_PREFIX)).sort();
  for (const old of ours.slice(0, Math.max(0, ours.length - KEEP_CHECKPOINTS))) await checkpointDelete(host, guest, old);
}

/**
 * Backs up guests one after another into `dest`. A guest that fails does not stop the others;
 * each result says what happened. Throws only for a bad destination or unknown guest names.
 */
export async function runBackup(host: HostContext, o: RunBackupOptions): Promise<BackupRunResult> {
  const now = o.now ?? (() => new Date());
  const state = o.stateDir ?? defaultStateDir();
  const emit = o.onEvent ?? (() => {});
  const all = await listGuests(host);
  const guests = selectGuests(all, o.guests);
  const images = guests.flatMap((g) => backupDisks(g).disks.map((d) => d.source as string));
  const report = await checkDestination(host.sysExec, o.dest, images, o.signal);
  for (const w of report.warnings) emit({ type: 'warning', line: w });
  const catalog = await readCatalog(host.sysExec, o.dest, o.signal);
  const hostname = localHostname();
  const results: GuestBackupResult[] = [];
  for (const g of guests) {
    const started = now();
    const base: GuestBackupResult = { guest: g.name, ok: false, run: null, kind: null, method: null, consistency: null, note: null, bytesWritten: 0, state: 'failed' };
    let result: GuestBackupResult = base;
    try {
      if (o.signal?.aborted) throw cancelledError([]);
      const atDest = catalog.find((c) => c.guest === g.name);
      const facts = await gatherGuestFacts(host, g, atDest?.runs ?? [], atDest?.partials ?? []);
      const decision = decideBackup(facts, { now: started, full: Boolean(o.full) });
      const required = o.dryRun
        ? []
        : await Promise.all(
            facts.disks.map(async (d) => {
              const m = await qemuImg.measure(host.sysExec, { source: d.source, sourceFormat: d.format, outputFormat: copyFormat(decision.method, d.format), forceShare: true }).catch(() => null);
              return { target: d.target, required: m?.required ?? null, virtualSize: d.virtualSize };
            }),
          );
      const planned = planGuestBackup(
        facts,
        decision,
        { dest: o.dest, now: started, full: Boolean(o.full), hostname, uri: host.uri, required: new Map(required.map((r) => [r.target, r.required])), group: configuredGroup(), trust: { stateDir: state, uri: host.uri } },
        (args) => virshArgv(host, args),
      );
      result = { ...base, run: planned.runName, kind: decision.kind, method: decision.method, consistency: decision.consistency, note: decision.note };
      emit({ type: 'guest-start', guest: g.name, decision, plan: planned });
      if (o.dryRun) {
        result = { ...result, ok: true, state: 'planned', steps: planned.plan.steps.map((s) => s.title) };
      } else {
        checkSpace(o.dest, spaceNeeded(decision, required, facts.checkpointSizes), await availableBytes(host.sysExec, o.dest, o.signal), g.name);
        const r = await runPlan(planned.plan, {
          host,
          stateDir: state,
          signal: o.signal,
          actions: backupActions(host),
          params: { dest: o.dest, guest: g.name, run: planned.runName },
          onEvent: (event) => emit({ type: 'runner', guest: g.name, event }),
        });
        if (r.state === 'done') {
          const bytes = await allocatedBytes(host.sysExec, planned.disks.map((p) => `${planned.runDir}/${p.file}`)).catch(() => 0);
          result = { ...result, ok: true, state: 'done', bytesWritten: bytes };
          if (decision.method === 'backup-api') await trimCheckpoints(host, g.name).catch(() => undefined);
        } else if (r.worker) {
          // Handed to a worker (the console's b): it finishes the run; its journal and log tell how.
          result = { ...result, state: 'background', note: `goes on in worker pid ${r.worker.pid ?? '?'} (job ${r.worker.id})` };
        } else {
          result = { ...result, state: r.state, error: r.error ? errorInfo(r.error) : { sentence: `The backup of ${g.name} ended ${r.state}.`, fix: 'See the job journal.' } };
        }
      }
    } catch (e) {
      result = { ...result, ok: false, state: o.signal?.aborted ? 'cancelled' : 'failed', error: errorInfo(e) };
    }
    results.push(result);
    emit({ type: 'guest-end', guest: g.name, result });
    if (o.log !== false && !o.dryRun) {
      const what = result.ok
        ? `ok ${result.run} ${result.method} ${result.consistency} ${result.bytesWritten} bytes${result.note ? ` (${result.note})` : ''}`
        : `${result.state}: ${result.error?.sentence ?? ''}`;
      logLine(state, started, `${host.uri} ${g.name} → ${o.dest}: ${what}`);
    }
  }
  return { dest: o.dest, warnings: report.warnings, guests: results };
}

export { BACKUP_JOB_KIND };
