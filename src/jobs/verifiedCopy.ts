/**
 * A whole restore reads each backup image once. On this machine each block read is hashed and that
 * same buffer written to a place of the restore's own beside the restored disk (host/hashedCopy.ts,
 * two worker threads): what is checked is exactly what the copy holds, and the copy is never read
 * back. On a remote host cp copies the image there (inside the kernel), then the copy is
 * hashed; either way a run on a slow NAS is read over the network once, not twice. A full whose
 * format is the disk's is copied straight to the disk's temp name; a chain (or another format) is
 * copied into a private directory with the runs' layout, so each incremental's ../PARENT/ backing
 * name finds the verified copy, and qemu-img rebuilds the disk from there.
 * Nothing is moved into place or defined until every hash matched (later steps of the plan); a
 * mismatch fails this step, whose undo removes the temp file and the directory.
 */
import { posix } from 'node:path';
import { copyAndHashLocal } from '../host/hashedCopy.js';
import type { HostContext } from '../host/hostContext.js';
import { convertArgv } from '../host/qemuImg.js';
import type { CommandSpec } from '../model/plan.js';
import { qemuImgProgressStream } from '../model/progress.js';
import { UserError } from '../model/userError.js';
import { checkConfinement, damagedRunFix, HASH_FILE_SH, hashOutcome, hashProblem, KILL_CHILDREN_SH, lastFigure, progressLoopSh, type RunFile, type VerifyArgs } from './runCheck.js';
import type { ActionContext } from './runner.js';
import { recordVerified, type VerifiedStore } from './verifiedRuns.js';

export const RESTORE_COPY_ACTION = 'restore-copy';

export interface RestoreCopyArgs {
  /** This disk's images, full first. */
  check: VerifyArgs;
  /** The restored disk's temp name. */
  temp: string;
  /** Where a chain (or another format) is copied before qemu-img rebuilds it; null: the one image is copied to `temp`. */
  mirror: string | null;
  /** The rebuild from the mirror's top image; null when the copy is the disk. */
  convert: { sourceFormat: string; destFormat: string; virtualSize: number } | null;
  /** Where images that matched are recorded (see verifiedRuns.ts). */
  trust?: VerifiedStore;
}

/** Pure: whether the disk is the run's one image as it is (a full in the disk's own format), so no rebuild is needed. */
export function copiesStraight(files: Pick<RunFile, 'format' | 'backing'>[], diskFormat: string): boolean {
  const [only] = files;
  return files.length === 1 && only !== undefined && only.format === diskFormat && (only.backing ?? null) === null && (diskFormat === 'qcow2' || diskFormat === 'raw');
}

/** Pure: where a run image's copy goes inside the mirror (RUN/FILE, as in the destination). */
export function mirrorPath(mirror: string, f: Pick<RunFile, 'run' | 'file'>): string {
  return posix.join(mirror, f.run, f.file);
}

/** Pure: the step as shell commands, for the dry run and a saved script (the action does the same with progress). */
export function copyCommands(a: Pick<RestoreCopyArgs, 'temp' | 'mirror' | 'convert'> & { files: Pick<RunFile, 'path' | 'run' | 'file' | 'sha256'>[] }): CommandSpec[] {
  const sys = (argv: string[]): CommandSpec => ({ runsOn: 'sys', argv });
  const copies = a.files.map((f) =>
    sys(['sh', '-c', 'cp -T -- "$1" "$2" && printf "%s  %s\\n" "$3" "$2" | sha256sum -c --quiet -', 'sh', f.path, a.mirror ? mirrorPath(a.mirror, f) : a.temp, f.sha256 ?? '']),
  );
  const top = a.files.at(-1);
  if (!a.mirror || !a.convert || !top) return copies;
  const dirs = [...new Set(a.files.map((f) => posix.join(a.mirror as string, f.run)))];
  return [
    sys(['mkdir', '-m', '0700', '--', a.mirror, ...dirs]),
    ...copies,
    sys(convertArgv({ source: mirrorPath(a.mirror, top), sourceFormat: a.convert.sourceFormat, dest: a.temp, destFormat: a.convert.destFormat })),
    sys(['rm', '-rf', '--', a.mirror]),
  ];
}

/**
 * Copies $1 to $2 (replacing a leftover of an earlier try), reporting the copy's size, then hashes the
 * copy.
 */
export const COPY_AND_HASH = [
  KILL_CHILDREN_SH,
  'src=$1; f=$2',
  'rm -f -- "$f" || exit 3',
  'cp -T -- "$src" "$f" & c=$!',
  progressLoopSh('c', 'printf "virtdeck-copied %s\\n" "$(stat -c %s -- "$f" 2>/dev/null)"'),
  'wait "$c"; rc=$?; c=; kill "$w" 2>/dev/null; w=',
  'if [ "$rc" -ne 0 ]; then echo "virtdeck-copy-exit $rc" >&2; exit 3; fi',
  'echo virtdeck-copy-done >&2',
  HASH_FILE_SH,
].join('\n');

/** One image copied to `to` and hashed: through a worker thread here, through COPY_AND_HASH on a remote host. */
async function copyOne(exec: HostContext['sysExec'], from: string, to: string, size: number, onBytes: (copied: number, hashed: number) => void, ctx: Pick<ActionContext, 'log' | 'signal'>): Promise<{ sha256: string | null; error: string | null }> {
  const started = performance.now();
  const cannotCopy = (why: string) =>
    new UserError(`${from} could not be copied to ${to} (${why.slice(0, 200)}).`, `Check the free space in ${posix.dirname(to)}; nothing was changed.`);
  if (exec.local) {
    const r = await copyAndHashLocal(from, to, { signal: ctx.signal, onBytes: (n) => onBytes(n, n) });
    if (!r.ok && r.failed === 'write') throw cannotCopy(r.error);
    if (r.ok) ctx.log(`read ${r.bytes} bytes once, copied and hashed in one pass in ${((performance.now() - started) / 1000).toFixed(2)} s${r.holes > 0 ? ` (${r.holes} bytes of zeros left as holes)` : ''}`);
    return r.ok ? { sha256: r.sha256, error: null } : { sha256: null, error: r.error };
  }
  let tail = '';
  let copiedAt = 0;
  const r = await exec.run(['sh', '-c', COPY_AND_HASH, 'sh', from, to], {
    signal: ctx.signal,
    timeoutMs: 0,
    okExitCodes: [1, 2, 3, 4],
    onStderr: (chunk) => {
      tail = (tail + chunk).slice(-512);
      if (copiedAt === 0 && tail.includes('virtdeck-copy-done')) copiedAt = performance.now();
      onBytes(Math.min(lastFigure(tail, 'copied') ?? 0, size), Math.min(lastFigure(tail, 'hashed') ?? 0, size));
    },
  });
  if (copiedAt > 0) ctx.log(`copied in ${((copiedAt - started) / 1000).toFixed(2)} s, sha256 of the copy in ${((performance.now() - copiedAt) / 1000).toFixed(2)} s`);
  if (/virtdeck-copy-exit/.test(r.stderr)) throw cannotCopy(r.stderr.split('\n').find((l) => l !== '' && !l.startsWith('virtdeck-')) ?? 'cp failed');
  return hashOutcome(r);
}

/** The copy step of a restore (action RESTORE_COPY_ACTION). Safe to run again: each try starts from a fresh copy. */
export async function copyVerified(host: HostContext, a: RestoreCopyArgs, ctx: Pick<ActionContext, 'progress' | 'log' | 'signal'>): Promise<void> {
  const exec = host.sysExec;
  const files = a.check.files;
  // Checked again at the moment of use: regular files inside their run directories, sane headers.
  const facts = await checkConfinement(exec, files, ctx.signal);
  const sizes = files.map((f) => facts.get(f.path)?.size ?? 0);
  const bytes = sizes.reduce((s, n) => s + n, 0);
  // Copying and hashing read every byte once (at the same time here, one after the other on a
  // remote host, so each counts); a rebuild reads the chain once more.
  const passes = exec.local ? 1 : 2;
  const work = bytes * (passes + (a.convert ? 1 : 0)) || 1;
  let done = 0;
  ctx.progress(0, bytes);
  if (a.mirror) await exec.run(['sh', '-c', 'rm -rf -- "$1" && mkdir -m 0700 -- "$1"', 'sh', a.mirror], { signal: ctx.signal });
  const good: { path: string; identity: string; sha256: string }[] = [];
  for (const [i, f] of files.entries()) {
    const size = sizes[i] ?? 0;
    const to = a.mirror ? mirrorPath(a.mirror, f) : a.temp;
    if (a.mirror) await exec.run(['mkdir', '-p', '-m', '0700', '--', posix.dirname(to)], { signal: ctx.signal });
    ctx.log(`copy ${f.path} to ${to} and check its sha256`);
    const got = await copyOne(exec, f.path, to, size, (copied, hashed) => ctx.progress((done + (passes === 1 ? copied : copied + hashed)) / work, bytes), ctx);
    done += passes * size;
    ctx.progress(done / work, bytes);
    const problem = hashProblem(f, got);
    if (problem) {
      if (!a.check.allowDamaged) throw new UserError(problem, damagedRunFix(a.check, f.run));
      ctx.log(`damaged (allowed): ${problem}`);
    } else if (f.sha256) {
      good.push({ path: f.path, identity: facts.get(f.path)?.identity ?? '', sha256: f.sha256 });
    }
  }
  if (a.trust) recordVerified(a.trust, good);
  const top = files.at(-1);
  if (a.convert && a.mirror && top) {
    const argv = convertArgv({ source: mirrorPath(a.mirror, top), sourceFormat: a.convert.sourceFormat, dest: a.temp, destFormat: a.convert.destFormat });
    ctx.log(argv.join(' '));
    await exec.run(argv, {
      signal: ctx.signal,
      timeoutMs: 0,
      onStdout: qemuImgProgressStream((pct) => ctx.progress((done + (bytes * pct) / 100) / work, bytes)),
    });
    ctx.progress(1, bytes);
  }
  if (a.mirror) await exec.run(['rm', '-rf', '--', a.mirror], { signal: ctx.signal });
}
