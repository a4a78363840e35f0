/**
 * List navigation shared by the panes: which keymap actions move a selection, and where a move
 * lands. Panes keep their selection by key (a path, a job id), so a refresh that reorders rows
 * does not move it.
 */
import type { ActionId } from './keys/table.js';

export type Move = number | 'top' | 'bottom';

/** The selection move a keymap action asks for, or null for any other action. */
export function moveFor(action: ActionId): Move | null {
  switch (action) {
    case 'up':
      return -1;
    case 'down':
      return 1;
    case 'top':
      return 'top';
    case 'bottom':
      return 'bottom';
    default:
      return null;
  }
}

/** The index a move lands on among n rows (clamped; -1 when there are none). */
export function movedIndex(current: number, n: number, move: Move): number {
  if (n <= 0) return -1;
  const next = move === 'top' ? 0 : move === 'bottom' ? n - 1 : Math.max(0, current) + move;
  return Math.min(Math.max(next, 0), n - 1);
}

/** The key of the row a move lands on, from the row whose key is `selected` (the first when absent). */
export function moveByKey<K>(keys: K[], selected: K | null, move: Move): K | null {
  const i = movedIndex(keys.indexOf(selected as K), keys.length, move);
  return i === -1 ? null : (keys[i] as K);
}
