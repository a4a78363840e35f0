/**
 * The wizards that live in a store, as the app store opens them: each member names its wizard and
 * carries its store, which App.tsx hands to the wizard's view; the dialog's `owner` (the store's)
 * takes the keys. Every such store has `dispose()`, called when the console ends with the wizard
 * open (it stops the wizard's work without asking). One member per wizard.
 */
import type { ConvertWizardStore } from './convert/convertWizard.js';
import type { EvacuateWizardStore } from './evacuate/evacuateWizard.js';
import type { ExpandWizardStore } from './expand/expandWizard.js';
import type { ImportWizardStore } from './import/importWizard.js';
import type { MergeIdeWizardStore } from './mergeide/mergeIdeWizard.js';
import type { MigrateWizardStore } from './migrate/migrateWizard.js';
import type { NewGuestWizardStore } from './newGuest/newGuestWizard.js';
import type { P2vWizardStore } from './p2v/p2vWizard.js';

export type OpenWizard =
  | { which: 'newGuest'; store: NewGuestWizardStore }
  | { which: 'convert'; store: ConvertWizardStore }
  | { which: 'expand'; store: ExpandWizardStore }
  | { which: 'import'; store: ImportWizardStore }
  | { which: 'p2v'; store: P2vWizardStore }
  | { which: 'mergeide'; store: MergeIdeWizardStore }
  | { which: 'migrate'; store: MigrateWizardStore }
  | { which: 'evacuate'; store: EvacuateWizardStore };
