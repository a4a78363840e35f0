import { describe, expect, it } from 'vitest';
import { compileCatalog, explainKnown, fillTemplate, KNOWN_ERROR_CATALOG, matchingEntries } from '../../src/model/knownErrors.js';

describe('known-error catalog', () => {
  it('is the one catalog: host, qemu-img and log entries, with distinct ids', () => {
    expect(KNOWN_ERROR_CATALOG.length).toBeGreaterThanOrEqual(60);
    for (const id of ['write-lock', 'qemu-img-locked', 'bridge-missing', 'supermin-kernel']) expect(KNOWN_ERROR_CATALOG.map((e) => e.id)).toContain(id);
    expect(new Set(KNOWN_ERROR_CATALOG.map((e) => e.id)).size).toBe(KNOWN_ERROR_CATALOG.length);
  });

  it.each(KNOWN_ERROR_CATALOG.map((e) => [e.id, e] as const))('%s: its pattern matches its sample and no other entry does', (id, entry) => {
    expect(matchingEntries(entry.sample)).toEqual([id]);
  });

  it.each(KNOWN_ERROR_CATALOG.map((e) => [e.id, e] as const))('%s: sentence and fix are filled without leftover placeholders', (id, entry) => {
    const x = explainKnown(entry.sample);
    expect(x?.id).toBe(id);
    expect(x?.sentence).not.toMatch(/\{(?:[*\d]|guest|host|command)/);
    expect(x?.fix).not.toMatch(/\{(?:[*\d]|guest|host|command)/);
    expect(`${x?.sentence} ${x?.fix}`).not.toMatch(/ {2}|\u0000/);
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

  it('fills conditionals, context values and leaves literal braces alone', () => {
    const m = "Failed to start domain 'web': lock".match(/(x)?(lock)/) as RegExpMatchArray;
    expect(fillTemplate('{1?one {1}}{1!no one}, {2?two {2}}.', m)).toBe('no one, two lock.');
    expect(fillTemplate('The guest {guest} on {host|the host} via {command}.', m, { command: ['virsh', '-c', 'qemu+ssh://h/system'] })).toBe(
      'The guest web on qemu+ssh://h/system via virsh -c.',
    );
    const bare = 'lock'.match(/(lock)/) as RegExpMatchArray;
    expect(fillTemplate('The guest {guest} is {1}.', bare, { guest: 'db' })).toBe('The guest db is lock.');
    expect(fillTemplate('The guest {guest}: {1}.', bare)).toBe('The guest: lock.');
    expect(fillTemplate('-blockdev {"driver":"file"} {1}', bare)).toBe('-blockdev {"driver":"file"} lock');
  });

  it('explains a log line and a command failure with the same entry', () => {
    const line = "2026-01-01 14:00:02.000+0000: 1454: error : virNetDevGetMTU:397 : Cannot get interface MTU on 'br9': No such device";
    expect(explainKnown(line)?.sentence).toBe('The guest is attached to the bridge br9, which does not exist on this host.');
    expect(explainKnown(`error: Failed to start domain 'web'\n${line}`)?.sentence).toBe('The guest web is attached to the bridge br9, which does not exist on this host.');
  });

  it('rejects a malformed catalog', () => {
    expect(() => compileCatalog([{ id: 'x' }])).toThrow();
    const e = { id: 'a', pattern: { source: 'a', flags: '' }, sentence: 's.', fix: 'f', sample: 'a' };
    expect(() => compileCatalog([e, e])).toThrow(/duplicate/);
  });
});

describe('long hostile text (found by test/security/fuzzKnownErrors.test.ts)', () => {
  it('40 000 quotes after a virsh message cost milliseconds, not seconds (permission-denied scanned back over the line at every quote)', () => {
    const text = `error: Failed to start domain 'w${"'".repeat(40_000)}`;
    const started = performance.now();
    explainKnown(text);
    expect(performance.now() - started).toBeLessThan(250);
  });

  it('a known message is still found at the start or the end of a long text, and on a long line', () => {
    const sample = "error: Failed to start domain 'web'\nerror: Cannot access storage file '/home/admin/web.qcow2' (as uid:64055, gid:64055): Permission denied";
    expect(explainKnown(`${'x'.repeat(100_000)}\n${sample}`)?.id).toBe('permission-denied');
    expect(explainKnown(`${sample}\n${'x'.repeat(100_000)}`)?.id).toBe('permission-denied');
  });
});
