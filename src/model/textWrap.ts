/**
 * Text that explains or instructs is wrapped, never cut: a line broken to fit `width` columns, at
 * a space when one is in the last half of the row (prose), else mid-word (a long path or command);
 * continuation rows are indented so a wrapped command still reads as one. Pure, so a store can
 * count the rows a page takes (and how far it scrolls) before anything draws it.
 */
const INDENT = '    ';

export function wrapLine(text: string, width: number): string[] {
  if (width < 8 || text.length <= width) return [text];
  const out: string[] = [];
  let rest = text;
  let room = width;
  while (rest.length > room) {
    const space = rest.lastIndexOf(' ', room);
    const cut = space > room / 2 ? space : room;
    out.push(`${out.length ? INDENT : ''}${rest.slice(0, cut)}`);
    rest = rest.slice(cut).replace(/^ /, '');
    room = width - INDENT.length;
  }
  out.push(`${out.length ? INDENT : ''}${rest}`);
  return out;
}

/** Every line (a line break inside one starts a new row) wrapped to `width`. */
export function wrapLines(lines: readonly string[], width: number): string[] {
  return lines.flatMap((l) => l.split('\n').flatMap((part) => wrapLine(part, width)));
}
