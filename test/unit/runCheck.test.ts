import { describe, expect, it } from 'vitest';
import type { GuestBackups } from '../../src/jobs/backupCatalog.js';
import { pickRun } from '../../src/jobs/restore.js';
import { confinementProblem, goodCandidates, newestGoodRun, type RunFile, recordedDamage } from '../../src/jobs/runCheck.js';
import type { BackupManifest, CatalogRun } from '../../src/model/backupManifest.js';

function run(name: string, parent: string | null, verifiedOk: boolean | null = null): CatalogRun {
  return {
    name,
    manifest: {
      version: 1, guest: 'web', uuid: 'u', createdAt: 'x', finishedAt: 'y', kind: parent ? 'incremental' : 'full', parent, checkpoint: null,
      method: 'offline-copy', consistency: 'offline', hostname: 'h', uri: 'qemu:///system', disks: [], note: null,
      verified: verifiedOk === null ? null : { at: '2026-06-03T00:00:00Z', ok: verifiedOk, findings: verifiedOk ? [] : ['vda.qcow2: its sha256 differs'], testRestore: false },
    } as BackupManifest,
  };
}

const F1 = '20260601T000000Z-full';
const I2 = '20260602T000000Z-inc';
const F3 = '20260603T000000Z-full';
const I4 = '20260604T000000Z-inc';

describe('run checks', () => {
  const file: RunFile = { run: F1, runDir: '/b/web/F', file: 'vda.qcow2', path: '/b/web/F/vda.qcow2', sha256: null };
  const regular = { type: 'regular file', size: 10, real: '/mnt/b/web/F/vda.qcow2', dirReal: '/mnt/b/web/F' };

  it('opens only regular files directly inside their run directory', () => {
    expect(confinementProblem(file, regular)).toBeNull();
    expect(confinementProblem(file, undefined)).toMatch(/is missing/);
    expect(confinementProblem(file, { ...regular, type: 'symbolic link' })).toMatch(/symbolic link/);
    expect(confinementProblem(file, { ...regular, type: 'fifo' })).toMatch(/not a regular file/);
    expect(confinementProblem(file, { ...regular, real: '/etc/shadow' })).toMatch(/resolves to \/etc\/shadow, outside its run directory/);
    // A parent directory that is a symlink out of the run directory is caught by realpath too.
    expect(confinementProblem(file, { ...regular, real: '/mnt/b/web/G/vda.qcow2' })).toMatch(/outside/);
  });

  it('names the runs of a chain that backup verify found damaged', () => {
    expect(recordedDamage([run(F1, null, true), run(I2, F1, null)])).toEqual([]);
    const d = recordedDamage([run(F1, null, false), run(I2, F1)]);
    expect(d.map((x) => x.run)).toEqual([F1]);
    expect(d[0]?.sentence).toMatch(/backup verify found the run 20260601T000000Z-full damaged.*its sha256 differs/);
  });

  it('suggests the newest run whose chain avoids the damaged one', () => {
    const b: GuestBackups = { guest: 'web', runs: [run(F1, null), run(I2, F1), run(F3, null, false), run(I4, F3)], partials: [], damaged: [] };
    expect(newestGoodRun(b, [], I4)).toBe(I2);
    expect(newestGoodRun(b, [F1])).toBeNull();
    expect(goodCandidates(b, I2).map((c) => c.name)).toEqual([F1]);
  });

  it('a run with an unreadable manifest is named, never skipped for an older one', () => {
    const b: GuestBackups = { guest: 'web', runs: [run(F1, null)], partials: [], damaged: [{ name: F3, reason: 'The backup manifest /b/web/F3/manifest.json is not valid JSON.' }] };
    expect(() => pickRun(b)).toThrow(/not valid JSON/);
    expect(() => pickRun(b, F3)).toThrow(/not valid JSON/);
    expect(() => pickRun(b, F3)).toThrow(expect.objectContaining({ fix: expect.stringContaining(F1) }));
    expect(pickRun(b, F1).run.name).toBe(F1);
  });
});
