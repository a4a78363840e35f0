/**
 * The one form model: the settings form, a pane's small forms and every wizard step's fields are a
 * Form. Pure: `formKey` takes a routed key (store/keys) and gives the next form, so a burst of keys
 * (Tab, typing, ←) acts on the form each key leaves, never on the last one React drew.
 */
import type { Intent } from './keys/router.js';
import type { Scope } from './keys/table.js';

export interface ChoiceOption {
  value: string;
  label: string;
}

export interface Field {
  id: string;
  label: string;
  /** text edits in place; choice cycles through its options; action rows take their own keys (MAC generators). */
  kind: 'text' | 'choice' | 'action';
  value: string;
  options?: ChoiceOption[];
  /** Dimmed after the field: units, what the default means. */
  hint?: string;
  /** One line shown while the field has focus. */
  help?: string;
  placeholder?: string;
  /** Shown instead of each typed character (passwords). */
  mask?: string;
  /** Shown (and focusable) only while field `field` has `value`. */
  showWhen?: { field: string; value: string };
  /** The value the form opened with (settings: what changed). */
  original?: string;
  /** The scope an action row adds (settings' MAC generator: k and w). */
  actionScope?: Scope;
}

/** A refusal placed where it belongs: on a field when it names one, else under the form. */
export interface FormError {
  field?: string;
  sentence: string;
  fix: string;
}

export interface Form {
  fields: Field[];
  /** Index into `fields` of the focused field (always a visible one). */
  focus: number;
  /** Cursor in the focused text field. */
  cursor: number;
  error: FormError | null;
}

export function makeForm(fields: Field[], focus = 0): Form {
  const form: Form = { fields: fields.map((f) => ({ ...f, original: f.original ?? f.value })), focus: 0, cursor: 0, error: null };
  const start = visibleIndexes(form)[0] ?? 0;
  return focusOn(form, Math.max(start, Math.min(focus, fields.length - 1)));
}

export function isVisible(form: Form, f: Field): boolean {
  if (!f.showWhen) return true;
  return form.fields.find((x) => x.id === f.showWhen?.field)?.value === f.showWhen.value;
}

function visibleIndexes(form: Form): number[] {
  return form.fields.flatMap((f, i) => (isVisible(form, f) ? [i] : []));
}

export function focused(form: Form): Field | undefined {
  return form.fields[form.focus];
}

function focusOn(form: Form, index: number): Form {
  const f = form.fields[index];
  return { ...form, focus: index, cursor: f?.value.length ?? 0 };
}

/** The key scopes of the form, most specific first: the focused field's, then moving between fields. */
export function formScopes(form: Form): Scope[] {
  const f = focused(form);
  const own: Scope[] = f?.kind === 'text' ? ['form:text'] : f?.kind === 'choice' ? ['form:choice'] : f?.actionScope ? [f.actionScope] : [];
  return [...own, 'form'];
}

export function fieldValue(form: Form, id: string): string {
  return form.fields.find((f) => f.id === id)?.value ?? '';
}

/** Every field's value by id (hidden ones too). */
export function formValues(form: Form): Record<string, string> {
  return Object.fromEntries(form.fields.map((f) => [f.id, f.value]));
}

export function setField(form: Form, id: string, value: string): Form {
  const fields = form.fields.map((f) => (f.id === id ? { ...f, value } : f));
  const next = { ...form, fields };
  const f = fields[form.focus];
  // A choice may hide the focused field (or the one after it); focus stays on a visible one.
  if (f && !isVisible(next, f)) return focusOn(next, visibleIndexes(next)[0] ?? 0);
  return f?.id === id ? { ...next, cursor: value.length } : next;
}

/** Puts a refusal on the form; one that names a field moves the focus there. */
export function withError(form: Form, error: FormError | null): Form {
  if (!error) return { ...form, error: null };
  const at = error.field ? form.fields.findIndex((f) => f.id === error.field) : -1;
  return at >= 0 && isVisible(form, form.fields[at] as Field) ? { ...focusOn(form, at), error } : { ...form, error };
}

export function cycleOption(options: readonly ChoiceOption[], value: string, delta: number): string {
  if (options.length === 0) return value;
  const i = options.findIndex((o) => o.value === value);
  const next = (((Math.max(i, 0) + delta) % options.length) + options.length) % options.length;
  return options[next]?.value ?? value;
}

function moveFocus(form: Form, delta: 1 | -1): Form {
  const shown = visibleIndexes(form);
  if (shown.length === 0) return form;
  const at = Math.max(0, shown.indexOf(form.focus));
  return focusOn(form, shown[(at + delta + shown.length) % shown.length] as number);
}

function editText(form: Form, f: Field, action: Intent['action'], input: string): Form {
  const v = f.value;
  const at = Math.min(form.cursor, v.length);
  const put = (value: string, cursor: number): Form => ({ ...setField(form, f.id, value), cursor, error: form.error?.field === f.id ? null : form.error });
  switch (action) {
    case 'cursorLeft':
      return { ...form, cursor: Math.max(0, at - 1) };
    case 'cursorRight':
      return { ...form, cursor: Math.min(v.length, at + 1) };
    case 'cursorHome':
      return { ...form, cursor: 0 };
    case 'cursorEnd':
      return { ...form, cursor: v.length };
    case 'erase':
      return at > 0 ? put(v.slice(0, at - 1) + v.slice(at), at - 1) : form;
    case 'eraseToStart':
      return put(v.slice(at), 0);
    case 'type':
      return put(v.slice(0, at) + input + v.slice(at), at + input.length);
    default:
      return form;
  }
}

/**
 * The form after a routed key. Actions the form does not know (submit, cancel, a wizard's own)
 * leave it as it is: its owner carries those out.
 */
export function formKey(form: Form, intent: Pick<Intent, 'action' | 'key'>): Form {
  const f = focused(form);
  const { action } = intent;
  if (action === 'fieldNext') return moveFocus(form, 1);
  if (action === 'fieldPrev') return moveFocus(form, -1);
  if (!f) return form;
  if (f.kind === 'choice' && (action === 'choiceNext' || action === 'choicePrev')) {
    return setField(form, f.id, cycleOption(f.options ?? [], f.value, action === 'choiceNext' ? 1 : -1));
  }
  if (f.kind === 'text') return editText(form, f, action, intent.key.input);
  return form;
}

/** What a text field shows of its value in `room` columns, and whether text is cut off on either side. */
export interface FieldWindow {
  start: number;
  text: string;
  cutLeft: boolean;
  cutRight: boolean;
}

/**
 * The part of a text field's value drawn in `room` columns: all of it when it fits, else a window
 * that holds the cursor (its cell after the last character too, while the field has focus), so a
 * long path scrolls sideways inside the field instead of spilling over its label. Unfocused, a long
 * value shows its start.
 */
export function fieldWindow(value: string, cursor: number, room: number, focused: boolean): FieldWindow {
  const cells = Math.max(1, room);
  const need = value.length + (focused ? 1 : 0);
  if (need <= cells) return { start: 0, text: value, cutLeft: false, cutRight: false };
  const at = Math.min(Math.max(0, cursor), value.length);
  const start = focused ? Math.max(0, at - cells + 1) : 0;
  const text = value.slice(start, start + cells);
  return { start, text, cutLeft: start > 0, cutRight: start + text.length < value.length };
}
