/**
 * What a job on screen shows, as one value folded from the runner's events: one row per plan step
 * (or per guest of a backup), an undo row for each undo, the progress of the running row, the log,
 * and the cancel question. The one reducer of RunnerEvents for every wizard, the Backups job view
 * and the Jobs pane.
 */
import type { RunnerEvent } from '../../jobs/runner.js';
import type { Plan } from '../../model/plan.js';
import type { Progress } from '../../model/progress.js';

export type RowState = 'waiting' | 'running' | 'done' | 'failed';

export interface RunRow {
  label: string;
  state: RowState;
  progress: Progress | null;
  note?: string;
  /** An undo of the row it names (drawn as "undo: …"). */
  undo?: boolean;
}

/** `detaching`: the job is being handed to a worker (a second or two; no keys meanwhile). */
export type RunState = 'running' | 'cancelling' | 'detaching' | 'done' | 'failed' | 'cancelled' | 'detached';

/** What a job is called in its cancel question and what cancelling it undoes. */
export interface JobSpec {
  /** e.g. "the conversion", "creating web1", "the backup of 3 guests". */
  what: string;
  /** One sentence: what the undo does and what it keeps. */
  undo: string;
  title: string;
  /** A row per step (plan jobs); jobs that learn their rows as they go start with none. */
  rows: string[];
  /**
   * The job can go on in the background (b): a detached worker's job, or one run here whose
   * journal a worker can take over (handOver.ts).
   */
  background?: boolean;
}

export interface RunView {
  spec: JobSpec;
  rows: RunRow[];
  /** Index of the running plan step. */
  current: number;
  logs: string[];
  /** The cancel question is on screen. */
  asking: boolean;
  /** q during the job: the wait / background / cancel question is on screen. */
  quitting: boolean;
  /** The console quits once the job ends ('done': only if it ended well). */
  quitAfter: 'done' | 'end' | null;
  state: RunState;
  /** Set when the job has ended. */
  summary: string | null;
  /** What the job warned about as it went (a destination on the same disk): shown until the view closes. */
  warnings?: string[];
}

/** The one cancel question: every job asks it the same way, naming what the undo does. */
export function cancelQuestion(spec: Pick<JobSpec, 'what' | 'undo'>): string {
  return `Cancel ${spec.what}? ${spec.undo}`;
}

/** The quit question: the console ends, the job need not. */
export function quitQuestion(spec: Pick<JobSpec, 'what' | 'background'>): string {
  return `Quit while ${spec.what} runs? Wait for it to end, ${spec.background ? 'leave it running in the background, ' : ''}or cancel it (its undo runs first).`;
}

/** A plan's undo in words: which of its steps a cancel takes back, or that none needs it. */
export function planUndo(plan: Plan): string {
  const undone = plan.steps.filter((s) => s.undo).map((s) => s.undo?.title ?? '');
  if (undone.length === 0) return 'The running step stops; nothing it did needs undoing.';
  return `The running step stops and what the job did is undone (${undone.join('; ')}).`;
}

export function planSpec(plan: Plan, what: string, undo = planUndo(plan), background = false): JobSpec {
  return { what, undo, title: plan.title, rows: plan.steps.map((s) => s.title), background };
}

export function startView(spec: JobSpec): RunView {
  return {
    spec,
    rows: spec.rows.map((label) => ({ label, state: 'waiting', progress: null })),
    current: 0,
    logs: [],
    asking: false,
    quitting: false,
    quitAfter: null,
    state: 'running',
    summary: null,
  };
}

function withRow(view: RunView, i: number, change: Partial<RunRow>): RunView {
  const rows = [...view.rows];
  rows[i] = { ...(rows[i] ?? { label: '', state: 'waiting', progress: null }), ...change };
  return { ...view, rows };
}

/** Folds one runner event into the view; the same object when the event changes nothing shown. */
export function reduceRun(view: RunView, e: RunnerEvent): RunView {
  switch (e.type) {
    case 'step-start':
      return { ...withRow(view, e.index, { label: view.rows[e.index]?.label || e.step.title, state: 'running', progress: null }), current: e.index };
    case 'progress':
      return withRow(view, e.index, { progress: e.progress });
    case 'step-end':
      return withRow(view, e.index, { state: 'done', progress: null });
    case 'step-failed':
      return withRow(view, e.index, { state: 'failed', progress: null, note: e.error.sentence });
    case 'undo':
      return { ...view, rows: [...view.rows, { label: e.title, state: 'running', progress: null, undo: true }] };
    case 'undo-end': {
      const i = view.rows.map((r) => (r.undo ? r.label : null)).lastIndexOf(e.title);
      return i < 0 ? view : withRow(view, i, { state: e.ok ? 'done' : 'failed', note: e.ok ? undefined : 'left for the admin' });
    }
    case 'log':
      return { ...view, logs: [...view.logs, e.line] };
    default:
      return view;
  }
}

/** A row by label (jobs whose rows are guests or runs): changed, or added as running. */
export function updateRow(view: RunView, label: string, change: Partial<RunRow>): RunView {
  const i = view.rows.findIndex((r) => r.label === label);
  if (i >= 0) return withRow(view, i, change);
  return { ...view, rows: [...view.rows, { label, state: 'running', progress: null, ...change }] };
}

/** The undo row running now, if any (drawn under the steps). */
export function undoing(view: RunView): string | null {
  const r = [...view.rows].reverse().find((x) => x.undo && x.state === 'running');
  return r ? r.label : null;
}
