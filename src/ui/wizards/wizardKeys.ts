/**
 * The keys every job wizard shares, as a pure decision: given what is on screen and a key, what
 * should happen. useWizardKeys carries the decision out; each wizard only describes its screen
 * (which step, which review actions it offers) and handles its own keys.
 *
 * - running: with a cancel question (`run`), Esc/Ctrl-C ask, y cancels, n/Esc keep going; without
 *   one, Ctrl-C stops the job at once. Other keys wait for the job.
 * - result: Enter, Esc and q close it (a wizard may name other keys); ↑↓ scroll where it scrolls.
 * - step: Ctrl-C cancels, Esc goes back (closes on the first step); while the step is busy, Esc
 *   stops the work or waits. A review (or any scrolled page) adds ↑↓ (PgUp/PgDn), Enter, and the
 *   actions it offers: w save the plan as a script, b run in the background, q close.
 * - own: a screen of the wizard's own (loading, an error to retry): Ctrl-C cancels, the rest is its.
 */

import { type KeyFlags, keyName } from '../../store/keys/keyName.js';
import { cancelPromptKey, emptyRun, type RunView } from '../components/JobSteps.js';

/** Up to `max` (the last first row that still fills the view) and down to 0, a step at a time. */
export interface Scroller {
  max: number;
  /** Rows PgUp/PgDn move; without it those keys are not taken. */
  page?: number;
  set: (update: (at: number) => number) => void;
}

export interface ReviewKeys {
  scroll?: Scroller;
  /** Enter: run the plan (or, on a read-only page, go on). */
  run?: () => void;
  /** w */
  saveScript?: () => void;
  /** b */
  background?: () => void;
  /** q closes the wizard without a result. */
  quit?: boolean;
}

export type WizardScreen =
  /** `run`: the view holding the cancel question (JobSteps); `showRun` draws its next state. */
  | { kind: 'running'; abort: () => void; run?: RunView; showRun?: (run: RunView) => void }
  /** `closeKeys`: keyName names, Enter/Esc/q unless a wizard differs. */
  | { kind: 'result'; close: () => void; closeKeys?: readonly string[]; scroll?: Scroller }
  /** `busy`: a host check runs; Esc stops it (`stopBusy`) or waits for it. */
  | { kind: 'step'; first: boolean; back: () => void; busy?: 'wait' | 'stop'; stopBusy?: () => void; review?: ReviewKeys }
  | { kind: 'own' };

export type WizardIntent =
  /** The shared keys own this screen and the key means nothing here. */
  | { do: 'nothing' }
  /** Not a shared key: the wizard's own handler gets it. */
  | { do: 'pass' }
  /** Leave without a result. */
  | { do: 'cancel' }
  | { do: 'close' }
  | { do: 'back' }
  | { do: 'stop-busy' }
  /** Stop the job now (a run without a cancel question). */
  | { do: 'abort' }
  /** Show the cancel question's next state; `abort` when the admin said yes. */
  | { do: 'ask'; run: RunView; abort: boolean }
  | { do: 'scroll'; scroller: Scroller; by: number }
  | { do: 'run' }
  | { do: 'save-script' }
  | { do: 'background' };

/**
 * The running screen of a wizard that draws its own steps (not JobSteps): of the run view only the
 * cancel question matters, so the wizard keeps just whether it is asked.
 */
export function askToCancel(asking: boolean, setAsking: (asking: boolean) => void, abort: () => void): WizardScreen {
  return { kind: 'running', abort, run: { ...emptyRun(), confirmCancel: asking }, showRun: (run) => setAsking(run.confirmCancel) };
}

export const RESULT_CLOSE_KEYS: readonly string[] = ['enter', 'esc', 'q'];

const NOTHING: WizardIntent = { do: 'nothing' };
const PASS: WizardIntent = { do: 'pass' };

/** The next first row after moving `by`: never past `max` going down, never above 0 going up. */
export function scrolled(at: number, by: number, max: number): number {
  return by > 0 ? Math.min(max, at + by) : Math.max(0, at + by);
}

function scrollBy(scroller: Scroller | undefined, name: string): number {
  if (!scroller) return 0;
  if (name === 'down') return 1;
  if (name === 'up') return -1;
  if (scroller.page !== undefined && name === 'pagedown') return scroller.page;
  if (scroller.page !== undefined && name === 'pageup') return -scroller.page;
  return 0;
}

function reviewIntent(review: ReviewKeys, name: string): WizardIntent {
  const by = scrollBy(review.scroll, name);
  if (by !== 0 && review.scroll) return { do: 'scroll', scroller: review.scroll, by };
  if (name === 'enter' && review.run) return { do: 'run' };
  if (name === 'w' && review.saveScript) return { do: 'save-script' };
  if (name === 'b' && review.background) return { do: 'background' };
  if (name === 'q' && review.quit) return { do: 'cancel' };
  return PASS;
}

/** The cancel question while a job runs (the one in JobSteps); `nothing` when the key leaves it as it is. */
function cancelQuestionIntent(run: RunView, input: string, key: KeyFlags): WizardIntent {
  let abort = false;
  const next = cancelPromptKey(run, input, { escape: Boolean(key.escape), ctrl: Boolean(key.ctrl) }, () => {
    abort = true;
  });
  return next === run ? NOTHING : { do: 'ask', run: next, abort };
}

export function wizardKeyIntent(screen: WizardScreen, input: string, key: KeyFlags): WizardIntent {
  const name = keyName(input, key);
  if (screen.kind === 'running') {
    if (screen.run) return cancelQuestionIntent(screen.run, input, key);
    return name === 'ctrl-c' ? { do: 'abort' } : NOTHING;
  }
  if (screen.kind === 'result') {
    const by = scrollBy(screen.scroll, name);
    if (by !== 0 && screen.scroll) return { do: 'scroll', scroller: screen.scroll, by };
    return (screen.closeKeys ?? RESULT_CLOSE_KEYS).includes(name) ? { do: 'close' } : NOTHING;
  }
  if (name === 'ctrl-c') return { do: 'cancel' };
  if (screen.kind === 'own') return PASS;
  if (screen.busy) return name === 'esc' && screen.busy === 'stop' ? { do: 'stop-busy' } : NOTHING;
  if (name === 'esc') return screen.first ? { do: 'cancel' } : { do: 'back' };
  return screen.review ? reviewIntent(screen.review, name) : PASS;
}
