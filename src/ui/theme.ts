/**
 * How virtdeck draws: colours or not, box-drawing characters or ASCII. A pure function of the
 * environment so the Linux text console (TERM=linux, often a non-UTF-8 locale) gets `+-|` and
 * words instead of glyphs it cannot show, and NO_COLOR is honoured (https://no-color.org).
 */
import type { GuestState } from '../host/virsh.js';
import type { Env } from '../model/env.js';
import { toAscii } from '../model/glyphs.js';

export type { Env };

export interface FrameChars {
  topLeft: string;
  topRight: string;
  bottomLeft: string;
  bottomRight: string;
  horizontal: string;
  vertical: string;
  teeLeft: string;
  teeRight: string;
}

export interface Symbols {
  ok: string;
  warn: string;
  error: string;
  pointer: string;
  separator: string;
  ellipsis: string;
  cursor: string;
}

export type ColorRole = 'accent' | 'muted' | 'error' | 'warn' | 'ok' | 'selected' | 'key';

export interface Theme {
  color: boolean;
  ascii: boolean;
  /** Ink's borderStyle name matching the frame characters. */
  borderStyle: 'single' | 'classic';
  frame: FrameChars;
  symbols: Symbols;
  /** Text as this terminal draws it: unchanged, or through the glyph table's ASCII side. */
  text: (s: string) => string;
}

const UNICODE_FRAME: FrameChars = {
  topLeft: '┌',
  topRight: '┐',
  bottomLeft: '└',
  bottomRight: '┘',
  horizontal: '─',
  vertical: '│',
  teeLeft: '├',
  teeRight: '┤',
};

// The ASCII sides come from the one glyph table (model/glyphs.ts), so the frame, the marks and
// the text in between can never disagree.
const ASCII_FRAME = asciiSide(UNICODE_FRAME);

const UNICODE_SYMBOLS: Symbols = { ok: '✓', warn: '⚠', error: '✗', pointer: '▶', separator: ' · ', ellipsis: '…', cursor: '▏' };
const ASCII_SYMBOLS = asciiSide(UNICODE_SYMBOLS);

function asciiSide<T extends object>(set: T): T {
  return Object.fromEntries(Object.entries(set).map(([k, v]) => [k, toAscii(v as string)])) as T;
}

/** The locale in effect for character type: LC_ALL wins over LC_CTYPE over LANG, as in POSIX. */
export function effectiveLocale(env: Env): string {
  for (const name of ['LC_ALL', 'LC_CTYPE', 'LANG']) {
    const v = env[name];
    if (v) return v;
  }
  return 'C';
}

export function isUtf8Locale(env: Env): boolean {
  return /utf-?8/i.test(effectiveLocale(env));
}

const unchanged = (s: string) => s;

export function chooseTheme(env: Env): Theme {
  const ascii = env.TERM === 'linux' || !isUtf8Locale(env);
  const color = !(env.NO_COLOR !== undefined && env.NO_COLOR !== '') && env.TERM !== 'dumb';
  return {
    color,
    ascii,
    borderStyle: ascii ? 'classic' : 'single',
    frame: ascii ? ASCII_FRAME : UNICODE_FRAME,
    symbols: ascii ? ASCII_SYMBOLS : UNICODE_SYMBOLS,
    text: ascii ? toAscii : unchanged,
  };
}

const ROLE_COLORS: Record<ColorRole, string> = {
  accent: 'cyan',
  muted: 'gray',
  error: 'red',
  warn: 'yellow',
  ok: 'green',
  selected: 'cyan',
  key: 'cyan',
};

/** A colour name for Ink's <Text color>, or undefined when colours are off. */
export function colorFor(theme: Theme, role: ColorRole): string | undefined {
  return theme.color ? ROLE_COLORS[role] : undefined;
}

export function stateColor(theme: Theme, state: GuestState): string | undefined {
  if (!theme.color) return undefined;
  switch (state) {
    case 'running':
    case 'idle':
      return 'green';
    case 'paused':
    case 'pmsuspended':
    case 'in shutdown':
      return 'yellow';
    case 'crashed':
      return 'red';
    default:
      return 'gray';
  }
}
