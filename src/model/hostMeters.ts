/**
 * The header's host meters: how busy the host is with its guests, and how much of it the running
 * guests were promised (overcommit). Built from what the refresh already has (domstats rates, the
 * guest list, nodeinfo), so drawing them costs no process.
 */

import { type GuestRow, isActive } from './guest.js';
import { type LoadAverage, loadText } from './hostLoad.js';
import type { SparkCharset } from './sparkline.js';
import { formatBytes } from './units.js';
import type { GuestUsage } from './usage.js';

export interface HostMeters {
  /** The guests' share of every host CPU, summed (100 = the host fully busy with guests); null before two samples. */
  guestCpuPct: number | null;
  /** Memory the guests use (guest's view or QEMU RSS, as the MEM column), summed. */
  guestMemKiB: number | null;
  hostMemKiB: number | null;
  hostCpus: number | null;
  /** vCPUs and configured RAM of the running guests: what the host has promised now. */
  vcpus: number;
  ramKiB: number;
  /** All of the host's CPU time in use (guests, QEMU, the host's own work), from nodecpustats; null before two samples. */
  hostCpuPct: number | null;
  load: LoadAverage | null;
}

export function hostMeters(
  guests: readonly Pick<GuestRow, 'name' | 'state' | 'vcpus' | 'memoryKiB'>[],
  usage: ReadonlyMap<string, GuestUsage>,
  host: { cpus: number | null; memKiB: number | null },
  busy: { cpuPct: number | null; load: LoadAverage | null } = { cpuPct: null, load: null },
): HostMeters {
  let cpu: number | null = null;
  let mem: number | null = null;
  let vcpus = 0;
  let ramKiB = 0;
  for (const g of guests) {
    const u = usage.get(g.name);
    if (u?.hostCpuPct != null) cpu = (cpu ?? 0) + u.hostCpuPct;
    if (u?.memUsedKiB != null) mem = (mem ?? 0) + u.memUsedKiB;
    if (isActive(g.state)) {
      vcpus += g.vcpus;
      ramKiB += g.memoryKiB;
    }
  }
  return { guestCpuPct: cpu, guestMemKiB: mem, hostMemKiB: host.memKiB, hostCpus: host.cpus, vcpus, ramKiB, hostCpuPct: busy.cpuPct, load: busy.load };
}

/** A bar of `width` cells filled to `fraction` (clamped to 0…1): █ and ░, or their ASCII side # and -. */
export function meterBar(fraction: number, width: number, charset: SparkCharset): string {
  const [full, empty] = charset === 'ascii' ? ['#', '-'] : ['█', '░'];
  const cells = Math.max(0, width);
  const filled = Math.round(Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0)) * cells);
  return full.repeat(filled) + empty.repeat(cells - filled);
}

function pct(p: number): string {
  return p < 10 ? `${p.toFixed(1)}%` : `${Math.round(p)}%`;
}

function ratio(a: number, b: number | null): string {
  return b && b > 0 ? ` (${(a / b).toFixed(1)}x)` : '';
}

/** The CPU meter's figure: the whole host when nodecpustats gave two samples, else what the guests use of it. */
function cpuFigure(m: HostMeters): number | null {
  return m.hostCpuPct ?? m.guestCpuPct;
}

/**
 * "CPU ███░░ 60% (guests 45%) · MEM ██░░░ 1.2G/3.8G · vCPU 6/2 (3.0x) · RAM 4.0G/3.8G (1.1x) · load
 * 0.52 0.48 0.40" in `width` columns. What gives way first when room is short: the guests' share,
 * then the 5 and 15 minute loads, then the last load figure (metersLayout puts it beside the tabs);
 * bars shrink before anything goes and vanish only when nothing else fits, so the numbers and the
 * overcommit always fit 80.
 */
export function metersLine(m: HostMeters, width: number, charset: SparkCharset, separator: string): string {
  const cpu = cpuFigure(m);
  const cpuText = cpu === null ? '-' : pct(cpu);
  const share = m.hostCpuPct !== null && m.guestCpuPct !== null ? ` (guests ${pct(m.guestCpuPct)})` : '';
  const memText = m.guestMemKiB === null ? '-' : `${formatBytes(m.guestMemKiB * 1024)}${m.hostMemKiB ? `/${formatBytes(m.hostMemKiB * 1024)}` : ''}`;
  const commit = [`vCPU ${m.vcpus}${m.hostCpus ? `/${m.hostCpus}` : ''}${ratio(m.vcpus, m.hostCpus)}`, `RAM ${formatBytes(m.ramKiB * 1024)}${m.hostMemKiB ? `/${formatBytes(m.hostMemKiB * 1024)}` : ''}${ratio(m.ramKiB, m.hostMemKiB)}`];
  const loads = m.load ? [`load ${loadText(m.load)}`, `load ${loadText(m.load, false)}`] : [];
  const variants: { share: string; load: string | null }[] = [
    ...(share ? [{ share, load: loads[0] ?? null }] : []),
    ...loads.map((load) => ({ share: '', load })),
    { share: '', load: null },
  ];
  const line = (v: { share: string; load: string | null }, bar: number) => {
    const b = (f: number | null) => (bar > 0 && f !== null ? `${meterBar(f, bar, charset)} ` : '');
    const memFrac = m.guestMemKiB !== null && m.hostMemKiB ? m.guestMemKiB / m.hostMemKiB : null;
    return [`CPU ${b(cpu === null ? null : cpu / 100)}${cpuText}${v.share}`, `MEM ${b(memFrac)}${memText}`, ...commit, ...(v.load ? [v.load] : [])].join(separator);
  };
  for (const v of variants) for (let bar = 10; bar >= 3; bar--) if (line(v, bar).length <= width) return line(v, bar);
  for (const v of variants) if (line(v, 0).length <= width) return line(v, 0);
  return line({ share: '', load: null }, 0);
}

/**
 * The meters squeezed beside the pane tabs when the terminal has no row for metersLine (80x24):
 * richest first, for the caller to take the first that fits. Empty before the first numbers.
 */
export function compactMeters(m: HostMeters): string[] {
  const cpu = cpuFigure(m);
  const mem = m.guestMemKiB !== null && m.hostMemKiB ? `MEM ${Math.round((m.guestMemKiB / m.hostMemKiB) * 100)}%` : null;
  const load = m.load ? `load ${loadText(m.load, false)}` : null;
  const c = cpu === null ? null : `CPU ${pct(cpu)}`;
  const variants = [[c, mem, load], [c, load], [c, mem], [load], [c]].map((parts) => parts.filter((p): p is string => p !== null));
  return [...new Set(variants.filter((v) => v.length > 0).map((v) => v.join(' ')))];
}

/**
 * Where the meters go: their own row under the tabs when the terminal has one to spare (`line`), and
 * beside the tabs what that row had no room for (the load average at 80 columns), or, without the
 * row (80x24), the short forms. `beside` is richest first: the tab line takes the first that fits.
 */
export function metersLayout(m: HostMeters, o: { row: boolean; width: number; charset: SparkCharset; separator: string }): { line: string | null; beside: string[] } {
  if (!o.row) return { line: null, beside: compactMeters(m) };
  const line = metersLine(m, o.width, o.charset, o.separator);
  const beside = m.load && !line.includes(`${o.separator}load `) ? [`load ${loadText(m.load)}`, `load ${loadText(m.load, false)}`] : [];
  return { line, beside };
}
