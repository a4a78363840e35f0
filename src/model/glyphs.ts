/**
 * The one glyph table: every non-ASCII character virtdeck's own text uses, with what it becomes
 * where the terminal cannot draw it (TERM=linux, a non-UTF-8 locale). Views and messages keep
 * writing the Unicode glyph; the console's Text and the CLI's output turn it into the ASCII side
 * at the last moment, so text built in model/ or store/ (which know nothing of the terminal)
 * follows the same rule as the frame. A unit test scans src/ and fails when a string uses a
 * character this table does not name, so a new glyph cannot reach a Linux console unseen.
 */

/**
 * Unicode → ASCII. Sequences come first where the pair reads better than its parts (the arrow
 * keys of a hint). One-column glyphs become one column where a word is not needed, so tables keep
 * their widths; marks become the words of SCREENS.md (`[ok]`, `[!]`).
 */
export const GLYPHS: Readonly<Record<string, string>> = {
  // Key names in hints: "↑↓ move", "←→ choose".
  '↑↓': 'Up/Down',
  '←→': 'Left/Right',
  // The frame.
  '┌': '+',
  '┐': '+',
  '└': '+',
  '┘': '+',
  '├': '+',
  '┤': '+',
  '─': '-',
  '│': '|',
  // Marks.
  '✓': '[ok]',
  '⚠': '[!]',
  '✗': '[x]',
  '▶': '>',
  '▏': '_',
  '•': '*',
  '‹': '<',
  '›': '>',
  '↳': '>>',
  // Progress bars; with the other blocks, the levels of a sparkline (model/sparkline.ts): `_.:-=+*#`.
  '█': '#',
  '▁': '_',
  '▂': '.',
  '▃': ':',
  '▄': '-',
  '▅': '=',
  '▆': '+',
  '▇': '*',
  '░': '-',
  // Punctuation in sentences.
  '…': '...',
  '·': '-',
  '—': '-',
  '–': '-',
  '→': '->',
  '←': '<-',
  '↑': 'Up',
  '↓': 'Down',
  '⇄': '<->',
  '×': 'x',
  '≠': '!=',
};

/** What a character outside the table (a guest's name in another script) shows as: the terminal cannot draw it either. */
export const UNKNOWN_GLYPH = '?';

/** The ellipsis of the ASCII set: clip() and pad() cut ASCII text when they are given this one. */
export const ASCII_ELLIPSIS = GLYPHS['…'] as string;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Longest first, so "↑↓" wins over "↑"; then any other non-ASCII code point.
const PATTERN = new RegExp(
  `${Object.keys(GLYPHS)
    .sort((a, b) => b.length - a.length)
    .map(escapeRe)
    .join('|')}|[^\\u0000-\\u007f]`,
  'gu',
);

/** The text as the ASCII set draws it: table glyphs by their ASCII side, anything else non-ASCII as "?". */
export function toAscii(text: string): string {
  return text.replace(PATTERN, (m) => GLYPHS[m] ?? UNKNOWN_GLYPH);
}

/**
 * Ink's own `wrap="truncate"` ends a cut line with "…" (cli-truncate's mark, not configurable).
 * It is one column wide in a laid-out frame, so in ASCII mode the written frame gets a one-column
 * mark in its place, never the three-column "...": the layout is already done.
 */
export const INK_CUT_MARK = '~';

export function asciiFrame(frame: string): string {
  return frame.replaceAll('…', INK_CUT_MARK);
}
