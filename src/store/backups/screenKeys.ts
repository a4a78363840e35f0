/** Keys of the pane's form and review screens, which take every key while they are open. */
import type { PaneContext } from './context.js';
import { fieldVisible, type PaneForm, type ReviewState } from './state.js';

/** The next visible field from `from` in direction `step` (the form always has one). */
function nextField(f: PaneForm, from: number, step: 1 | -1) {
  const n = f.fields.length;
  for (let k = 1; k <= n; k++) {
    const i = (from + step * k + n * k) % n;
    if (fieldVisible(f, i)) return i;
  }
  return from;
}

export function formKey(ctx: PaneContext, name: string, input: string): boolean {
  const { get, set } = ctx;
  const f = get().form as PaneForm;
  const field = f.fields[f.focus];
  const change = (value: string) => set({ form: { ...f, fields: f.fields.map((x, i) => (i === f.focus ? { ...x, value } : x)) } });
  if (name === 'esc') set({ form: null });
  else if (name === 'enter') {
    set({ form: null });
    try {
      f.submit(f.fields.map((x) => x.value.trim()));
    } catch (e) {
      // Bad input: the form stays, with what was typed, behind the error dialog.
      set({ form: f });
      ctx.showError(f.title, e);
    }
  } else if (name === 'tab' || name === 'down') set({ form: { ...f, focus: nextField(f, f.focus, 1) } });
  else if (name === 'shift-tab' || name === 'up') set({ form: { ...f, focus: nextField(f, f.focus, -1) } });
  else if (field?.choices) {
    const i = field.choices.indexOf(field.value);
    const n = field.choices.length;
    if (name === ' ' || name === 'right' || name === 'l') change(field.choices[(i + 1) % n] ?? field.value);
    else if (name === 'left' || name === 'h') change(field.choices[(i - 1 + n) % n] ?? field.value);
  } else if (name === 'backspace' && field) change(field.value.slice(0, -1));
  else if (input && input.length >= 1 && !name.startsWith('ctrl-') && name === input && field) change(field.value + input);
  return true;
}

export function reviewKey(ctx: PaneContext, name: string): boolean {
  const { get, set } = ctx;
  const r = get().review as ReviewState;
  const page = 10;
  const scroll = (to: number) => set({ review: { ...r, offset: Math.max(0, Math.min(to, r.lines.length - 1)) } });
  if (name === 'esc' || name === 'q') {
    set({ review: null });
    ctx.say('Cancelled: nothing was changed.');
  } else if (name === 'enter') r.onEnter();
  else if (name === 'down' || name === 'j') scroll(r.offset + 1);
  else if (name === 'up' || name === 'k') scroll(r.offset - 1);
  else if (name === 'pagedown' || name === ' ') scroll(r.offset + page);
  else if (name === 'pageup') scroll(r.offset - page);
  else if (name === 'home' || name === 'g') scroll(0);
  else if (name === 'end' || name === 'G') scroll(r.lines.length - page);
  return true;
}
