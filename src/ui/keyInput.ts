/**
 * The console's only key handler. Ink parses escape sequences; each key press it hands over goes
 * to the store's router (store/keys) at once, so what a key does depends on the store as the key
 * before left it, never on which screen React has rendered yet.
 */
import { useInput } from 'ink';
import { type ReactNode, useCallback, useRef } from 'react';
import { type KeyPress, keyPresses } from '../store/keys/keyName.js';

export function useKeyInput(onKey: (key: KeyPress) => void, isActive = true): void {
  const latest = useRef(onKey);
  latest.current = onKey;
  // One stable handler: Ink subscribes it once, not again after every render.
  const handler = useCallback((input: string, key: Parameters<typeof keyPresses>[1]) => {
    for (const k of keyPresses(input, key)) latest.current(k);
  }, []);
  useInput(handler, { isActive });
}

/** Renders a screen whose keys go to one owner (a wizard's store on its own, as tests draw it). */
export function KeyRoot({ onKey, children }: { onKey: (key: KeyPress) => void; children: ReactNode }): ReactNode {
  useKeyInput(onKey);
  return children;
}
