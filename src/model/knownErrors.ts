/**
 * THE known-error catalog (assets/known-errors.json) and its one matcher: libvirt, QEMU, qemu-img,
 * libguestfs and ssh messages an admin meets, each turned into one plain sentence and the exact fix.
 * Pure: the same lookup words a failed command (explain() in host/errors.ts, which also covers
 * every qemu-img run), a log line in the logs view, and `virtdeck doctor`.
 *
 * The JSON is imported (not read from disk) so the single-file bundle carries it inline.
 */

import { z } from 'zod';
import catalog from '../../assets/known-errors.json' with { type: 'json' };

const entrySchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  pattern: z.object({ source: z.string().min(1), flags: z.string().regex(/^[imsu]*$/) }),
  sentence: z.string().min(1),
  fix: z.string().min(1),
  sample: z.string().min(1),
});

export type KnownErrorEntry = z.infer<typeof entrySchema>;

export interface CompiledEntry extends KnownErrorEntry {
  regex: RegExp;
}

export interface KnownExplanation {
  id: string;
  sentence: string;
  fix: string;
  /** The part of the text that matched, for highlighting. */
  matched: string;
}

/** What is known besides the text: the command that printed it. A log line has none. */
export interface ErrorContext {
  command?: string[];
  /** From `--domain NAME` in a virsh command, when there is one. */
  guest?: string | null;
}

/** Validates and compiles catalog entries; a bad entry is a bug in the asset, so it throws. */
export function compileCatalog(entries: unknown): CompiledEntry[] {
  const parsed = z.array(entrySchema).parse(entries);
  const ids = new Set<string>();
  return parsed.map((e) => {
    if (ids.has(e.id)) throw new Error(`known-errors.json: duplicate id ${e.id}`);
    ids.add(e.id);
    return { ...e, regex: new RegExp(e.pattern.source, e.pattern.flags) };
  });
}

export const KNOWN_ERROR_CATALOG: CompiledEntry[] = compileCatalog((catalog as { entries: unknown }).entries);

const FAILED_DOMAIN = /Failed to \w+ domain '([^']+)'/;
const TOKEN = /^(?:\d+|\*|guest|host|command)$/;
/** Stands for a value that came out empty until the space before it is closed up. */
const EMPTY = '\u0000';

/** The values a template can name besides the numbered groups. */
function contextValues(m: RegExpMatchArray, ctx: ErrorContext): Record<string, string | undefined> {
  const command = ctx.command ?? [];
  const c = command.indexOf('-c');
  return {
    // The message's own name wins: "Failed to start domain 'X'" is the guest that failed.
    guest: m.groups?.guest ?? (m.input ?? '').match(FAILED_DOMAIN)?.[1] ?? ctx.guest ?? undefined,
    host: c >= 0 ? command[c + 1] : undefined,
    command: command.slice(0, 2).join(' ') || undefined,
  };
}

/** The index of the brace closing the one at `open`, or -1. */
function closing(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

/** Splits on `|` outside nested braces. */
function alternatives(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '{') depth++;
    else if (s[i] === '}') depth--;
    else if (s[i] === '|' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function fill(template: string, value: (token: string) => string): string {
  let out = '';
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    const close = open < 0 ? -1 : closing(template, open);
    if (close < 0) return out + template.slice(i);
    out += template.slice(i, open);
    out += placeholder(template.slice(open + 1, close), value) ?? template.slice(open, close + 1);
    i = close + 1;
  }
  return out;
}

/** One `{…}`: a conditional, or alternatives; null when it is not a placeholder (literal braces). */
function placeholder(body: string, value: (token: string) => string): string | null {
  const cond = body.match(/^(\d+|\*|guest|host|command)([?!])([\s\S]*)$/);
  if (cond) {
    const present = value(cond[1] as string) !== '';
    return present === (cond[2] === '?') ? fill(cond[3] as string, value) : '';
  }
  const alts = alternatives(body);
  if (!TOKEN.test(alts[0] as string)) return null;
  for (const a of alts) {
    if (!TOKEN.test(a)) return fill(a, value) || EMPTY; // the literal fallback
    const v = value(a);
    if (v !== '') return v;
  }
  return EMPTY;
}

/**
 * Fills a catalog template (see the $comment in assets/known-errors.json): `{1}`, `{*}`, `{guest}`,
 * `{host}`, `{command}`, alternatives `{1|2|fallback}`, conditionals `{1?…}` / `{1!…}`; the space
 * before a value that came out empty is closed up.
 */
export function fillTemplate(template: string, m: RegExpMatchArray, ctx: ErrorContext = {}): string {
  const named = contextValues(m, ctx);
  const first = m.slice(1).find((g) => g !== undefined && g.trim() !== '') ?? '';
  const value = (token: string): string => {
    if (token === '*') return first.trim();
    if (/^\d+$/.test(token)) return (m[Number(token)] ?? '').trim();
    return named[token] ?? '';
  };
  // "the disk {1|} is used." reads "the disk is used.", not "the disk  is used."
  return fill(template, value)
    .replace(new RegExp(` ${EMPTY}+(?=[ .,:;)]|$)`, 'g'), '')
    .replaceAll(EMPTY, '');
}

/** A message worth explaining is a few lines; see matchable. */
const MAX_LINE = 1_000;
const KEEP_EACH_END = 4_096;

/**
 * The text the patterns see. stderr and log lines can be shaped by a guest, an image or a remote
 * host, and some catalog patterns hold lookbehinds that scan back over the line or the whole text,
 * so their cost grows with the square of its length: 20 000 quote characters took a second. Every
 * message the catalog knows is a few short lines, so each line is cut to MAX_LINE characters and
 * only the start and the end of a long text are kept (the error is in one or the other).
 */
export function matchable(text: string): string {
  const lines = text.length > MAX_LINE ? text.split('\n').map((l) => (l.length > MAX_LINE ? l.slice(0, MAX_LINE) : l)).join('\n') : text;
  return lines.length > 2 * KEEP_EACH_END ? `${lines.slice(0, KEEP_EACH_END)}\n${lines.slice(-KEEP_EACH_END)}` : lines;
}

/** The first catalog entry matching the text, with its sentence and fix filled in; null when none does. */
export function explainKnown(raw: string, ctx: ErrorContext = {}, entries: CompiledEntry[] = KNOWN_ERROR_CATALOG): KnownExplanation | null {
  if (!raw) return null;
  const text = matchable(raw);
  for (const e of entries) {
    const m = text.match(e.regex);
    if (m) return { id: e.id, sentence: fillTemplate(e.sentence, m, ctx), fix: fillTemplate(e.fix, m, ctx), matched: m[0] };
  }
  return null;
}

/** Every entry whose pattern matches the text (the catalog test uses it to prove entries do not overlap). */
export function matchingEntries(raw: string, entries: CompiledEntry[] = KNOWN_ERROR_CATALOG): string[] {
  const text = matchable(raw);
  return entries.filter((e) => e.regex.test(text)).map((e) => e.id);
}
