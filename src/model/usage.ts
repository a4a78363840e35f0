/**
 * What each guest is using, from two `virsh domstats` samples: libvirt reports cumulative counters
 * (CPU nanoseconds, bytes, requests), so every rate is a difference over the wall time between two
 * samples. A counter that went down means the guest restarted (QEMU began again at zero): that
 * sample has no rate rather than a negative or a huge one.
 */

/** The stat groups one domstats call asks for; the refresh and `virtdeck top` use the same ones. */
export const DOMSTATS_GROUPS = ['--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block'] as const;

/** One guest's fields as domstats printed them (`cpu.time` → "652768000"). */
export type DomStatFields = Record<string, string>;

export interface UsageSample {
  /** When the answer arrived (ms since the epoch): domstats itself carries no timestamp. */
  at: number;
  guests: Map<string, DomStatFields>;
}

export interface GuestUsage {
  /** Of the guest's own vCPUs (100 = all of them busy). */
  cpuPct: number | null;
  /** Of the whole host (100 = every host CPU busy with this guest). */
  hostCpuPct: number | null;
  memUsedKiB: number | null;
  /** 'guest': the balloon driver's view (available − unused); 'rss': the QEMU process as the host sees it. */
  memSource: 'guest' | 'rss' | null;
  diskReadBps: number | null;
  diskWriteBps: number | null;
  diskReadIops: number | null;
  diskWriteIops: number | null;
  netRxBps: number | null;
  netTxBps: number | null;
}

export const NO_USAGE: GuestUsage = Object.freeze({
  cpuPct: null,
  hostCpuPct: null,
  memUsedKiB: null,
  memSource: null,
  diskReadBps: null,
  diskWriteBps: null,
  diskReadIops: null,
  diskWriteIops: null,
  netRxBps: null,
  netTxBps: null,
});

/**
 * Splits `virsh domstats` output into guests. Names are taken between the first and the last quote
 * of the `Domain: '…'` line, so a name with a quote of its own survives.
 */
export function parseDomstats(text: string): Map<string, DomStatFields> {
  const out = new Map<string, DomStatFields>();
  let current: DomStatFields | null = null;
  for (const line of text.split('\n')) {
    const head = line.match(/^Domain: '(.*)'\s*$/);
    if (head) {
      current = {};
      out.set(head[1] ?? '', current);
      continue;
    }
    const field = line.match(/^\s+([A-Za-z0-9_.-]+)=(.*)$/);
    if (field && current) current[field[1] ?? ''] = field[2] ?? '';
  }
  return out;
}

const HEAD = "Domain: '";

/**
 * parseDomstats for the console's poll: a guest's lines are parsed again only when they differ
 * from the previous answer's, and its fields object is then handed out again as it was. A shut-off
 * guest's lines never change, nor an idle one's between two polls; a parse per guest per refresh
 * was a tenth of what the idle console allocated (bench/top.ts).
 */
export class DomstatsParser {
  /** The previous answer's fields, by the text of each guest's lines. */
  private previous = new Map<string, [name: string, fields: DomStatFields]>();

  parse(text: string): Map<string, DomStatFields> {
    const out = new Map<string, DomStatFields>();
    const seen = new Map<string, [string, DomStatFields]>();
    let start = text.startsWith(HEAD) ? 0 : text.indexOf(`\n${HEAD}`);
    if (start > 0) start++;
    while (start >= 0) {
      const next = text.indexOf(`\n${HEAD}`, start);
      const lines = text.slice(start, next < 0 ? text.length : next + 1);
      let got = this.previous.get(lines) ?? seen.get(lines);
      if (!got) {
        const first = parseDomstats(lines).entries().next();
        if (!first.done) got = first.value;
      }
      if (got) {
        out.set(got[0], got[1]);
        seen.set(lines, got);
      }
      start = next < 0 ? -1 : next + 1;
    }
    this.previous = seen;
    return out;
  }
}

function num(f: DomStatFields, key: string): number | null {
  const v = f[key];
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** The sum of `prefix.N.suffix` over N < prefix.count; null when the guest reports none of them. */
function summed(f: DomStatFields, prefix: 'block' | 'net', suffix: string): number | null {
  const count = num(f, `${prefix}.count`) ?? 0;
  let total: number | null = null;
  for (let i = 0; i < count; i++) {
    const v = num(f, `${prefix}.${i}.${suffix}`);
    if (v !== null) total = (total ?? 0) + v;
  }
  return total;
}

function memory(f: DomStatFields): Pick<GuestUsage, 'memUsedKiB' | 'memSource'> {
  const available = num(f, 'balloon.available');
  const unused = num(f, 'balloon.unused');
  if (available !== null && unused !== null && unused >= 0 && available >= unused) return { memUsedKiB: available - unused, memSource: 'guest' };
  const rss = num(f, 'balloon.rss');
  return rss !== null && rss >= 0 ? { memUsedKiB: rss, memSource: 'rss' } : { memUsedKiB: null, memSource: null };
}

/** Per-second rate of a counter; null when either side is missing or the counter went down. */
function rate(before: number | null, after: number | null, seconds: number): number | null {
  if (before === null || after === null || after < before) return null;
  const r = (after - before) / seconds;
  return Number.isFinite(r) ? r : null;
}

/** One guest's usage between two samples of it; `prev` null: it just appeared (memory only). */
/** libvirt's state codes with a QEMU process: running, blocked, paused, shutting down, pmsuspended. */
const LIVE_STATES = new Set([1, 2, 3, 4, 7]);

export function guestUsage(prev: DomStatFields | null, next: DomStatFields, seconds: number, hostCpus: number): GuestUsage {
  // A shut-off guest uses nothing, whatever counters libvirt still reports for it (9.0 gives an
  // inactive domain a cpu.time that moves between samples, read from no QEMU of the guest's).
  const state = num(next, 'state.state');
  // The one frozen object: a refresh hands on a shut-off guest's usage without comparing it.
  if (state !== null && !LIVE_STATES.has(state)) return NO_USAGE;
  const mem = memory(next);
  const cpuBefore = prev ? num(prev, 'cpu.time') : null;
  const cpuAfter = num(next, 'cpu.time');
  // cpu.time only ever grows while one QEMU lives: less means a new QEMU, whose counters all restarted.
  const restarted = cpuBefore !== null && cpuAfter !== null && cpuAfter < cpuBefore;
  if (!prev || restarted || !(seconds > 0)) return { ...NO_USAGE, ...mem };
  const r = (key: string) => rate(num(prev, key), num(next, key), seconds);
  const s = (p: 'block' | 'net', key: string) => rate(summed(prev, p, key), summed(next, p, key), seconds);
  const cpuNsPerS = r('cpu.time');
  const vcpus = num(next, 'vcpu.current') ?? num(next, 'vcpu.maximum');
  const share = (cpus: number | null) => (cpuNsPerS !== null && cpus !== null && Number.isInteger(cpus) && cpus > 0 ? cpuNsPerS / 1e7 / cpus : null);
  return {
    cpuPct: share(vcpus),
    hostCpuPct: share(hostCpus),
    ...mem,
    diskReadBps: s('block', 'rd.bytes'),
    diskWriteBps: s('block', 'wr.bytes'),
    diskReadIops: s('block', 'rd.reqs'),
    diskWriteIops: s('block', 'wr.reqs'),
    netRxBps: s('net', 'rx.bytes'),
    netTxBps: s('net', 'tx.bytes'),
  };
}

/**
 * Usage of every guest in `next`. A guest missing from `prev` (new, or the first sample) gets
 * memory only; a guest missing from `next` (gone) is simply not in the answer.
 */
export function computeUsage(prev: UsageSample | null, next: UsageSample, hostCpus: number): Map<string, GuestUsage> {
  const seconds = prev ? (next.at - prev.at) / 1000 : 0;
  const out = new Map<string, GuestUsage>();
  for (const [name, fields] of next.guests) out.set(name, guestUsage(prev?.guests.get(name) ?? null, fields, seconds, hostCpus));
  return out;
}

const USAGE_FIELDS: (keyof GuestUsage)[] = ['cpuPct', 'hostCpuPct', 'memUsedKiB', 'memSource', 'diskReadBps', 'diskWriteBps', 'diskReadIops', 'diskWriteIops', 'netRxBps', 'netTxBps'];

/** Whether two usages read the same (what keptMap asks of 200 guests each refresh). */
export function sameUsage(a: GuestUsage, b: GuestUsage): boolean {
  if (a === b) return true;
  for (const f of USAGE_FIELDS) if (!Object.is(a[f], b[f])) return false;
  return true;
}

export const SORT_KEYS = ['name', 'cpu', 'mem', 'disk', 'net'] as const;
export type UsageSortKey = (typeof SORT_KEYS)[number];

export function nextSortKey(key: UsageSortKey): UsageSortKey {
  return SORT_KEYS[(SORT_KEYS.indexOf(key) + 1) % SORT_KEYS.length] ?? 'name';
}

function sum(a: number | null, b: number | null): number | null {
  return a === null && b === null ? null : (a ?? 0) + (b ?? 0);
}

/** The number a sort key orders by (bigger first); null sorts last. */
export function sortValue(u: GuestUsage | undefined, key: Exclude<UsageSortKey, 'name'>): number | null {
  if (!u) return null;
  switch (key) {
    case 'cpu':
      return u.hostCpuPct;
    case 'mem':
      return u.memUsedKiB;
    case 'disk':
      return sum(u.diskReadBps, u.diskWriteBps);
    case 'net':
      return sum(u.netRxBps, u.netTxBps);
  }
}

/**
 * Rows ordered by a usage column, busiest first; guests without a number go last. The sort is
 * stable, so equal guests keep the order they came in (by name), and the list does not jitter.
 */
export function sortByUsage<T extends { name: string }>(rows: readonly T[], key: UsageSortKey, usage: ReadonlyMap<string, GuestUsage>): T[] {
  if (key === 'name') return [...rows];
  const keyed = rows.map((row, i) => ({ row, i, v: sortValue(usage.get(row.name), key) }));
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
    return b.v - a.v || a.i - b.i;
  });
  return keyed.map((k) => k.row);
}
