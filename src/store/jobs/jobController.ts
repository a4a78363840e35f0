/**
 * The one job controller: starts a job, folds its events into the RunView on screen, asks before
 * cancelling (always, with the question naming what the undo does), sends it to the background,
 * asks what to do with it when the admin quits, and closes its summary. Every wizard, the Backups
 * job view and the Jobs pane use it, so Esc, c, y, n, b and q mean the same on every job screen.
 *
 * Background, for a job run in this process: once the runner has journaled it, b aborts it with a
 * HandOver (jobs/handOver.ts); the runner stops the running step and a detached worker finishes
 * the journal, so the job outlives the console and the SSH session like a `--detach` one.
 */
import type { Launched } from '../../jobs/detached.js';
import { HandOver, startWorkerOn } from '../../jobs/handOver.js';
import type { Journal } from '../../jobs/journal.js';
import type { RunnerEvent } from '../../jobs/runner.js';
import type { KeyOwner } from '../keys/owners.js';
import type { Intent } from '../keys/router.js';
import type { Scope } from '../keys/table.js';
import { type JobSpec, type RunState, type RunView, reduceRun, startView, updateRow } from './runView.js';

export interface JobIo {
  signal: AbortSignal;
  onEvent: (e: RunnerEvent) => void;
  /** Rows by label, for jobs whose rows are not plan steps (a backup of several guests). */
  row: (label: string, change: Parameters<typeof updateRow>[2]) => void;
  /** A warning that stays on the job's screen until the admin closes it (not a status line that the next message replaces). */
  warn: (line: string) => void;
}

export interface JobHooks {
  /** b on the job screen: detach it (the job goes on in a worker); the view closes. */
  background?: () => void | Promise<void>;
  /** y to the cancel question, for a job that is not this process's (a detached worker). */
  cancel?: () => void | Promise<void>;
}

/** What the screen that owns the controller lends it (the same for every job screen). */
export interface JobControllerOptions {
  /** Runs a worker on the journal of a job run here (tests stand in for it); default: jobs/handOver.startWorkerOn. */
  handOver?: (journal: Journal) => Promise<Launched>;
  /** Quits the console: q during a job asks first, then calls it once the job is waited for, handed over or cancelled. */
  quit?: () => void;
}

export interface JobController extends KeyOwner {
  view(): RunView | null;
  /** Shows the job and runs it; the run's own result is returned, its end state shown. */
  start<R>(spec: JobSpec, run: (io: JobIo) => Promise<R>, hooks?: JobHooks): Promise<R>;
  /** Ends the job on screen with a summary (the run said how it went); ignored once it was handed to a worker. */
  end(state: Exclude<RunState, 'running' | 'cancelling' | 'detaching'>, summary: string): void;
  askCancel(): void;
  confirmCancel(): void;
  keepGoing(): void;
  background(): void;
  /** q: the question wait / background / cancel. */
  askQuit(): void;
  /** The worker that took the job over (b), once it has; the screen then shows the job detached. */
  handedOver(): Launched | null;
  close(): void;
  /** Stops the job without asking (the console quits). */
  abort(): void;
  /** `{what}` of the job on screen, for its hints ("y cancel creating web2"). */
  hintVars(): Record<string, string>;
}

/** The detached summary: where the job went and how to follow it. */
export function detachedSummary(w: Launched): string {
  return `Job ${w.id} goes on in a worker (pid ${w.pid ?? '?'}) that survives this console and the SSH session: the Jobs pane (5) follows it, c there cancels it; virtdeck job log ${w.id} --follow.`;
}

/** `show` puts the view on screen (null: closed); `onClose` runs after the admin closes a finished job. */
export function createJobController(show: (view: RunView | null) => void, onClose?: () => void, opts: JobControllerOptions = {}): JobController {
  let view: RunView | null = null;
  let abort: AbortController | null = null;
  let hooks: JobHooks = {};
  /** The runner journaled the job run here: a worker can take it over. */
  let journaled = false;
  let worker: Launched | null = null;
  const set = (next: RunView | null) => {
    view = next;
    show(next);
  };
  const running = () => view !== null && (view.state === 'running' || view.state === 'cancelling');
  /** b is possible now: a worker's job (its hook), or one run here that the runner has journaled. */
  const canBackground = () => Boolean(view?.spec.background && view.state === 'running' && (hooks.background || journaled));
  const quitNow = () => {
    if (opts.quit) setTimeout(opts.quit, 0);
  };

  const handOver = () => {
    if (!view || !abort) return;
    set({ ...view, state: 'detaching', asking: false, quitting: false, summary: 'Starting a worker to take the job over…' });
    const launcher = opts.handOver ?? startWorkerOn;
    abort.abort(
      new HandOver(async (journal) => {
        let launched: Launched;
        try {
          launched = await launcher(journal);
        } catch (e) {
          // The runner undoes the job here instead; the console stays to show how that ended.
          if (view) set({ ...view, state: 'cancelling', quitAfter: null, summary: 'No worker could take the job over; what it did is undone here.' });
          throw e;
        }
        worker = launched;
        abort = null;
        if (view) set({ ...view, state: 'detached', summary: detachedSummary(launched) });
        if (view?.quitAfter) quitNow();
        return launched;
      }),
    );
  };

  const controller: JobController = {
    view: () => view,
    async start(spec, run, given = {}) {
      hooks = given;
      journaled = false;
      worker = null;
      abort = new AbortController();
      set(startView(spec));
      const io: JobIo = {
        signal: abort.signal,
        onEvent: (e) => {
          if (!view) return;
          if (e.type === 'journal') {
            journaled = true;
            // b becomes possible: the screen's hints change though the view does not.
            set({ ...view });
            return;
          }
          const next = reduceRun(view, e);
          if (next !== view) set(next);
        },
        row: (label, change) => {
          if (view) set(updateRow(view, label, change));
        },
        warn: (line) => {
          if (view) set({ ...view, warnings: [...(view.warnings ?? []), line] });
        },
      };
      return run(io);
    },
    end(state, summary) {
      if (worker) return;
      abort = null;
      if (!view) return;
      const quitAfter = view.quitAfter;
      set({ ...view, state, summary, asking: false, quitting: false });
      if (quitAfter === 'end' || (quitAfter === 'done' && state === 'done')) quitNow();
    },
    askCancel() {
      if (view && running() && view.state !== 'cancelling') set({ ...view, asking: true, quitting: false });
    },
    confirmCancel() {
      if (!view?.asking && !view?.quitting) return;
      set({ ...view, asking: false, quitting: false, state: 'cancelling' });
      if (hooks.cancel) void hooks.cancel();
      else abort?.abort();
    },
    keepGoing() {
      if (view?.asking || view?.quitting) set({ ...view, asking: false, quitting: false, quitAfter: null });
    },
    background() {
      if (!view || !canBackground()) return;
      if (hooks.background) {
        const detach = hooks.background;
        set({ ...view, state: 'detached', asking: false, quitting: false });
        void detach();
        if (view.quitAfter) quitNow();
        return;
      }
      handOver();
    },
    askQuit() {
      if (view && running() && opts.quit) set({ ...view, asking: false, quitting: true });
    },
    handedOver: () => worker,
    close() {
      if (!view || running() || view.state === 'detaching') return;
      set(null);
      onClose?.();
    },
    abort() {
      abort?.abort();
    },
    scopes(): Scope[] {
      if (!view) return [];
      if (view.state === 'detaching') return [];
      if (view.quitting) return canBackground() ? ['job:quitting-background', 'job:quitting'] : ['job:quitting'];
      if (view.asking) return ['job:asking'];
      if (!running()) return ['job:done'];
      const scopes: Scope[] = ['job:running'];
      if (canBackground()) scopes.push('job:background');
      if (opts.quit) scopes.push('job:quit');
      return scopes;
    },
    hintVars(): Record<string, string> {
      return view ? { what: view.spec.what } : {};
    },
    perform({ action }: Intent) {
      if (action === 'jobAskCancel') controller.askCancel();
      else if (action === 'jobConfirmCancel') controller.confirmCancel();
      else if (action === 'jobKeepGoing') controller.keepGoing();
      else if (action === 'jobBackground') controller.background();
      else if (action === 'jobClose') controller.close();
      else if (action === 'jobQuit') controller.askQuit();
      else if (action === 'jobQuitWait') {
        if (view?.quitting) set({ ...view, quitting: false, quitAfter: 'done' });
      } else if (action === 'jobQuitBackground') {
        if (view?.quitting && canBackground()) {
          set({ ...view, quitAfter: 'end' });
          controller.background();
        }
      } else if (action === 'jobQuitCancel') {
        if (view?.quitting) {
          set({ ...view, quitAfter: 'end' });
          controller.confirmCancel();
        }
      }
    },
  };
  return controller;
}
