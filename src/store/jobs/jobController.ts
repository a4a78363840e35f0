/**
 * The one job controller: starts a job, folds its events into the RunView on screen, asks before
 * cancelling (always, with the question naming what the undo does), sends it to the background,
 * and closes its summary. Every wizard, the Backups job view and the Jobs pane use it, so Esc, c,
 * y, n and b mean the same on every job screen.
 */
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

export interface JobController extends KeyOwner {
  view(): RunView | null;
  /** Shows the job and runs it; the run's own result is returned, its end state shown. */
  start<R>(spec: JobSpec, run: (io: JobIo) => Promise<R>, hooks?: JobHooks): Promise<R>;
  /** Ends the job on screen with a summary (the run said how it went). */
  end(state: Exclude<RunState, 'running' | 'cancelling'>, summary: string): void;
  askCancel(): void;
  confirmCancel(): void;
  keepGoing(): void;
  background(): void;
  close(): void;
  /** Stops the job without asking (the console quits). */
  abort(): void;
  /** `{what}` of the job on screen, for its hints ("y cancel creating web2"). */
  hintVars(): Record<string, string>;
}

/** `show` puts the view on screen (null: closed); `onClose` runs after the admin closes a finished job. */
export function createJobController(show: (view: RunView | null) => void, onClose?: () => void): JobController {
  let view: RunView | null = null;
  let abort: AbortController | null = null;
  let hooks: JobHooks = {};
  const set = (next: RunView | null) => {
    view = next;
    show(next);
  };
  const running = () => view !== null && (view.state === 'running' || view.state === 'cancelling');

  const controller: JobController = {
    view: () => view,
    async start(spec, run, given = {}) {
      hooks = given;
      abort = new AbortController();
      set(startView(spec));
      const io: JobIo = {
        signal: abort.signal,
        onEvent: (e) => {
          if (!view) return;
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
      abort = null;
      if (view) set({ ...view, state, summary, asking: false });
    },
    askCancel() {
      if (view && running() && view.state !== 'cancelling') set({ ...view, asking: true });
    },
    confirmCancel() {
      if (!view?.asking) return;
      set({ ...view, asking: false, state: 'cancelling' });
      if (hooks.cancel) void hooks.cancel();
      else abort?.abort();
    },
    keepGoing() {
      if (view?.asking) set({ ...view, asking: false });
    },
    background() {
      if (!view || !running() || !view.spec.background || !hooks.background) return;
      const detach = hooks.background;
      set({ ...view, state: 'detached', asking: false });
      void detach();
    },
    close() {
      if (!view || running()) return;
      set(null);
      onClose?.();
    },
    abort() {
      abort?.abort();
    },
    scopes(): Scope[] {
      if (!view) return [];
      if (view.asking) return ['job:asking'];
      if (!running()) return ['job:done'];
      return view.spec.background && hooks.background ? ['job:running', 'job:background'] : ['job:running'];
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
    },
  };
  return controller;
}
