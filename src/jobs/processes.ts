/** What /proc and signal 0 tell about another process: whether it still runs, and when it started. */
import { readFileSync } from 'node:fs';

function procStat(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Alive and not a zombie: a killed process whose parent died too stays a zombie where PID 1 does
 * not reap (containers), dead all the same.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = procStat(pid);
  return stat === null || !/^\d+ \(.*\) Z/.test(stat);
}

/** Field 22 of /proc/PID/stat (clock ticks after boot); null where /proc is not readable. */
export function processStart(pid: number): string | null {
  const stat = procStat(pid);
  if (stat === null) return null;
  // The command name (field 2) may hold spaces and parentheses: count from its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}
