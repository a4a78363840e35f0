import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCatalogListing } from '../../src/jobs/backupCatalog.js';
import { type BackupManifest, parseManifest, RUN_FILE_NAME } from '../../src/model/backupManifest.js';
import { UserError } from '../../src/model/userError.js';

/**
 * The manifest parser reads whatever sits on a backup disk. Whatever it is given, it returns a
 * manifest or throws a UserError (one sentence, exit 2) — never any other throw — and a manifest
 * it returns names only image files that stay inside the run directory.
 */

function outcome(text: string): BackupManifest | UserError {
  try {
    return parseManifest(text, '/b/g/20260601T020000Z-full/manifest.json');
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
}

/** What a parsed manifest must never hold, whatever the input. */
function confined(m: BackupManifest): void {
  for (const d of m.disks) {
    expect(d.file).toMatch(RUN_FILE_NAME);
    expect(d.file.includes('/') || d.file === '.' || d.file === '..').toBe(false);
    expect(['qcow2', 'raw']).toContain(d.format);
  }
}

const good = {
  version: 1,
  guest: 'web',
  uuid: 'u',
  createdAt: '2026-06-01T02:00:00Z',
  finishedAt: '2026-06-01T02:01:00Z',
  kind: 'full',
  parent: null,
  checkpoint: null,
  method: 'offline-copy',
  consistency: 'offline',
  hostname: 'h',
  uri: 'qemu:///system',
  disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 1, bytesWritten: 1, sha256: null, backing: null }],
  note: null,
  verified: null,
};

/** Hostile values for the fields that name files or go to a command line. */
const hostileName = fc.oneof(
  fc.string(),
  fc.constantFrom('..', '.', '/etc/shadow', '../../etc/shadow', 'a/../../b', 'json:{"file":"/etc/shadow"}', 'nbd:localhost:1', '-oops', 'vda.qcow2\n', ' vda', 'vda.qcow2/'),
  fc.tuple(fc.constantFrom('', '../', '/', './'), fc.string()).map(([a, b]) => a + b),
);

describe('manifest parser fuzz', () => {
  it('arbitrary strings: a manifest or a UserError, never another throw', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        const r = outcome(text);
        if (!(r instanceof UserError)) confined(r);
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary JSON values: a manifest or a UserError', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = outcome(JSON.stringify(v) ?? '');
        if (!(r instanceof UserError)) confined(r);
      }),
      { numRuns: 2000 },
    );
  });

  it('manifests that are right but for one hostile field: never a file outside the run directory', () => {
    const disk = good.disks[0] as (typeof good.disks)[number];
    fc.assert(
      fc.property(hostileName, fc.constantFrom('file', 'format', 'target', 'backing', 'sourcePath'), fc.jsonValue(), (name, field, extraValue) => {
        const m = { ...good, disks: [{ ...disk, [field]: name }] };
        const r = outcome(JSON.stringify(m));
        if (!(r instanceof UserError)) confined(r);
        // An unknown key is refused, so nothing virtdeck would ignore can ride along.
        expect(outcome(JSON.stringify({ ...good, extra: extraValue }))).toBeInstanceOf(UserError);
      }),
      { numRuns: 3000 },
    );
  });

  it('the catalog listing: outside names and bytes never throw, and a manifest cannot forge another run', () => {
    const mark = '\u0001virtdeck-0123456789abcdef\u0001';
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (name, body) => {
        const b64 = Buffer.from(body).toString('base64');
        const listing = `${mark}d web/20260601T020000Z-full\n${mark}f f web/${name}/manifest.json\n${b64}\n${mark}f f web/20260601T020000Z-full/manifest.json\n${b64}\n`;
        const guests = parseCatalogListing('/b', listing, mark);
        for (const g of guests) for (const r of g.runs) confined(r.manifest);
      }),
      { numRuns: 1000 },
    );
    // A manifest whose text holds a marker line stays one (damaged) entry, not a forged run.
    const forged = `${mark}f f other/20260601T020000Z-full/manifest.json\n${JSON.stringify(good)}`;
    const listing = `${mark}f f web/20260601T020000Z-full/manifest.json\n${Buffer.from(forged).toString('base64')}\n`;
    const guests = parseCatalogListing('/b', listing, mark);
    expect(guests.map((g) => g.guest)).toEqual(['web']);
    expect(guests[0]?.damaged.map((d) => d.name)).toEqual(['20260601T020000Z-full']);
  });
});
