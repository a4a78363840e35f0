/**
 * The pane's job screen: one row per guest, run or plan step, with progress, until the admin
 * closes it. One job at a time, so one abort controller serves cancel (c/Esc) and quitting.
 */
import type { RunnerEvent } from '../../jobs/runner.js';
import type { PaneContext } from './context.js';
import type { JobRow } from './state.js';

export interface JobView {
  /** Shows the job screen; the signal aborts when the admin cancels or the console quits. */
  start(title: string, rows: JobRow[]): AbortSignal;
  /** Changes the row called `label`, or adds it as running when the job did not list it. */
  updateRow(label: string, change: Partial<JobRow>): void;
  end(summary: string): void;
  /** Runner events → the job's rows, one row per plan step (undos are rows of their own). */
  stepRows(e: RunnerEvent): void;
  key(name: string): boolean;
  abort(): void;
}

export function createJobView(ctx: PaneContext): JobView {
  const { get, set, say } = ctx;
  let jobAbort: AbortController | null = null;
  return {
    start(title, rows) {
      jobAbort = new AbortController();
      set({ job: { title, rows, done: false, summary: null } });
      say(`${title}…`, 'busy');
      return jobAbort.signal;
    },
    updateRow(label, change) {
      const job = get().job;
      if (!job) return;
      const rows = job.rows.some((r) => r.label === label) ? job.rows.map((r) => (r.label === label ? { ...r, ...change } : r)) : [...job.rows, { label, state: 'running' as const, progress: null, ...change }];
      set({ job: { ...job, rows } });
    },
    end(summary) {
      const job = get().job;
      jobAbort = null;
      if (job) set({ job: { ...job, done: true, summary } });
      say('Finished: Enter or Esc closes this view.');
      void ctx.reload();
    },
    stepRows(e) {
      const job = get().job;
      if (!job) return;
      const rows = [...job.rows];
      const at = (i: number, change: Partial<JobRow>) => {
        rows[i] = { ...(rows[i] ?? { label: '', state: 'waiting', progress: null }), ...change };
      };
      if (e.type === 'step-start') at(e.index, { label: `${e.index + 1} ${e.step.title}`, state: 'running' });
      else if (e.type === 'progress') at(e.index, { progress: e.progress });
      else if (e.type === 'step-end') at(e.index, { state: 'done', progress: null });
      else if (e.type === 'step-failed') at(e.index, { state: 'failed', note: e.error.sentence });
      else if (e.type === 'undo') rows.push({ label: `undo: ${e.title}`, state: 'running', progress: null });
      else if (e.type === 'undo-end') {
        const i = rows.map((r) => r.label).lastIndexOf(`undo: ${e.title}`);
        if (i >= 0) at(i, { state: e.ok ? 'done' : 'failed', note: e.ok ? undefined : 'left for the admin' });
      } else return;
      set({ job: { ...job, rows } });
    },
    key(name) {
      const job = get().job;
      if (!job) return false;
      if (!job.done && (name === 'c' || name === 'esc')) {
        jobAbort?.abort();
        say('Cancelling: the running step stops and what it made is removed…', 'busy');
      } else if (job.done && (name === 'esc' || name === 'enter' || name === 'q')) set({ job: null });
      return true;
    },
    abort() {
      jobAbort?.abort();
    },
  };
}
