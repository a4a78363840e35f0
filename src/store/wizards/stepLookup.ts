import { type Form, withError } from '../form.js';
import { type Problem, problemOf } from './problem.js';

/** The part of a step wizard's state a lookup changes. */
export interface LookupState {
  busy: boolean;
  problems: Problem[];
  form: Form;
}

export interface StepLookup {
  /** Runs `body` unless a lookup runs already; its refusal lands on the form, a stopped one shows nothing. */
  run(body: (signal: AbortSignal) => Promise<void>): Promise<void>;
  /** Stops the lookup that runs (Esc while busy, closing the wizard). */
  stop(): void;
}

/**
 * The one lookup a step wizard runs at a time (checks over SSH, a libguestfs appliance): the form
 * shows busy while it runs and Esc stops it. Shared by the migrate, evacuate and MergeIDE wizards
 * so that "a stopped lookup never shows a late answer" holds in one place.
 */
export function stepLookup(get: () => LookupState, set: (change: Partial<LookupState>) => void): StepLookup {
  let current: AbortController | null = null;
  return {
    async run(body) {
      if (get().busy) return;
      const controller = new AbortController();
      current = controller;
      set({ busy: true, problems: [], form: withError(get().form, null) });
      try {
        await body(controller.signal);
      } catch (e) {
        if (!controller.signal.aborted) {
          const problem = problemOf(e);
          set({ problems: [problem], form: withError(get().form, problem) });
        }
      } finally {
        // A stopped lookup that settles after the admin started the next one must not end that one's busy.
        if (current === controller) {
          current = null;
          set({ busy: false });
        }
      }
    },
    stop() {
      current?.abort();
    },
  };
}
