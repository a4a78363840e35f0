import { describe, expect, it } from 'vitest';
import { computeUsage, type DomStatFields, type GuestUsage, NO_USAGE, nextSortKey, parseDomstats, sortByUsage, type UsageSample } from '../../src/model/usage.js';
import { historyCapacity, Ring, recordUsage, type UsageHistory } from '../../src/model/usageHistory.js';

const REAL = `Domain: 's13top-probe'
  state.state=1
  state.reason=1
  cpu.time=652768000
  cpu.user=406051000
  balloon.current=65536
  balloon.maximum=65536
  balloon.rss=44376
  vcpu.current=1
  vcpu.maximum=1
  vcpu.0.state=1
  net.count=1
  block.count=0

Domain: 'it's off'
  state.state=5
  state.reason=2

`;

function fields(o: Record<string, number | string>): DomStatFields {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
}

function guest(cpuNs: number, extra: Record<string, number> = {}): DomStatFields {
  return fields({
    'state.state': 1,
    'cpu.time': cpuNs,
    'vcpu.current': 2,
    'balloon.rss': 100_000,
    'block.count': 2,
    'block.0.rd.bytes': 1000,
    'block.0.wr.bytes': 2000,
    'block.0.rd.reqs': 10,
    'block.0.wr.reqs': 20,
    'block.1.rd.bytes': 0,
    'block.1.wr.bytes': 0,
    'block.1.rd.reqs': 0,
    'block.1.wr.reqs': 0,
    'net.count': 1,
    'net.0.rx.bytes': 500,
    'net.0.tx.bytes': 300,
    ...extra,
  });
}

const sample = (at: number, guests: Record<string, DomStatFields>): UsageSample => ({ at, guests: new Map(Object.entries(guests)) });

describe('parseDomstats', () => {
  it('reads each guest and its fields, a quote in a name included', () => {
    const m = parseDomstats(REAL);
    expect([...m.keys()]).toEqual(['s13top-probe', "it's off"]);
    expect(m.get('s13top-probe')?.['cpu.time']).toBe('652768000');
    expect(m.get('s13top-probe')?.['balloon.rss']).toBe('44376');
    expect(m.get("it's off")).toEqual({ 'state.state': '5', 'state.reason': '2' });
  });
  it('is empty for no guests or junk', () => {
    expect(parseDomstats('').size).toBe(0);
    expect(parseDomstats('error: something\n  cpu.time=1\n').size).toBe(0);
  });
});

describe('computeUsage', () => {
  it('turns two samples into CPU %, disk and network rates', () => {
    const a = guest(1_000_000_000);
    // 2 s later: 1 s of CPU time over 2 vCPUs = 25 % of the guest; of a 4-CPU host 12.5 %.
    const b = guest(2_000_000_000, {
      'block.0.rd.bytes': 5000,
      'block.1.rd.bytes': 2000,
      'block.0.wr.bytes': 4000,
      'block.0.rd.reqs': 14,
      'block.1.wr.reqs': 6,
      'net.0.rx.bytes': 2500,
      'net.0.tx.bytes': 1300,
    });
    const u = computeUsage(sample(10_000, { g: a }), sample(12_000, { g: b }), 4).get('g');
    expect(u).toEqual({
      cpuPct: 25,
      hostCpuPct: 12.5,
      memUsedKiB: 100_000,
      memSource: 'rss',
      diskReadBps: 3000,
      diskWriteBps: 1000,
      diskReadIops: 2,
      diskWriteIops: 3,
      netRxBps: 1000,
      netTxBps: 500,
    } satisfies GuestUsage);
  });

  it('a shut-off or crashed guest uses nothing, though libvirt reports a moving cpu.time for it', () => {
    // libvirt 9.0 on this host: `domstats --cpu-total` of a shut-off guest gave cpu.time=22430000000, changing between samples.
    const off = (t: number) => fields({ 'state.state': 5, 'cpu.time': t, 'vcpu.current': 2, 'balloon.rss': 1000 });
    expect(computeUsage(sample(0, { g: off(22_430_000_000) }), sample(2000, { g: off(22_434_000_000) }), 2).get('g')).toEqual(NO_USAGE);
    const crashed = (t: number) => fields({ 'state.state': 6, 'cpu.time': t, 'vcpu.current': 1 });
    expect(computeUsage(sample(0, { g: crashed(1) }), sample(2000, { g: crashed(5_000_000) }), 2).get('g')).toEqual(NO_USAGE);
  });

  it('takes memory in use from the balloon driver when the guest reports it, else the QEMU RSS', () => {
    const withBalloon = guest(1, { 'balloon.available': 2_000_000, 'balloon.unused': 500_000 });
    expect(computeUsage(null, sample(0, { g: withBalloon }), 2).get('g')).toMatchObject({ memUsedKiB: 1_500_000, memSource: 'guest' });
    expect(computeUsage(null, sample(0, { g: guest(1) }), 2).get('g')).toMatchObject({ memUsedKiB: 100_000, memSource: 'rss' });
    expect(computeUsage(null, sample(0, { g: fields({ 'state.state': 5 }) }), 2).get('g')).toEqual(NO_USAGE);
  });

  it('gives no rate, never a negative one, for a guest that restarted between the samples', () => {
    const before = guest(50_000_000_000, { 'block.0.wr.bytes': 10_000_000 });
    const after = guest(1_000_000, { 'block.0.wr.bytes': 20_000_000 }); // a new QEMU: CPU restarted, disk even grew
    const u = computeUsage(sample(0, { g: before }), sample(2000, { g: after }), 2).get('g');
    expect(u).toEqual({ ...NO_USAGE, memUsedKiB: 100_000, memSource: 'rss' });
  });

  it('drops one counter that went down (a wrap or a hot-unplugged disk) and keeps the others', () => {
    const before = guest(1_000_000_000, { 'net.0.rx.bytes': 9_000 });
    const after = guest(3_000_000_000, { 'net.0.rx.bytes': 10 });
    const u = computeUsage(sample(0, { g: before }), sample(1000, { g: after }), 2).get('g');
    expect(u?.netRxBps).toBeNull();
    expect(u?.netTxBps).toBe(0);
    expect(u?.cpuPct).toBe(100);
  });

  it('a guest that appeared has memory only; one that vanished is not in the answer', () => {
    const prev = sample(0, { old: guest(1), both: guest(1) });
    const next = sample(1000, { both: guest(1_000_000_001), fresh: guest(5) });
    const u = computeUsage(prev, next, 2);
    expect([...u.keys()].sort()).toEqual(['both', 'fresh']);
    expect(u.get('fresh')).toEqual({ ...NO_USAGE, memUsedKiB: 100_000, memSource: 'rss' });
    expect(u.get('both')?.cpuPct).toBe(50);
  });

  it('a guest that was off in the first sample and runs in the second has no rate yet', () => {
    const u = computeUsage(sample(0, { g: fields({ 'state.state': 5 }) }), sample(1000, { g: guest(5) }), 2).get('g');
    expect(u?.cpuPct).toBeNull();
    expect(u?.diskReadBps).toBeNull();
  });

  it('has no rate when the clock did not move', () => {
    expect(computeUsage(sample(5, { g: guest(1) }), sample(5, { g: guest(9) }), 2).get('g')?.cpuPct).toBeNull();
  });
});

describe('sortByUsage', () => {
  const rows = ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name }));
  const u = (o: Partial<GuestUsage>): GuestUsage => ({ ...NO_USAGE, ...o });
  const usage = new Map<string, GuestUsage>([
    ['a', u({ hostCpuPct: 5, memUsedKiB: 10, diskReadBps: 1 })],
    ['b', u({ hostCpuPct: 50, memUsedKiB: 10, netTxBps: 7 })],
    ['c', u({ hostCpuPct: 5, memUsedKiB: 30, diskWriteBps: 4 })],
    ['d', u({})],
    ['e', u({ hostCpuPct: 5, memUsedKiB: 10 })],
  ]);
  const names = (key: Parameters<typeof sortByUsage>[1]) => sortByUsage(rows, key, usage).map((r) => r.name);

  it('orders busiest first, keeps equal guests in name order, puts guests without a number last', () => {
    expect(names('cpu')).toEqual(['b', 'a', 'c', 'e', 'd']);
    expect(names('mem')).toEqual(['c', 'a', 'b', 'e', 'd']);
    expect(names('disk')).toEqual(['c', 'a', 'b', 'd', 'e']);
    expect(names('net')).toEqual(['b', 'a', 'c', 'd', 'e']);
    expect(names('name')).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('is stable: sorting again gives the same order', () => {
    const once = sortByUsage(rows, 'cpu', usage);
    expect(sortByUsage(once, 'cpu', usage)).toEqual(once);
  });

  it('cycles name → cpu → mem → disk → net → name', () => {
    expect(['name', 'cpu', 'mem', 'disk', 'net'].map((k) => nextSortKey(k as never))).toEqual(['cpu', 'mem', 'disk', 'net', 'name']);
  });
});

describe('usage history', () => {
  it('keeps one hour at the refresh interval', () => {
    expect(historyCapacity(2000)).toBe(1800);
    expect(historyCapacity(5000)).toBe(720);
    expect(historyCapacity(0)).toBe(3_600_000);
  });

  it('a ring keeps the newest samples, oldest first, and never grows past its capacity', () => {
    const r = new Ring<number>(3);
    for (let i = 1; i <= 7; i++) r.push(i);
    expect(r.values()).toEqual([5, 6, 7]);
    expect(r.length).toBe(3);
  });

  it('records a sample per guest and forgets guests that are gone', () => {
    const h: UsageHistory = new Map();
    const u = (cpu: number): GuestUsage => ({ ...NO_USAGE, hostCpuPct: cpu });
    recordUsage(h, new Map([['a', u(1)], ['b', u(2)]]), 2);
    recordUsage(h, new Map([['a', u(3)]]), 2);
    recordUsage(h, new Map([['a', u(4)]]), 2);
    expect([...h.keys()]).toEqual(['a']);
    expect(h.get('a')?.values().map((x) => x.hostCpuPct)).toEqual([3, 4]);
  });
});

describe('computeUsage on any counters', () => {
  it('a rate is null or a finite number ≥ 0, whatever the two samples say', async () => {
    const fc = await import('fast-check');
    const counter = fc.oneof(fc.nat(), fc.constant(-1), fc.double(), fc.constantFrom('x', '', '1e400'));
    const fieldsArb = fc.record({
      'cpu.time': counter,
      'vcpu.current': counter,
      'block.count': fc.constantFrom(0, 1, 2, 9),
      'block.0.rd.bytes': counter,
      'block.1.wr.reqs': counter,
      'net.count': fc.constantFrom(0, 1),
      'net.0.rx.bytes': counter,
      'balloon.rss': counter,
    });
    fc.assert(
      fc.property(fieldsArb, fieldsArb, fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: 0, max: 64 }), (a, b, dt, cpus) => {
        const u = computeUsage(sample(0, { g: fields(a) }), sample(dt, { g: fields(b) }), cpus).get('g');
        for (const k of ['cpuPct', 'hostCpuPct', 'diskReadBps', 'diskWriteBps', 'diskReadIops', 'diskWriteIops', 'netRxBps', 'netTxBps'] as const) {
          const v = u?.[k];
          expect(v === null || (Number.isFinite(v) && (v as number) >= 0), `${k}=${v}`).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
