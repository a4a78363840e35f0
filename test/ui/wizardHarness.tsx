/**
 * Drives a wizard's store the way the console does: keys go through the router to the store's
 * owner (pressKey), synchronously; the view is drawn alongside under <KeyRoot> so frame checks
 * still hold. No sleeps: waits are on the frame or on the store.
 */
import { render } from 'ink-testing-library';
import type { ReactElement } from 'react';
import type { StoreApi } from 'zustand/vanilla';
import { type KeyOwner, pressKey } from '../../src/store/keys/owners.js';
import { KeyRoot } from '../../src/ui/keyInput.js';
import { asciiTwin } from './asciiTwin.js';
import { frameWaiter } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function driveWizard<S extends { owner: KeyOwner }>(store: StoreApi<S>, view: ReactElement) {
  const owner = () => store.getState().owner;
  const r = render(<KeyRoot onKey={(k) => pressKey(owner(), k)}>{view}</KeyRoot>);
  asciiTwin(view);
  const frame = () => r.lastFrame() ?? '';
  /** One key by name ("down", "enter", "esc", "ctrl-c", "q"); true when a row of the screen took it. */
  const key = (name: string) => pressKey(owner(), { name, input: [...name].length === 1 ? name : '' });
  const type = (text: string) => {
    for (const ch of text) key(ch);
  };
  /** Waits until the store says so. */
  const until = async (pred: (s: S) => boolean, timeoutMs = 3000): Promise<S> => {
    const start = Date.now();
    while (!pred(store.getState())) {
      if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting on the store; frame:\n${frame()}`);
      await sleep(5);
    }
    return store.getState();
  };
  return { r, frame, waitFor: frameWaiter(frame), key, type, until, state: () => store.getState(), unmount: () => r.unmount() };
}
