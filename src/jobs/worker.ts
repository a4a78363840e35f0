/**
 * The body of a detached worker (`virtdeck job run --id ID`): it takes a journaled job over, runs
 * it from its resume point (or rolls it back) with the actions of its kind, and reports through
 * the progress snapshot and the log. SIGTERM and SIGINT cancel: the running step is stopped and
 * what was done is undone by the runner, so `job cancel` leaves no half-written image behind.
 */
import { hostname } from 'node:os';
import { loadConfig } from '../config/config.js';
import { createHostContext } from '../config/connect.js';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { HostContext } from '../host/hostContext.js';
import { UserError } from '../model/userError.js';
import { findJob, isWorkerOf } from './detached.js';
import { StatusWriter } from './jobStatus.js';
import { processAlive } from './processes.js';
import { assertRecoverablePlan } from './recoveryGuard.js';
import { finishJob, type RunResult, rollbackJob } from './runner.js';

/** The host a journal was made for: the config entry with that URI (its name and SSH options), else the URI alone. */
export function hostForUri(uri: string): HostContext {
  let entry: ReturnType<typeof loadConfig>['hosts'][number] | undefined;
  try {
    entry = loadConfig().hosts.find((h) => h.uri === uri);
  } catch {
    entry = undefined; // a broken config must not strand a running job; the URI is enough
  }
  return createHostContext(entry ? { uri, name: entry.name, fromConfig: true, ...(entry.ssh ? { ssh: entry.ssh } : {}) } : { uri, where: 'the job\'s journal' });
}

export interface WorkerOptions {
  stateDir?: string;
  rollback?: boolean;
  /** Tests pass a host; the worker itself rebuilds it from the journal's URI. */
  host?: HostContext;
}

/** Runs one job to its end; resolves with the exit code (0 when it ended as asked). */
export async function runWorker(id: string, opts: WorkerOptions = {}): Promise<number> {
  const dir = opts.stateDir ?? defaultStateDir();
  const journal = findJob(dir, id);
  const rec = journal.record;
  if (rec.state !== 'running') throw new UserError(`Job ${rec.id} already ended ${rec.state}.`, 'Nothing to run.');
  // Another live worker (not the virtdeck that launched this one) already runs it.
  if (rec.hostname === hostname() && rec.pid !== process.ppid && rec.pid !== process.pid && processAlive(rec.pid) && isWorkerOf(rec.pid, rec.id)) {
    throw new UserError(`Job ${rec.id} is already running in worker ${rec.pid}.`, `Follow it with virtdeck job log ${rec.id} --follow.`);
  }
  const writer = new StatusWriter(dir, rec);
  const controller = new AbortController();
  const onSignal = (sig: string) => {
    if (controller.signal.aborted) return;
    writer.log(`${sig}: cancelling; what was done is undone`);
    controller.abort();
  };
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  // A hang-up (the terminal that launched us closing) is not a reason to stop.
  const onHup = () => writer.log('SIGHUP ignored');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  writer.log(`worker pid ${process.pid} ${opts.rollback ? 'rolls back' : 'runs'} "${rec.title}" on ${rec.uri}`);
  try {
    const host = opts.host ?? hostForUri(rec.uri);
    // The registry imports every job kind's code: a worker loads it, the console that starts one does not.
    const { actionsFor } = await import('./registry.js');
    const runOpts = { host, stateDir: dir, signal: controller.signal, onEvent: writer.onEvent, actions: actionsFor(rec.kind, host) };
    let r: RunResult;
    try {
      // The journal is read back from disk: it runs only as a plan virtdeck's builders could have made.
      assertRecoverablePlan(rec, Object.keys(runOpts.actions));
      r = opts.rollback ? await rollbackJob(journal, runOpts) : await finishJob(journal, runOpts);
    } catch (e) {
      // Refused before a step ran (a lock held by another job, a host that cannot be reached).
      const why = e instanceof UserError ? `${e.sentence} ${e.fix}` : String((e as Error)?.message ?? e);
      writer.finish('failed', why);
      throw e;
    }
    const error = r.error ? `${r.error.sentence} ${r.error.fix}` : r.journal.record.error;
    writer.finish(r.state, error);
    return r.state === (opts.rollback ? 'rolled-back' : 'done') ? 0 : 1;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', onHup);
  }
}
