/**
 * A wizard's scrolled page (what was read, the review, a result) as the store keeps it: lines
 * already wrapped to the screen's width, so the store knows how far the page scrolls. A line may
 * carry a mark (a warning, a done step) that the view draws with the theme's symbol.
 */

export interface PageLine {
  text: string;
  mark?: 'warn' | 'ok';
}

/** Long commands wrap at spaces (continuations indented) so the review shows them whole. */
export function wrapLine(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line;
  let indent = '';
  while (indent.length + rest.length > width) {
    const room = width - indent.length;
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= indent.length) cut = room;
    out.push(indent + rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
    indent = '    ';
  }
  out.push(indent + rest);
  return out;
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
