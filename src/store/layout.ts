/**
 * The frame's fixed rows, for the store as much as for the view: a dialog that scrolls needs to
 * know how many of its lines are on screen to scroll by a page or stop at the end.
 */
import type { TermSize } from './types.js';

/** Header, tabs, the rule under them, status line, key hints and the frame's rules. */
const FRAME_ROWS = 7;

/** Rows a dialog (or a pane other than Guests) has inside the frame. */
export function bodyHeight(size: TermSize): number {
  return Math.max(1, size.rows - FRAME_ROWS);
}

/** Columns a dialog's text has inside the frame (its side borders and padding taken off). */
export function bodyWidth(size: TermSize): number {
  return Math.max(1, size.columns - 4);
}

/** The first line shown, so that the view is never scrolled past its end. */
export function clampOffset(offset: number, total: number, height: number): number {
  return Math.max(0, Math.min(offset, total - height));
}

/** A scroll action's next first line, or null when the action is not a scroll. */
export function scrolledOffset(action: string, offset: number, total: number, height: number): number | null {
  const page = Math.max(1, height - 1);
  const moves: Record<string, number> = { scrollUp: -1, scrollDown: 1, pageUp: -page, pageDown: page };
  const at = clampOffset(offset, total, height);
  if (action in moves) return clampOffset(at + (moves[action] ?? 0), total, height);
  if (action === 'scrollTop') return 0;
  if (action === 'scrollBottom') return clampOffset(total, total, height);
  return null;
}
