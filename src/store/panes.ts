/**
 * How a pane plugs into the console: it owns its state (its own zustand store; the Guests pane
 * acts on the app store's guest list) and handles the keymap actions while it has focus. The
 * console keeps the frame, dialogs, filter and command line; panes reuse those through `app`.
 */
import type { KeyOwner } from './keys/owners.js';
import type { ActionId } from './keys/table.js';

export interface PaneController {
  /**
   * Handles a keymap action while this pane has focus (`guest`: the NAME of a `:` command); false
   * lets the console handle it.
   */
  dispatch(action: ActionId, guest?: string | null): boolean;
  /** The owner of the keys while the pane shows a screen of its own; null for its list. */
  keyOwner?(): KeyOwner | null;
  /** Calls back when what the pane shows changes (the footer follows its own screens' keys). */
  subscribe?(onChange: () => void): () => void;
  /** Called when the pane is first shown (load lazily: the Guests pane must open fast). */
  activate?(): void;
  /** Called once when the console starts live (start-up checks such as recovery of interrupted jobs). */
  start?(): void;
  /** Stops timers and child processes; called when the console quits. */
  dispose?(): void;
  /** Names offered by `:` completion while this pane has focus (image paths, guest names…). */
  completions?(): string[];
}
