import { describe, expect, it } from 'vitest';
import type { BackupManifest, CatalogRun } from '../../src/model/backupManifest.js';
import { parseRunDirName } from '../../src/model/backupManifest.js';
import { checkpointName, decideBackup, freeInstant, type GuestFacts, planGuestBackup, runInstant, stampTimeOf } from '../../src/model/backupPlan.js';
import { planRetention } from '../../src/model/retention.js';

/** Run and checkpoint names: unique per guest even for runs within one second, in the old format. */

const virsh = (args: string[]) => ['virsh', ...args];

function manifest(createdAt: string, kind: 'full' | 'incremental', parent: string | null, checkpoint: string): BackupManifest {
  return {
    version: 1,
    guest: 'web',
    uuid: 'u',
    createdAt,
    finishedAt: createdAt,
    kind,
    parent,
    checkpoint,
    method: 'backup-api',
    consistency: 'crash-consistent',
    hostname: 'h',
    uri: 'qemu:///system',
    disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 1 << 30, bytesWritten: 1, sha256: null, backing: null }],
    note: null,
    verified: null,
  };
}

function facts(runs: CatalogRun[], checkpoints: string[], partials: string[] = []): GuestFacts {
  return {
    name: 'web',
    uuid: 'u',
    state: 'running',
    disks: [{ target: 'vda', source: '/img/web.qcow2', format: 'qcow2', qcow2Compat: '1.1', bitmaps: checkpoints, virtualSize: 1 << 30 }],
    skipped: [],
    agent: false,
    checkpoints,
    checkpointSizes: new Map([['vda', 4096]]),
    runs,
    partials,
  };
}

describe('stampTimeOf', () => {
  it.each([
    ['20261125T203005Z-full', '2026-11-25T20:30:05Z'],
    ['20261125T203005Z-inc', '2026-11-25T20:30:05Z'],
    ['20261125T203005Z-inc.partial', '2026-11-25T20:30:05Z'],
    ['virtdeck-20261125T203005Z', '2026-11-25T20:30:05Z'],
  ])('%s → %s', (name, iso) => expect(stampTimeOf(name)).toBe(Date.parse(iso)));

  it.each(['lost+found', 'nightly', 'virtdeck-', '2026-11-25-full', 'other-20261125T203005Z'])('%s is no virtdeck name', (name) => expect(stampTimeOf(name)).toBeNull());
});

describe('freeInstant', () => {
  const at = new Date('2026-11-25T20:30:05.700Z');
  it('nothing taken: the second of now', () => {
    expect(freeInstant(at, []).toISOString()).toBe('2026-11-25T20:30:05.000Z');
    expect(freeInstant(at, ['20261124T000000Z-full', 'virtdeck-20261124T000000Z', 'lost+found']).toISOString()).toBe('2026-11-25T20:30:05.000Z');
  });
  it('this second taken by a run, a partial run or a checkpoint: the next free second', () => {
    for (const taken of [['20261125T203005Z-full'], ['20261125T203005Z-inc.partial'], ['virtdeck-20261125T203005Z']]) {
      expect(freeInstant(at, taken).toISOString()).toBe('2026-11-25T20:30:06.000Z');
    }
    expect(freeInstant(at, ['20261125T203005Z-full', 'virtdeck-20261125T203006Z', '20261125T203004Z-inc']).toISOString()).toBe('2026-11-25T20:30:07.000Z');
  });
  it('a name from the future (the clock stepped back) still comes after it, so names sort in the order runs were made', () => {
    expect(freeInstant(at, ['20261125T213000Z-full']).toISOString()).toBe('2026-11-25T21:30:01.000Z');
  });
});

describe('two full + incremental pairs of one guest within one second', () => {
  it('get four different names that sort in run order and chain correctly; retention still reads them', () => {
    const start = Date.parse('2026-11-25T20:30:05.100Z');
    let runs: CatalogRun[] = [];
    let checkpoints: string[] = [];
    const made: string[] = [];
    for (const [i, full] of [true, false, true, false].entries()) {
      const now = new Date(start + i * 150);
      const f = facts(runs, checkpoints);
      const d = decideBackup(f, { now, full });
      const p = planGuestBackup(f, d, { dest: '/b', now, full, hostname: 'h', uri: 'qemu:///system' }, virsh);
      expect(d.kind).toBe(full ? 'full' : 'incremental');
      expect(checkpoints).not.toContain(d.newCheckpoint);
      expect(runs.map((r) => r.name)).not.toContain(p.runName);
      expect(p.partialDir).toBe(`/b/web/${p.runName}.partial`);
      // The manifest keeps the real time; only the name moves on.
      const args = p.plan.steps.find((s) => s.id === 'manifest')?.action?.args as { draft: { createdAt: string } };
      expect(args.draft.createdAt).toBe(now.toISOString());
      expect(parseRunDirName(p.runName)?.kind).toBe(d.kind);
      runs = [...runs, { name: p.runName, manifest: manifest(now.toISOString(), d.kind, d.parent?.name ?? null, d.newCheckpoint as string) }];
      checkpoints = [...checkpoints, d.newCheckpoint as string];
      made.push(p.runName);
    }
    expect(made).toEqual(['20261125T203005Z-full', '20261125T203006Z-inc', '20261125T203007Z-full', '20261125T203008Z-inc']);
    expect([...made].sort((a, b) => a.localeCompare(b))).toEqual(made);
    expect(checkpoints).toEqual(made.map((n) => checkpointName(new Date(stampTimeOf(n) as number))));
    expect(runs[1]?.manifest.parent).toBe(made[0]);
    expect(runs[3]?.manifest.parent).toBe(made[2]);
    const verdicts = planRetention(runs, { keepLast: 1 } as Parameters<typeof planRetention>[1]);
    expect(verdicts.filter((v) => v.keep).map((v) => v.name).sort()).toEqual([made[2], made[3]]);
  });

  it('an old run name already on disk (second resolution) is read and stepped over', () => {
    const old: CatalogRun = { name: '20261125T203005Z-full', manifest: manifest('2026-11-25T20:30:05.000Z', 'full', null, 'virtdeck-20261125T203005Z') };
    const f = facts([old], ['virtdeck-20261125T203005Z'], ['20261125T203006Z-inc.partial']);
    expect(runInstant(f, new Date('2026-11-25T20:30:05.900Z')).toISOString()).toBe('2026-11-25T20:30:07.000Z');
    expect(decideBackup(f, { now: new Date('2026-11-25T20:30:05.900Z'), full: false })).toMatchObject({ kind: 'incremental', newCheckpoint: 'virtdeck-20261125T203007Z' });
  });

  it('snapshot-copy overlays and the snapshot name use the same free instant', () => {
    const raw = { ...facts([{ name: '20261125T203005Z-full', manifest: manifest('2026-11-25T20:30:05Z', 'full', null, '') }], []), disks: [{ target: 'vda', source: '/img/w.raw', format: 'raw', qcow2Compat: null, bitmaps: [], virtualSize: 1 << 20 }] };
    const now = new Date('2026-11-25T20:30:05.500Z');
    const d = decideBackup(raw, { now, full: false });
    const p = planGuestBackup(raw, d, { dest: '/b', now, full: false, hostname: 'h', uri: 'u' }, virsh);
    expect(p.runName).toBe('20261125T203006Z-full');
    expect(p.disks[0]?.overlay).toBe('/img/w.raw.virtdeck-overlay-20261125T203006Z.qcow2');
    expect(p.plan.steps.find((s) => s.id === 'snapshot')?.command?.argv).toContain('virtdeck-backup-20261125T203006Z');
  });
});
