/**
 * The running screen of a job wizard: one row per plan step with its mark (✓ done, ✗ failed, a
 * spinner on the current one), a progress line under the current step, the undo in progress, and
 * the "cancel?" question. Fed by the runner's events (jobs/runner.ts); presentational otherwise —
 * the wizard owns the phase and the AbortController.
 */
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import type { RunnerEvent } from '../../jobs/runner.js';
import type { PlanStep } from '../../model/plan.js';
import { formatProgressLine, type Progress } from '../../model/progress.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';

export interface RunView {
  current: number;
  done: Set<number>;
  failed: number | null;
  progress: Progress | null;
  undoing: string | null;
  confirmCancel: boolean;
  /** Lines the job's actions logged; wizards show them on the summary. */
  logs: string[];
}

export const emptyRun = (): RunView => ({ current: 0, done: new Set(), failed: null, progress: null, undoing: null, confirmCancel: false, logs: [] });

/** Folds one runner event into the view (in place); false when the event changes nothing shown. */
export function applyRunnerEvent(view: RunView, e: RunnerEvent): boolean {
  if (e.type === 'step-start') {
    view.current = e.index;
    view.progress = null;
  } else if (e.type === 'step-end') view.done.add(e.index);
  else if (e.type === 'step-failed') view.failed = e.index;
  else if (e.type === 'progress') view.progress = e.progress;
  else if (e.type === 'undo') view.undoing = e.title;
  else if (e.type === 'log') view.logs.push(e.line);
  else return false;
  return true;
}

/**
 * The view to draw after an event: a copy of the live one (React needs a new object), keeping the
 * cancel question if it is on screen — the runner does not know about it.
 */
export function shownRun(view: RunView, onScreen: RunView | null): RunView {
  return { ...view, done: new Set(view.done), confirmCancel: onScreen?.confirmCancel ?? false };
}

/**
 * Starts following a run: `setRun` gets the first view at once and a fresh one after each event
 * that changes the screen; `onEvent` goes to the runner. `onScreen` is the view the wizard shows
 * now (null before the run), so a cancel question on screen survives the update.
 */
export function followRun(setRun: (next: (onScreen: RunView | null) => RunView) => void): { view: RunView; onEvent: (e: RunnerEvent) => void } {
  const view = emptyRun();
  setRun(() => view);
  return {
    view,
    onEvent: (e) => {
      if (applyRunnerEvent(view, e)) setRun((onScreen) => shownRun(view, onScreen));
    },
  };
}

/**
 * Keys while a job runs: Esc or Ctrl-C asks, y cancels (calls `cancel`), n or Esc keeps going.
 * Returns the view to show (the same object when the key did nothing).
 */
export function cancelPromptKey(run: RunView, input: string, key: { escape: boolean; ctrl: boolean }, cancel: () => void): RunView {
  if (run.confirmCancel) {
    if (input === 'y') cancel();
    return input === 'y' || input === 'n' || key.escape ? { ...run, confirmCancel: false } : run;
  }
  return key.escape || (key.ctrl && input === 'c') ? { ...run, confirmCancel: true } : run;
}

/** The question Esc/Ctrl-C puts under a running job: what a cancel undoes, answered y or n. */
export function CancelQuestion({ question, theme }: { question: string; theme: Theme }) {
  return (
    <Text color={colorFor(theme, 'warn')} wrap="wrap">
      {question} (y/n)
    </Text>
  );
}

/** The hint line of a running job: how to cancel, or, while the question is up, its answers. */
export function cancelHints(asking: boolean, yes: string): string {
  return asking ? `y ${yes}   n keep going` : 'Esc/Ctrl-C cancel';
}

export function JobSteps(props: { steps: PlanStep[]; run: RunView; width: number; theme: Theme; cancelQuestion: string }) {
  const { steps, run, theme } = props;
  return (
    <Box flexDirection="column">
      {steps.map((s, i) => {
        const done = run.done.has(i);
        const current = i === run.current && !done && run.failed === null;
        const mark = done ? theme.symbols.ok : run.failed === i ? theme.symbols.error : current ? theme.ascii ? '*' : <Spinner /> : ' ';
        return (
          <Box key={s.id} flexDirection="column">
            <Text wrap="truncate-end">
              {mark} {`${i + 1}/${steps.length} ${s.title}`}
            </Text>
            {current && run.progress ? <Text>{`  ${formatProgressLine(run.progress, props.width - 6, { ascii: theme.ascii })}`}</Text> : null}
          </Box>
        );
      })}
      {run.undoing ? <Text color={colorFor(theme, 'warn')} wrap="truncate-end">{`undo: ${run.undoing}`}</Text> : null}
      {run.confirmCancel ? <CancelQuestion question={props.cancelQuestion} theme={theme} /> : null}
    </Box>
  );
}
