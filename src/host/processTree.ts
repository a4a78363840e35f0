import { readdirSync, readFileSync } from 'node:fs';

/**
 * The processes a local child started, so a cancel or timeout stops them too. Killing only the
 * direct child (what execa does) leaves a `sh -c` script's qemu-img, cp or progress loop running
 * and, worse, holding the child's stdout/stderr open: the run then never ends.
 *
 * Linux only (reads /proc); elsewhere the tree is just the child, as before.
 */

/** pid → parent pid and start time (clock ticks since boot) from one /proc/PID/stat line. */
export function parseStat(line: string): { ppid: number; start: number } | null {
  // The command name is in parentheses and may itself hold spaces and ')': fields follow the last ')'.
  const close = line.lastIndexOf(')');
  if (close < 0) return null;
  const fields = line.slice(close + 2).split(' ');
  const ppid = Number(fields[1]);
  const start = Number(fields[19]);
  return Number.isInteger(ppid) && Number.isFinite(start) ? { ppid, start } : null;
}

function readStat(pid: number): { ppid: number; start: number } | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** A process as it was when seen: the start time tells it apart from a later process given the same pid. */
export interface SeenProcess {
  pid: number;
  start: number;
}

/** Every descendant of `root` now alive, children before grandchildren. */
export function descendants(root: number): SeenProcess[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
  const children = new Map<number, SeenProcess[]>();
  for (const pid of pids) {
    const s = readStat(pid);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push({ pid, start: s.start });
    children.set(s.ppid, list);
  }
  const out: SeenProcess[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift() as number) ?? []) {
      out.push(c);
      queue.push(c.pid);
    }
  }
  return out;
}

/** Sends `signal` to each process that is still the one that was seen. */
export function signalSeen(procs: SeenProcess[], signal: NodeJS.Signals): void {
  for (const p of procs) {
    if (readStat(p.pid)?.start !== p.start) continue;
    try {
      process.kill(p.pid, signal);
    } catch {
      // Gone meanwhile: nothing to stop.
    }
  }
}
