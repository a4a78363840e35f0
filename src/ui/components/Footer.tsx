import { useCallback, useSyncExternalStore } from 'react';
import { useApp, useAppStoreApi } from '../../store/context.js';
import { type Hint, hintsFor } from '../../store/keys/router.js';
import type { Scope } from '../../store/keys/table.js';
import { KeyHints } from './Frame.js';

function width(hints: Hint[]): number {
  return hints.reduce((n, h) => n + h.keys.length + (h.hint ? h.hint.length + 1 : 0) + 2, 0);
}

/** Key hints for what has the keys now, from the key table rows of the scopes on screen. */
export function Footer({ width: available }: { width: number }) {
  const store = useAppStoreApi();
  // What has the keys changes with the console (pane, input line, dialogs) and with a pane's own
  // screens (a form, a review, a job), which live in the pane's store: follow both.
  const pane = useApp((s) => s.panes[s.pane]);
  const subscribe = useCallback(
    (onChange: () => void) => {
      const stopApp = store.subscribe(onChange);
      const stopPane = pane?.subscribe?.(onChange);
      return () => {
        stopApp();
        stopPane?.();
      };
    },
    [store, pane],
  );
  // A string, so React compares what is shown and not a new array each time.
  const key = useSyncExternalStore(subscribe, () => {
    const owner = store.getState().keyOwner();
    return JSON.stringify([owner?.scopes() ?? [], owner?.hintVars?.() ?? {}]);
  });
  const [scopes, vars] = JSON.parse(key) as [Scope[], Record<string, string>];
  const full = hintsFor(scopes, vars);
  if (width(full) <= available) return <KeyHints hints={full} width={available} />;
  // Too long: the pane's own actions keep their words, the keys of every pane shrink to bare keys as in "/ : ?".
  const own = hintsFor(scopes.filter((s) => s !== 'panes'), vars);
  const shared = hintsFor(['panes']).filter((h) => !own.some((o) => o.keys === h.keys));
  const labelled = own.filter((h) => h.keys !== '/');
  const bare = [...own.filter((h) => h.keys === '/'), ...shared].map((h) => h.keys);
  return <KeyHints hints={[...labelled, { keys: bare.join(' '), hint: '' }]} width={available} />;
}
