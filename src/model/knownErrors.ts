/**
 * The known-error catalog (assets/known-errors.json): libvirt, QEMU and libguestfs messages an admin
 * meets, each turned into one plain sentence and the exact fix. Pure: the same lookup serves log
 * lines, HostErrors whose command had no specific explanation, and `virtdeck doctor`.
 *
 * The JSON is imported (not read from disk) so the single-file bundle carries it inline.
 */
import catalog from '../../assets/known-errors.json' with { type: 'json' };
import { z } from 'zod';

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

/**
 * Fills `{1}` (group 1), `{1|fallback}` (group 1 or the fallback) and `{*}` (the first group that
 * matched) from a regexp match; doubled spaces left by an empty group are closed up.
 */
export function fillTemplate(template: string, m: RegExpMatchArray): string {
  const first = m.slice(1).find((g) => g !== undefined && g !== '') ?? '';
  return template
    .replace(/\{(\*|\d+)(?:\|([^}]*))?\}/g, (_all, which: string, fallback: string | undefined) => {
      const value = which === '*' ? first : m[Number(which)];
      return value !== undefined && value !== '' ? value : (fallback ?? '');
    })
    .replace(/ {2,}/g, ' ')
    .replace(/ ([.,:;)])/g, '$1');
}

/** The first catalog entry matching the text, with its sentence and fix filled in; null when none does. */
export function explainKnown(text: string, entries: CompiledEntry[] = KNOWN_ERROR_CATALOG): KnownExplanation | null {
  if (!text) return null;
  for (const e of entries) {
    const m = text.match(e.regex);
    if (m) return { id: e.id, sentence: fillTemplate(e.sentence, m), fix: fillTemplate(e.fix, m), matched: m[0] };
  }
  return null;
}

/** Every entry whose pattern matches the text (the catalog test uses it to prove entries do not overlap). */
export function matchingEntries(text: string, entries: CompiledEntry[] = KNOWN_ERROR_CATALOG): string[] {
  return entries.filter((e) => e.regex.test(text)).map((e) => e.id);
}
