/**
 * The last hour of each guest's usage, for sparklines: a fixed-size ring per guest, so memory stays
 * bounded however long the console runs, and a guest that is gone takes its history with it.
 */
import type { GuestUsage } from './usage.js';

const HOUR_MS = 3_600_000;

/** Samples in one hour at this refresh interval (at least one). */
export function historyCapacity(intervalMs: number): number {
  return Math.max(1, Math.ceil(HOUR_MS / Math.max(1, intervalMs)));
}

export class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    if (this.size < this.capacity) {
      this.items[(this.start + this.size) % this.capacity] = item;
      this.size++;
    } else {
      this.items[this.start] = item;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  get length(): number {
    return this.size;
  }

  /** Oldest first. */
  values(): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.size; i++) out.push(this.items[(this.start + i) % this.capacity] as T);
    return out;
  }
}

const FIELDS = ['cpuPct', 'hostCpuPct', 'memUsedKiB', 'diskReadBps', 'diskWriteBps', 'diskReadIops', 'diskWriteIops', 'netRxBps', 'netTxBps'] as const;
const SOURCES: GuestUsage['memSource'][] = ['guest', 'rss'];
/** Numbers a sample takes: its fields, then its memory source (NaN: no value). */
const STRIDE = FIELDS.length + 1;

/**
 * One guest's samples packed in a Float64Array, a row of STRIDE numbers each (NaN for "no value"):
 * 80 bytes a sample instead of an object of boxed numbers (~170 bytes), and a guest that has never
 * had a value (shut off all along) holds no rows at all: 200 guests over an hour is 360,000 samples.
 */
export class UsageRing {
  private rows: Float64Array | null = null;
  private start = 0;
  private size = 0;

  constructor(readonly capacity: number) {}

  push(u: GuestUsage): void {
    const source = u.memSource === null ? Number.NaN : SOURCES.indexOf(u.memSource);
    if (!this.rows && Number.isNaN(source) && FIELDS.every((f) => u[f] === null)) {
      // Nothing to keep yet: only the count moves, so the empty samples are still drawn as gaps.
      if (this.size < this.capacity) this.size++;
      else this.start = (this.start + 1) % this.capacity;
      return;
    }
    if (!this.rows) this.rows = new Float64Array(this.capacity * STRIDE).fill(Number.NaN);
    const slot = this.size < this.capacity ? (this.start + this.size) % this.capacity : this.start;
    const at = slot * STRIDE;
    FIELDS.forEach((f, i) => {
      (this.rows as Float64Array)[at + i] = u[f] ?? Number.NaN;
    });
    this.rows[at + FIELDS.length] = source;
    if (this.size < this.capacity) this.size++;
    else this.start = (this.start + 1) % this.capacity;
  }

  get length(): number {
    return this.size;
  }

  /** What its samples take: 0 until one had a value, then capacity × 80 bytes, never more. */
  get bytes(): number {
    return this.rows?.byteLength ?? 0;
  }

  /** The newest `last` samples (all by default), oldest first. */
  values(last = this.size): GuestUsage[] {
    const n = Math.max(0, Math.min(last, this.size));
    const out: GuestUsage[] = [];
    for (let i = this.size - n; i < this.size; i++) {
      const at = ((this.start + i) % this.capacity) * STRIDE;
      const rows = this.rows;
      const num = (k: number) => {
        const v = rows ? (rows[at + k] as number) : Number.NaN;
        return Number.isNaN(v) ? null : v;
      };
      const source = num(FIELDS.length);
      const u = { memSource: source === null ? null : (SOURCES[source] ?? null) } as GuestUsage;
      FIELDS.forEach((f, k) => {
        u[f] = num(k);
      });
      out.push(u);
    }
    return out;
  }
}

export type UsageHistory = Map<string, UsageRing>;

/** Adds one sample per guest in `usage`; forgets guests that are no longer there. */
export function recordUsage(history: UsageHistory, usage: ReadonlyMap<string, GuestUsage>, capacity: number): void {
  for (const name of [...history.keys()]) if (!usage.has(name)) history.delete(name);
  for (const [name, u] of usage) {
    let ring = history.get(name);
    if (!ring || ring.capacity !== capacity) {
      const kept = ring?.values().slice(-capacity) ?? [];
      ring = new UsageRing(capacity);
      for (const k of kept) ring.push(k);
      history.set(name, ring);
    }
    ring.push(u);
  }
}
