/**
 * What the console does with the job on its screen when its terminal goes away (SIGHUP: the SSH
 * session dropped or the window closed; SIGTERM): the choice `q` would offer, made without
 * asking. A job that can go to a worker goes there, as `b` sends it, so it outlives the console;
 * any other is cancelled so its undo runs here, instead of being cut off half-done and left for
 * `virtdeck recover`. It presses the same keys an admin would, so it takes the same paths.
 */
import type { KeyPress } from './keys/keyName.js';
import type { KeyOwner } from './keys/owners.js';

export interface HangupTarget {
  keyOwner(): KeyOwner | null;
  pressKey(key: KeyPress): void;
}

export type HangupOutcome = 'no job' | 'background' | 'cancelled';

/** Resolves once the job screen shows how it ended (at once when no job runs); the caller bounds the wait. */
export function settleJobOnHangup(target: () => HangupTarget, pollMs = 50): Promise<HangupOutcome> {
  const scopes = () => target().keyOwner()?.scopes() ?? [];
  const press = (...keys: string[]) => {
    for (const k of keys) target().pressKey({ name: k, input: k });
  };
  const now = scopes();
  let outcome: HangupOutcome;
  if (now.includes('job:background') || now.includes('job:quitting-background')) {
    press('b');
    outcome = 'background';
  } else if (now.includes('job:quitting')) {
    press('c');
    outcome = 'cancelled';
  } else if (now.includes('job:asking')) {
    press('y');
    outcome = 'cancelled';
  } else if (now.includes('job:running')) {
    press('c', 'y');
    outcome = 'cancelled';
  } else return Promise.resolve('no job');
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!scopes().includes('job:done')) return;
      clearInterval(timer);
      resolve(outcome);
    }, pollMs);
  });
}
