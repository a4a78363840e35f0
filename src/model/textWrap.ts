/**
 * A line broken at spaces to fit `width` columns; continuation lines are indented so a wrapped
 * command reads as one. Pure, so a store can count the rows a page takes before anything draws it.
 */
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
