/**
 * How busy the host itself is, beside what its guests use: CPU time from `virsh nodecpustats`
 * (cumulative nanoseconds, so two samples give a percentage, as top does) and the kernel's load
 * averages from /proc/loadavg. Both texts come from the host (over SSH, a host that may be
 * misbehaving): anything that does not look like the expected numbers is no value, never a guess.
 */

/** Cumulative CPU time of all host CPUs, in nanoseconds, as `virsh nodecpustats` prints it. */
export interface NodeCpuTimes {
  user: number;
  system: number;
  idle: number;
  iowait: number;
}

const COUNTER = /^(\d{1,20})$/;

/** The four counters of `virsh nodecpustats` (without --percent, which sleeps a second); null if any is missing. */
export function parseNodeCpuStats(text: string): NodeCpuTimes | null {
  const fields = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*(user|system|idle|iowait):\s+(\S+)\s*$/);
    if (!m?.[1] || !COUNTER.test(m[2] ?? '')) continue;
    const n = Number(m[2]);
    if (Number.isSafeInteger(n) && !fields.has(m[1])) fields.set(m[1], n);
  }
  const [user, system, idle, iowait] = ['user', 'system', 'idle', 'iowait'].map((k) => fields.get(k));
  if (user === undefined || system === undefined || idle === undefined || iowait === undefined) return null;
  return { user, system, idle, iowait };
}

/**
 * The share of all host CPUs that was busy between two samples, 0…100. Waiting for I/O counts as
 * idle (as in top's `wa`, it is not work). Null when a counter went back (the host rebooted, or a
 * different host answered) or no time passed.
 */
export function hostCpuBusyPct(prev: NodeCpuTimes | null, next: NodeCpuTimes | null): number | null {
  if (!prev || !next) return null;
  const d = (k: keyof NodeCpuTimes) => next[k] - prev[k];
  if ((['user', 'system', 'idle', 'iowait'] as const).some((k) => d(k) < 0)) return null;
  const busy = d('user') + d('system');
  const total = busy + d('idle') + d('iowait');
  if (total <= 0) return null;
  return Math.min(100, (busy / total) * 100);
}

/** The 1, 5 and 15 minute load averages. */
export type LoadAverage = [number, number, number];

/** "0.52 0.48 0.40 2/313 20310": the first three fields; null for anything else. */
export function parseLoadavg(text: string): LoadAverage | null {
  const m = text.match(/^(\d{1,6}\.\d{2}) (\d{1,6}\.\d{2}) (\d{1,6}\.\d{2}) \d+\/\d+ \d+\s*$/);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** "0.52 0.48 0.40", or only the one-minute figure when room is short. */
export function loadText(load: LoadAverage, all = true): string {
  return (all ? load : load.slice(0, 1)).map((n) => n.toFixed(2)).join(' ');
}
