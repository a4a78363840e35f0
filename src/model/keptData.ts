/**
 * What a refresh may hand on as it was. Every new object in the console's state re-renders what
 * reads it, and every render is a whole Ink frame: a refresh that learnt nothing new (an idle
 * host, a shut-off guest) should change no reference but the clock's. These return the previous
 * value wherever the new one holds the same data. Pure.
 */

/** Deep equality of plain data (objects, arrays, primitives), as a refresh builds it. */
export function sameData(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    if (a.length !== bs.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameData(a[i], bs[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  let n = 0;
  for (const k in ao) {
    if (!Object.hasOwn(ao, k)) continue;
    n++;
    if (!Object.hasOwn(bo, k) || !sameData(ao[k], bo[k])) return false;
  }
  for (const k in bo) if (Object.hasOwn(bo, k)) n--;
  return n === 0;
}

/**
 * Each new row already found to read as an older one. The rows a refresh hands in are often the
 * very objects of the round before (host/guestMemo.ts keeps them), while the state keeps the equal
 * ones it had: without this, every round compared all of them field by field again. Rows are never
 * changed once made, so a pair once equal stays equal.
 */
const provenSame = new WeakMap<object, unknown>();

/**
 * `next`, with each row that reads as its predecessor (same `keyOf`) replaced by it; `prev` itself
 * when every row and the order are the same.
 */
export function keptRows<T>(prev: readonly T[], next: readonly T[], keyOf: (row: T) => string): T[] {
  const before = new Map<string, T>();
  for (const row of prev) before.set(keyOf(row), row);
  let same = prev.length === next.length;
  const isSame = (old: T, row: T) => {
    if (old === row) return true;
    const cached = typeof row === 'object' && row !== null;
    if (cached && provenSame.get(row) === old) return true;
    if (!sameData(old, row)) return false;
    if (cached) provenSame.set(row, old);
    return true;
  };
  const out = next.map((row, i) => {
    const old = before.get(keyOf(row));
    const kept = old !== undefined && isSame(old, row) ? old : row;
    if (kept !== prev[i]) same = false;
    return kept;
  });
  return same ? (prev as T[]) : out;
}

/** `next`, with each entry equal to its predecessor replaced by it; `prev` itself when nothing changed. */
export function keptMap<V>(prev: ReadonlyMap<string, V>, next: ReadonlyMap<string, V>, equal: (a: V, b: V) => boolean = sameData): ReadonlyMap<string, V> {
  let same = prev.size === next.size;
  const out = new Map<string, V>();
  for (const [k, v] of next) {
    const old = prev.get(k);
    const kept = old !== undefined && equal(old, v) ? old : v;
    if (kept !== old) same = false;
    out.set(k, kept);
  }
  return same ? prev : out;
}

/** `next` unless it holds the same data as `prev`. */
export function kept<T>(prev: T, next: T): T {
  return sameData(prev, next) ? prev : next;
}
