/**
 * CPU seconds per command name over a span, read from /proc every 100 ms: which process of a
 * pipeline spends the machine's cores (ssh, sshd, python, node, qemu-nbd…). Only this process and
 * its descendants count (other engineers' guests and test runs share the machine). A process that
 * lives less than one sample is missed; the pipelines measured here live for the whole span.
 */
import { readdirSync, readFileSync } from 'node:fs';

const HZ = 100;

type Seen = { comm: string; first: number; last: number };

function sample(into: Map<number, Seen>, fresh: boolean): void {
  const parent = new Map<number, number>();
  const read = new Map<number, { comm: string; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const pid = Number(name);
    parent.set(pid, Number(fields[1]));
    read.set(pid, { comm, ticks: Number(fields[11]) + Number(fields[12]) });
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (p === process.pid) return true;
    return false;
  };
  for (const [pid, { comm, ticks }] of read) {
    if (!ours(pid)) continue;
    const seen = into.get(pid);
    if (seen && seen.comm === comm) seen.last = ticks;
    else into.set(pid, { comm, first: fresh ? ticks : 0, last: ticks });
  }
}

export interface CpuSpan {
  stop(): { wallMs: number; cpu: Map<string, number> };
}

export function startCpuSpan(): CpuSpan {
  const seen = new Map<number, Seen>();
  sample(seen, true);
  const t0 = performance.now();
  // The sampling is this process's own work: left out of its figure.
  let own = 0;
  const timed = () => {
    const c = process.cpuUsage();
    sample(seen, false);
    const d = process.cpuUsage(c);
    own += (d.user + d.system) / 1e6;
  };
  const timer = setInterval(timed, 100);
  return {
    stop() {
      clearInterval(timer);
      timed();
      const cpu = new Map<string, number>();
      for (const [pid, s] of seen) {
        const d = (s.last - s.first) / HZ - (pid === process.pid ? own : 0);
        if (d > 0) cpu.set(s.comm, (cpu.get(s.comm) ?? 0) + d);
      }
      return { wallMs: performance.now() - t0, cpu };
    },
  };
}
