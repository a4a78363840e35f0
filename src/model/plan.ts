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

/** The review screen's and `--dry-run`'s lines: one per step, numbered. */
export function describePlan(plan: Plan): string[] {
  return plan.steps.map((s, i) => {
    const shown = s.command ? commandLine(s.command) : s.title;
    return `${i + 1} ${shown}`;
  });
}

/** The plan as a shell script an admin can read, save or run by hand (review screen's `w`). */
export function planScript(plan: Plan): string {
  const lines = ['#!/bin/sh', `# ${plan.title}`, '# Written by virtdeck; each step is what virtdeck would run.', 'set -e'];
  for (const s of plan.steps) {
    lines.push('', `# ${s.title}`);
    if (s.writesFile) lines.push(`cat > ${shellQuote(s.writesFile.path)} <<'VIRTDECK_EOF'`, s.writesFile.content.trimEnd(), 'VIRTDECK_EOF');
    if (s.command) lines.push(s.command.argv.map(shellQuote).join(' '));
    else lines.push('# (virtdeck performs this step itself; no single command)');
  }
  return `${lines.join('\n')}\n`;
}
