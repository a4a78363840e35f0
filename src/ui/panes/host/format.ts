/**
 * Pure text layout for the Host pane: status marks, word wrap, log time stamps. Kept apart from
 * the components so the 80-column arithmetic is easy to test and read.
 */
import type { CheckStatus } from '../../../model/hostChecks.js';
import type { Theme } from '../../theme.js';

/** The status as a symbol (✓ ⚠ ✗) or, on an ASCII console, a word ([ok] [!] [x]) padded to one width. */
export function statusMark(theme: Theme, status: CheckStatus): string {
  const mark = status === 'ok' ? theme.symbols.ok : status === 'warn' ? theme.symbols.warn : theme.symbols.error;
  return theme.ascii ? mark.padEnd(4) : mark;
}

export function statusRole(status: CheckStatus): 'ok' | 'warn' | 'error' {
  return status === 'ok' ? 'ok' : status === 'warn' ? 'warn' : 'error';
}

/** Greedy word wrap to `width`, at most `max` lines; the last kept line ends in the ellipsis when text was cut. */
export function wrap(text: string, width: number, max: number, ellipsis = '…'): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line} ${w}` : w;
    if (next.length <= width) {
      line = next;
      continue;
    }
    if (line) lines.push(line);
    line = w.length > width ? w.slice(0, width) : w;
  }
  if (line) lines.push(line);
  if (lines.length <= max) return lines;
  const kept = lines.slice(0, max);
  const last = kept[max - 1] ?? '';
  kept[max - 1] = last.length + ellipsis.length > width ? `${last.slice(0, width - ellipsis.length)}${ellipsis}` : `${last}${ellipsis}`;
  return kept;
}

/** "11-25 20:18:10": date and time in 14 columns; blanks when unknown. */
export function logStamp(d: Date | null): string {
  if (!d) return ' '.repeat(14);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The line without the stamp it starts with (the time column shows it): QEMU/libvirtd ISO or journal. */
export function withoutStamp(text: string): string {
  return text.replace(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?:? ?/, '');
}

/** Splits text around case-insensitive occurrences of `search`, for highlighting. */
export function splitMatches(text: string, search: string): { text: string; match: boolean }[] {
  if (!search) return [{ text, match: false }];
  const parts: { text: string; match: boolean }[] = [];
  const lower = text.toLowerCase();
  const s = search.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(s); i >= 0; i = lower.indexOf(s, i + s.length)) {
    if (i > at) parts.push({ text: text.slice(at, i), match: false });
    parts.push({ text: text.slice(i, i + s.length), match: true });
    at = i + s.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), match: false });
  return parts;
}
