/** Column layout of the disk table; pure so the 80-column fit is unit-tested. */
import { type DiskRow, shortenPath, usedByText } from '../../../model/diskInventory.js';
import { formatBytes } from '../../../model/units.js';

export interface DiskColumn {
  key: 'path' | 'format' | 'virtual' | 'alloc' | 'used' | 'warn';
  title: string;
  width: number;
  align: 'left' | 'right';
}

const FIXED: DiskColumn[] = [
  { key: 'format', title: 'FORMAT', width: 6, align: 'left' },
  { key: 'virtual', title: 'VIRTUAL', width: 7, align: 'right' },
  { key: 'alloc', title: 'ALLOC', width: 6, align: 'right' },
  { key: 'used', title: 'USED BY', width: 16, align: 'left' },
  { key: 'warn', title: '', width: 3, align: 'left' },
];

/** One column for the selection pointer and one gap between columns; PATH takes the rest. */
export function diskColumns(width: number): DiskColumn[] {
  const fixed = FIXED.reduce((n, c) => n + c.width + 1, 0);
  return [{ key: 'path', title: 'PATH', width: Math.max(12, width - 1 - fixed), align: 'left' }, ...FIXED];
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
      return usedByText(r) || (r.cdrom ? 'cdrom' : '-');
    case 'warn':
      return r.warnings.length ? symbols.warn : '';
  }
}
