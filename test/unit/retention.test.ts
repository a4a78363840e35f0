import { describe, expect, it } from 'vitest';
import { type BackupManifest, type CatalogRun, runDirName } from '../../src/model/backupManifest.js';
import { applyRules, isoWeek, planRetention, stalePartial } from '../../src/model/retention.js';

const runs = (isoTimes: string[]) => isoTimes.map((t) => ({ name: t, at: new Date(t) }));
const kept = (v: { name: string; keep: boolean; reason: string | null }[]) =>
  Object.fromEntries(v.filter((x) => x.keep).map((x) => [x.name, x.reason]));

describe('isoWeek', () => {
  it.each([
    ['2026-01-01T12:00:00Z', '2026-W01'], // Thursday
    ['2025-12-29T00:00:00Z', '2026-W01'], // Monday of the week holding 1 Jan 2026
    ['2025-12-28T23:59:59Z', '2025-W52'], // Sunday before
    ['2021-01-03T10:00:00Z', '2020-W53'], // 2020 has 53 weeks
    ['2024-12-30T10:00:00Z', '2025-W01'],
    ['2027-01-01T10:00:00Z', '2026-W53'], // Friday: still in 2026's last week
  ])('%s is %s', (t, w) => expect(isoWeek(new Date(t))).toBe(w));
});

describe('applyRules (Proxmox prune semantics)', () => {
  it('keeps everything when no rule is set', () => {
    const v = applyRules(runs(['2026-01-01T01:00:00Z', '2026-01-02T01:00:00Z']), {});
    expect(v.every((x) => x.keep && x.reason === 'all')).toBe(true);
  });

  it('keep-last 0 with nothing else removes everything', () => {
    const v = applyRules(runs(['2026-01-01T01:00:00Z', '2026-01-02T01:00:00Z']), { keepLast: 0 });
    expect(v.every((x) => !x.keep)).toBe(true);
  });

  it('keep-last keeps the newest N', () => {
    const v = applyRules(runs(['2026-01-01T01:00:00Z', '2026-01-02T01:00:00Z', '2026-01-03T01:00:00Z']), { keepLast: 2 });
    expect(kept(v)).toEqual({ '2026-01-03T01:00:00Z': 'last', '2026-01-02T01:00:00Z': 'last' });
  });

  it('keep-daily keeps the newest run of each day', () => {
    const v = applyRules(
      runs(['2026-03-01T01:00:00Z', '2026-03-01T23:00:00Z', '2026-03-02T05:00:00Z', '2026-03-02T06:00:00Z', '2026-03-03T01:00:00Z']),
      { keepDaily: 2 },
    );
    expect(kept(v)).toEqual({ '2026-03-03T01:00:00Z': 'daily', '2026-03-02T06:00:00Z': 'daily' });
  });

  it('a later rule skips periods an earlier rule covers and runs it already decided on', () => {
    // keep-last 1 keeps Mar 10 (week 11); keep-daily 2 keeps Mar 9 (newest of the day) and Mar 8;
    // the older Mar 9 run is decided (removed) by daily and is not taken by weekly.
    const v = applyRules(
      runs([
        '2026-03-10T02:00:00Z',
        '2026-03-09T03:00:00Z',
        '2026-03-09T01:00:00Z',
        '2026-03-08T02:00:00Z',
        '2026-03-02T02:00:00Z',
        '2026-02-23T02:00:00Z',
        '2026-02-16T02:00:00Z',
      ]),
      { keepLast: 1, keepDaily: 2, keepWeekly: 2 },
    );
    expect(kept(v)).toEqual({
      '2026-03-10T02:00:00Z': 'last',
      '2026-03-09T03:00:00Z': 'daily',
      '2026-03-08T02:00:00Z': 'daily', // Sunday: ISO week 10
      // week 11 and 10 are covered; weekly takes weeks 9 and 8
      '2026-02-23T02:00:00Z': 'weekly',
      '2026-02-16T02:00:00Z': 'weekly',
    });
    expect(kept(v)['2026-03-02T02:00:00Z']).toBeUndefined();
  });

  it('keep-weekly counts ISO weeks across a year boundary', () => {
    const v = applyRules(runs(['2026-01-02T02:00:00Z', '2025-12-29T02:00:00Z', '2025-12-28T02:00:00Z', '2025-12-21T02:00:00Z']), { keepWeekly: 2 });
    // Dec 29 and Jan 2 are both 2026-W01: only the newest (Jan 2) stands for it.
    expect(kept(v)).toEqual({ '2026-01-02T02:00:00Z': 'weekly', '2025-12-28T02:00:00Z': 'weekly' });
  });

  it('hourly, monthly and yearly', () => {
    const times = ['2026-05-10T10:30:00Z', '2026-05-10T10:10:00Z', '2026-05-10T09:00:00Z', '2026-04-30T09:00:00Z', '2025-07-01T00:00:00Z', '2024-07-01T00:00:00Z'];
    expect(kept(applyRules(runs(times), { keepHourly: 2 }))).toEqual({ '2026-05-10T10:30:00Z': 'hourly', '2026-05-10T09:00:00Z': 'hourly' });
    expect(kept(applyRules(runs(times), { keepMonthly: 3 }))).toEqual({
      '2026-05-10T10:30:00Z': 'monthly',
      '2026-04-30T09:00:00Z': 'monthly',
      '2025-07-01T00:00:00Z': 'monthly',
    });
    expect(kept(applyRules(runs(times), { keepYearly: 5 }))).toEqual({
      '2026-05-10T10:30:00Z': 'yearly',
      '2025-07-01T00:00:00Z': 'yearly',
      '2024-07-01T00:00:00Z': 'yearly',
    });
  });

  it('refuses a negative or fractional count', () => {
    expect(() => applyRules([], { keepDaily: -1 })).toThrow(/whole number/);
    expect(() => applyRules([], { keepLast: 1.5 })).toThrow(/whole number/);
  });
});

function run(at: string, kind: 'full' | 'incremental', parent: string | null): CatalogRun {
  const name = runDirName(new Date(at), kind);
  const manifest = {
    version: 1,
    guest: 'g',
    uuid: 'u',
    createdAt: at,
    finishedAt: at,
    kind,
    parent,
    checkpoint: null,
    method: 'backup-api',
    consistency: 'crash-consistent',
    hostname: 'h',
    uri: 'qemu:///system',
    disks: [],
    note: null,
    verified: null,
  } as BackupManifest;
  return { name, manifest };
}

describe('planRetention: the incremental-chain rule', () => {
  const full1 = run('2026-06-01T02:00:00Z', 'full', null);
  const inc1 = run('2026-06-02T02:00:00Z', 'incremental', full1.name);
  const inc2 = run('2026-06-03T02:00:00Z', 'incremental', inc1.name);
  const full2 = run('2026-06-04T02:00:00Z', 'full', null);
  const inc3 = run('2026-06-05T02:00:00Z', 'incremental', full2.name);
  const all = [full1, inc1, inc2, full2, inc3];

  it('keeps the parents of a kept incremental and says who needs them', () => {
    const v = planRetention(all, { keepLast: 1 });
    expect(kept(v)).toEqual({ [inc3.name]: 'last', [full2.name]: 'chain' });
    expect(v.find((x) => x.name === full2.name)?.neededBy).toEqual([inc3.name]);
  });

  it('keeps a whole older chain when its newest incremental is kept', () => {
    const v = planRetention(all, { keepDaily: 1, keepWeekly: 0, keepMonthly: 0, keepLast: 0 });
    expect(kept(v)).toEqual({ [inc3.name]: 'daily', [full2.name]: 'chain' });
    const w = planRetention([full1, inc1, inc2], { keepLast: 1 });
    expect(kept(w)).toEqual({ [inc2.name]: 'last', [inc1.name]: 'chain', [full1.name]: 'chain' });
    expect(w.find((x) => x.name === full1.name)?.neededBy).toEqual([inc2.name]);
  });

  it('a run kept by a rule keeps its rule as the reason', () => {
    const v = planRetention(all, { keepLast: 2 });
    expect(kept(v)).toEqual({ [inc3.name]: 'last', [full2.name]: 'last' });
  });

  it('keep-last 0 and no other rule removes the chain too', () => {
    expect(planRetention(all, { keepLast: 0 }).every((x) => !x.keep)).toBe(true);
  });
});

describe('stalePartial', () => {
  it('is garbage after a day', () => {
    const now = new Date('2026-06-10T12:00:00Z');
    expect(stalePartial(new Date('2026-06-09T11:59:00Z'), now)).toBe(true);
    expect(stalePartial(new Date('2026-06-10T01:00:00Z'), now)).toBe(false);
  });
});
