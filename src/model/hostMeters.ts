/**
 * The header's host meters: how busy the host is with its guests, and how much of it the running
 * guests were promised (overcommit). Built from what the refresh already has (domstats rates, the
 * guest list, nodeinfo), so drawing them costs no process.
 */

import { type GuestRow, isActive } from './guest.js';
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
}

export function hostMeters(guests: readonly Pick<GuestRow, 'name' | 'state' | 'vcpus' | 'memoryKiB'>[], usage: ReadonlyMap<string, GuestUsage>, host: { cpus: number | null; memKiB: number | null }): HostMeters {
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
  return { guestCpuPct: cpu, guestMemKiB: mem, hostMemKiB: host.memKiB, hostCpus: host.cpus, vcpus, ramKiB };
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

/**
 * "CPU ███░░ 45% · MEM ██░░░ 1.2G/3.8G · vCPU 6/2 (3.0x) · RAM 4.0G/3.8G (1.1x)" in `width`
 * columns: the bars shrink first, then go, so the numbers and the overcommit always fit 80.
 */
export function metersLine(m: HostMeters, width: number, charset: SparkCharset, separator: string): string {
  const cpuText = m.guestCpuPct === null ? '-' : pct(m.guestCpuPct);
  const memText = m.guestMemKiB === null ? '-' : `${formatBytes(m.guestMemKiB * 1024)}${m.hostMemKiB ? `/${formatBytes(m.hostMemKiB * 1024)}` : ''}`;
  const commit = [`vCPU ${m.vcpus}${m.hostCpus ? `/${m.hostCpus}` : ''}${ratio(m.vcpus, m.hostCpus)}`, `RAM ${formatBytes(m.ramKiB * 1024)}${m.hostMemKiB ? `/${formatBytes(m.hostMemKiB * 1024)}` : ''}${ratio(m.ramKiB, m.hostMemKiB)}`];
  const line = (bar: number) => {
    const b = (f: number | null) => (bar > 0 && f !== null ? `${meterBar(f, bar, charset)} ` : '');
    const memFrac = m.guestMemKiB !== null && m.hostMemKiB ? m.guestMemKiB / m.hostMemKiB : null;
    return [`CPU ${b(m.guestCpuPct === null ? null : m.guestCpuPct / 100)}${cpuText}`, `MEM ${b(memFrac)}${memText}`, ...commit].join(separator);
  };
  for (let bar = 10; bar >= 3; bar--) if (line(bar).length <= width) return line(bar);
  return line(0);
}
