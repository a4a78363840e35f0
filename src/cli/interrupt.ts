/**
 * Ctrl-C and SIGTERM during a headless job. The first one cancels: the job's AbortSignal fires, the
 * runner stops the running step and undoes what was done (each undo printed on stderr), and the
 * command exits 130 (143 for SIGTERM). A second one within a few seconds of the one before exits at
 * once and leaves the journal, interrupted, for `virtdeck recover`.
 *
 * The listeners are `process.on` and stay for the whole job: execa re-raises a signal nobody else
 * listens to (to kill the process as the default would), and a fired `once` listener is nobody.
 */
import type { RunnerEvent } from '../jobs/runner.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
export type JobSignal = keyof typeof SIGNAL_NUMBERS;

/** How soon a second signal must follow the one before to exit without waiting for the undo. */
export const AGAIN_WITHIN_MS = 5_000;

/** A job cancelled by a signal whose undo finished: one sentence, and the shell's exit code for that signal. */
export class Interrupted extends UserError {
  constructor(
    readonly by: JobSignal,
    sentence: string,
    fix: string,
  ) {
    super(sentence, fix);
    this.name = 'Interrupted';
  }

  get exitCode(): 130 | 143 {
    return this.by === 'SIGINT' ? 130 : 143;
  }
}

export interface HeadlessJob {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal that cancelled the job, or null while none came. */
  readonly by: JobSignal | null;
  /**
   * Whether a job that ended in `state` was stopped by the signal and undone: cancelled, or failed
   * because the terminal's Ctrl-C reached the program it ran (qemu-img) before virtdeck saw it.
   */
  undoneBySignal(state: string): boolean;
  /** What to throw once a job the signal cancelled has been undone ("The conversion", "The P2V"…). */
  cancelled(what: string): Interrupted;
}

export interface InterruptIo {
  /** One line on stderr. */
  err(line: string): void;
  exit(code: number): void;
  now(): number;
  /** The process to listen on; tests pass an EventEmitter. */
  on(sig: JobSignal, fn: () => void): void;
  off(sig: JobSignal, fn: () => void): void;
}

const processIo = (): InterruptIo => ({
  // A progress bar redrawn in place has no newline yet.
  err: (line) => process.stderr.write(`${process.stderr.isTTY ? '\n' : ''}${line}\n`),
  exit: (code) => process.exit(code),
  now: () => Date.now(),
  on: (sig, fn) => process.on(sig, fn),
  off: (sig, fn) => process.off(sig, fn),
});

const keyName = (sig: JobSignal) => (sig === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM');

/** Runs `body` with the signals of this process turned into a cancel of its job (see the top). */
export async function headlessJob<T>(body: (job: HeadlessJob) => Promise<T>, io: Partial<InterruptIo> = {}): Promise<T> {
  const p = { ...processIo(), ...io };
  const controller = new AbortController();
  let by: JobSignal | null = null;
  let last = 0;
  const onSignal = (sig: JobSignal) => {
    const at = p.now();
    if (by !== null && at - last <= AGAIN_WITHIN_MS) {
      p.err(`virtdeck: ${keyName(sig)} again: stopping now, before the undo finished; the job is left interrupted for \`virtdeck recover\`.`);
      p.exit(128 + SIGNAL_NUMBERS[sig]);
      return;
    }
    last = at;
    if (by !== null) {
      p.err(`virtdeck: still undoing; ${keyName(sig)} again within ${AGAIN_WITHIN_MS / 1000} s stops at once and leaves the job to \`virtdeck recover\`.`);
      return;
    }
    by = sig;
    p.err(`virtdeck: ${keyName(sig)}: cancelling; what the job did is undone before virtdeck exits (${keyName(sig)} again within ${AGAIN_WITHIN_MS / 1000} s: stop at once and leave it to \`virtdeck recover\`).`);
    controller.abort();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  p.on('SIGINT', onInt);
  p.on('SIGTERM', onTerm);
  const job: HeadlessJob = {
    signal: controller.signal,
    get by() {
      return by;
    },
    undoneBySignal: (state) => by !== null && (state === 'cancelled' || state === 'failed'),
    cancelled: (what) => {
      const sig = by ?? 'SIGINT';
      return new Interrupted(sig, `${what} was cancelled (${keyName(sig)}); what it had done was undone.`, 'Nothing is left half-done; run it again when ready.');
    },
  };
  try {
    return await body(job);
  } finally {
    p.off('SIGINT', onInt);
    p.off('SIGTERM', onTerm);
  }
}

/** For --json runs, where stdout carries JSON and there is no progress display: the undo lines alone, on stderr. */
export function undoPrinter(err: (text: string) => void): (e: RunnerEvent) => void {
  return (e) => {
    if (e.type === 'undo') err(`undo: ${shown(e.title)}\n`);
    else if (e.type === 'undo-end' && !e.ok) err(`undo failed: ${shown(e.title)}\n`);
  };
}

/**
 * Runs a job function that throws the error of the step a cancel stopped (jobs/snapshot,
 * jobs/diskActions), printing each undo through `err`; once a signal cancelled it and every undo
 * ran, the cancel is thrown instead, so the command exits 130.
 */
export async function undoneOnSignal<T>(job: HeadlessJob, what: string, err: (line: string) => void, run: (onEvent: (e: RunnerEvent) => void) => Promise<T>): Promise<T> {
  let undoFailed = false;
  const onEvent = (e: RunnerEvent) => {
    if (e.type === 'undo') err(`undo: ${e.title}`);
    else if (e.type === 'undo-end' && !e.ok) undoFailed = true;
  };
  try {
    return await run(onEvent);
  } catch (e) {
    if (job.by && !undoFailed) throw job.cancelled(what);
    throw e;
  }
}
