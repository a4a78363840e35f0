/**
 * A job's plan: the steps it will run, each with the exact command shown on the review screen and
 * printed by `--dry-run`, and how to undo it. Plans are data (they go into the journal as JSON), so
 * an interrupted job can be finished or rolled back by a later virtdeck that rebuilds nothing.
 */
import { shellQuote } from './shellQuote.js';
import { UserError } from './userError.js';

/**
 * virsh runs where libvirt's client is (libvirt does its own remoting); file tools run on the host
 * that holds the files; 'local' runs on the machine virtdeck runs on whatever the host (the shell
 * form of the P2V stream: its ssh to the source and the dd that writes the copy). 'local' is only
 * written into a step's `script`, never journaled: the journal schema does not take it.
 */
export type RunsOn = 'virsh' | 'sys' | 'local';

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
  /**
   * For a step virtdeck performs itself (an action): what it does as shell commands, for the script
   * `w` saves. An action step with neither this nor a command has no shell form, and its plan is
   * not saved as a script.
   */
  script?: CommandSpec[];
  /** qemu-img -p output of this command is parsed into progress against this many bytes. */
  progress?: { kind: 'qemu-img'; totalBytes: number };
  /** Long commands get no default timeout. */
  long?: boolean;
  /**
   * The job's point of no return (a live migration that has moved the guest): once this step is
   * done, a cancel no longer undoes the job but lets its remaining steps (checks) run to the end,
   * and says so. A cancel that reaches the step too late would otherwise undo the steps before it
   * around a guest that has already moved.
   */
  finishes?: boolean;
  /**
   * Once this step has started, the job is never rolled back (a failure, a cancel, `recover
   * --rollback`): it deletes what the steps before it would need to undo around (the disks a
   * migration left on its source), so the job can only be finished.
   */
  final?: boolean;
}

export interface Plan {
  kind: string;
  title: string;
  /** What this job changes, for locks and for the recovery prompt. */
  targets: { guests: string[]; images: string[] };
  steps: PlanStep[];
}

/**
 * How the commands of a plan reach the host that holds the files ('sys'): null for this machine,
 * else the ssh command line virtdeck itself uses, up to and including the destination.
 */
export interface PlanRoute {
  /** The host's name, for sentences. */
  host: string;
  /** ssh and its options, `--`, then user@host: each 'sys' command follows as one quoted word. */
  ssh: string[];
}

/**
 * The route as a screen that cuts lines at its width shows it: `ssh user@host '…'`, without the
 * options (port, key) the dry-run and the saved script spell out, so the command itself stays in view.
 */
export function compactRoute(route: PlanRoute | null | undefined): PlanRoute | null {
  return route ? { host: route.host, ssh: ['ssh', route.ssh.at(-1) ?? route.host] } : null;
}

/** The argv an admin runs on this machine for a command: 'sys' ones through ssh when the host is remote. */
export function routedArgv(c: CommandSpec, route?: PlanRoute | null): string[] {
  if (!route || c.runsOn !== 'sys') return c.argv;
  // The remote sshd hands its command line to a shell: each word is quoted for it, then the whole
  // line is one word for the local shell.
  return [...route.ssh, c.argv.map(shellQuote).join(' ')];
}

/** A command as an admin would type it (each word quoted for a POSIX shell), over ssh when it runs on a remote host. */
export function commandLine(c: CommandSpec, route?: PlanRoute | null): string {
  const line = routedArgv(c, route).map(shellQuote).join(' ');
  return c.input !== undefined ? `${line} <<< (${c.input.length} bytes)` : line;
}

/** A script fed on stdin is shown whole up to this many lines; longer input (a .reg file) is named by its step. */
const SHOWN_INPUT_LINES = 30;

/**
 * The review screen's and `--dry-run`'s lines: one per step, numbered, and under it what else runs:
 * a short script fed on stdin (a guestfish script) line by line, and the commands of `alsoRuns`.
 * With a route, the commands that run on the remote host read `ssh … -- HOST '…'`.
 */
export function describePlan(plan: Plan, route?: PlanRoute | null): string[] {
  const also = (s: PlanStep) => (s.alsoRuns ?? []).map((c) => `  + ${commandLine(c, route)}`);
  return plan.steps.flatMap((s, i) => {
    if (!s.command) return [`${i + 1} ${s.title}`, ...also(s)];
    const lines = [`${i + 1} ${commandLine(s.command, route)}`];
    const input = s.command.input?.replace(/\n$/, '').split('\n');
    // Two steps that differ only in their input (one merge per control set) still read apart.
    if (input && input.length <= SHOWN_INPUT_LINES) lines.push(...input.map((l) => `    | ${l}`));
    else if (input) lines[0] += `  # ${s.title}`;
    return [...lines, ...also(s)];
  });
}

/** The step a saved script could not do, or null when every step has a shell form. */
export function unscriptableStep(plan: Plan): { index: number; step: PlanStep } | null {
  const index = plan.steps.findIndex((s) => !s.script && !s.command && !s.alsoRuns && s.action);
  return index < 0 ? null : { index, step: plan.steps[index] as PlanStep };
}

/** A here-document delimiter that no line of the text is. */
function heredocEnd(text: string): string {
  let end = 'VIRTDECK_EOF';
  while (text.split('\n').includes(end)) end += '_';
  return end;
}

function scriptCommand(c: CommandSpec, route?: PlanRoute | null): string[] {
  const line = routedArgv(c, route).map(shellQuote).join(' ');
  if (c.input === undefined) return [line];
  // ssh passes its stdin on, so the same here-document feeds a remote command.
  const end = heredocEnd(c.input);
  return [`${line} <<'${end}'`, c.input.replace(/\n$/, ''), end];
}

/**
 * The plan as a shell script an admin can read, save or run by hand (review screen's `w`), each
 * command on the machine it runs on: 'sys' commands of a remote host through the same ssh virtdeck
 * uses, virsh and local files here. A step virtdeck performs itself is written as its shell form;
 * a plan with a step that has none is refused (UserError), never saved as a script that stops or
 * goes wrong at that step.
 */
export function planScript(plan: Plan, route?: PlanRoute | null): string {
  const missing = unscriptableStep(plan);
  if (missing) {
    throw new UserError(
      `Step ${missing.index + 1} (${missing.step.title}) is one virtdeck performs itself, with no shell command to write, so this plan cannot be saved as a script.`,
      'Run it from virtdeck (Enter), or read its steps with --dry-run.',
    );
  }
  const where = route ? [`# Commands on ${route.host} run through ssh; virsh and the local files run on this machine.`] : [];
  const lines = ['#!/bin/sh', `# ${plan.title}`, '# Written by virtdeck; each step is what virtdeck would run.', ...where, 'set -e'];
  for (const s of plan.steps) {
    lines.push('', `# ${s.title}`);
    if (s.writesFile) {
      const end = heredocEnd(s.writesFile.content);
      // The file goes in a private directory virtdeck makes when it runs; the script makes it too.
      const dir = s.writesFile.path.replace(/\/[^/]*$/, '') || '/';
      lines.push(`mkdir -p -m 0700 -- ${shellQuote(dir)}`, `cat > ${shellQuote(s.writesFile.path)} <<'${end}'`, s.writesFile.content.trimEnd(), end);
    }
    if (s.script) for (const c of s.script) lines.push(...scriptCommand(c, route));
    else {
      if (s.command) lines.push(...scriptCommand(s.command, route));
      for (const c of s.alsoRuns ?? []) lines.push(...scriptCommand(c, route));
    }
  }
  return `${lines.join('\n')}\n`;
}
