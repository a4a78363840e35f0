/**
 * The logs view: the libvirtd log or a guest's QEMU log, newest at the bottom while following,
 * each line with its time, matches of the `/` search highlighted, and the known-error catalog's
 * explanation under the lines it recognises.
 */

import { Box } from 'ink';
import { countOf } from '../../../model/countText.js';
import { type LogView, searchHits } from '../../../store/hostPane.js';
import { clip, useTheme } from '../../components/Frame.js';
import { Text } from '../../components/Text.js';
import { colorFor } from '../../theme.js';
import { logStamp, splitMatches, withoutStamp } from './format.js';

export function logViewport(height: number): number {
  return Math.max(1, height - 1);
}

export function LogsView({ log, search, searching = false, width, height }: { log: LogView; search: string; searching?: boolean; width: number; height: number }) {
  const theme = useTheme();
  const ell = theme.symbols.ellipsis;
  const sep = theme.symbols.separator;
  const viewport = logViewport(height);
  const rows = log.rows.slice(log.offset, log.offset + viewport);
  const lineCount = log.rows.filter((r) => r.kind === 'line').length;
  const hits = search ? searchHits(log.rows, search).length : 0;
  const state = log.ended ? 'ended' : log.follow ? 'following' : 'paused';
  const shift = log.shift ?? 0;
  const head = `${log.title}${sep}${state}${sep}${countOf(lineCount, 'line')}${shift ? `${sep}from column ${shift + 1} (←)` : ''}${search ? `${sep}/${search}: ${hits} match${hits === 1 ? '' : 'es'}` : searching ? `${sep}/${theme.symbols.cursor}` : ''}`;
  const textWidth = Math.max(10, width - 15);
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" bold>
        {clip(head, width, ell)}
      </Text>
      <Box flexDirection="column" height={viewport}>
        {log.error ? (
          <>
            <Text wrap="wrap" color={colorFor(theme, 'error')}>
              {log.error.sentence}
            </Text>
            <Text wrap="wrap">Fix: {log.error.fix}</Text>
          </>
        ) : null}
        {!log.error && log.rows.length === 0 ? <Text color={colorFor(theme, 'muted')}>{log.ended ? '(the log is empty)' : `Reading${ell}`}</Text> : null}
        {rows.map((r, i) => {
          const key = log.offset + i;
          if (r.kind === 'known') {
            return (
              <Text key={key} wrap="truncate" color={colorFor(theme, 'warn')}>
                {clip(`  ${r.first ? (theme.ascii ? '>>' : '↳') : ' '.repeat(theme.ascii ? 2 : 1)} ${r.text.slice(shift)}`, width, ell)}
              </Text>
            );
          }
          // A line cut at the right edge ends in the ellipsis; → shows the rest.
          const text = clip(withoutStamp(r.line.text).slice(shift), textWidth, ell);
          return (
            <Text key={key} wrap="truncate">
              <Text color={colorFor(theme, 'muted')} dimColor={r.line.timeInherited}>
                {logStamp(r.line.time)}
              </Text>{' '}
              {splitMatches(text, search).map((p, j) =>
                p.match ? (
                  // biome-ignore lint/suspicious/noArrayIndexKey: pieces of one line, fixed order
                  <Text key={j} inverse color={colorFor(theme, 'accent')}>
                    {p.text}
                  </Text>
                ) : (
                  p.text
                ),
              )}
            </Text>
          );
        })}
      </Box>
    </Box>
  );
}

export function GuestPicker({ names, index, width, height }: { names: string[]; index: number; width: number; height: number }) {
  const theme = useTheme();
  const listHeight = Math.max(1, height - 1);
  const top = Math.min(Math.max(0, index - Math.floor(listHeight / 2)), Math.max(0, names.length - listHeight));
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate">
        Whose QEMU log? (/var/log/libvirt/qemu/GUEST.log)
      </Text>
      <Box flexDirection="column" height={listHeight}>
        {names.slice(top, top + listHeight).map((n, i) => {
          const selected = top + i === index;
          return (
            <Text key={n} wrap="truncate" inverse={selected && !theme.color} color={selected ? colorFor(theme, 'selected') : undefined}>
              {selected ? theme.symbols.pointer.slice(0, 1) : ' '} {clip(n, width - 2, theme.symbols.ellipsis)}
            </Text>
          );
        })}
      </Box>
    </Box>
  );
}
