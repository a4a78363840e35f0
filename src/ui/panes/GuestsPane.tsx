import { Box } from 'ink';
import { memo, useMemo } from 'react';
import { shown } from '../../model/shown.js';
import { useApp } from '../../store/context.js';
import { filterGuests, isRow, listedGuests, rowKey } from '../../store/selectors.js';
import type { HostState } from '../../store/types.js';
import { clip, useTheme } from '../components/Frame.js';
import { Text } from '../components/Text.js';
import { pad, visibleWindow } from '../components/table.js';
import { colorFor, stateColor } from '../theme.js';
import { cellText, guestColumns } from './guestTable.js';

/** Pure: the line of a host that did not answer the last round: its name and its error sentence. */
export function unreachableLine(h: HostState, width: number, marks: { warn: string; ellipsis: string }): string {
  // The sentence may carry a remote host's own words: shown, never obeyed by the terminal.
  const name = shown(h.name);
  const why = h.error ? shown(`${h.error.sentence} ${h.error.fix}`) : 'it did not answer.';
  // A sentence that starts with the host's name (the deadline's) says it all; others get the name first.
  return clip(`${marks.warn} ${why.startsWith(`${name} `) ? why : `${name} unreachable: ${why}`}`, width, marks.ellipsis);
}

export function GuestsPane({ width, height }: { width: number; height: number }) {
  const theme = useTheme();
  const guests = useApp((s) => s.guests);
  const allHosts = useApp((s) => s.allHosts);
  const allGuests = useApp((s) => s.allGuests);
  const hostStates = useApp((s) => s.hostStates);
  const hereUsage = useApp((s) => s.usage);
  const allUsage = useApp((s) => s.allUsage);
  const filter = useApp((s) => s.filter);
  const selectedName = useApp((s) => s.selected);
  const selectedHost = useApp((s) => s.selectedHost);
  // Whether a round has answered yet, not when: the clock of each refresh is the tabs' to draw.
  const refreshed = useApp((s) => s.lastRefresh !== null);
  const refreshError = useApp((s) => s.refreshError);
  const listed = listedGuests({ guests, allHosts, allGuests });
  const rows = useMemo(() => filterGuests(listed, filter), [listed, filter]);
  const down = allHosts ? hostStates.filter((h) => h.answered === false) : [];
  const columns = guestColumns(width, allHosts ? hostStates.map((h) => h.name) : undefined);
  const usageOf = (g: (typeof rows)[number]) => (allHosts ? allUsage.get(rowKey(g.host, g.name)) : hereUsage.get(g.name));
  const selectedIndex = Math.max(0, rows.findIndex((g) => isRow(g, selectedName, selectedHost)));
  // A host that does not answer takes one line above the table (at most 3; the header counts them all).
  const notes = down.slice(0, 3);
  const win = visibleWindow(rows.length, selectedIndex, height - 1 - notes.length);
  const ell = theme.symbols.ellipsis;

  const header = ` ${columns.map((c) => pad(c.title, c, ell)).join(' ')}`;
  let empty: string | null = null;
  if (rows.length === 0) {
    if (refreshError && !allHosts) empty = `Could not list the guests: ${refreshError.sentence} ${refreshError.fix}`;
    else if (!refreshed || (allHosts && hostStates.length === 0)) empty = allHosts ? 'Asking every host for its guests…' : 'Asking libvirt for the guests…';
    else if (filter) empty = `No guest matches "${filter}". Esc in the filter (/) clears it.`;
    else empty = allHosts ? 'There are no guests on the hosts that answered. Press n to create one here.' : 'There are no guests on this host yet. Press n to create one.';
  }
  return (
    <Box flexDirection="column">
      <Text bold color={colorFor(theme, 'muted')} wrap="truncate">
        {header}
      </Text>
      {notes.map((h) => (
        <Text key={`down:${h.name}`} color={colorFor(theme, 'error')} wrap="truncate">
          {unreachableLine(h, width, { warn: theme.symbols.warn, ellipsis: ell })}
        </Text>
      ))}
      {empty ? <Text wrap="wrap">{empty}</Text> : null}
      {rows.slice(win.start, win.end).map((g) => {
        const selected = g === rows[selectedIndex];
        return (
          <GuestLine
            key={rowKey(g.host, g.name)}
            {...rowParts(
              columns.map((c) => pad(cellText(g, c.key, usageOf(g)), c, ell)),
              columns.findIndex((c) => c.key === 'state'),
              selected ? theme.symbols.pointer.slice(0, 1) : ' ',
            )}
            selected={selected}
            stateColor={stateColor(theme, g.state)}
          />
        );
      })}
    </Box>
  );
}

/**
 * A row as the three runs of text it is drawn in: the pointer and the columns before the state, the
 * state (in its own colour), the columns after. Pure.
 */
export function rowParts(cells: readonly string[], stateAt: number, pointer: string): { lead: string; state: string; rest: string } {
  const line = (from: number, to: number) => cells.slice(from, to).map((cell, i) => (from + i > 0 ? ` ${cell}` : cell)).join('');
  if (stateAt < 0) return { lead: pointer + line(0, cells.length), state: '', rest: '' };
  return { lead: pointer + line(0, stateAt), state: line(stateAt, stateAt + 1), rest: line(stateAt + 1, cells.length) };
}

interface GuestLineProps {
  lead: string;
  state: string;
  rest: string;
  selected: boolean;
  stateColor: string | undefined;
}

/**
 * One row, drawn again only when its text or look changed: a refresh builds new rows for every
 * guest, and most of them read as before. Its columns come pre-padded in three runs of text, so a
 * row is one Ink text node with at most three pieces, not one per column.
 */
const GuestLine = memo(
  function GuestLine({ lead, state, rest, selected, stateColor: forState }: GuestLineProps) {
    const theme = useTheme();
    const selColor = selected ? colorFor(theme, 'selected') : undefined;
    return (
      <Text wrap="truncate" inverse={selected && !theme.color} bold={selected}>
        {selColor ? <Text color={selColor}>{lead}</Text> : lead}
        {state ? <Text color={forState}>{state}</Text> : null}
        {rest && selColor ? <Text color={selColor}>{rest}</Text> : rest}
      </Text>
    );
  },
  (a, b) => a.selected === b.selected && a.stateColor === b.stateColor && a.lead === b.lead && a.state === b.state && a.rest === b.rest,
);
