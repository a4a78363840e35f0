/**
 * A wizard's scrolled page (what was read, the review, a result) as the store keeps it: lines
 * already wrapped to the screen's width, so the store knows how far the page scrolls. A line may
 * carry a mark (a warning, a done step) that the view draws with the theme's symbol.
 */

import { wrapLine } from '../../model/textWrap.js';

export { wrapLine };

export interface PageLine {
  text: string;
  mark?: 'warn' | 'ok';
}

/** The page at `width` columns (the frame's border and padding taken off by the caller). */
export function pageLines(lines: readonly (string | PageLine)[], width: number): PageLine[] {
  return lines.flatMap((l) => {
    const line = typeof l === 'string' ? { text: l } : l;
    // A marked line leaves room for its symbol and a space.
    const parts = wrapLine(line.text, line.mark ? width - 2 : width);
    return parts.map((text, i) => (i === 0 && line.mark ? { text, mark: line.mark } : { text }));
  });
}

/** The last first row that still fills a view of `rows` rows. */
export function pageMax(lines: readonly unknown[], rows: number): number {
  return Math.max(0, lines.length - rows);
}
