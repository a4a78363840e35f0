import { useApp } from '../../store/context.js';
import { DIALOG_KEYS, displayKey, footerBindings } from '../keymap.js';
import { KeyHints } from './Frame.js';

type Hint = { keys: string; hint: string };

function width(hints: Hint[]): number {
  return hints.reduce((n, h) => n + h.keys.length + (h.hint ? h.hint.length + 1 : 0) + 2, 0);
}

/** Key hints for what has the keys now: the top dialog, the input line, or the pane (from KEYMAP). */
export function Footer({ width: available }: { width: number }) {
  const pane = useApp((s) => s.pane);
  const mode = useApp((s) => s.inputMode);
  const top = useApp((s) => s.dialogs[s.dialogs.length - 1]);
  if (top) return <KeyHints hints={DIALOG_KEYS[top.kind] ?? []} width={available} />;
  if (mode !== 'normal') return <KeyHints hints={DIALOG_KEYS[mode] ?? []} width={available} />;
  const bindings = footerBindings(pane);
  const full = bindings.map((b) => ({ keys: displayKey(b.keys[0] ?? ''), hint: b.hint }));
  if (width(full) <= available) return <KeyHints hints={full} width={available} />;
  // Too long: the pane's own actions keep their words, the global keys shrink to bare keys as in "/ : ?".
  const labelled = bindings.filter((b) => b.panes !== 'all' && b.action !== 'filter').map((b) => ({ keys: displayKey(b.keys[0] ?? ''), hint: b.hint }));
  const bare = bindings.filter((b) => b.panes === 'all' || b.action === 'filter').map((b) => b.keys[0] ?? '');
  return <KeyHints hints={[...labelled, { keys: bare.join(' '), hint: '' }]} width={available} />;
}
