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

export type UsageHistory = Map<string, Ring<GuestUsage>>;

/** Adds one sample per guest in `usage`; forgets guests that are no longer there. */
export function recordUsage(history: UsageHistory, usage: ReadonlyMap<string, GuestUsage>, capacity: number): void {
  for (const name of [...history.keys()]) if (!usage.has(name)) history.delete(name);
  for (const [name, u] of usage) {
    let ring = history.get(name);
    if (!ring || ring.capacity !== capacity) {
      const kept = ring?.values().slice(-capacity) ?? [];
      ring = new Ring<GuestUsage>(capacity);
      for (const k of kept) ring.push(k);
      history.set(name, ring);
    }
    ring.push(u);
  }
}
