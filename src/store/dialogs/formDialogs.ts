/**
 * The keys of the two form dialogs, the settings form (e) and a pane's small form (the Disks
 * pane's new image, attach, detach): moving and typing are the form model's (store/form.ts);
 * these add Save, the MAC generators, submit and cancel.
 */
import { randomMac } from '../../model/mac.js';
import { FieldRefusal } from '../../model/userError.js';
import { type Form, type FormError, focused, formKey, formScopes, formValues, setField, withError } from '../form.js';
import type { Intent } from '../keys/router.js';
import type { Scope } from '../keys/table.js';
import { macFieldOf } from '../settingsForm.js';
import { toShownError } from '../shownError.js';
import type { Dialog, FormDialog, SettingsDialog } from '../types.js';

/** What the form dialogs need of the app store. */
export interface FormDialogHost {
  popDialog(): void;
  pushDialog(d: Dialog): void;
  replaceTop(d: Dialog): void;
  saveSettings(): void;
}

export function formDialogScopes(d: SettingsDialog | FormDialog): Scope[] {
  return [...formScopes(d.form), d.kind === 'settings' ? 'dialog:settings' : 'dialog:form', 'console'];
}

/** A refusal as the form shows it: on the field it names (a FieldRefusal, an EditRefusal). */
export function refusalOf(e: unknown): FormError {
  const field = e instanceof FieldRefusal ? e.field : undefined;
  const { sentence, fix } = toShownError(e);
  return { ...(field ? { field } : {}), sentence, fix };
}

/** The form after a key that edits or moves; a changed value clears the refusal shown. */
function edited(form: Form, intent: Intent): Form {
  const next = formKey(form, intent);
  return next.fields !== form.fields ? { ...next, error: null } : next;
}

function performSettings(d: SettingsDialog, intent: Intent, host: FormDialogHost): void {
  const { action } = intent;
  if (action === 'cancel') {
    host.popDialog();
    return;
  }
  if (action === 'save') {
    host.saveSettings();
    return;
  }
  if (action === 'macKvm' || action === 'macVmware') {
    const row = focused(d.form);
    const mac = row ? macFieldOf(row) : null;
    if (mac) host.replaceTop({ ...d, form: { ...setField(d.form, mac, randomMac(action === 'macKvm' ? 'kvm' : 'vmware')), error: null } });
    return;
  }
  host.replaceTop({ ...d, form: edited(d.form, intent) });
}

function submit(d: FormDialog, host: FormDialogHost): void {
  // Popped first so the submit can open the next dialog (an error, a confirmation) on top.
  host.popDialog();
  void (async () => {
    try {
      await d.onSubmit(formValues(d.form));
    } catch (e) {
      host.pushDialog({ ...d, form: withError(d.form, refusalOf(e)) });
    }
  })();
}

function performForm(d: FormDialog, intent: Intent, host: FormDialogHost): void {
  if (intent.action === 'cancel') {
    host.popDialog();
    return;
  }
  if (intent.action === 'submit') {
    submit(d, host);
    return;
  }
  host.replaceTop({ ...d, form: edited(d.form, intent) });
}

export function performFormDialog(d: SettingsDialog | FormDialog, intent: Intent, host: FormDialogHost): void {
  if (d.kind === 'settings') performSettings(d, intent, host);
  else performForm(d, intent, host);
}
