import { describe, expect, it } from 'vitest';
import { compileCatalog, explainKnown, fillTemplate, KNOWN_ERROR_CATALOG, matchingEntries } from '../../src/model/knownErrors.js';

describe('known-error catalog', () => {
  it('has at least 25 entries with distinct ids', () => {
    expect(KNOWN_ERROR_CATALOG.length).toBeGreaterThanOrEqual(25);
    expect(new Set(KNOWN_ERROR_CATALOG.map((e) => e.id)).size).toBe(KNOWN_ERROR_CATALOG.length);
  });

  it.each(KNOWN_ERROR_CATALOG.map((e) => [e.id, e] as const))('%s: its pattern matches its sample and no other entry does', (id, entry) => {
    expect(matchingEntries(entry.sample)).toEqual([id]);
  });

  it.each(KNOWN_ERROR_CATALOG.map((e) => [e.id, e] as const))('%s: sentence and fix are filled without leftover placeholders', (id, entry) => {
    const x = explainKnown(entry.sample);
    expect(x?.id).toBe(id);
    expect(x?.sentence).not.toMatch(/\{[*\d]/);
    expect(x?.fix).not.toMatch(/\{[*\d]/);
    expect(x?.sentence).toMatch(/[.!]$/);
  });

  it('names what the message names', () => {
    expect(explainKnown("error: Cannot get interface MTU on 'vdtest-br9': No such device")?.sentence).toContain('vdtest-br9');
    const lock = explainKnown('qemu-img: Could not open \'/x/a.qcow2\': Failed to get shared "write" lock\nIs another process using the image [/x/a.qcow2]?');
    expect(lock?.sentence).toContain('/x/a.qcow2');
    expect(explainKnown('error: Domain checkpoint not found: no domain checkpoint with matching name \'ck7\'')?.sentence).toContain('ck7');
  });

  it('says nothing about text it does not know', () => {
    expect(explainKnown('everything is fine')).toBeNull();
    expect(explainKnown('')).toBeNull();
  });

  it('fills templates: groups, fallbacks, first group', () => {
    const m = 'a b'.match(/(x)?(b)/) as RegExpMatchArray;
    expect(fillTemplate('[{1|none}] [{2}] [{*}]', m)).toBe('[none] [b] [b]');
    expect(fillTemplate('the disk {1|} is used.', m)).toBe('the disk is used.');
  });

  it('rejects a malformed catalog', () => {
    expect(() => compileCatalog([{ id: 'x' }])).toThrow();
    const e = { id: 'a', pattern: { source: 'a', flags: '' }, sentence: 's.', fix: 'f', sample: 'a' };
    expect(() => compileCatalog([e, e])).toThrow(/duplicate/);
  });
});
