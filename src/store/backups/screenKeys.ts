/**
 * Who has the keys while the pane's form or review is open: each says its scopes (rows of the key
 * table) and carries out the row's action on the pane's store. Nothing behind them sees the key.
 */
import { fieldValue, focused, formKey, formScopes, formValues } from '../form.js';
import type { KeyOwner } from '../keys/owners.js';
import type { Scope } from '../keys/table.js';
import type { PaneContext } from './context.js';
import type { ReviewState } from './state.js';

export function formOwner(ctx: PaneContext): KeyOwner {
  const { get, set } = ctx;
  return {
    scopes() {
      const f = get().form;
      if (!f) return [];
      const choice: Scope[] = focused(f.form)?.kind === 'choice' ? ['pane:backups-choice'] : [];
      return [...choice, ...formScopes(f.form), 'pane:backups-form'];
    },
    perform(intent) {
      const f = get().form;
      if (!f) return;
      if (intent.action === 'cancel') return set({ form: null });
      if (intent.action !== 'submit') return set({ form: { ...f, form: formKey(f.form, intent) } });
      set({ form: null });
      const values = Object.fromEntries(Object.keys(formValues(f.form)).map((id) => [id, fieldValue(f.form, id).trim()]));
      try {
        f.submit(values);
      } catch (e) {
        // Bad input: the form stays, with what was typed, behind the error dialog.
        set({ form: f });
        ctx.showError(f.title, e);
      }
    },
  };
}

const ENTER_SCOPE: Record<NonNullable<ReviewState['enter']>, Scope> = {
  confirm: 'pane:backups-review-confirm',
  delete: 'pane:backups-review-delete',
  write: 'pane:backups-review-write',
  close: 'pane:backups-review-close',
};

const PAGE = 10;

export function reviewOwner(ctx: PaneContext): KeyOwner {
  const { get, set } = ctx;
  return {
    scopes() {
      const r = get().review;
      if (!r) return [];
      return r.enter ? [ENTER_SCOPE[r.enter], 'pane:backups-review'] : ['pane:backups-review'];
    },
    perform({ action }) {
      const r = get().review;
      if (!r) return;
      const scroll = (to: number) => set({ review: { ...r, offset: Math.max(0, Math.min(to, r.lines.length - 1)) } });
      if (action === 'cancel') {
        set({ review: null });
        r.onCancel?.();
        ctx.say('Cancelled: nothing was changed.');
      } else if (action === 'submit') r.onEnter();
      else if (action === 'scrollDown') scroll(r.offset + 1);
      else if (action === 'scrollUp') scroll(r.offset - 1);
      else if (action === 'pageDown') scroll(r.offset + PAGE);
      else if (action === 'pageUp') scroll(r.offset - PAGE);
      else if (action === 'scrollTop') scroll(0);
      else if (action === 'scrollBottom') scroll(r.lines.length - PAGE);
    },
  };
}
