/**
 * The Disks pane: a table of every image (path shortened from the left) over a detail strip for
 * the selected one. It only reads stores; keys reach the pane's controller through the keymap.
 */
import { Box } from 'ink';
import { useMemo } from 'react';
import { useStore } from 'zustand';
import { type DiskRow, detailLines, filterRows } from '../../model/diskInventory.js';
import { useApp } from '../../store/context.js';
import type { DisksPaneController } from '../../store/disksPane.js';
import { clip, useTheme } from '../components/Frame.js';
import { Text } from '../components/Text.js';
import { pad, visibleWindow } from '../components/table.js';
import { colorFor } from '../theme.js';
import { diskCell, diskColumns } from './disks/diskTable.js';
import type { PaneViewProps } from './paneViewProps.js';

const DETAIL_HEIGHT = 5;

export function DisksPane({ width, height }: PaneViewProps) {
  const controller = useApp((s) => s.panes.disks) as DisksPaneController | undefined;
  if (!controller) return <Text>The Disks pane is not available.</Text>;
  return <DisksTable controller={controller} width={width} height={height} />;
}

function DisksTable({ controller, width, height }: { controller: DisksPaneController } & PaneViewProps) {
  const theme = useTheme();
  const rows = useStore(controller.store, (s) => s.rows);
  const selectedPath = useStore(controller.store, (s) => s.selected);
  const lastRefresh = useStore(controller.store, (s) => s.lastRefresh);
  const error = useStore(controller.store, (s) => s.error);
  const filter = useApp((s) => s.filter);
  const visible = useMemo(() => filterRows(rows, filter), [rows, filter]);
  const selectedIndex = Math.max(0, visible.findIndex((r) => r.path === selectedPath));
  const selected = visible[selectedIndex] ?? null;
  const tableHeight = Math.max(2, height - DETAIL_HEIGHT - 1);
  const columns = diskColumns(width);
  const win = visibleWindow(visible.length, selectedIndex, tableHeight - 1);
  const symbols = theme.symbols;

  let empty: string | null = null;
  if (visible.length === 0) {
    if (error) empty = `Could not list the images: ${error.sentence} ${error.fix}`;
    else if (lastRefresh === null) empty = 'Reading guests, storage pools and image directories…';
    else if (filter) empty = `No image path matches "${filter}". Esc in the filter (/) clears it.`;
    else empty = 'No disk images found. N creates one; the image directories are set in the config (imageDirs).';
  }
  const header = ` ${columns.map((c) => pad(c.title, c, symbols.ellipsis)).join(' ')}`;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box flexDirection="column" height={tableHeight}>
        <Text bold color={colorFor(theme, 'muted')} wrap="truncate">
          {header}
        </Text>
        {empty ? <Text wrap="wrap">{empty}</Text> : null}
        {visible.slice(win.start, win.end).map((r) => {
          const isSelected = r.path === selected?.path;
          return (
            <Text key={r.path} wrap="truncate" inverse={isSelected && !theme.color} bold={isSelected}>
              <Text color={isSelected ? colorFor(theme, 'selected') : undefined}>{isSelected ? symbols.pointer.slice(0, 1) : ' '}</Text>
              {columns.map((c, i) => (
                <Text key={c.key} color={c.key === 'warn' ? colorFor(theme, 'warn') : isSelected ? colorFor(theme, 'selected') : r.cdrom ? colorFor(theme, 'muted') : undefined}>
                  {i > 0 ? ' ' : ''}
                  {pad(diskCell(r, c, symbols), c, symbols.ellipsis)}
                </Text>
              ))}
            </Text>
          );
        })}
      </Box>
      <Text color={colorFor(theme, 'muted')} wrap="truncate">
        {clip(`${theme.frame.horizontal.repeat(2)} ${selected ? selected.path : 'no image selected'} ${theme.frame.horizontal.repeat(width)}`, width, '')}
      </Text>
      <DiskDetail row={selected} width={width} height={DETAIL_HEIGHT} />
    </Box>
  );
}

/** The strip: format, sizes, users, chain — then the warnings, which always get lines. */
export function DiskDetail({ row, width, height }: { row: DiskRow | null; width: number; height: number }) {
  const theme = useTheme();
  if (!row) return <Text color={colorFor(theme, 'muted')}>Select an image to see what it is made of.</Text>;
  // The full path is already in the rule above.
  const body = detailLines(row).slice(1);
  const warnings = row.warnings.slice(0, Math.max(0, height - 2));
  const room = height - warnings.length;
  const shown = body.length > room ? [...body.slice(0, room - 1), `${theme.symbols.ellipsis} Enter shows everything`] : body;
  return (
    <Box flexDirection="column" height={height}>
      {shown.map((l) => (
        <Text key={l} wrap="truncate">
          {clip(l, width, theme.symbols.ellipsis)}
        </Text>
      ))}
      {warnings.map((w) => (
        <Text key={w} color={colorFor(theme, 'warn')} wrap="truncate">
          {clip(`${theme.symbols.warn} ${w}`, width, theme.symbols.ellipsis)}
        </Text>
      ))}
    </Box>
  );
}
