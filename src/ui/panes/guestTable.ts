/** Column layout of the guest table; pure so the 80-column fit is unit-tested. */
import type { GuestRow } from '../../host/virsh.js';
import { formatBytes } from '../../model/units.js';
import type { GuestUsage } from '../../model/usage.js';
import { fitColumns, type TableColumn } from '../components/table.js';

export type Column = TableColumn<'host' | 'name' | 'state' | 'cpu' | 'ram' | 'use' | 'mem' | 'disks' | 'mac' | 'diskio' | 'netio' | 'vnc' | 'auto'>;

/** Inside the frame of a 120-column terminal: room for the MAC and the I/O rates. */
export const WIDE_TABLE = 116;

const STATE: Column = { key: 'state', title: 'STATE', width: 11, align: 'left' };
const CONFIG: Column[] = [
  { key: 'cpu', title: 'CPU', width: 3, align: 'right' },
  { key: 'ram', title: 'RAM', width: 5, align: 'right' },
];
const USE: Column[] = [
  { key: 'use', title: 'CPU%', width: 5, align: 'right' },
  { key: 'mem', title: 'MEM', width: 5, align: 'right' },
];
const DISKS: Column = { key: 'disks', title: 'DISKS', width: 5, align: 'right' };
const MAC: Column = { key: 'mac', title: 'MAC', width: 17, align: 'left' };
// Read/write and rx/tx per second, e.g. "1.2M/340K": the detail strip spells them out.
const IO: Column[] = [
  { key: 'diskio', title: 'DISK R/W', width: 11, align: 'right' },
  { key: 'netio', title: 'NET RX/TX', width: 11, align: 'right' },
];
const TAIL: Column[] = [
  { key: 'vnc', title: 'VNC', width: 4, align: 'right' },
  { key: 'auto', title: 'AUTO', width: 4, align: 'left' },
];

/** The HOST column of the all-hosts view: as wide as the longest host name, 4 to 8 columns at 80 (12 wide), cut with the ellipsis. */
export function hostColumn(width: number, hosts: readonly string[]): Column {
  const most = width >= WIDE_TABLE ? 12 : 8;
  return { key: 'host', title: 'HOST', width: Math.min(most, Math.max(4, ...hosts.map((h) => h.length))), align: 'left' };
}

/**
 * At 80 columns the MAC and the I/O rates move to the detail strip; from 120 all show. With
 * `hosts` (the all-hosts view) a HOST column comes first and NAME gives up its room.
 */
export function guestColumns(width: number, hosts?: readonly string[]): Column[] {
  if (hosts) {
    const host = hostColumn(width, hosts);
    return [host, ...guestColumns(width - host.width - 1)];
  }
  const fixed = width >= WIDE_TABLE ? [STATE, ...CONFIG, ...USE, ...IO, DISKS, MAC, ...TAIL] : [STATE, ...CONFIG, ...USE, DISKS, ...TAIL];
  return fitColumns(width, { key: 'name', title: 'NAME', align: 'left' }, 8, fixed);
}

function percent(p: number | null): string {
  if (p === null) return '-';
  return p < 10 ? `${p.toFixed(1)}%` : `${Math.round(p)}%`;
}

function rate(bytesPerS: number | null): string {
  return bytesPerS === null ? '-' : formatBytes(bytesPerS);
}

function pair(a: number | null, b: number | null): string {
  return a === null && b === null ? '-' : `${rate(a)}/${rate(b)}`;
}

export function cellText(g: GuestRow & { host?: string }, key: Column['key'], u?: GuestUsage): string {
  switch (key) {
    case 'host':
      return g.host ?? '';
    case 'name':
      return g.name;
    case 'state':
      return g.state;
    case 'cpu':
      return String(g.vcpus);
    case 'ram':
      return formatBytes(g.memoryKiB * 1024);
    case 'use':
      return percent(u?.hostCpuPct ?? null);
    case 'mem':
      return u?.memUsedKiB != null ? formatBytes(u.memUsedKiB * 1024) : '-';
    case 'diskio':
      return pair(u?.diskReadBps ?? null, u?.diskWriteBps ?? null);
    case 'netio':
      return pair(u?.netRxBps ?? null, u?.netTxBps ?? null);
    case 'disks':
      return String(g.disks.filter((d) => d.device === 'disk').length);
    case 'mac':
      return g.nics[0]?.mac ?? '-';
    case 'vnc':
      return g.vnc ? String(g.vnc.port) : '-';
    case 'auto':
      return g.autostart ? 'yes' : 'no';
  }
}

/** The usage lines of the detail strip: everything the table has no room for, spelled out. */
export function usageLines(g: GuestRow, u: GuestUsage | undefined): string[] {
  if (!u) return [];
  const use: string[] = [];
  const io: string[] = [];
  if (u.hostCpuPct !== null) use.push(`CPU ${percent(u.hostCpuPct)} of host, ${percent(u.cpuPct)} of ${g.vcpus} vCPU`);
  if (u.memUsedKiB !== null) use.push(`MEM ${formatBytes(u.memUsedKiB * 1024)} ${u.memSource === 'guest' ? 'in use (guest)' : 'QEMU RSS'}`);
  if (u.diskReadBps !== null || u.diskWriteBps !== null)
    io.push(`disk r ${rate(u.diskReadBps)}/s w ${rate(u.diskWriteBps)}/s, ${Math.round(u.diskReadIops ?? 0)}/${Math.round(u.diskWriteIops ?? 0)} IOPS`);
  if (u.netRxBps !== null || u.netTxBps !== null) io.push(`net rx ${rate(u.netRxBps)}/s tx ${rate(u.netTxBps)}/s`);
  return [...(use.length ? [`use  ${use.join(' · ')}`] : []), ...(io.length ? [`io   ${io.join(' · ')}`] : [])];
}
