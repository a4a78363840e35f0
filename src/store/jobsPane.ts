/**
 * The Jobs pane's state and actions: every job of this machine's state dir (running, interrupted,
 * ended), read from the journals and progress snapshots — so a job started by another virtdeck,
 * another SSH login, or `--detach` shows up live. Polls every ~500 ms while the pane is shown.
 */
import { hostname as osHostname } from 'node:os';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { HostContext } from '../host/hostContext.js';
import { cancelJob as defaultCancel, findJob, startWorker } from '../jobs/detached.js';
import { routeForJob } from '../jobs/jobRoute.js';
import { type JobSummary, jobDetailLines, jobsDirStamp, listJobSummaries, logPath, readLogTail } from '../jobs/jobStatus.js';
import type { JournalRecord } from '../jobs/journal.js';
import { processAlive } from '../jobs/processes.js';
import { describeInterruptedJob } from '../jobs/recovery.js';
import type { Plan } from '../model/plan.js';
import type { AppStore } from './appState.js';
import { createJobController, type JobIo } from './jobs/jobController.js';
import { type JobSpec, planSpec, type RunView, startView } from './jobs/runView.js';
import type { KeyOwner } from './keys/owners.js';
import type { ActionId } from './keys/table.js';
import type { PaneController } from './panes.js';
import { type Move, moveByKey, moveFor } from './selection.js';
import { toShownError } from './shownError.js';
import type { ShownError } from './types.js';

export interface JobsPaneData {
  jobs: JobSummary[];
  selected: string | null;
  lastRead: number | null;
  error: ShownError | null;
  /** c on a running job: its steps and the one cancel question (the job controller's view). */
  cancel: { job: JobSummary; view: RunView } | null;
}

/** What cancelling a detached job undoes, in the words the Jobs pane has always used. */
export const DETACHED_UNDO = 'It undoes what the job did so far, newest first, after stopping the running step; the original is left as it was.';

/** The one cancel spec of a journaled job: its plan's steps, its title quoted as what is cancelled. */
export function detachedJobSpec(j: JobSummary, plan: Plan | null): JobSpec {
  const what = `"${j.title}"`;
  // b leaves the screen: the job (or its cancel) goes on in its worker, the list follows it.
  return plan ? planSpec(plan, what, DETACHED_UNDO, true) : { what, undo: DETACHED_UNDO, title: j.title, rows: [], background: true };
}

export type JobsPaneStore = StoreApi<JobsPaneData>;

export interface JobsPaneOptions {
  stateDir?: string;
  pollMs?: number;
  hostname?: string;
  alive?: (pid: number) => boolean;
  /** Injected in tests; the real ones signal workers and start new ones. */
  cancel?: (stateDir: string, id: string) => Promise<{ id: string; state: string }>;
  resume?: (stateDir: string, id: string, mode: 'run' | 'rollback') => Promise<{ pid: number | null }>;
}

export interface JobsPaneController extends PaneController {
  store: JobsPaneStore;
  reload(): void;
  selectedJob(): JobSummary | null;
}

/** Pure: "1 running" / "2 running, 1 interrupted" for the tab, '' when nothing needs attention. */
export function jobsBadge(jobs: JobSummary[], short = false): string {
  const running = jobs.filter((j) => j.state === 'running').length;
  const interrupted = jobs.filter((j) => j.state === 'interrupted').length;
  const parts = [running ? `${running} running` : '', interrupted ? `${interrupted} interrupted` : ''].filter(Boolean);
  return short ? (parts[0] ?? '') : parts.join(', ');
}

/** Pure: newest first by the time each job started (ISO strings with and without milliseconds compare as times). */
export function newestFirst(jobs: JobSummary[]): JobSummary[] {
  const at = (j: JobSummary) => Date.parse(j.createdAt) || 0;
  return [...jobs].sort((a, b) => at(b) - at(a) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

export function createJobsPaneController(host: HostContext, app: AppStore, opts: JobsPaneOptions = {}): JobsPaneController {
  const dir = opts.stateDir ?? defaultStateDir();
  const pollMs = opts.pollMs ?? 500;
  const cancel = opts.cancel ?? ((d, id) => defaultCancel(d, id, { waitMs: 120_000 }));
  const resume = opts.resume ?? ((d, id, mode) => startWorker(findJob(d, id), { stateDir: d, mode }));
  const store = createStore<JobsPaneData>()(() => ({ jobs: [], selected: null, lastRead: null, error: null, cancel: null }));
  let poll: ReturnType<typeof setInterval> | null = null;
  let logFollow: ReturnType<typeof setInterval> | null = null;
  const alive = opts.alive ?? processAlive;
  const here = opts.hostname ?? osHostname();
  // The jobs directory's stamp when the list was last read, and when a hidden pane last looked.
  let readStamp: bigint | null | undefined;
  let lastLook = 0;

  const say = (text: string, kind: 'info' | 'error' | 'busy' = 'info') => app.getState().setMessage(text, kind);
  const selectedJob = () => {
    const { jobs, selected } = store.getState();
    return jobs.find((j) => j.id === selected) ?? jobs[0] ?? null;
  };

  const reload = () => {
    try {
      // Taken first: a job that writes while the journals are read makes the next look read again.
      readStamp = jobsDirStamp(dir);
      const jobs = newestFirst(listJobSummaries(dir, { hostname: opts.hostname, alive: opts.alive }));
      store.setState((s) => {
        // A job that appeared since the last read (just started, here or elsewhere) takes the
        // selection, so it is on screen and c acts on it; otherwise the selection follows its job.
        const seen = new Set(s.jobs.map((j) => j.id));
        const fresh = s.lastRead !== null ? jobs.find((j) => !seen.has(j.id)) : undefined;
        const kept = s.selected && jobs.some((j) => j.id === s.selected) ? s.selected : null;
        return { jobs, lastRead: Date.now(), error: null, selected: fresh?.id ?? kept ?? jobs[0]?.id ?? null };
      });
      // The cancel screen follows its job's steps as the worker reports them.
      const shown = store.getState().cancel;
      const now = shown && jobs.find((j) => j.id === shown.job.id);
      if (now && cancelIo && now.state === 'running') showSteps(cancelIo.io, now, cancelIo.labels);
    } catch (e) {
      store.setState({ error: toShownError(e) });
    }
  };

  /**
   * Whether the badge could be out of date: a journal or progress file was written (the directory
   * changed), or a job shown running here has lost its process (killed: nothing was written).
   */
  const mayHaveChanged = () =>
    readStamp === undefined || jobsDirStamp(dir) !== readStamp || store.getState().jobs.some((j) => j.state === 'running' && j.hostname === here && !alive(j.pid));

  // Polls only while the Jobs pane is on screen. Behind another pane the tab's badge is looked at
  // when the console refreshes, at most every 5 s, and read again only when something changed (a
  // host keeps hundreds of finished jobs' journals): an idle console wakes for its refresh alone.
  const ensurePoll = () => {
    if (poll) return;
    poll = setInterval(() => {
      if (app.getState().pane === 'jobs') return reload();
      if (poll) clearInterval(poll);
      poll = null;
    }, pollMs);
    poll.unref?.();
  };
  const lookBehind = () => {
    if (app.getState().pane === 'jobs') return;
    if (Date.now() - Math.max(store.getState().lastRead ?? 0, lastLook) <= 5_000) return;
    lastLook = Date.now();
    if (mayHaveChanged()) reload();
  };
  let stopLooking: (() => void) | null = null;
  const followRefresh = () => {
    // A failed refresh is a round too: the badge keeps up while the host does not answer.
    stopLooking ??= app.subscribe((s, prev) => {
      if (s.lastRefresh !== prev.lastRefresh || s.refreshError !== prev.refreshError) lookBehind();
    });
  };

  const move = (m: Move) => {
    const { jobs } = store.getState();
    if (jobs.length > 0) store.setState({ selected: moveByKey(jobs.map((j) => j.id), selectedJob()?.id ?? null, m) });
  };

  const withJob = (run: (j: JobSummary) => void) => {
    const j = selectedJob();
    if (!j) return say('There are no jobs yet: long conversions, expansions and backups show up here.', 'error');
    run(j);
  };

  const details = (j: JobSummary) => {
    try {
      const rec = findJob(dir, j.id).record as JournalRecord;
      app.getState().pushDialog({ kind: 'text', title: `${j.title}`, lines: jobDetailLines(rec, j, routeForJob(rec.uri, host)), offset: 0 });
    } catch (e) {
      app.getState().pushDialog({ kind: 'error', title: `Could not read job ${j.id}`, error: toShownError(e), showDetails: false });
    }
  };

  const showLog = (j: JobSummary) => {
    const title = `${logPath(dir, j.id)} (follows)`;
    const read = () => {
      const lines = readLogTail(dir, j.id, 500);
      return lines.length > 0 ? lines : ['(no log yet)'];
    };
    app.getState().pushDialog({ kind: 'text', title, lines: read(), offset: Number.MAX_SAFE_INTEGER, follow: true });
    if (logFollow) clearInterval(logFollow);
    logFollow = setInterval(() => {
      const top = app.getState().dialogs.at(-1);
      if (top?.kind !== 'text' || top.title !== title) {
        if (logFollow) clearInterval(logFollow);
        logFollow = null;
        return;
      }
      const lines = read();
      if (lines.length !== top.lines.length || lines.at(-1) !== top.lines.at(-1)) app.getState().updateDialog('text', (d) => ({ ...d, lines }));
    }, pollMs);
    logFollow.unref?.();
  };

  // Cancel goes through the one job controller, as in every wizard and the Backups pane: the job's
  // steps with the question under them; y cancels the worker (hooks.cancel), n or Esc leaves it running.
  let leaveScreen: (() => void) | null = null;
  let cancelIo: { io: JobIo; labels: string[] } | null = null;
  const cancelCtl = createJobController(
    (view) => {
      const cur = store.getState().cancel;
      store.setState({ cancel: view && cur ? { ...cur, view } : null });
    },
    () => reload(),
  );
  /** The job goes on: its screen closes and the list follows it again. */
  const leaveCancel = () => {
    leaveScreen?.();
    leaveScreen = null;
    cancelIo = null;
    store.setState({ cancel: null });
  };
  /** The steps as the journal and the progress snapshot have them now. */
  const showSteps = (io: JobIo, j: JobSummary, labels: string[]) => {
    labels.forEach((label, i) => {
      io.row(label, { state: i < j.stepIndex ? 'done' : i === j.stepIndex ? 'running' : 'waiting', progress: i === j.stepIndex ? j.progress : null });
    });
  };

  const askCancel = (j: JobSummary) => {
    if (j.state !== 'running') return say(`"${j.title}" is ${j.state}; only a running job can be cancelled.`, 'error');
    let plan: Plan | null = null;
    try {
      plan = (findJob(dir, j.id).record as JournalRecord).plan;
    } catch {
      plan = null;
    }
    const spec = detachedJobSpec(j, plan);
    store.setState({ cancel: { job: j, view: startView(spec) } });
    void cancelCtl.start(
      spec,
      (io) => {
        cancelIo = { io, labels: spec.rows };
        showSteps(io, j, spec.rows);
        return new Promise<void>((resolve) => {
          leaveScreen = resolve;
        });
      },
      {
        background: () => leaveCancel(),
        cancel: async () => {
          say(`Cancelling ${j.id}; undoing what it did…`, 'busy');
          try {
            const r = await cancel(dir, j.id);
            const done = r.state === 'cancelled';
            const text = done ? `Cancelled "${j.title}"; what it did is undone.` : `"${j.title}" ended ${r.state}.`;
            cancelCtl.end(done ? 'cancelled' : 'failed', text);
            say(text, done ? 'info' : 'error');
          } catch (e) {
            cancelCtl.end('failed', `Could not cancel ${j.id}: ${toShownError(e).sentence}`);
            app.getState().pushDialog({ kind: 'error', title: `Could not cancel ${j.id}`, error: toShownError(e), showDetails: false });
            say('');
          } finally {
            reload();
          }
        },
      },
    );
    cancelCtl.askCancel();
  };

  const cancelOwner: KeyOwner = {
    scopes: () => cancelCtl.scopes(),
    perform(intent) {
      cancelCtl.perform(intent);
      if (intent.action === 'jobKeepGoing') leaveCancel();
      if (intent.action === 'jobClose') leaveCancel();
    },
  };

  const askResume = (j: JobSummary, mode: 'run' | 'rollback') => {
    if (j.state !== 'interrupted') {
      return say(`"${j.title}" is ${j.state}; only an interrupted job (its process is gone) can be ${mode === 'run' ? 'finished' : 'rolled back'}.`, 'error');
    }
    let explanation: string[] = [];
    try {
      const item = describeInterruptedJob(findJob(dir, j.id).record as JournalRecord);
      explanation = [...item.explanation, mode === 'run' ? item.finish : (item.rollback ?? 'Roll back: not possible; finish it.')];
    } catch {
      explanation = [];
    }
    app.getState().pushDialog({
      kind: 'confirm',
      title: `${mode === 'run' ? 'Finish' : 'Roll back'} "${j.title}"?`,
      lines: [...explanation, 'It runs in a worker that survives this console; follow it here or with `virtdeck job log`.'],
      yes: mode === 'run' ? 'finish' : 'roll back',
      onYes: async () => {
        say(`Starting a worker to ${mode === 'run' ? 'finish' : 'roll back'} ${j.id}…`, 'busy');
        try {
          const r = await resume(dir, j.id, mode);
          say(`A worker (pid ${r.pid ?? '?'}) ${mode === 'run' ? 'finishes' : 'rolls back'} "${j.title}".`);
        } catch (e) {
          app.getState().pushDialog({ kind: 'error', title: `Could not ${mode === 'run' ? 'finish' : 'roll back'} ${j.id}`, error: toShownError(e), showDetails: false });
          say('');
        } finally {
          reload();
        }
      },
    });
  };

  const dispatch = (action: ActionId): boolean => {
    const m = moveFor(action);
    if (m !== null) {
      move(m);
      return true;
    }
    switch (action) {
      case 'refresh':
        reload();
        say('Read the jobs again.');
        return true;
      case 'jobsOpen':
        withJob(details);
        return true;
      case 'jobsCancel':
        withJob(askCancel);
        return true;
      case 'jobsLog':
        withJob(showLog);
        return true;
      case 'jobsFinish':
        withJob((j) => askResume(j, 'run'));
        return true;
      case 'jobsRollback':
        withJob((j) => askResume(j, 'rollback'));
        return true;
      default:
        return false;
    }
  };

  return {
    store,
    reload,
    selectedJob,
    dispatch,
    keyOwner: () => (store.getState().cancel ? cancelOwner : null),
    subscribe: (onChange) => store.subscribe(onChange),
    activate() {
      reload();
      ensurePoll();
      followRefresh();
    },
    start() {
      reload();
      if (app.getState().pane === 'jobs') ensurePoll();
      followRefresh();
    },
    dispose() {
      stopLooking?.();
      stopLooking = null;
      if (poll) clearInterval(poll);
      if (logFollow) clearInterval(logFollow);
      poll = null;
      logFollow = null;
    },
    completions: () => store.getState().jobs.map((j) => j.id),
  };
}
