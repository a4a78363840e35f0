/**
 * Drives a disk wizard's store as the console does: keys through the router to its owner, each
 * acting at once; waits on the store's state, and draws the view alone (KeyRoot) for the few
 * checks of what is on screen.
 */
import { render } from 'ink-testing-library';
import type { ReactNode } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import { type KeyOwner, pressKey } from '../../src/store/keys/owners.js';
import { KeyRoot } from '../../src/ui/keyInput.js';
import { asciiTwin } from './asciiTwin.js';
import { frameWaiter } from './helpers.js';

const NAMED: Record<string, string> = { enter: '', esc: '', up: '', down: '', left: '', right: '', backspace: '', 'ctrl-c': '', tab: '' };

export function wizardDriver<S extends { owner: KeyOwner }>(store: StoreApi<S>, view: ReactNode) {
  const owner = store.getState().owner;
  const r = render(<KeyRoot onKey={(k) => pressKey(owner, k)}>{view}</KeyRoot>);
  asciiTwin(view);
  const frame = () => r.lastFrame() ?? '';
  /** One key by name (`enter`, `esc`, `ctrl-c`, `down`) or one printable character; true when a row took it. */
  const press = (name: string): boolean => pressKey(owner, { name, input: name in NAMED ? '' : name });
  const type = (text: string) => {
    for (const ch of text) press(ch);
  };
  const until = async (pred: (s: S) => boolean, timeoutMs = 5000): Promise<S> => {
    const start = Date.now();
    for (;;) {
      const s = store.getState();
      if (pred(s)) return s;
      if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting on the wizard's state:\n${frame()}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  };
  return { r, frame, waitFrame: frameWaiter(frame), press, type, until, state: () => store.getState() };
}
