/** The sparkline history packed in typed arrays (model/usageHistory.ts UsageRing). */
import { describe, expect, it } from 'vitest';
import { type GuestUsage, NO_USAGE } from '../../src/model/usage.js';
import { historyCapacity, recordUsage, type UsageHistory, UsageRing } from '../../src/model/usageHistory.js';

const sample = (i: number): GuestUsage => ({
  cpuPct: i + 0.1,
  hostCpuPct: i / 3,
  memUsedKiB: 1_048_576 + i,
  memSource: i % 2 ? 'guest' : 'rss',
  diskReadBps: i * 1e9,
  diskWriteBps: null,
  diskReadIops: 0,
  diskWriteIops: 7,
  netRxBps: null,
  netTxBps: 123.456,
});

describe('UsageRing', () => {
  it('gives back every field exactly, nulls as nulls, oldest first, wrapping at its capacity; values(n) the newest n', () => {
    const r = new UsageRing(4);
    for (let i = 0; i < 6; i++) r.push(sample(i));
    expect(r.length).toBe(4);
    expect(r.values()).toEqual([2, 3, 4, 5].map(sample));
    expect(r.values(2)).toEqual([4, 5].map(sample));
    expect(r.values(99)).toHaveLength(4);
    expect(r.values(0)).toEqual([]);
  });

  it('a guest shut off all along holds no rows; once it runs its earlier samples read as empty', () => {
    const r = new UsageRing(1800);
    for (let i = 0; i < 2000; i++) r.push({ ...NO_USAGE });
    expect(r.bytes).toBe(0);
    expect(r.length).toBe(1800);
    r.push(sample(1));
    expect(r.values(3)).toEqual([NO_USAGE, NO_USAGE, sample(1)]);
  });

  it('an hour of 200 busy guests at a 2 s refresh is bounded: 80 bytes a sample, whatever the run time', () => {
    const h: UsageHistory = new Map();
    const usage = new Map(Array.from({ length: 200 }, (_, i) => [`g${i}`, sample(i)] as const));
    for (let round = 0; round < 2000; round++) recordUsage(h, usage, historyCapacity(2000));
    const bytes = [...h.values()].reduce((n, r) => n + r.bytes, 0);
    expect(bytes).toBe(200 * 1800 * 80);
    expect(h.get('g7')?.values(1)).toEqual([sample(7)]);
  });
});
