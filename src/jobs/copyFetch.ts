/**
 * A run brought back from a copy target so restore, file-level restore and instant recovery can
 * use it like any destination. A directory target is a destination already (same layout). An ssh
 * target's chain is pulled with tar, a restic target's chain is restored snapshot by snapshot, into
 * a private staging directory laid out as STAGING/GUEST/RUN; every image is checked against its
 * manifest's sha256 there before the run is handed on. The target's listing and manifests are
 * outside input: run and guest names must be plain, manifests pass the schema.
 */
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import * as restic from '../host/restic.js';
import { type BackupManifest, MANIFEST_NAME, parseManifest, parseRunDirName } from '../model/backupManifest.js';
import type { CopyTarget } from '../model/copyTarget.js';
import { shellQuote } from '../model/shellQuote.js';
import { UserError } from '../model/userError.js';
import { readCatalog } from './backupCatalog.js';
import { parseSha256sum, runFiles, sshTargetExecutor } from './backupCopy.js';
import { readInstantRecords } from './instant.js';
import { pickRun } from './restore.js';

export interface FetchedRun {
  /** A destination directory holding GUEST/RUN with its whole chain. */
  dest: string;
  run: string;
  /** The staging directory virtdeck made (null for a directory target, used in place). */
  staging: string | null;
  /** Removes the staging directory (not for a guest still running from it). */
  cleanup(): Promise<void>;
}

export function stagingRoot(stateDir = defaultStateDir()): string {
  return join(stateDir, 'copy-staging');
}

/** A plain guest name as a directory name: what the catalog and a snapshot path may carry. */
const PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,199}$/;

/** Pure: a restic snapshot's path → the guest and run it holds, or null when it is not one virtdeck sent. */
export function snapshotRun(path: string): { guest: string; run: string } | null {
  if (!path.startsWith('/') || posix.normalize(path) !== path) return null;
  const run = posix.basename(path);
  const guest = posix.basename(posix.dirname(path));
  if (!parseRunDirName(run) || !PLAIN.test(guest)) return null;
  return { guest, run };
}

/** A staging directory untouched this long is no longer being restored from (restores take minutes). */
const STALE_STAGING_MINUTES = 24 * 60;

/**
 * Removes staging directories left behind: older than a day and not the destination an
 * instant-recovered guest still runs from (`inUse`). Only names virtdeck gives (12 hex digits) go.
 */
export async function sweepStaging(exec: Executor, root: string, inUse: string[], signal?: AbortSignal): Promise<string[]> {
  const r = await exec.run(['find', root, '-mindepth', '1', '-maxdepth', '1', '-type', 'd', '-mmin', `+${STALE_STAGING_MINUTES}`, '-printf', '%f\\0'], { signal, okExitCodes: [1] });
  const keep = new Set(inUse);
  const gone = r.stdout
    .split('\0')
    .filter((n) => /^[0-9a-f]{12}$/.test(n))
    .map((n) => `${root}/${n}`)
    .filter((d) => !keep.has(d));
  // A restic mount session's staging holds mounts: rm never crosses into one (its journal unmounts it).
  if (gone.length > 0) await exec.run(['rm', '-rf', '--one-file-system', '--', ...gone], { signal, timeoutMs: 0, okExitCodes: [1] });
  return gone;
}

export async function makeStaging(exec: Executor, root: string): Promise<string> {
  const dir = `${root}/${randomBytes(6).toString('hex')}`;
  await exec.run(['install', '-d', '-m', '0700', '--', root, dir]);
  return dir;
}

export async function readManifestAt(exec: Executor, runDir: string, signal?: AbortSignal): Promise<BackupManifest> {
  const file = `${runDir}/${MANIFEST_NAME}`;
  const r = await exec.run(['sh', '-c', 'test -f "$1" && ! test -L "$1" && head -c 4194305 -- "$1"', 'sh', file], { signal, okExitCodes: [1] });
  if (r.exitCode !== 0) throw new UserError(`The copy of the run has no manifest (${file}).`, 'The copy is incomplete: restore from another run or target.');
  return parseManifest(r.stdout, file);
}

/** Every image of the run must match its manifest before anything uses it. */
async function checkAgainstManifest(exec: Executor, runDir: string, m: BackupManifest, signal?: AbortSignal): Promise<void> {
  const files = m.disks.map((d) => d.file);
  const r = await exec.run(['sha256sum', '--', ...files.map((f) => `${runDir}/${f}`)], { signal, timeoutMs: 0, okExitCodes: [1] });
  const got = parseSha256sum(r.stdout, runDir);
  for (const d of m.disks) {
    if (!got.has(d.file)) throw new UserError(`The copy of ${m.guest} at ${runDir} lacks ${d.file}.`, 'Restore from another run or another copy target.');
    if (d.sha256 !== null && got.get(d.file) !== d.sha256) {
      throw new UserError(`The copy ${runDir}/${d.file} does not match the checksum in its manifest.`, 'Restore from another run or another copy target; check the target (restic check --read-data).');
    }
  }
}

/**
 * The restic snapshots of `guest`'s runs by run name (the newest snapshot of a run copied twice),
 * and the run asked for (latest when absent, or a unique prefix).
 */
export async function resticRunsOf(exec: Executor, t: Extract<CopyTarget, { type: 'restic' }>, guest: string, run: string | undefined, signal?: AbortSignal): Promise<{ wanted: string; snapshots: Map<string, { id: string; path: string }> }> {
  const snaps = await restic.listSnapshots(exec, t, signal);
  const mine = new Map<string, { id: string; path: string }>();
  for (const s of snaps) {
    if (s.paths.length !== 1) continue;
    const what = snapshotRun(s.paths[0] as string);
    if (what && what.guest === guest) mine.set(what.run, { id: s.id, path: s.paths[0] as string });
  }
  const names = [...mine.keys()].sort();
  if (names.length === 0) throw new UserError(`The restic repository ${t.repository} holds no run of ${guest}.`, `Copy one first: virtdeck backup copy ${guest} --to ${t.name}.`);
  const wanted = run === undefined || run === 'latest' ? names.at(-1) : names.find((n) => n === run) ?? (names.filter((n) => n.startsWith(run)).length === 1 ? names.find((n) => n.startsWith(run)) : undefined);
  if (!wanted) throw new UserError(`The restic repository ${t.repository} holds no run "${run}" of ${guest}.`, `Its runs of ${guest}: ${names.join(', ')}.`);
  return { wanted, snapshots: mine };
}

async function fetchFromRestic(host: HostContext, t: Extract<CopyTarget, { type: 'restic' }>, guest: string, run: string | undefined, staging: string, signal?: AbortSignal): Promise<string> {
  const exec = host.sysExec;
  const { wanted, snapshots: mine } = await resticRunsOf(exec, t, guest, run, signal);
  await exec.run(['install', '-d', '-m', '0700', '--', `${staging}/${guest}`], { signal });
  let cur: string | null = wanted;
  const seen = new Set<string>();
  while (cur !== null) {
    if (seen.has(cur)) throw new UserError(`The backup chain of ${wanted} in ${t.repository} loops at ${cur}.`, 'Restore from a full run.');
    seen.add(cur);
    const snap = mine.get(cur);
    if (!snap) throw new UserError(`The run ${wanted} of ${guest} builds on ${cur}, which the restic repository ${t.repository} does not hold.`, 'Restore a run whose whole chain was copied.');
    const tmp = `${staging}/.restic-${cur}`;
    await restic.restoreSnapshot(exec, t, snap.id, tmp, signal);
    const runDir = `${staging}/${guest}/${cur}`;
    // restic restores the absolute path under the target; only that directory is kept.
    await exec.run(['sh', '-c', 'test -d "$1" && ! test -L "$1" && mv -T -- "$1" "$2" && rm -rf -- "$3"', 'sh', `${tmp}${snap.path}`, runDir, tmp], { signal });
    const m = await readManifestAt(exec, runDir, signal);
    if (m.guest !== guest) throw new UserError(`The copy of ${guest}/${cur} in ${t.repository} holds a manifest of ${m.guest}.`, 'Restore from another run or another copy target.');
    await checkAgainstManifest(exec, runDir, m, signal);
    cur = m.parent;
  }
  return wanted;
}

async function fetchFromSsh(host: HostContext, t: Extract<CopyTarget, { type: 'ssh' }>, guest: string, run: string | undefined, staging: string, signal?: AbortSignal): Promise<string> {
  const remote = sshTargetExecutor(t);
  const catalog = await readCatalog(remote, t.path, signal);
  const backups = catalog.find((g) => g.guest === guest);
  if (!backups || !PLAIN.test(guest)) throw new UserError(`The copy target ${t.name} holds no run of ${guest}.`, `Copy one first: virtdeck backup copy ${guest} --to ${t.name}.`);
  const found = pickRun(backups, run);
  for (const link of found.chain) {
    const runDir = `${staging}/${guest}/${link.name}`;
    await host.sysExec.run(['install', '-d', '-m', '0700', '--', `${staging}/${guest}`, runDir], { signal });
    const pack = ['tar', '-C', `${t.path}/${guest}/${link.name}`, '-cf', '-', '--', ...runFiles(link)];
    await host.sysExec.run(['sh', '-c', 'dst="$1"; shift; "$@" | tar -C "$dst" -xf -', 'sh', runDir, ...remote.commandPrefix(), pack.map(shellQuote).join(' ')], { signal, timeoutMs: 0 });
    await checkAgainstManifest(host.sysExec, runDir, await readManifestAt(host.sysExec, runDir, signal), signal);
  }
  return found.run.name;
}

/**
 * The run (latest when absent) of `guest` from target `t`, ready to restore from. `keep` leaves the
 * staging directory for a guest that will run from it (instant recovery).
 */
/** How much the staging directory holds so far (restic restore and tar report nothing while they write). */
function watchBytes(exec: Executor, dir: string, onBytes: ((bytes: number) => void) | undefined): () => void {
  if (!onBytes) return () => {};
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    exec
      .run(['du', '-sb', '--', dir], { okExitCodes: [1], timeoutMs: 30_000 })
      .then((r) => {
        const bytes = Number(/^(\d+)/.exec(r.stdout)?.[1]);
        if (Number.isFinite(bytes)) onBytes(bytes);
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 1_000);
  return () => clearInterval(timer);
}

export async function fetchRun(
  host: HostContext,
  t: CopyTarget,
  guest: string,
  run: string | undefined,
  o: { stagingRoot?: string; stateDir?: string; signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<FetchedRun> {
  if (t.type === 'dir') return { dest: t.path, run: run ?? 'latest', staging: null, cleanup: async () => {} };
  const root = o.stagingRoot ?? stagingRoot();
  try {
    // Instant recovery runs a guest from its staging directory until finish or discard: those stay.
    const inUse = readInstantRecords(o.stateDir ?? defaultStateDir()).map((r) => r.dest);
    await sweepStaging(host.sysExec, root, inUse, o.signal);
  } catch {
    // The records cannot be read (or trusted): leave every staging directory alone.
  }
  const staging = await makeStaging(host.sysExec, root);
  const cleanup = async () => {
    await host.sysExec.run(['rm', '-rf', '--', staging], { timeoutMs: 0 }).catch(() => undefined);
  };
  const stop = watchBytes(host.sysExec, staging, o.onBytes);
  try {
    const name = t.type === 'restic' ? await fetchFromRestic(host, t, guest, run, staging, o.signal) : await fetchFromSsh(host, t, guest, run, staging, o.signal);
    return { dest: staging, run: name, staging, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  } finally {
    stop();
  }
}
