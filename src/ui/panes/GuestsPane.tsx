import { Box } from 'ink';
import { useMemo } from 'react';
import { useApp } from '../../store/context.js';
import { filterGuests } from '../../store/selectors.js';
import { useTheme } from '../components/Frame.js';
import { Text } from '../components/Text.js';
import { pad, visibleWindow } from '../components/table.js';
import { colorFor, stateColor } from '../theme.js';
import { cellText, guestColumns } from './guestTable.js';

export function GuestsPane({ width, height }: { width: number; height: number }) {
  const theme = useTheme();
  const guests = useApp((s) => s.guests);
  const usage = useApp((s) => s.usage);
  const filter = useApp((s) => s.filter);
  const selectedName = useApp((s) => s.selected);
  const lastRefresh = useApp((s) => s.lastRefresh);
  const refreshError = useApp((s) => s.refreshError);
  const rows = useMemo(() => filterGuests(guests, filter), [guests, filter]);
  const columns = guestColumns(width);
  const selectedIndex = Math.max(0, rows.findIndex((g) => g.name === selectedName));
  const win = visibleWindow(rows.length, selectedIndex, height - 1);
  const ell = theme.symbols.ellipsis;

  const header = ` ${columns.map((c) => pad(c.title, c, ell)).join(' ')}`;
  let empty: string | null = null;
  if (rows.length === 0) {
    if (refreshError) empty = `Could not list the guests: ${refreshError.sentence} ${refreshError.fix}`;
    else if (lastRefresh === null) empty = 'Asking libvirt for the guests…';
    else if (filter) empty = `No guest matches "${filter}". Esc in the filter (/) clears it.`;
    else empty = 'There are no guests on this host yet. Press n to create one.';
  }
  return (
    <Box flexDirection="column">
      <Text bold color={colorFor(theme, 'muted')} wrap="truncate">
        {header}
      </Text>
      {empty ? <Text wrap="wrap">{empty}</Text> : null}
      {rows.slice(win.start, win.end).map((g) => {
        const selected = g.name === rows[selectedIndex]?.name;
        return (
          <Text key={g.name} wrap="truncate" inverse={selected && !theme.color} bold={selected}>
            <Text color={selected ? colorFor(theme, 'selected') : undefined}>{selected ? theme.symbols.pointer.slice(0, 1) : ' '}</Text>
            {columns.map((c, i) => (
              <Text key={c.key} color={c.key === 'state' ? stateColor(theme, g.state) : selected ? colorFor(theme, 'selected') : undefined}>
                {i > 0 ? ' ' : ''}
                {pad(cellText(g, c.key, usage.get(g.name)), c, ell)}
              </Text>
            ))}
          </Text>
        );
      })}
    </Box>
  );
}
