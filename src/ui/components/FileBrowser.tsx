/**
 * Draws a host file pick (store/wizards/hostFiles.ts) as a wizard step: the Path field, the
 * directory listed under it, its entries around the highlight, files the picker does not accept
 * dimmed. Keys never come here: the wizard's store edits the field and reads directories.
 */
import { Box } from 'ink';
import { type HostFiles, pickable, shownEntries } from '../../store/wizards/hostFiles.js';
import { colorFor, type Theme } from '../theme.js';
import { FormView } from './FormView.js';
import { Text } from './Text.js';
import { visibleWindow } from './table.js';

export function FileBrowser({ files, theme, rows = 10, active = true }: { files: HostFiles; theme: Theme; rows?: number; active?: boolean }) {
  const { cursor } = files;
  const entries = files.entries === null ? null : shownEntries(files);
  const { start, end } = visibleWindow(entries?.length ?? 0, cursor, rows);
  const shown = (entries ?? []).slice(start, end);
  const muted = colorFor(theme, 'muted');
  const listing = files.only ? `${files.dir}${theme.symbols.separator}${entries?.length ?? 0} names start with "${files.only}"` : files.dir;
  return (
    <Box flexDirection="column">
      <FormView form={files.path} theme={theme} active={active} labelWidth={10} />
      <Text wrap="truncate-start" color={muted}>
        {listing}
      </Text>
      {entries === null ? <Text color={muted}>reading{theme.symbols.ellipsis}</Text> : null}
      {files.error ? (
        <Text color={colorFor(theme, 'error')} wrap="wrap">
          {files.error}
        </Text>
      ) : null}
      {shown.map((e, i) => {
        const here = start + i === cursor;
        return (
          <Text key={e.name} wrap="truncate-end" bold={here} color={here ? colorFor(theme, 'accent') : pickable(files, e) ? undefined : muted}>
            {here ? theme.symbols.pointer : ' '} {e.dir ? `${e.name}/` : e.name}
          </Text>
        );
      })}
    </Box>
  );
}
