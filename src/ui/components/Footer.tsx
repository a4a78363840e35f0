import { useApp, useAppStoreApi } from '../../store/context.js';
import { type Hint, hintsFor } from '../../store/keys/router.js';
import { KeyHints } from './Frame.js';

function width(hints: Hint[]): number {
  return hints.reduce((n, h) => n + h.keys.length + (h.hint ? h.hint.length + 1 : 0) + 2, 0);
}

/** Key hints for what has the keys now, from the key table rows of the scopes on screen. */
export function Footer({ width: available }: { width: number }) {
  const store = useAppStoreApi();
  // Read so the footer follows every change of what is on screen.
  useApp((s) => s.pane);
  useApp((s) => s.inputMode);
  useApp((s) => s.dialogs);
  const owner = store.getState().keyOwner();
  const scopes = owner?.scopes() ?? [];
  const vars = owner?.hintVars?.() ?? {};
  const full = hintsFor(scopes, vars);
  if (width(full) <= available) return <KeyHints hints={full} width={available} />;
  // Too long: the pane's own actions keep their words, the keys of every pane shrink to bare keys as in "/ : ?".
  const own = hintsFor(scopes.filter((s) => s !== 'panes'), vars);
  const shared = hintsFor(['panes']).filter((h) => !own.some((o) => o.keys === h.keys));
  const labelled = own.filter((h) => h.keys !== '/');
  const bare = [...own.filter((h) => h.keys === '/'), ...shared].map((h) => h.keys);
  return <KeyHints hints={[...labelled, { keys: bare.join(' '), hint: '' }]} width={available} />;
}
