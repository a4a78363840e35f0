/**
 * Who carries out a key: the screen on top (a wizard, a dialog, a pane's own screen, the input
 * line, the pane list) is a KeyOwner. It says which scopes it shows, most specific first; the
 * router picks the row; the owner performs the row's action on the store. Nothing here waits for
 * React: scopes are read from the store as the key arrives.
 */
import type { KeyPress } from './keyName.js';
import { type Intent, routeKey } from './router.js';
import type { Scope } from './table.js';

export interface KeyOwner {
  scopes(): Scope[];
  perform(intent: Intent): void;
  /** Words its hints name (`{what}`: the job on screen). */
  hintVars?(): Record<string, string>;
}

/** The scopes of a pane's list (its own keys, then every pane's, then Ctrl-C). */
export function paneScopes(pane: string): Scope[] {
  return [`pane:${pane}` as Scope, 'panes', 'console'];
}

/** One key through the router to an owner; true when a row of its scopes took it. */
export function pressKey(owner: KeyOwner, key: KeyPress): boolean {
  const intent = routeKey(owner.scopes(), key);
  if (intent) owner.perform(intent);
  return intent !== null;
}
