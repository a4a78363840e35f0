/**
 * Text whose origin is not virtdeck (a guest's file names, labels and os-release, a .vmx value, a
 * QEMU log line, a remote host's answer) is shown, never obeyed: a terminal acts on control bytes,
 * so a file named `x<ESC>]2;title<BEL>` would retitle the admin's terminal (or, where OSC 52 is
 * honoured, write their clipboard). Every such string passes through `shown` on its way to the
 * console or the CLI's plain output; `--json` keeps the exact text, which JSON escapes itself.
 */

/**
 * C0 controls, DEL, C1 controls (a lone 0x9b is CSI on 8-bit terminals), and the Unicode
 * bidirectional overrides and isolates that reorder what the admin reads ("Trojan Source").
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escapeOne(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One line of outside text, safe to print: every control character is written out as `\xNN`. */
export function shown(text: string): string {
  return text.replace(UNSAFE, escapeOne);
}

/** Outside text that may span lines (a log, a file's contents): each line made safe, newlines kept. */
export function shownLines(text: string): string {
  return text
    .split('\n')
    .map((line) => shown(line.endsWith('\r') ? line.slice(0, -1) : line))
    .join('\n');
}

/**
 * The CLI's plain output: like shownLines, but tabs stay too, since tab-separated columns are the
 * CLI's own (a tab moves the cursor, it never commands the terminal).
 */
export function shownText(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, '').split('\t').map(shown).join('\t'))
    .join('\n');
}

/**
 * JSON text for a terminal: JSON.stringify escapes C0 controls but leaves DEL, C1 and the bidi
 * overrides as they are. Such characters can only stand inside JSON strings, so writing them as
 * \uXXXX keeps the JSON valid and its values exact.
 */
export function terminalSafeJson(json: string): string {
  return json.replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** True when `shown` would change the text: for tests and for refusing such names outright. */
export function hasControlCharacters(text: string): boolean {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text);
}
