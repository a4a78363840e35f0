/** Column layout of the disk table; pure so the 80-column fit is unit-tested. */
import { type DiskRow, shortenPath, usedByText } from '../../../model/diskInventory.js';
import { formatBytes } from '../../../model/units.js';
import { fitColumns, type TableColumn } from '../../components/table.js';

export type DiskColumn = TableColumn<'path' | 'format' | 'virtual' | 'alloc' | 'used' | 'warn'>;

const FIXED: DiskColumn[] = [
  { key: 'format', title: 'FORMAT', width: 6, align: 'left' },
  { key: 'virtual', title: 'VIRTUAL', width: 7, align: 'right' },
  { key: 'alloc', title: 'ALLOC', width: 6, align: 'right' },
  { key: 'used', title: 'USED BY', width: 16, align: 'left' },
  { key: 'warn', title: '', width: 3, align: 'left' },
];

export function diskColumns(width: number): DiskColumn[] {
  return fitColumns(width, { key: 'path', title: 'PATH', align: 'left' }, 12, FIXED);
}

export function diskCell(r: DiskRow, c: DiskColumn, symbols: { warn: string; ellipsis: string }): string {
  switch (c.key) {
    case 'path':
      return shortenPath(r.path, c.width, symbols.ellipsis);
    case 'format':
      return r.format ?? '?';
    case 'virtual':
      return r.virtualSize !== null ? formatBytes(r.virtualSize) : '-';
    case 'alloc':
      return r.allocated !== null ? formatBytes(r.allocated) : '-';
    case 'used':
      return usedByText(r) || (r.cdrom ? 'cdrom' : r.orphan ? 'orphan' : '-');
    case 'warn':
      return r.warnings.length ? symbols.warn : '';
  }
}
