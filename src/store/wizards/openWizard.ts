/**
 * The wizard on a WizardDialog: which one and its store (the console draws its view, the store's
 * owner takes the keys). One member per wizard.
 */
import type { WizardDialog } from '../types.js';
import type { ImportWizardStore } from './import/importWizard.js';
import type { MergeIdeWizardStore } from './mergeide/mergeIdeWizard.js';
import type { P2vWizardStore } from './p2v/p2vWizard.js';

export type OpenWizard =
  | { which: 'import'; store: ImportWizardStore }
  | { which: 'p2v'; store: P2vWizardStore }
  | { which: 'mergeide'; store: MergeIdeWizardStore };

/** The dialog entry of a wizard: its owner takes the keys, the console draws it by `which`. */
export function wizardDialog(open: OpenWizard, guest?: string): WizardDialog {
  return { kind: 'wizard', which: open.which, owner: open.store.getState().owner, wizard: open, guest };
}
