/**
 * The wizard a WizardDialog shows, with its store: App draws the view of `which` from `store`,
 * and the dialog's `owner` (the store's) takes the keys. One member per ported wizard.
 */
import type { ConvertWizardStore } from './convert/convertWizard.js';
import type { ExpandWizardStore } from './expand/expandWizard.js';

export type OpenWizard = { which: 'convert'; store: ConvertWizardStore } | { which: 'expand'; store: ExpandWizardStore };
