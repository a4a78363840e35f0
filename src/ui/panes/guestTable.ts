/** Column layout of the guest table; pure so the 80-column fit is unit-tested. */
import type { GuestRow } from '../../host/virsh.js';
import { formatBytes } from '../../model/units.js';
import { fitColumns, type TableColumn } from '../components/table.js';

export type Column = TableColumn<'name' | 'state' | 'cpu' | 'ram' | 'disks' | 'mac' | 'vnc' | 'auto'>;

const FIXED: Column[] = [
  { key: 'state', title: 'STATE', width: 11, align: 'left' },
  { key: 'cpu', title: 'CPU', width: 3, align: 'right' },
  { key: 'ram', title: 'RAM', width: 5, align: 'right' },
  { key: 'disks', title: 'DISKS', width: 5, align: 'right' },
  { key: 'mac', title: 'MAC', width: 17, align: 'left' },
  { key: 'vnc', title: 'VNC', width: 4, align: 'right' },
  { key: 'auto', title: 'AUTO', width: 4, align: 'left' },
];

export function guestColumns(width: number): Column[] {
  return fitColumns(width, { key: 'name', title: 'NAME', align: 'left' }, 8, FIXED);
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


