/**
 * The keys of the console's dialogs (confirm, type-the-name, error, text, help, diff, host picker,
 * recovery, and the form dialogs of formDialogs.ts): each dialog's scopes and what each of its
 * actions does to the store. The views in ui/components only draw the dialog on top.
 */
import { wrapLines } from '../../model/textWrap.js';
import type { KeyOwner } from '../keys/owners.js';
import type { Intent } from '../keys/router.js';
import type { Scope } from '../keys/table.js';
import { bodyHeight, bodyWidth, scrolledOffset } from '../layout.js';
import type { Dialog, TermSize } from '../types.js';
import { type FormDialogHost, formDialogScopes, performFormDialog } from './formDialogs.js';
import { helpLines } from './helpText.js';

/** What a dialog owner needs of the app store. */
export interface DialogHost extends FormDialogHost {
  top(): Dialog | undefined;
  size(): TermSize;
  pane(): Parameters<typeof helpLines>[0];
  popDialog(): void;
  replaceTop(d: Dialog): void;
  setMessage(text: string): void;
  switchHost(name: string): void;
  /** The Guests pane shows every host: choosing this one narrows it instead of staying. */
  allHosts?(): boolean;
  quit(): void;
}

/** The scopes of the dialog on top, most specific first (Ctrl-C quits under every dialog). */
export function scopesOf(d: Dialog): Scope[] {
  switch (d.kind) {
    case 'typeName':
      return [d.focus === 'deleteDisks' && d.checkbox !== null ? 'dialog:typeName-box' : 'dialog:typeName-name', 'dialog:typeName', 'console'];
    case 'form':
    case 'settings':
      return formDialogScopes(d);
    case 'wizard':
      return [];
    case 'recovery':
      return [...(d.items[d.index]?.rollback ? (['dialog:recovery-rollback'] as Scope[]) : []), 'dialog:recovery', 'console'];
    default:
      return [`dialog:${d.kind}` as Scope, 'console'];
  }
}

/** Lines of a scrolling dialog and how many of them show. */
function scrollFrame(d: Dialog, host: DialogHost): { total: number; height: number } | null {
  const height = bodyHeight(host.size());
  // Counted as drawn: long lines wrap (dialogs.tsx), so the end is where the last wrapped row is.
  const width = bodyWidth(host.size());
  if (d.kind === 'text') return { total: wrapLines(d.lines, width).length, height };
  if (d.kind === 'help') return { total: wrapLines(helpLines(host.pane()), width).length, height };
  if (d.kind === 'diff') return { total: d.lines.length, height: Math.max(1, height - d.summary.length - 2) };
  return null;
}

function perform(d: Dialog, intent: Intent, host: DialogHost): void {
  const { action, key } = intent;
  if (action === 'quit') {
    host.quit();
    return;
  }
  const frame = scrollFrame(d, host);
  if (frame && (d.kind === 'text' || d.kind === 'help' || d.kind === 'diff')) {
    const next = scrolledOffset(action, d.offset, frame.total, frame.height);
    if (next !== null) {
      host.replaceTop({ ...d, offset: next });
      return;
    }
  }
  switch (d.kind) {
    case 'settings':
    case 'form':
      performFormDialog(d, intent, host);
      return;
    case 'confirm':
      host.popDialog();
      if (action === 'yes') void d.onYes();
      else d.onNo?.();
      return;
    case 'typeName': {
      if (action === 'cancel') {
        host.popDialog();
        return;
      }
      if (action === 'fieldNext') {
        if (d.checkbox !== null) host.replaceTop({ ...d, focus: d.focus === 'name' ? 'deleteDisks' : 'name' });
        return;
      }
      if (action === 'tick') {
        host.replaceTop({ ...d, deleteDisks: !d.deleteDisks });
        return;
      }
      if (action === 'erase') {
        host.replaceTop({ ...d, typed: d.typed.slice(0, -1) });
        return;
      }
      if (action === 'type') {
        host.replaceTop({ ...d, typed: d.typed + key.input });
        return;
      }
      if (action === 'submit' && d.typed === d.name) {
        host.popDialog();
        void d.onConfirm(d.deleteDisks);
      }
      return;
    }
    case 'error':
      if (action === 'errorDetails') {
        host.replaceTop({ ...d, showDetails: !d.showDetails });
        return;
      }
      if (action === 'errorRetry') {
        if (d.retry && key.name === d.retry.key) void d.retry.run();
        return;
      }
      if (action === 'close') host.popDialog();
      return;
    case 'text':
    case 'help':
      if (action === 'close') host.popDialog();
      return;
    case 'diff':
      if (action === 'apply') {
        void d.onApply();
        return;
      }
      if (action === 'no') {
        host.popDialog();
        d.onCancel?.();
      }
      return;
    case 'hostPicker': {
      if (action === 'itemUp' || action === 'itemDown') {
        const index = Math.max(0, Math.min(d.index + (action === 'itemUp' ? -1 : 1), d.hosts.length - 1));
        host.replaceTop({ ...d, index });
        return;
      }
      if (action === 'close') {
        host.popDialog();
        return;
      }
      if (action === 'choose') {
        const chosen = d.hosts[d.index];
        host.popDialog();
        if (chosen && (!chosen.current || host.allHosts?.())) host.switchHost(chosen.name);
        else if (chosen) host.setMessage(`Staying on ${chosen.name}.`);
      }
      return;
    }
    case 'recovery': {
      if (action === 'itemUp' || action === 'itemDown') {
        const index = Math.max(0, Math.min(d.index + (action === 'itemUp' ? -1 : 1), d.items.length - 1));
        host.replaceTop({ ...d, index });
        return;
      }
      if (d.busy) return;
      if (action === 'close') {
        const left = d.items.filter((i) => !d.results[i.id]).length;
        host.popDialog();
        if (left > 0) host.setMessage(`${left} left as they are; \`virtdeck recover\` offers them again.`);
        return;
      }
      const item = d.items[d.index];
      if (!item || d.results[item.id]) return;
      if (action === 'finish') d.onChoose(item, 'finish');
      else if (action === 'rollback' && item.rollback) d.onChoose(item, 'rollback');
      return;
    }
    default:
      return;
  }
}

/** Words the dialog's hints name: the confirm's yes label. */
export function hintVarsOf(d: Dialog | undefined): Record<string, string> {
  return d?.kind === 'confirm' ? { yes: d.yes } : {};
}

/** The key owner of the dialog on top (a wizard's is its store's). */
export function dialogOwner(host: DialogHost): KeyOwner | null {
  const d = host.top();
  if (!d) return null;
  if (d.kind === 'wizard') return d.owner;
  return {
    scopes: () => {
      const now = host.top();
      return now ? scopesOf(now) : [];
    },
    hintVars: () => hintVarsOf(host.top()),
    perform: (intent) => {
      const now = host.top();
      if (now) perform(now, intent, host);
    },
  };
}
