/** Column layout of the guest table; pure so the 80-column fit is unit-tested. */
import type { GuestRow } from '../../host/virsh.js';
import { formatBytes } from '../../model/units.js';

export interface Column {
  key: 'name' | 'state' | 'cpu' | 'ram' | 'disks' | 'mac' | 'vnc' | 'auto';
  title: string;
  width: number;
  align: 'left' | 'right';
}

const FIXED: Column[] = [
  { key: 'state', title: 'STATE', width: 11, align: 'left' },
  { key: 'cpu', title: 'CPU', width: 3, align: 'right' },
  { key: 'ram', title: 'RAM', width: 5, align: 'right' },
  { key: 'disks', title: 'DISKS', width: 5, align: 'right' },
  { key: 'mac', title: 'MAC', width: 17, align: 'left' },
  { key: 'vnc', title: 'VNC', width: 4, align: 'right' },
  { key: 'auto', title: 'AUTO', width: 4, align: 'left' },
];

/** One cell gap between columns and one column for the selection pointer. */
export function guestColumns(width: number): Column[] {
  const fixed = FIXED.reduce((n, c) => n + c.width + 1, 0);
  const name = Math.max(8, width - 1 - fixed);
  return [{ key: 'name', title: 'NAME', width: name, align: 'left' }, ...FIXED];
}

export function cellText(g: GuestRow, key: Column['key']): string {
  switch (key) {
    case 'name':
      return g.name;
    case 'state':
      return g.state;
    case 'cpu':
      return String(g.vcpus);
    case 'ram':
      return formatBytes(g.memoryKiB * 1024);
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

export function pad(text: string, col: Pick<Column, 'width' | 'align'>, ellipsis = '…'): string {
  const t = text.length > col.width ? text.slice(0, Math.max(0, col.width - ellipsis.length)) + ellipsis : text;
  return col.align === 'right' ? t.padStart(col.width) : t.padEnd(col.width);
}

/** The rows that fit in `height`, keeping the selected one in view. */
export function visibleWindow(count: number, selected: number, height: number): { start: number; end: number } {
  if (count <= height) return { start: 0, end: count };
  const start = Math.min(Math.max(0, selected - Math.floor(height / 2)), count - height);
  return { start, end: start + height };
}
