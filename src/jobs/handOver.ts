/**
 * Handing a job that runs in this process to a detached worker (the console's `b`, and `q` →
 * background): the job's AbortSignal is aborted with a HandOver as its reason. The runner then
 * stops the running step without undoing anything and gives the journal to `start`, which runs a
 * worker on it; the worker runs the cut-off step again and the rest, as a finish after a crash
 * would. The undo only runs if no worker could be started.
 */
import { dirname } from 'node:path';
import type { Launched } from './detached.js';
import { Journal } from './journal.js';

export class HandOver {
  constructor(readonly start: (journal: Journal) => Promise<Launched>) {}
}

/** Starts a detached worker on the journal, in the state dir the journal was made in (stateDir/jobs/ID.json). */
export async function startWorkerOn(journal: Journal): Promise<Launched> {
  const { startWorker } = await import('./detached.js');
  return startWorker(Journal.load(journal.path), { stateDir: dirname(dirname(journal.path)) });
}

/** The hand-over a signal was aborted with; null for a cancel (or no abort). */
export function handOverOf(signal: AbortSignal | undefined): HandOver | null {
  return signal?.aborted && signal.reason instanceof HandOver ? signal.reason : null;
}
