/**
 * What every list pane needs to draw a table in a fixed width: columns where the first one takes
 * what the others leave, cells cut with an ellipsis, and the window of rows around the selection.
 * Pure, so the 80-column fit of each table is unit-tested.
 */
import { ASCII_ELLIPSIS, toAscii } from '../../model/glyphs.js';

export interface TableColumn<K extends string> {
  key: K;
  title: string;
  width: number;
  align: 'left' | 'right';
}

/**
 * The columns for `width`: one column for the selection pointer and one gap per column come off
 * first, then the fixed columns; the first column gets the rest, but never less than `minFirst`.
 */
export function fitColumns<K extends string>(width: number, first: Omit<TableColumn<K>, 'width'>, minFirst: number, fixed: TableColumn<K>[]): TableColumn<K>[] {
  const taken = fixed.reduce((n, c) => n + c.width + 1, 0);
  return [{ ...first, width: Math.max(minFirst, width - 1 - taken) }, ...fixed];
}

/** Fits text to the column; as clip(), the ASCII ellipsis means the text is drawn (and so cut) in ASCII. */
export function pad(text: string, col: { width: number; align: 'left' | 'right' }, ellipsis: string): string {
  const shown = ellipsis === ASCII_ELLIPSIS ? toAscii(text) : text;
  const t = shown.length > col.width ? shown.slice(0, Math.max(0, col.width - ellipsis.length)) + ellipsis : shown;
  return col.align === 'right' ? t.padStart(col.width) : t.padEnd(col.width);
}

/** The rows that fit in `height`, keeping the selected one in view. */
export function visibleWindow(count: number, selected: number, height: number): { start: number; end: number } {
  if (count <= height) return { start: 0, end: count };
  const start = Math.min(Math.max(0, selected - Math.floor(height / 2)), count - height);
  return { start, end: start + height };
}
