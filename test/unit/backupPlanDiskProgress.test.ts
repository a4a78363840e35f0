import { describe, expect, it } from 'vitest';
import { DiskProgressTracker, growthFraction, RUNNING_CAP } from '../../src/model/backupDiskProgress.js';
import { type BackupDecision, expectedTargetBytes, planGuestBackup } from '../../src/model/backupPlan.js';
import { formatProgressRows, type Progress } from '../../src/model/progress.js';

/** Per-disk progress of a push backup: target file growth against the bytes the plan expects. */

const MiB = 1024 * 1024;
const decision = (kind: 'full' | 'incremental'): BackupDecision => ({
  method: 'backup-api',
  kind,
  consistency: 'crash-consistent',
  parent: null,
  baseCheckpoint: kind === 'incremental' ? 'virtdeck-20261124T203000Z' : null,
  newCheckpoint: 'virtdeck-20261125T203000Z',
  note: null,
});

describe('growthFraction', () => {
  it.each([
    { size: null, expected: 100, finished: false, want: 0 },
    { size: 0, expected: 100, finished: false, want: 0 },
    { size: 25, expected: 100, finished: false, want: 0.25 },
    { size: 100, expected: 100, finished: false, want: RUNNING_CAP },
    { size: 250, expected: 100, finished: false, want: RUNNING_CAP },
    { size: 10, expected: 0, finished: false, want: 0 },
    { size: 10, expected: 100, finished: true, want: 1 },
    { size: null, expected: 0, finished: true, want: 1 },
  ])('$size of $expected, finished $finished → $want', ({ size, expected, finished, want }) => {
    expect(growthFraction(size, expected, finished)).toBe(want);
  });
});

describe('expectedTargetBytes', () => {
  const dirty = new Map<string, number | null>([
    ['vda', 3 * MiB],
    ['vdb', null],
  ]);
  it('full: what qemu-img measure requires, the virtual size when it could not say', () => {
    expect(expectedTargetBytes(decision('full'), 'vda', 1024 * MiB, 300 * MiB, dirty)).toBe(300 * MiB);
    expect(expectedTargetBytes(decision('full'), 'vda', 1024 * MiB, null, dirty)).toBe(1024 * MiB);
  });
  it('incremental: the dirty bytes plus the qcow2 header and an L2 table; unknown dirty size → as full', () => {
    expect(expectedTargetBytes(decision('incremental'), 'vda', 1024 * MiB, 300 * MiB, dirty)).toBe(3 * MiB + 192 * 1024 + 64 * 1024);
    expect(expectedTargetBytes(decision('incremental'), 'vdb', 1024 * MiB, 300 * MiB, dirty)).toBe(300 * MiB);
    expect(expectedTargetBytes(decision('incremental'), 'vdc', 1024 * MiB, undefined, null)).toBe(1024 * MiB);
  });
});

describe('DiskProgressTracker', () => {
  const disks = [
    { target: 'vda', file: '/b/vda.qcow2', expectedBytes: 100 * MiB },
    { target: 'vdb', file: '/b/vdb.qcow2', expectedBytes: 400 * MiB },
  ];

  it('one row per disk with its own bytes, rate and ETA; done only when the job finished', () => {
    const t = new DiskProgressTracker(disks);
    const first = t.update(new Map([['/b/vda.qcow2', 10 * MiB], ['/b/vdb.qcow2', null]]), 0);
    expect(first.map((p) => [p.label, p.percent, p.bytesTotal])).toEqual([
      ['vda', 10, 100 * MiB],
      ['vdb', 0, 400 * MiB],
    ]);
    const second = t.update(new Map([['/b/vda.qcow2', 60 * MiB], ['/b/vdb.qcow2', 200 * MiB]]), 1000);
    expect(second[0]?.percent).toBeCloseTo(60);
    expect(second[0]?.rateBps).toBeCloseTo(50 * MiB);
    expect(second[0]?.etaSeconds).toBeCloseTo(0.8);
    expect(second[1]?.percent).toBeCloseTo(50);
    // The file reached its estimate before libvirt said done: held just short of 100 %.
    const third = t.update(new Map([['/b/vda.qcow2', 120 * MiB], ['/b/vdb.qcow2', 300 * MiB]]), 2000);
    expect(third[0]?.percent).toBeCloseTo(RUNNING_CAP * 100);
    const done = t.update(new Map(), 2500, true);
    expect(done.map((p) => [p.label, p.percent, p.bytesDone, p.etaSeconds])).toEqual([
      ['vda', 100, 100 * MiB, 0],
      ['vdb', 100, 400 * MiB, 0],
    ]);
  });

  it('a size not looked at this time keeps the last fraction, and a row never goes back', () => {
    const t = new DiskProgressTracker(disks);
    t.update(new Map([['/b/vda.qcow2', 50 * MiB]]), 0);
    expect(t.update(new Map(), 500)[0]?.percent).toBe(50);
    expect(t.update(new Map([['/b/vda.qcow2', 20 * MiB]]), 1000)[0]?.percent).toBe(50);
  });
});

describe('the push-backup step carries each disk’s target file and expected bytes', () => {
  it('from measure (full) into the action arguments', () => {
    const f = {
      name: 'web',
      uuid: 'u',
      state: 'running',
      disks: ['vda', 'vdb'].map((t) => ({ target: t, source: `/img/${t}.qcow2`, format: 'qcow2', qcow2Compat: '1.1', bitmaps: [], virtualSize: 1024 * MiB })),
      skipped: [],
      agent: false,
      checkpoints: [],
      checkpointSizes: null,
      runs: [],
    };
    const now = new Date('2026-11-25T20:30:00Z');
    const required = new Map<string, number | null>([
      ['vda', 300 * MiB],
      ['vdb', null],
    ]);
    const p = planGuestBackup(f, decision('full'), { dest: '/b', now, full: true, hostname: 'h', uri: 'u', required }, (a) => a);
    const args = p.plan.steps.find((s) => s.id === 'backup-begin')?.action?.args as { disks: unknown };
    expect(args.disks).toEqual([
      { target: 'vda', file: '/b/web/20261125T203000Z-full.partial/vda.qcow2', expectedBytes: 300 * MiB },
      { target: 'vdb', file: '/b/web/20261125T203000Z-full.partial/vdb.qcow2', expectedBytes: 1024 * MiB },
    ]);
  });
});

describe('formatProgressRows', () => {
  const base: Progress = { percent: 50, bytesDone: 50 * MiB, bytesTotal: 100 * MiB, rateBps: null, etaSeconds: null };
  it('one line without parts; the whole line then one per disk, labels aligned, none wider than asked', () => {
    expect(formatProgressRows(base, 60, { ascii: true })).toHaveLength(1);
    const rows = formatProgressRows(
      {
        ...base,
        parts: [
          { label: 'vda', ...base, percent: 100, bytesDone: 100 * MiB },
          { label: 'sdb', ...base, percent: 25, bytesDone: 25 * MiB },
        ],
      },
      60,
      { ascii: true },
    );
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^vda {2}#+ 100%/);
    expect(rows[2]).toMatch(/^sdb {2}#+-+ {2}25%/);
    for (const r of rows) expect(r.length).toBeLessThanOrEqual(60);
  });
});
