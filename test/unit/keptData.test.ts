import { describe, expect, it } from 'vitest';
import { kept, keptMap, keptRows, sameData } from '../../src/model/keptData.js';
import { computeUsage, NO_USAGE, sameUsage } from '../../src/model/usage.js';

describe('what a refresh hands on as it was', () => {
  it('sameData: plain data compared deeply; key order does not matter, a missing key does', () => {
    expect(sameData({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
    expect(sameData({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameData([1, 2], [1, 2, 3])).toBe(false);
    expect(sameData([1], { 0: 1 })).toBe(false);
    expect(sameData(Number.NaN, Number.NaN)).toBe(true);
    expect(sameData(null, {})).toBe(false);
  });

  it('keptRows: the previous array when every row reads the same; otherwise only changed rows are new objects', () => {
    const prev = [
      { name: 'a', disks: [{ target: 'vda' }] },
      { name: 'b', disks: [] },
    ];
    const same = prev.map((r) => structuredClone(r));
    expect(keptRows(prev, same, (r) => r.name)).toBe(prev);
    const changed = [structuredClone(prev[0] as (typeof prev)[number]), { name: 'b', disks: [{ target: 'vdb' }] }];
    const out = keptRows(prev, changed, (r) => r.name);
    expect(out).not.toBe(prev);
    expect(out[0]).toBe(prev[0]);
    expect(out[1]).toBe(changed[1]);
    // Another order is another array, of the same row objects.
    const swapped = keptRows(prev, [structuredClone(prev[1] as (typeof prev)[number]), structuredClone(prev[0] as (typeof prev)[number])], (r) => r.name);
    expect(swapped).not.toBe(prev);
    expect(swapped[0]).toBe(prev[1]);
    expect(keptRows(prev, prev.slice(0, 1), (r) => r.name)).toEqual(prev.slice(0, 1));
  });

  it('keptRows: a row handed in again, once found equal to the kept one, is not compared field by field again', () => {
    let reads = 0;
    const row = () => ({
      name: 'a',
      get disks() {
        reads++;
        return [{ target: 'vda' }];
      },
    });
    const kept0 = [{ name: 'a', disks: [{ target: 'vda' }] }];
    // The memo hands the same new object every round; the state keeps its older equal one.
    const fromMemo = [row()];
    expect(keptRows(kept0, fromMemo, (r) => r.name)).toBe(kept0);
    const first = reads;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(keptRows(kept0, fromMemo, (r) => r.name)).toBe(kept0);
    expect(reads).toBe(first);
    // Another new object is compared as before.
    expect(keptRows(kept0, [row()], (r) => r.name)).toBe(kept0);
    expect(reads).toBeGreaterThan(first);
  });

  it('keptMap and kept: the previous value when nothing changed; a guest gone or new is a change', () => {
    const prev = new Map([
      ['a', { cpu: 1 }],
      ['b', { cpu: null }],
    ]);
    expect(
      keptMap(
        prev,
        new Map([
          ['a', { cpu: 1 }],
          ['b', { cpu: null }],
        ]),
      ),
    ).toBe(prev);
    const next = keptMap(
      prev,
      new Map([
        ['a', { cpu: 2 }],
        ['b', { cpu: null }],
      ]),
    );
    expect(next).not.toBe(prev);
    expect(next.get('b')).toBe(prev.get('b'));
    expect(keptMap(prev, new Map([['a', { cpu: 1 }]])).size).toBe(1);
    const load = { cpuPct: 3, load: [0.1, 0.2, 0.3] };
    expect(kept(load, { cpuPct: 3, load: [0.1, 0.2, 0.3] })).toBe(load);
    expect(kept(load, { cpuPct: 4, load: [0.1, 0.2, 0.3] })).not.toBe(load);
  });

  it('usages: a shut-off guest gets the one frozen NO_USAGE every round; sameUsage compares the numbers', () => {
    const sample = (at: number, cpu: number) => ({ at, guests: new Map<string, Record<string, string>>([['off', { 'state.state': '5' }], ['on', { 'state.state': '1', 'cpu.time': String(cpu), 'vcpu.current': '1' }]]) });
    const a = computeUsage(sample(0, 0), sample(2000, 1e9), 2);
    const b = computeUsage(sample(2000, 1e9), sample(4000, 2e9), 2);
    expect(a.get('off')).toBe(NO_USAGE);
    expect(Object.isFrozen(NO_USAGE)).toBe(true);
    expect(sameUsage(a.get('on') as never, b.get('on') as never)).toBe(true);
    const c = computeUsage(sample(4000, 2e9), sample(6000, 2e9), 2);
    expect(sameUsage(b.get('on') as never, c.get('on') as never)).toBe(false);
    const kept1 = keptMap(a, b, sameUsage);
    expect(kept1).toBe(a);
  });
});
