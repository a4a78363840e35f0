/**
 * What a restore reads is checked before anything is replaced: a backup run is outside input (it
 * may have rotted on a NAS for a year, or been written by whoever can write there). Every image of
 * the run and of the chain it builds on must be a regular file directly inside its own run
 * directory (lstat and realpath at the moment of use, not only the manifest's text), its last
 * recorded `backup verify` must not have failed, and its sha256 must match the manifest — one
 * streaming read with progress, done as the first step of the job, before any original is moved,
 * overwritten or deleted.
 */
import { posix } from 'node:path';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { type CatalogRun, chainOf } from '../model/backupManifest.js';
import { inspectImageHeader } from '../model/imageHeader.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import type { GuestBackups } from './backupCatalog.js';
import { readVerified, recordVerified, type VerifiedEntry, type VerifiedStore, vouches } from './verifiedRuns.js';

export const VERIFY_ACTION = 'verify-run';

/** One image a restore reads. */
export interface RunFile {
  /** Run directory name the image belongs to. */
  run: string;
  /** The disk (vda…) this image is of. */
  target?: string;
  runDir: string;
  /** The manifest's file name (a plain name; the schema refuses anything else). */
  file: string;
  path: string;
  sha256: string | null;
  /** The manifest's format; a qcow2 header is read to see what else qemu would open. */
  format?: string;
  /** The one backing file the header may name: the parent run's image of the same disk, or none. */
  backing?: string | null;
}

/** The images of every run in a chain (full first), as the manifests name them. */
export function runFilesOf(dest: string, guest: string, chain: CatalogRun[]): RunFile[] {
  return chain.flatMap((r, i) => {
    const runDir = posix.join(dest, guest, r.name);
    const parent = i > 0 ? chain[i - 1] : undefined;
    return r.manifest.disks.map((d) => {
      const parentDisk = parent?.manifest.disks.find((p) => p.target === d.target);
      // A manifest's backing that is not its parent's image of the same disk is refused as a header mismatch.
      const chainBacking = parent && parentDisk ? `../${parent.name}/${parentDisk.file}` : null;
      const backing = d.backing === chainBacking ? d.backing : `(not in the chain: ${d.backing ?? 'none'})`;
      return { run: r.name, target: d.target, runDir, file: d.file, path: posix.join(runDir, d.file), sha256: d.sha256, format: d.format, backing };
    });
  });
}

/** Pure: a sentence per run of the chain whose last `backup verify` failed, with its first finding. */
export function recordedDamage(chain: CatalogRun[]): { run: string; sentence: string }[] {
  return chain.flatMap((r) => {
    const v = r.manifest.verified;
    if (!v || v.ok) return [];
    const first = v.findings[0];
    return [{ run: r.name, sentence: `backup verify found the run ${r.name} damaged on ${shown(v.at)}${first ? ` (${shown(first.slice(0, 300))})` : ''}.` }];
  });
}

/**
 * Pure: the newest run (other than `not`) whose chain avoids every run in `bad` and whose chain
 * has no failed verify — the run to suggest instead of a damaged one.
 */
export function newestGoodRun(backups: GuestBackups, bad: string[], not?: string): string | null {
  for (const r of [...backups.runs].reverse()) {
    if (r.name === not) continue;
    let chain: CatalogRun[];
    try {
      chain = chainOf(backups.runs, r.name);
    } catch {
      continue;
    }
    if (chain.some((c) => bad.includes(c.name)) || recordedDamage(chain).length > 0) continue;
    return r.name;
  }
  return null;
}

/** Pure: runs to suggest instead of `not`, newest first, each with the runs its chain needs; none with a failed verify. */
export function goodCandidates(backups: GuestBackups, not: string): { name: string; chain: string[] }[] {
  return [...backups.runs]
    .reverse()
    .filter((r) => r.name !== not)
    .flatMap((r) => {
      try {
        const chain = chainOf(backups.runs, r.name);
        return recordedDamage(chain).length === 0 ? [{ name: r.name, chain: chain.map((c) => c.name) }] : [];
      } catch {
        return [];
      }
    });
}

/** What lstat and realpath say about one image and its run directory. */
export interface FileFacts {
  /** stat's %F of the path itself (a symlink is "symbolic link"); '' when missing. */
  type: string;
  size: number;
  /** realpath of the file and of its run directory; '' when they do not resolve. */
  real: string;
  dirReal: string;
  /** `stat -c %d:%i:%s:%.9Y:%.9Z` of the file: what a verification record is keyed by ('' when missing). */
  identity?: string;
}

/** Pure: why an image must not be opened, or null. Nothing outside the run directory is ever read. */
export function confinementProblem(f: RunFile, facts: FileFacts | undefined): string | null {
  const name = shown(f.path);
  if (!facts || facts.type === '') return `The backup image ${name} is missing.`;
  if (facts.type === 'symbolic link') return `The backup image ${name} is a symbolic link; virtdeck reads only files inside the run directory.`;
  if (facts.type !== 'regular file' && facts.type !== 'regular empty file') return `The backup image ${name} is not a regular file (${shown(facts.type)}).`;
  if (facts.dirReal === '' || facts.real !== posix.join(facts.dirReal, f.file)) {
    return `The backup image ${name} resolves to ${shown(facts.real || 'nothing')}, outside its run directory.`;
  }
  return null;
}

/** lstat type, size, realpath of each image and of its run directory, and its identity, in one process; NUL-separated because names are outside text. */
const FACTS_SCRIPT = [
  'while [ "$#" -gt 1 ]; do d=$1; f=$2; shift 2',
  'printf "%s\\0%s\\0%s\\0%s\\0%s\\0" "$(stat -c %F -- "$d/$f" 2>/dev/null)" "$(stat -c %s -- "$d/$f" 2>/dev/null)" "$(realpath -e -- "$d/$f" 2>/dev/null)" "$(realpath -e -- "$d" 2>/dev/null)" "$(stat -c %d:%i:%s:%.9Y:%.9Z -- "$d/$f" 2>/dev/null)"',
  'done',
].join('\n');
const FACT_FIELDS = 5;

export async function fileFacts(exec: Executor, files: RunFile[], signal?: AbortSignal): Promise<Map<string, FileFacts>> {
  const out = new Map<string, FileFacts>();
  if (files.length === 0) return out;
  const r = await exec.run(['sh', '-c', FACTS_SCRIPT, 'sh', ...files.flatMap((f) => [f.runDir, f.file])], { signal });
  const fields = r.stdout.split('\0');
  files.forEach((f, i) => {
    const [type = '', size = '', real = '', dirReal = '', identity = ''] = fields.slice(i * FACT_FIELDS, (i + 1) * FACT_FIELDS);
    out.set(f.path, { type, size: Number(size) || 0, real, dirReal, identity });
  });
  return out;
}

/** What stat says about each file (verifiedRuns.ts's key), in one process; '' for a file that is not there. */
export async function statIdentities(exec: Executor, paths: string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (paths.length === 0) return out;
  const r = await exec.run(['sh', '-c', 'for f; do printf "%s\\0" "$(stat -c %d:%i:%s:%.9Y:%.9Z -- "$f" 2>/dev/null)"; done', 'sh', ...paths], { signal });
  const fields = r.stdout.split('\0');
  for (const [i, p] of paths.entries()) out.set(p, fields[i] ?? '');
  return out;
}

/**
 * Pure: why a qcow2 image's header must not be given to qemu, or null. The header is read by the
 * same inspector as every image from outside (model/imageHeader.ts); a run image may only build on
 * its parent run's image, exactly as its chain says, and never keeps its data in another file.
 * `fileSize` is the image's whole length, so a short file is told from a header read cut short.
 */
export function headerProblem(f: RunFile, header: Buffer, fileSize: number = header.length): string | null {
  if (f.format !== 'qcow2') return null;
  const name = shown(f.path);
  const h = inspectImageHeader(header, Math.max(fileSize, header.length));
  if (h.format !== 'qcow2') return `The backup image ${name} is not a qcow2 image, though its manifest says so.`;
  if (h.needBytes !== undefined) return `The backup image ${name} has a qcow2 header virtdeck cannot check (it reaches past the first ${header.length} bytes).`;
  if (h.problems.length > 0) return `The backup image ${name} has a qcow2 header virtdeck cannot check (${shown(h.problems.join('; '))}).`;
  const dataFile = h.references.find((r) => r.role === 'data-file');
  if (dataFile) return `The backup image ${name} keeps its data in another file (${shown(dataFile.name)}); a backup image never does.`;
  const backing = h.references.find((r) => r.role === 'backing')?.name ?? null;
  const expected = f.backing ?? null;
  if (backing !== expected) {
    return `The backup image ${name} builds on ${shown(backing ?? 'nothing')}, but its chain says ${shown(expected ?? 'nothing')}.`;
  }
  return null;
}

/** The first 64 KiB of each qcow2 image (where the header, its backing name and extensions are), in one process. */
async function qcow2Headers(exec: Executor, files: RunFile[], signal?: AbortSignal): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const qcow2 = files.filter((f) => f.format === 'qcow2');
  if (qcow2.length === 0) return out;
  const r = await exec.run(['sh', '-c', 'for f; do head -c 65536 -- "$f" | base64 -w 0; echo; done', 'sh', ...qcow2.map((f) => f.path)], { signal });
  const lines = r.stdout.split('\n');
  for (const [i, f] of qcow2.entries()) out.set(f.path, Buffer.from(lines[i] ?? '', 'base64'));
  return out;
}

const TAMPERED_FIX = 'Nothing was changed. The run is damaged or was tampered with: restore from another run (virtdeck backup list), and delete this one.';

/**
 * Refuses (UserError, exit 2) any image that is not a regular file directly inside its run
 * directory, or whose qcow2 header would make qemu open anything but its parent run's image.
 */
export async function checkConfinement(exec: Executor, files: RunFile[], signal?: AbortSignal): Promise<Map<string, FileFacts>> {
  const facts = await fileFacts(exec, files, signal);
  for (const f of files) {
    const problem = confinementProblem(f, facts.get(f.path));
    if (problem) throw new UserError(problem, TAMPERED_FIX);
  }
  const headers = await qcow2Headers(exec, files, signal);
  for (const f of files) {
    const problem = headerProblem(f, headers.get(f.path) ?? Buffer.alloc(0), facts.get(f.path)?.size);
    if (problem) throw new UserError(problem, TAMPERED_FIX);
  }
  return facts;
}

/**
 * A background loop that runs `report` about four times a second while the process whose PID is in
 * `$pidVar` lives; its PID goes to $w so the script can stop it. The loop ends by itself with that
 * process: dash drops a SIGTERM that arrives while the forked loop is still setting up its signals,
 * and a tiny file is done within that window (44 % of runs here kept a loop alive forever, holding
 * stderr open, so the job never ended). Its sleep holds none of the script's pipes.
 */
export function progressLoopSh(pidVar: string, report: string): string {
  return `while kill -0 "$${pidVar}" 2>/dev/null; do ${report} >&2; sleep 0.25 </dev/null >/dev/null 2>&1; done & w=$!`;
}

/**
 * The hash reads the file itself (no pipe: through one, openssl's sha256 ran at half its speed
 * here), while a progress loop reports how far it got from /proc/PID/fdinfo, so the script ends the
 * moment the hash does. openssl's sha256 uses the CPU's SHA instructions where sha256sum does not.
 */
export const HASH_FILE_SH = [
  'if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r < "$f" & h=$!; else sha256sum < "$f" & h=$!; fi',
  progressLoopSh('h', 'sed -n "s/^pos:[[:space:]]*/virtdeck-hashed /p" "/proc/$h/fdinfo/0" 2>/dev/null'),
  'wait "$h"; rc=$?; kill "$w" 2>/dev/null; w=',
  'if [ "$rc" -ne 0 ]; then echo "virtdeck-hash-exit $rc" >&2; exit 4; fi',
].join('\n');

/** A cancel (SIGTERM to the script) stops its children too, not only the shell. */
export const KILL_CHILDREN_SH = "h=; w=; c=; trap 'kill $c $h $w 2>/dev/null; exit 143' TERM INT HUP";

const HASH_STREAM = [KILL_CHILDREN_SH, 'f=$1', HASH_FILE_SH].join('\n');

/** Pure: the figure of the last progress line of this kind in a script's stderr so far, or null. */
export function lastFigure(tail: string, kind: 'copied' | 'hashed'): number | null {
  const all = [...tail.matchAll(new RegExp(`virtdeck-${kind} (\\d+)`, 'g'))];
  const last = all[all.length - 1];
  return last ? Number(last[1]) : null;
}

/** Pure: the sha256 a script printed, or why there is none (its stderr names the failing part). */
export function hashOutcome(r: { exitCode: number; stdout: string; stderr: string }): { sha256: string | null; error: string | null } {
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('virtdeck-'));
  if (r.exitCode !== 0) return { sha256: null, error: shown((lines[0] ?? `exit status ${r.exitCode}`).slice(0, 200)) };
  const m = /^([0-9a-f]{64})\b/m.exec(r.stdout);
  return { sha256: m ? (m[1] as string) : null, error: m ? null : 'no checksum was printed' };
}

/** The sha256 of one file, calling `onBytes` with the bytes read so far; null when it could not be read to the end. */
export async function streamSha256(exec: Executor, path: string, onBytes: (bytes: number) => void, signal?: AbortSignal): Promise<{ sha256: string | null; error: string | null }> {
  let tail = '';
  const r = await exec.run(['sh', '-c', HASH_STREAM, 'sh', path], {
    signal,
    timeoutMs: 0,
    okExitCodes: [1, 2, 3, 4],
    onStderr: (chunk) => {
      tail = (tail + chunk).slice(-512);
      const n = lastFigure(tail, 'hashed');
      if (n !== null) onBytes(n);
    },
  });
  return hashOutcome(r);
}

export interface VerifyArgs {
  guest: string;
  dest: string;
  files: RunFile[];
  /** The chain's recorded verify failures. */
  recorded: { run: string; sentence: string }[];
  /** Go on past damage (a restore under a new name with --allow-damaged): findings become log lines. */
  allowDamaged: boolean;
  /** Newest first: runs to suggest instead, each with the runs its chain needs. */
  candidates: { name: string; chain: string[] }[];
  /** The command that restores a suggested run, with RUN where its name goes. */
  retry: string;
  /** How to go on with this run anyway, e.g. "restore it under a new name only: --as NEWNAME --to DIR --allow-damaged". */
  anyway: string;
  /**
   * 'while-copying': the job's copy steps check where each image is and its header, and hash it
   * as they copy it (verifiedCopy.ts), so this step checks only the chain's recorded verify.
   * Absent: everything here.
   */
  checksums?: 'now' | 'while-copying';
  /**
   * The verification record (verifiedRuns.ts): an image it vouches for as the file is now is not
   * hashed again, and every image hashed here and found matching is added to it.
   */
  trust?: VerifiedStore;
}

export interface VerifyProgress {
  progress(fraction: number, totalBytes: number): void;
  log(line: string): void;
  signal?: AbortSignal;
}

/** The fix of a refused damaged run: the newest run whose chain avoids `badRun`, as a command, or a new backup. */
export function damagedRunFix(a: Pick<VerifyArgs, 'guest' | 'dest' | 'candidates' | 'retry' | 'anyway'>, badRun: string | null): string {
  const good = a.candidates.find((c) => badRun === null || !c.chain.includes(badRun));
  const instead = good ? `Restore the newest run not found damaged instead (it is checked the same way): ${a.retry.replace('RUN', good.name)}` : `No other run of ${a.guest} in ${a.dest} is known good; take a new backup`;
  return `${instead}; or ${a.anyway}. Nothing was changed.`;
}

/** Pure: why a file's hash (as read to the end, or not) does not vouch for it, or null when it matches its manifest. */
export function hashProblem(f: Pick<RunFile, 'path' | 'sha256'>, got: { sha256: string | null; error: string | null }): string | null {
  const name = shown(f.path);
  if (f.sha256 === null) return `The backup image ${name} has no checksum in its manifest, so it cannot be checked.`;
  if (got.error) return `The backup image ${name} could not be read to the end (${got.error}).`;
  if (got.sha256 !== f.sha256) {
    return `The backup image ${name} does not match its manifest (sha256 ${got.sha256?.slice(0, 16)}…, the manifest says ${f.sha256.slice(0, 16)}…): it was truncated or changed after the backup.`;
  }
  return null;
}

/** The record's entries; an unreadable or untrusted record vouches for nothing (everything is hashed). */
function trustedEntries(store: VerifiedStore): VerifiedEntry[] {
  try {
    return readVerified(store.stateDir);
  } catch {
    return [];
  }
}

/**
 * Checks every image a restore will read: confinement, recorded verify, then sha256 against the
 * manifest with progress. Throws a UserError naming the first damaged file (or only logs it when
 * damage is allowed); returns the findings.
 */
export async function verifyRunFiles(host: HostContext, a: VerifyArgs, p: VerifyProgress): Promise<string[]> {
  // While copying, each copy step checks where its images are and their headers at the moment it reads them.
  const facts = a.checksums === 'while-copying' ? new Map<string, FileFacts>() : await checkConfinement(host.sysExec, a.files, p.signal);
  const findings: string[] = [];
  const damaged = (sentence: string, run: string | null) => {
    if (!a.allowDamaged) throw new UserError(sentence, damagedRunFix(a, run));
    findings.push(sentence);
    p.log(`damaged (allowed): ${sentence}`);
  };
  for (const r of a.recorded) damaged(`The run cannot be trusted: ${r.sentence}`, r.run);
  if (a.checksums === 'while-copying') return findings;
  const vouched = a.trust ? trustedEntries(a.trust) : [];
  const good: { path: string; identity: string; sha256: string }[] = [];
  const total = a.files.reduce((s, f) => s + (facts.get(f.path)?.size ?? 0), 0);
  let before = 0;
  p.progress(0, total);
  for (const f of a.files) {
    const fact = facts.get(f.path);
    const size = fact?.size ?? 0;
    if (a.trust && vouches(vouched, a.trust.uri, f.path, fact?.identity ?? '', f.sha256)) {
      // Unchanged (inode, size, mtime, ctime) since it last matched its manifest: see verifiedRuns.ts.
      p.log(`sha256 ${f.path}: matched its manifest before and the file has not changed since`);
      before += size;
      p.progress(total > 0 ? before / total : 1, total);
      continue;
    }
    p.log(`sha256 ${f.path}`);
    const got = await streamSha256(host.sysExec, f.path, (bytes) => p.progress(total > 0 ? (before + Math.min(bytes, size)) / total : 1, total), p.signal);
    before += size;
    p.progress(total > 0 ? before / total : 1, total);
    const problem = hashProblem(f, got);
    if (problem) damaged(problem, f.run);
    else if (f.sha256) good.push({ path: f.path, identity: fact?.identity ?? '', sha256: f.sha256 });
  }
  if (a.trust) recordVerified(a.trust, good);
  return findings;
}
