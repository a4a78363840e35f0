import type { Intent } from '../keys/router.js';

type ScrollAction = 'scrollUp' | 'scrollDown' | 'pageUp' | 'pageDown';

/** What a step wizard (form steps, a review, then a job) does for each of the keys every such wizard shares. */
export interface StepWizardHandlers {
  /** Leave the wizard (Esc on the first step, q, Ctrl-C). */
  cancel(): void;
  /** Leave the wizard after its job ended. */
  closed(): void;
  back(): void;
  /** Stop what the wizard is looking up (checks over SSH, an appliance). */
  stopBusy(): void;
  next(): void;
  run(): void;
  scroll(action: ScrollAction): void;
  /** Any other key: the current step's form, when it has one. */
  other(intent: Intent): void;
}

/**
 * One table for the keys of the migrate, evacuate and MergeIDE wizards, so a key added to all step
 * wizards is added once. While a job runs and has no result, its keys (cancel, background) win.
 */
export function routeStepWizardIntent(intent: Intent, running: { perform(intent: Intent): void } | null, h: StepWizardHandlers): void {
  if (running) {
    running.perform(intent);
    return;
  }
  switch (intent.action) {
    case 'wizardCancel':
    case 'wizardQuit':
      h.cancel();
      return;
    case 'wizardClose':
      h.closed();
      return;
    case 'wizardBack':
      h.back();
      return;
    case 'wizardStopBusy':
      h.stopBusy();
      return;
    case 'wizardNext':
      h.next();
      return;
    case 'wizardRun':
      h.run();
      return;
    case 'scrollUp':
    case 'scrollDown':
    case 'pageUp':
    case 'pageDown':
      h.scroll(intent.action);
      return;
    default:
      h.other(intent);
  }
}
