/**
 * The safe fixes a host check may apply itself, after a confirmation that names the file and line
 * that change: a sysctl (written to /etc/sysctl.d/90-virtdeck.conf, applied with `sysctl -p FILE`)
 * and noatime (remount now, and /etc/fstab edited after a timestamped backup). Files are read and
 * written through the Executor, so the fix lands on the host being checked, also over SSH.
 *
 * `root` relocates the files (tests use a temp dir); `apply: false` skips the kernel-side command.
 */
import type { Executor } from '../host/exec.js';
import { addNoatime, backupStamp, type LineEdit, setSysctl } from '../model/fstab.js';
import type { SafeFix } from '../model/hostChecks.js';
import { UserError } from '../model/userError.js';

export const SYSCTL_FILE = '/etc/sysctl.d/90-virtdeck.conf';
export const FSTAB_FILE = '/etc/fstab';

export interface FixOptions {
  /** Prefix for the files edited; default '/'. */
  root?: string;
  /** Run sysctl -p / mount -o remount; default true. */
  apply?: boolean;
  now?: () => Date;
  signal?: AbortSignal;
}

export interface FixPlan {
  title: string;
  /** The file edited (with root applied) and the edit; null when nothing can be persisted. */
  file: string | null;
  edit: LineEdit | null;
  /** Why the change cannot be persisted, when it cannot. */
  persistProblem: string | null;
  /** The kernel-side command, run before or after the file edit (see applyFix). */
  command: string[];
  /** Lines for the confirmation dialog: what runs, which file and line change. */
  lines: string[];
}

function rooted(root: string | undefined, path: string): string {
  if (!root || root === '/') return path;
  return `${root.replace(/\/+$/, '')}${path}`;
}

async function readFile(exec: Executor, path: string, signal?: AbortSignal): Promise<string> {
  // A missing file reads as empty: sysctl.d/90-virtdeck.conf does not exist before the first fix.
  const r = await exec.run(['sh', '-c', '[ ! -e "$1" ] || cat -- "$1"', 'virtdeck-read', path], { signal });
  return r.stdout;
}

/** Writes through a temp file and rename, so a dropped link never leaves half a file. */
async function writeFileAtomic(exec: Executor, path: string, text: string, signal?: AbortSignal): Promise<void> {
  await exec.run(
    ['sh', '-c', 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1.virtdeck-tmp" && chmod 644 "$1.virtdeck-tmp" && mv -f -- "$1.virtdeck-tmp" "$1"', 'virtdeck-write', path],
    { input: text, signal },
  );
}

function describeEdit(file: string, edit: LineEdit): string[] {
  if (!edit.changed) return [`${file} line ${edit.lineNumber} already says: ${edit.after}`];
  if (edit.before === null) return [`${file}: add line ${edit.lineNumber}: ${edit.after}`];
  return [`${file} line ${edit.lineNumber}:`, `  was: ${edit.before}`, `  now: ${edit.after}`];
}

/** Reads the file and works out the exact change, without changing anything. */
export async function planFix(exec: Executor, fix: SafeFix, opts: FixOptions = {}): Promise<FixPlan> {
  if (fix.kind === 'sysctl') {
    const file = rooted(opts.root, SYSCTL_FILE);
    const edit = setSysctl(await readFile(exec, file, opts.signal), fix.key, fix.value);
    const command = ['sysctl', '-p', file];
    return {
      title: `Set ${fix.key} = ${fix.value}`,
      file,
      edit,
      persistProblem: null,
      command,
      lines: [...describeEdit(file, edit), `then run: ${command.join(' ')}   (applies it now; the file applies it at boot)`],
    };
  }
  const file = rooted(opts.root, FSTAB_FILE);
  const command = ['mount', '-o', 'remount,noatime', fix.mountpoint];
  let edit: LineEdit | null = null;
  let persistProblem: string | null = null;
  try {
    edit = addNoatime(await readFile(exec, file, opts.signal), fix.mountpoint);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    persistProblem = `${e.sentence} ${e.fix}`;
  }
  const lines = [`run: ${command.join(' ')}   (takes effect at once, guests keep running)`];
  if (edit) lines.push(...describeEdit(file, edit), `a copy of ${file} is kept as ${file}.virtdeck-<time> first`);
  else lines.push(`Not persisted: ${persistProblem}`);
  return { title: `Mount ${fix.mountpoint} with noatime`, file: edit ? file : null, edit, persistProblem, command, lines };
}

export interface FixOutcome {
  /** What was done, one sentence per step. */
  done: string[];
  backup: string | null;
}

/**
 * Applies a planned fix. sysctl: file first, then `sysctl -p FILE` (the file is the truth the
 * boot applies too). noatime: remount first — if the kernel refuses, fstab stays untouched — then
 * back up and edit fstab.
 */
export async function applyFix(exec: Executor, fix: SafeFix, plan: FixPlan, opts: FixOptions = {}): Promise<FixOutcome> {
  const apply = opts.apply ?? true;
  const done: string[] = [];
  let backup: string | null = null;
  if (fix.kind === 'sysctl') {
    if (plan.file && plan.edit?.changed) {
      await writeFileAtomic(exec, plan.file, plan.edit.text, opts.signal);
      done.push(`Wrote ${fix.key} = ${fix.value} to ${plan.file}.`);
    }
    if (apply) {
      await exec.run(plan.command, { signal: opts.signal });
      done.push(`Applied it now (${plan.command.join(' ')}).`);
    }
    return { done, backup };
  }
  if (apply) {
    await exec.run(plan.command, { signal: opts.signal });
    done.push(`Remounted ${fix.mountpoint} with noatime.`);
  }
  if (plan.file && plan.edit?.changed) {
    backup = `${plan.file}.virtdeck-${backupStamp((opts.now ?? (() => new Date()))())}`;
    await exec.run(['cp', '-p', '--', plan.file, backup], { signal: opts.signal });
    await writeFileAtomic(exec, plan.file, plan.edit.text, opts.signal);
    done.push(`Added noatime to ${plan.file} line ${plan.edit.lineNumber} (backup: ${backup}).`);
  } else if (plan.persistProblem) {
    done.push(`Not persisted: ${plan.persistProblem}`);
  }
  return { done, backup };
}
