import { describe, expect, it } from 'vitest';
import {
  type BackupManifest,
  type CatalogRun,
  chainOf,
  dependentsOf,
  parseManifest,
  parseRunDirName,
  runDirName,
  serializeManifest,
} from '../../src/model/backupManifest.js';
import { UserError } from '../../src/model/userError.js';

function manifest(over: Partial<BackupManifest>): BackupManifest {
  return {
    version: 1,
    guest: 'web',
    uuid: '11111111-2222-3333-4444-555555555555',
    createdAt: '2026-11-25T20:30:00.000Z',
    finishedAt: '2026-11-25T20:31:00.000Z',
    kind: 'full',
    parent: null,
    checkpoint: null,
    method: 'backup-api',
    consistency: 'crash-consistent',
    hostname: 'host1',
    uri: 'qemu:///system',
    disks: [],
    note: null,
    verified: null,
    ...over,
  };
}

const run = (name: string, parent: string | null): CatalogRun => ({
  name,
  manifest: manifest({ kind: parent ? 'incremental' : 'full', parent }),
});

describe('backup manifest', () => {
  it('round-trips through JSON', () => {
    const m = manifest({ disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/x.qcow2', sourceFormat: 'qcow2', virtualSize: 1024, bytesWritten: 512, sha256: 'a'.repeat(64), backing: null }] });
    expect(parseManifest(serializeManifest(m), 'm.json')).toEqual(m);
  });

  it('refuses damaged manifests in one sentence', () => {
    expect(() => parseManifest('{', '/b/web/x/manifest.json')).toThrow(UserError);
    expect(() => parseManifest('{"version": 2}', 'm')).toThrow(/bad value at version/);
  });

  it('names run directories sortably and reads them back', () => {
    const name = runDirName(new Date('2026-11-25T20:30:05.123Z'), 'incremental');
    expect(name).toBe('20261125T203005Z-inc');
    expect(parseRunDirName(name)).toEqual({ at: new Date('2026-11-25T20:30:05Z'), kind: 'incremental' });
    expect(parseRunDirName('20261125T203005Z-full.partial')).toBeNull();
    expect(parseRunDirName('lost+found')).toBeNull();
  });

  it('walks a chain back to its full run and finds dependents', () => {
    const runs = [run('a-full', null), run('b-inc', 'a-full'), run('c-inc', 'b-inc'), run('d-full', null)];
    expect(chainOf(runs, 'c-inc').map((r) => r.name)).toEqual(['a-full', 'b-inc', 'c-inc']);
    expect(chainOf(runs, 'd-full').map((r) => r.name)).toEqual(['d-full']);
    expect(dependentsOf(runs, 'a-full').map((r) => r.name).sort()).toEqual(['b-inc', 'c-inc']);
    expect(() => chainOf([run('c-inc', 'b-inc')], 'c-inc')).toThrow(/builds on b-inc, which is missing/);
    expect(() => chainOf(runs, 'zzz')).toThrow(/no backup run named zzz/);
  });
});
