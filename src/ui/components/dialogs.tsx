/**
 * The modal dialogs. Only the top dialog is rendered; its keys are rows of the key table, carried
 * out by the store (store/dialogs/dialogKeys.ts), so a modal takes a key before the pane behind it.
 */
import { Box } from 'ink';
import { ranText } from '../../model/ranText.js';
import { wrapLine, wrapLines } from '../../model/textWrap.js';
import { useApp } from '../../store/context.js';
import { hintVarsOf, scopesOf } from '../../store/dialogs/dialogKeys.js';
import { helpLines } from '../../store/dialogs/helpText.js';
import { hintsFor } from '../../store/keys/router.js';
import { clampOffset } from '../../store/layout.js';
import type { ConfirmDialog, DiffDialog, ErrorDialog, HelpDialog, TextDialog, TypeNameDialog } from '../../store/types.js';
import { colorFor } from '../theme.js';
import { clip, KeyHints, useTheme } from './Frame.js';
import { Text } from './Text.js';

export interface DialogProps<D> {
  dialog: D;
  width: number;
  height: number;
}

function Lines({ lines, width, color }: { lines: string[]; width: number; color?: (l: string) => string | undefined }) {
  const theme = useTheme();
  return (
    <>
      {lines.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines of a fixed text, order never changes
        <Text key={i} wrap="truncate" color={color?.(l)}>
          {clip(l, width, theme.symbols.ellipsis) || ' '}
        </Text>
      ))}
    </>
  );
}

export function ConfirmView({ dialog, width }: DialogProps<ConfirmDialog>) {
  return (
    <Box flexDirection="column">
      {dialog.lines.map((l) => (
        <Text key={l}>{l}</Text>
      ))}
      <Text> </Text>
      <KeyHints hints={hintsFor(scopesOf(dialog), hintVarsOf(dialog))} width={width} />
    </Box>
  );
}

export function TypeNameView({ dialog }: DialogProps<TypeNameDialog>) {
  const theme = useTheme();
  const matches = dialog.typed === dialog.name;
  const focusColor = colorFor(theme, 'accent');
  return (
    <Box flexDirection="column">
      {dialog.lines.map((l) => (
        <Text key={l}>{l}</Text>
      ))}
      <Text> </Text>
      <Text>Type the name {dialog.name} to confirm:</Text>
      <Text color={dialog.focus === 'name' ? focusColor : undefined}>
        {dialog.focus === 'name' ? theme.symbols.pointer.slice(0, 1) : ' '} [{dialog.typed}
        {dialog.focus === 'name' ? theme.symbols.cursor : ''}]
      </Text>
      {dialog.checkbox === null ? null : (
        <Text color={dialog.focus === 'deleteDisks' ? focusColor : undefined}>
          {dialog.focus === 'deleteDisks' ? theme.symbols.pointer.slice(0, 1) : ' '} [{dialog.deleteDisks ? 'x' : ' '}] {dialog.checkbox ?? 'also delete its disk images (cannot be undone)'}
        </Text>
      )}
      <Text> </Text>
      <Text color={matches ? colorFor(theme, 'warn') : colorFor(theme, 'muted')}>
        {matches ? (dialog.enterText ?? `Enter deletes ${dialog.name}${dialog.deleteDisks ? ' and its disks' : ', keeping its disks'}.`) : 'Enter works once the name matches exactly.'}
      </Text>
    </Box>
  );
}

export function ErrorView({ dialog, width, height }: DialogProps<ErrorDialog>) {
  const theme = useTheme();
  const e = dialog.error;
  const ran = e.command.length ? ranText(e.command, e.ranOn) : null;
  const stderr = e.stderr ? e.stderr.split('\n') : ['(no output)'];
  const ranRows = ran ? wrapLine(`Ran: ${ran}`, width) : [];
  const fixed = 3 + ranRows.length + (dialog.retry ? 2 : 0);
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">{e.sentence}</Text>
      <Text wrap="wrap">
        <Text bold>Fix: </Text>
        {e.fix}
      </Text>
      {ran
        ? ranRows.map((l, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the wrapped rows of one command, in order.
            <Text key={i}>
              {i === 0 ? <Text color={colorFor(theme, 'muted')}>Ran: </Text> : null}
              {i === 0 ? l.slice(5) : l}
            </Text>
          ))
        : null}
      {dialog.showDetails ? (
        <Box flexDirection="column" marginTop={1}>
          <Lines lines={wrapLines(stderr, width).slice(0, Math.max(1, height - fixed - 2))} width={width} color={() => colorFor(theme, 'muted')} />
        </Box>
      ) : null}
      <Text> </Text>
      {dialog.retry ? (
        <Text>
          <Text bold color={colorFor(theme, 'key')}>
            {dialog.retry.key}
          </Text>{' '}
          {dialog.retry.label}
        </Text>
      ) : null}
      <Text color={colorFor(theme, 'muted')}>{dialog.showDetails ? 'd hides the details' : 'd shows what the command printed'}</Text>
    </Box>
  );
}

/** Logs, help, how-to texts: wrapped, never cut; the store scrolls over the same wrapped rows (dialogKeys.ts). */
export function TextView({ dialog, width, height }: DialogProps<TextDialog>) {
  const lines = wrapLines(dialog.lines, width);
  const offset = clampOffset(dialog.offset, lines.length, height);
  return <Lines lines={lines.slice(offset, offset + height)} width={width} />;
}

export function HelpView({ dialog, width, height }: DialogProps<HelpDialog>) {
  const pane = useApp((s) => s.pane);
  const lines = wrapLines(helpLines(pane), width);
  const offset = clampOffset(dialog.offset, lines.length, height);
  return <Lines lines={lines.slice(offset, offset + height)} width={width} />;
}

export function DiffView({ dialog, width, height }: DialogProps<DiffDialog>) {
  const theme = useTheme();
  const bodyHeight = Math.max(1, height - dialog.summary.length - 2);
  const offset = clampOffset(dialog.offset, dialog.lines.length, bodyHeight);
  const lineColor = (l: string) =>
    l.startsWith('+') && !l.startsWith('+++') ? colorFor(theme, 'ok') : l.startsWith('-') && !l.startsWith('---') ? colorFor(theme, 'error') : l.startsWith('@@') ? colorFor(theme, 'accent') : undefined;
  return (
    <Box flexDirection="column">
      <Lines lines={dialog.summary} width={width} />
      <Lines lines={dialog.lines.slice(offset, offset + bodyHeight)} width={width} color={lineColor} />
      <Text> </Text>
      <KeyHints hints={hintsFor(scopesOf(dialog)).filter((h) => h.hint !== 'scroll')} width={width} />
      <Text color={colorFor(theme, 'muted')}>
        lines {dialog.lines.length === 0 ? 0 : offset + 1}-{Math.min(dialog.lines.length, offset + bodyHeight)} of {dialog.lines.length}
      </Text>
    </Box>
  );
}
