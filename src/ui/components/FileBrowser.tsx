/**
 * Draws a host directory being browsed (store/wizards/hostFiles.ts): the directory, its entries
 * around the cursor, files the picker does not accept dimmed. Keys never come here: the wizard's
 * store moves the cursor and reads directories.
 */
import { Box } from 'ink';
import { type HostFiles, pickable } from '../../store/wizards/hostFiles.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';
import { visibleWindow } from './table.js';

export function FileBrowser({ files, theme, rows = 10 }: { files: HostFiles; theme: Theme; rows?: number }) {
  const { entries, cursor } = files;
  const { start, end } = visibleWindow(entries?.length ?? 0, cursor, rows);
  const shown = (entries ?? []).slice(start, end);
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-start" color={colorFor(theme, 'accent')}>
        {files.dir}
      </Text>
      {entries === null ? <Text color={colorFor(theme, 'muted')}>reading…</Text> : null}
      {files.error ? (
        <Text color={colorFor(theme, 'error')} wrap="truncate-end">
          {files.error}
        </Text>
      ) : null}
      {shown.map((e, i) => {
        const here = start + i === cursor;
        return (
          <Text key={e.name} wrap="truncate-end" bold={here} color={here ? colorFor(theme, 'accent') : pickable(files, e) ? undefined : colorFor(theme, 'muted')}>
            {here ? theme.symbols.pointer : ' '} {e.dir ? `${e.name}/` : e.name}
          </Text>
        );
      })}
    </Box>
  );
}
