/**
 * The parent side of kill -9 tests for any job: run a prepared plan in a child process
 * (planFaultChild.ts), wait until the journal shows the chosen step running (and, when asked,
 * until the step's effect is visible), then SIGKILL the child's whole process group so no
 * qemu-img or guestfish it started finishes its work behind the recovery's back.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Journal, listJournals } from '../../src/jobs/journal.js';
import type { Plan } from '../../src/model/plan.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PlanChild {
  child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
}

export interface StartOptions {
  /** VIRTDECK_HOME of the child: its journals land in HOME/state/jobs. */
  home: string;
  /** Step id at whose start the child freezes. */
  hangAt?: string;
  /** Directory put first on the child's PATH (see writeShim). */
  shimDir?: string;
}

export function startPlanChild(plan: Plan, o: StartOptions): PlanChild {
  mkdirSync(o.home, { recursive: true });
  const planFile = join(o.home, 'plan.json');
  writeFileSync(planFile, JSON.stringify(plan));
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'planFaultChild.ts')], {
    env: { ...process.env, VIRTDECK_HOME: o.home, VD_PLAN_FILE: planFile, VD_HANG_AT: o.hangAt ?? '', PATH: o.shimDir ? `${o.shimDir}:${process.env.PATH}` : process.env.PATH },
    // Its own process group, so one kill reaches the programs it started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, output: () => out };
}

/** The one journal of the child's job (the test gives every run a fresh home). */
export function theJournal(home: string): Journal | undefined {
  return listJournals(join(home, 'state'))[0];
}

/**
 * Waits until step `index` is running in the journal and `ready()` holds (the step's effect is
 * visible, or the child printed enough progress). Fails with the child's output if the job ends or
 * the step is passed first.
 */
export async function waitForStep(pc: PlanChild, home: string, index: number, ready: () => boolean = () => true, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = theJournal(home);
    const s = j?.record.steps[index]?.state;
    if (s === 'running' && ready()) return;
    if (pc.child.exitCode !== null || (s !== undefined && s !== 'pending' && s !== 'running')) {
      throw new Error(`step ${index} was not caught running (journal: ${j?.record.steps.map((x) => x.state).join(',')}); child output:\n${pc.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`step ${index} never got ready; child output:\n${pc.output()}`);
    await sleep(25);
  }
}

/**
 * SIGKILL to a whole process group until it is empty: a program being forked at the moment of the
 * first kill does not receive it, and must not finish its work behind the recovery's back.
 */
export async function killProcessGroup(pgid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      return; // ESRCH: nobody left in the group
    }
    await sleep(50);
  }
}

/** SIGKILL to the plan child's whole group. */
export function killGroup(pc: PlanChild): Promise<void> {
  return killProcessGroup(pc.child.pid as number);
}

/**
 * An executable NAME in `dir` that runs the real program with BODY around it: in BODY, "$REAL"
 * is the real program's path and "$@" its arguments; the shim exits with $rc when BODY sets it.
 */
export function writeShim(dir: string, name: string, body: string): void {
  mkdirSync(dir, { recursive: true });
  const real = execFileSync('/bin/sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  const f = join(dir, name);
  writeFileSync(f, `#!/bin/sh\nREAL='${real}'\nrc=0\n${body}\nexit $rc\n`);
  chmodSync(f, 0o755);
}

/**
 * BODY for writeShim: run the program, then hang when its arguments contain WORD (the kill lands
 * after the effect); `marker`, when given, is created the moment the program has finished.
 */
export function hangAfter(word: string, marker?: string): string {
  const mark = marker ? `: > '${marker}'; ` : '';
  return `"$REAL" "$@"; rc=$?\ncase " $* " in *" ${word} "*) ${mark}sleep 900 ;; esac`;
}
