/**
 * Runs a plan step by step: journal before and after each step, progress from qemu-img's -p, cancel
 * through an AbortSignal, and on failure or cancel the finished steps undone in reverse. The same
 * code finishes or rolls back a journal left by an interrupted virtdeck.
 */
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { HostError, toHostError } from '../host/errors.js';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import type { CommandSpec, Plan, PlanStep } from '../model/plan.js';
import { type PartProgress, type Progress, ProgressTracker, qemuImgProgressStream } from '../model/progress.js';
import { UserError } from '../model/userError.js';
import type { Launched } from './detached.js';
import { type HandOver, handOverOf } from './handOver.js';
import { Journal, type JournalRecord, resumePoint } from './journal.js';
import { acquireLocks, type HeldLocks } from './locks.js';
import { removeStepFile, writeStepFile } from './privateTemp.js';
import { recordPlanDirs } from './writtenDirs.js';

export type RunnerEvent =
  | { type: 'step-start'; index: number; step: PlanStep }
  | { type: 'progress'; index: number; progress: Progress }
  | { type: 'step-end'; index: number; step: PlanStep }
  /** Before the rollback starts, so a progress display can mark the step that stopped the job. */
  | { type: 'step-failed'; index: number; step: PlanStep; error: UserError | HostError }
  | { type: 'undo'; index: number; title: string }
  /** The undo announced by the last 'undo' event finished; ok false: it is left for the admin. */
  | { type: 'undo-end'; index: number; title: string; ok: boolean }
  | { type: 'log'; line: string }
  /** The job is journaled (runPlan): from now on it can be handed to a worker (handOver.ts). */
  | { type: 'journal'; path: string };

export interface ActionContext {
  host: HostContext;
  signal: AbortSignal;
  /** Report progress of a long action (fraction 0..1 of totalBytes), with its parts' own figures when it has parts. */
  progress(fraction: number, totalBytes: number, parts?: PartProgress[]): void;
  log(line: string): void;
}

export type Action = (args: unknown, ctx: ActionContext) => Promise<void>;

export interface RunOptions {
  host: HostContext;
  stateDir: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
  /** Functions named by steps' `action` and undos' `action`. */
  actions?: Record<string, Action>;
  params?: unknown;
  /** Undo the finished steps when a step fails or the job is cancelled (default true). */
  rollbackOnFailure?: boolean;
}

export interface RunResult {
  state: JournalRecord['state'];
  journal: Journal;
  error?: UserError | HostError;
  /** Set when the job was handed to a worker: `state` stays 'running', the worker ends it. */
  worker?: Launched;
}

function executorFor(host: HostContext, c: CommandSpec): Executor {
  // virshExec is always this machine's executor (libvirt remotes virsh itself), so 'local' runs there too.
  return c.runsOn === 'sys' ? host.sysExec : host.virshExec;
}

async function runCommand(
  host: HostContext,
  c: CommandSpec,
  opts: { signal: AbortSignal; long?: boolean; onStdout?: (chunk: string) => void },
): Promise<void> {
  await executorFor(host, c).run(c.argv, {
    input: c.input,
    okExitCodes: c.okExitCodes,
    signal: opts.signal,
    // A convert of a 200 GiB disk takes as long as it takes; only queries get a default timeout.
    timeoutMs: c.timeoutMs ?? (opts.long ? 0 : undefined),
    onStdout: opts.onStdout,
  });
}

function errorOf(e: unknown): UserError | HostError {
  return e instanceof UserError ? e : toHostError(e);
}

function describeError(e: UserError | HostError): string {
  return `${e.sentence} ${e.fix}`;
}

async function runStep(step: PlanStep, index: number, opts: RunOptions, signal: AbortSignal): Promise<void> {
  const emit = opts.onEvent ?? (() => {});
  let tracker = step.progress ? new ProgressTracker(step.progress.totalBytes) : null;
  const report = (fraction: number, total: number, parts?: PartProgress[]) => {
    tracker ??= new ProgressTracker(total);
    const progress = tracker.update(fraction, Date.now());
    emit({ type: 'progress', index, progress: parts ? { ...progress, parts } : progress });
  };
  if (step.writesFile) writeStepFile(step.writesFile.path, step.writesFile.content);
  try {
    if (step.action) {
      const fn = opts.actions?.[step.action.name];
      if (!fn) throw new Error(`no action ${step.action.name} registered for ${step.id}`);
      await fn(step.action.args, { host: opts.host, signal, progress: report, log: (line) => emit({ type: 'log', line }) });
    } else if (step.command) {
      const onStdout = step.progress ? qemuImgProgressStream((pct) => report(pct / 100, step.progress?.totalBytes ?? 0)) : undefined;
      await runCommand(opts.host, step.command, { signal, long: step.long, onStdout });
    }
  } finally {
    if (step.writesFile) removeStepFile(step.writesFile.path);
  }
}

async function undoStep(step: PlanStep, opts: RunOptions): Promise<void> {
  const u = step.undo;
  if (!u) return;
  // Undo must run even when the job was cancelled, so it gets its own signal.
  const signal = new AbortController().signal;
  if (u.action) {
    const fn = opts.actions?.[u.action.name];
    if (!fn) throw new Error(`no undo action ${u.action.name} registered`);
    await fn(u.action.args, { host: opts.host, signal, progress: () => {}, log: () => {} });
  } else if (u.command) {
    await runCommand(opts.host, u.command, { signal, long: true });
  }
}

/** Undoes steps [0, upTo] in reverse: finished ones, and failed or interrupted ones whose undo is safe on a partial result. */
async function rollback(journal: Journal, opts: RunOptions, upTo: number): Promise<boolean> {
  const steps = journal.record.plan.steps;
  let clean = true;
  for (let i = Math.min(upTo, steps.length - 1); i >= 0; i--) {
    const rec = journal.record.steps[i];
    const step = steps[i];
    if (!rec || !step?.undo) continue;
    if (rec.state !== 'done' && !((rec.state === 'running' || rec.state === 'failed') && step.undo.partial)) continue;
    opts.onEvent?.({ type: 'undo', index: i, title: step.undo.title });
    try {
      await undoStep(step, opts);
      journal.step(i, 'undone');
      opts.onEvent?.({ type: 'undo-end', index: i, title: step.undo.title, ok: true });
    } catch (e) {
      clean = false;
      journal.step(i, 'undo-failed', describeError(errorOf(e)));
      opts.onEvent?.({ type: 'undo-end', index: i, title: step.undo.title, ok: false });
    }
  }
  return clean;
}

async function runFrom(journal: Journal, start: number, opts: RunOptions): Promise<RunResult> {
  const asked = opts.signal ?? new AbortController().signal;
  const steps = journal.record.plan.steps;
  // Past a step that `finishes` the job (see PlanStep), the rest runs to the end whatever is asked.
  let signal = steps.slice(0, start).some((s) => s.finishes) ? new AbortController().signal : asked;
  for (let i = start; i < steps.length; i++) {
    const step = steps[i] as PlanStep;
    const handOver = handOverOf(asked);
    if (handOver) return handTo(handOver, journal, opts, i - 1);
    if (signal.aborted) return stop(journal, opts, i - 1, 'cancelled');
    journal.step(i, 'running');
    opts.onEvent?.({ type: 'step-start', index: i, step });
    try {
      await runStep(step, i, opts, signal);
    } catch (e) {
      const handOver = handOverOf(signal);
      // The step was stopped to be run again by the worker: it is neither failed nor undone.
      if (handOver) return handTo(handOver, journal, opts, i);
      const err = errorOf(e);
      const cancelled = signal.aborted || (err instanceof HostError && err.code === 'cancelled');
      journal.step(i, 'failed', describeError(err));
      opts.onEvent?.({ type: 'step-failed', index: i, step, error: err });
      return stop(journal, opts, i, cancelled ? 'cancelled' : 'failed', err);
    }
    journal.step(i, 'done');
    opts.onEvent?.({ type: 'step-end', index: i, step });
    if (step.finishes && signal === asked) {
      if (asked.aborted) opts.onEvent?.({ type: 'log', line: `The cancel came after "${step.title}" was done: nothing is undone, the job runs to its end.` });
      signal = new AbortController().signal;
    }
  }
  journal.finish('done');
  return { state: 'done', journal };
}

/** The `final` step (see PlanStep) up to `upTo` that has started, if any: the job can no longer be rolled back. */
export function startedFinal(rec: Readonly<JournalRecord>, upTo = Number.POSITIVE_INFINITY): PlanStep | undefined {
  return rec.plan.steps.find((s, i) => i <= upTo && s.final === true && (rec.steps[i]?.state ?? 'pending') !== 'pending');
}

async function stop(
  journal: Journal,
  opts: RunOptions,
  lastIndex: number,
  why: 'failed' | 'cancelled',
  err?: UserError | HostError,
): Promise<RunResult> {
  if (opts.rollbackOnFailure === false || startedFinal(journal.record, lastIndex)) {
    journal.finish(why, err ? describeError(err) : undefined);
    return { state: why, journal, error: err };
  }
  const clean = await rollback(journal, opts, lastIndex);
  const state = clean ? (why === 'cancelled' ? 'cancelled' : 'failed') : 'rollback-failed';
  journal.finish(state, err ? describeError(err) : undefined);
  return { state, journal, error: err };
}

/**
 * Gives the journal to a worker, which takes the locks over and finishes the job from its first
 * step not done. If no worker starts, the job is undone here as a failed one would be.
 */
async function handTo(handOver: HandOver, journal: Journal, opts: RunOptions, lastIndex: number): Promise<RunResult> {
  try {
    const worker = await handOver.start(journal);
    opts.onEvent?.({ type: 'log', line: `handed to worker pid ${worker.pid ?? '?'} (job ${worker.id})` });
    return { state: 'running', journal, worker };
  } catch (e) {
    const err = errorOf(e);
    return stop(journal, opts, lastIndex, 'failed', err);
  }
}

/** Locks the plan's guests and images for this process (see locks.ts); refuses while another live job holds one. */
function lockJob(journal: Journal, opts: { stateDir: string }): HeldLocks {
  const r = journal.record;
  return acquireLocks(opts.stateDir, r.uri, r.plan.targets ?? { guests: [], images: [] }, { jobId: r.id, kind: r.kind, title: r.title, pid: process.pid, startedAt: r.createdAt });
}

async function locked(locks: HeldLocks, run: () => Promise<RunResult>): Promise<RunResult> {
  try {
    return await run();
  } finally {
    locks.release();
  }
}

/** Journals and runs a new plan. */
export async function runPlan(plan: Plan, opts: RunOptions): Promise<RunResult> {
  const journal = Journal.create(opts.stateDir, { plan, uri: opts.host.uri, hostname: hostname(), params: opts.params });
  let locks: HeldLocks;
  try {
    locks = lockJob(journal, opts);
  } catch (e) {
    // Refused before its first step: a journal of a job that never ran would only confuse recovery.
    rmSync(journal.path, { force: true });
    throw e;
  }
  // Before the first step: what an interrupted job leaves behind must be findable too.
  recordPlanDirs(opts.stateDir, opts.host.sysExec.label, plan);
  opts.onEvent?.({ type: 'journal', path: journal.path });
  return locked(locks, () => runFrom(journal, 0, opts));
}

/**
 * Finishes an interrupted job: the step that was running when it died runs again. Callers that
 * read the journal back from disk check it first (recoveryGuard.ts: recovery.ts, worker.ts).
 */
export async function finishJob(journal: Journal, opts: Omit<RunOptions, 'params'>): Promise<RunResult> {
  const locks = lockJob(journal, opts);
  journal.adopt();
  return locked(locks, () => runFrom(journal, resumePoint(journal.record), opts));
}

/** Rolls an interrupted job back: undoes every step that started, newest first. */
export async function rollbackJob(journal: Journal, opts: Omit<RunOptions, 'params'>): Promise<RunResult> {
  const final = startedFinal(journal.record);
  if (final) throw new UserError(`"${journal.record.title}" had started to ${final.title}, so it cannot be rolled back.`, `Finish it instead: virtdeck recover --finish ${journal.record.id}`);
  const locks = lockJob(journal, opts);
  journal.adopt();
  return locked(locks, async () => {
    const clean = await rollback(journal, opts, journal.record.steps.length - 1);
    journal.finish(clean ? 'rolled-back' : 'rollback-failed');
    return { state: journal.record.state, journal };
  });
}
