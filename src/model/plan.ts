/**
 * A job's plan: the steps it will run, each with the exact command shown on the review screen and
 * printed by `--dry-run`, and how to undo it. Plans are data (they go into the journal as JSON), so
 * an interrupted job can be finished or rolled back by a later virtdeck that rebuilds nothing.
 */
import { shellQuote } from './shellQuote.js';

/** virsh runs where libvirt's client is (libvirt does its own remoting); file tools run on the host that holds the files. */
export type RunsOn = 'virsh' | 'sys';

export interface CommandSpec {
  runsOn: RunsOn;
  argv: string[];
  /** Text fed to stdin. */
  input?: string;
  okExitCodes?: number[];
  timeoutMs?: number;
}

export interface PlanStep {
  /** Stable id code and tests use; the title is for people. */
  id: string;
  title: string;
  /** The command this step runs. A step without one runs a named action of its job (see `action`). */
  command?: CommandSpec;
  /**
   * For steps that are more than one command (wait for a state, compare-then-swap): the name of a
   * function the job registers with the runner, and its JSON arguments. `command`, when present
   * too, is what the review screen shows.
   */
  action?: { name: string; args?: unknown };
  /**
   * A local file written just before the command runs (a domain XML for `virsh define`): virsh
   * cannot read /dev/stdin when Node's stdin is a socket pair.
   */
  writesFile?: { path: string; content: string };
  /** How to take this step back; a step without undo is either harmless to leave or irreversible. */
  undo?: {
    title: string;
    command?: CommandSpec;
    action?: { name: string; args?: unknown };
    /**
     * Safe on a step that failed or was killed midway (removing the temp file this step writes).
     * Without it, only finished steps are undone: undoing a failed `virsh define` with `undefine`
     * would remove the guest that made it fail.
     */
    partial?: boolean;
  };
  /**
   * Commands the step's action runs besides `command` (a `qemu-img check` after the `qemu-img info`),
   * so that a dry run shows everything that runs. Shown only; the action runs them.
   */
  alsoRuns?: CommandSpec[];
  /** qemu-img -p output of this command is parsed into progress against this many bytes. */
  progress?: { kind: 'qemu-img'; totalBytes: number };
  /** Long commands get no default timeout. */
  long?: boolean;
}

export interface Plan {
  kind: string;
  title: string;
  /** What this job changes, for locks and for the recovery prompt. */
  targets: { guests: string[]; images: string[] };
  steps: PlanStep[];
}

/** A command as an admin would type it (each word quoted for a POSIX shell). */
export function commandLine(c: CommandSpec): string {
  const line = c.argv.map(shellQuote).join(' ');
  return c.input !== undefined ? `${line} <<< (${c.input.length} bytes)` : line;
}

/** A script fed on stdin is shown whole up to this many lines; longer input (a .reg file) is named by its step. */
const SHOWN_INPUT_LINES = 30;

/**
 * The review screen's and `--dry-run`'s lines: one per step, numbered, and under it what else runs:
 * a short script fed on stdin (a guestfish script) line by line, and the commands of `alsoRuns`.
 */
export function describePlan(plan: Plan): string[] {
  return plan.steps.flatMap((s, i) => {
    if (!s.command) return [`${i + 1} ${s.title}`, ...(s.alsoRuns ?? []).map((c) => `  + ${commandLine(c)}`)];
    const lines = [`${i + 1} ${commandLine(s.command)}`];
    const input = s.command.input?.replace(/\n$/, '').split('\n');
    // Two steps that differ only in their input (one merge per control set) still read apart.
    if (input && input.length <= SHOWN_INPUT_LINES) lines.push(...input.map((l) => `    | ${l}`));
    else if (input) lines[0] += `  # ${s.title}`;
    return [...lines, ...(s.alsoRuns ?? []).map((c) => `  + ${commandLine(c)}`)];
  });
}

/** The plan as a shell script an admin can read, save or run by hand (review screen's `w`). */
export function planScript(plan: Plan): string {
  const lines = ['#!/bin/sh', `# ${plan.title}`, '# Written by virtdeck; each step is what virtdeck would run.', 'set -e'];
  for (const s of plan.steps) {
    lines.push('', `# ${s.title}`);
    if (s.writesFile) lines.push(`cat > ${shellQuote(s.writesFile.path)} <<'VIRTDECK_EOF'`, s.writesFile.content.trimEnd(), 'VIRTDECK_EOF');
    if (s.command) lines.push(s.command.argv.map(shellQuote).join(' '));
    else if (!s.alsoRuns) lines.push('# (virtdeck performs this step itself; no single command)');
    for (const c of s.alsoRuns ?? []) lines.push(c.argv.map(shellQuote).join(' '));
  }
  return `${lines.join('\n')}\n`;
}
