/**
 * The modal dialogs. Only the top dialog is rendered, and it alone listens to keys, so a modal
 * always consumes a key before the pane behind it.
 */
import { Box, useInput } from 'ink';
import { Text } from './Text.js';
import { shellQuote } from '../../model/shellQuote.js';
import { useApp, useAppStoreApi } from '../../store/context.js';
import type { ConfirmDialog, DiffDialog, ErrorDialog, HelpDialog, TextDialog, TypeNameDialog } from '../../store/types.js';
import { displayKey, helpBindings, keyName, PANES } from '../keymap.js';
import { colorFor } from '../theme.js';
import { clip, useTheme } from './Frame.js';

export interface DialogProps<D> {
  dialog: D;
  width: number;
  height: number;
}

function clampOffset(offset: number, total: number, height: number): number {
  return Math.max(0, Math.min(offset, total - height));
}

/** Scroll keys shared by every long view; returns the new offset, or null when the key is not a scroll key. */
export function scrollBy(name: string, offset: number, total: number, height: number): number | null {
  const page = Math.max(1, height - 1);
  const moves: Record<string, number> = { up: -1, k: -1, down: 1, j: 1, pageup: -page, pagedown: page, ' ': page };
  if (name in moves) return clampOffset(clampOffset(offset, total, height) + (moves[name] ?? 0), total, height);
  if (name === 'g' || name === 'home') return 0;
  if (name === 'G' || name === 'end') return clampOffset(total, total, height);
  return null;
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

export function ConfirmView({ dialog }: DialogProps<ConfirmDialog>) {
  const store = useAppStoreApi();
  const theme = useTheme();
  useInput((input, key) => {
    const name = keyName(input, key);
    if (name === 'y' || name === 'Y') {
      store.getState().popDialog();
      void dialog.onYes();
    } else if (name === 'n' || name === 'N' || name === 'esc' || name === 'q') {
      store.getState().popDialog();
      dialog.onNo?.();
    }
  });
  return (
    <Box flexDirection="column">
      {dialog.lines.map((l) => (
        <Text key={l}>{l}</Text>
      ))}
      <Text> </Text>
      <Text>
        <Text bold color={colorFor(theme, 'warn')}>
          y
        </Text>{' '}
        {dialog.yes}
        {'    '}
        <Text bold color={colorFor(theme, 'key')}>
          n
        </Text>{' '}
        keep as is
      </Text>
    </Box>
  );
}

export function TypeNameView({ dialog }: DialogProps<TypeNameDialog>) {
  const store = useAppStoreApi();
  const theme = useTheme();
  const matches = dialog.typed === dialog.name;
  useInput((input, key) => {
    const s = store.getState();
    const name = keyName(input, key);
    if (name === 'esc') return s.popDialog();
    if (name === 'tab' || name === 'shift-tab' || name === 'up' || name === 'down') {
      if (dialog.checkbox === null) return;
      return s.updateDialog('typeName', (d) => ({ ...d, focus: d.focus === 'name' ? 'deleteDisks' : 'name' }));
    }
    if (name === 'enter') {
      if (!matches) return;
      s.popDialog();
      void dialog.onConfirm(dialog.deleteDisks);
      return;
    }
    if (dialog.focus === 'deleteDisks') {
      if (name === ' ' || name === 'x') s.updateDialog('typeName', (d) => ({ ...d, deleteDisks: !d.deleteDisks }));
      return;
    }
    if (name === 'backspace') return s.updateDialog('typeName', (d) => ({ ...d, typed: d.typed.slice(0, -1) }));
    if (input && !key.ctrl && !key.meta && name.length >= 1 && name === input) {
      s.updateDialog('typeName', (d) => ({ ...d, typed: d.typed + input }));
    }
  });
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
  const store = useAppStoreApi();
  const theme = useTheme();
  useInput((input, key) => {
    const s = store.getState();
    const name = keyName(input, key);
    if (name === 'd') return s.updateDialog('error', (d) => ({ ...d, showDetails: !d.showDetails }));
    if (dialog.retry && name === dialog.retry.key) return void dialog.retry.run();
    if (name === 'esc' || name === 'enter' || name === 'q') s.popDialog();
  });
  const e = dialog.error;
  const ran = e.command.length ? e.command.map(shellQuote).join(' ') : null;
  const stderr = e.stderr ? e.stderr.split('\n') : ['(no output)'];
  const fixed = 3 + (ran ? 1 : 0) + (dialog.retry ? 2 : 0);
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">{e.sentence}</Text>
      <Text wrap="wrap">
        <Text bold>Fix: </Text>
        {e.fix}
      </Text>
      {ran ? (
        <Text wrap="truncate">
          <Text color={colorFor(theme, 'muted')}>Ran: </Text>
          {clip(ran, width - 5, theme.symbols.ellipsis)}
        </Text>
      ) : null}
      {dialog.showDetails ? (
        <Box flexDirection="column" marginTop={1}>
          <Lines lines={stderr.slice(0, Math.max(1, height - fixed - 2))} width={width} color={() => colorFor(theme, 'muted')} />
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

function useScroll(kind: 'text' | 'help' | 'diff', offset: number, total: number, height: number, onOther: (name: string) => void) {
  const store = useAppStoreApi();
  useInput((input, key) => {
    const name = keyName(input, key);
    const next = scrollBy(name, offset, total, height);
    if (next !== null) return store.getState().updateDialog(kind, (d) => ({ ...d, offset: next }));
    onOther(name);
  });
}

export function TextView({ dialog, width, height }: DialogProps<TextDialog>) {
  const store = useAppStoreApi();
  const offset = clampOffset(dialog.offset, dialog.lines.length, height);
  useScroll('text', offset, dialog.lines.length, height, (name) => {
    if (name === 'esc' || name === 'q' || name === 'enter') store.getState().popDialog();
  });
  return <Lines lines={dialog.lines.slice(offset, offset + height)} width={width} />;
}

export function helpLines(pane: (typeof PANES)[number]['id']): string[] {
  const lines = [`Keys in the ${PANES.find((p) => p.id === pane)?.title ?? pane} pane:`];
  for (const b of helpBindings(pane)) {
    const keys = b.keys.map(displayKey).join(' ');
    const cmd = b.command ? `  (:${b.command.name}${b.command.guest ? ' NAME' : ''})` : '';
    lines.push(`  ${keys.padEnd(14)} ${b.description}${cmd}`);
  }
  lines.push('', 'Commands after ":" complete with Tab; a command without NAME acts on the selected guest.');
  return lines;
}

export function HelpView({ dialog, width, height }: DialogProps<HelpDialog>) {
  const store = useAppStoreApi();
  const pane = useApp((s) => s.pane);
  const lines = helpLines(pane);
  const offset = clampOffset(dialog.offset, lines.length, height);
  useScroll('help', offset, lines.length, height, (name) => {
    if (name === 'esc' || name === 'q' || name === '?' || name === 'enter') store.getState().popDialog();
  });
  return <Lines lines={lines.slice(offset, offset + height)} width={width} />;
}

export function DiffView({ dialog, width, height }: DialogProps<DiffDialog>) {
  const store = useAppStoreApi();
  const theme = useTheme();
  const bodyHeight = Math.max(1, height - dialog.summary.length - 2);
  const offset = clampOffset(dialog.offset, dialog.lines.length, bodyHeight);
  useScroll('diff', offset, dialog.lines.length, bodyHeight, (name) => {
    if (name === 'y' || name === 'enter') void dialog.onApply();
    else if (name === 'n' || name === 'esc' || name === 'q') {
      store.getState().popDialog();
      dialog.onCancel?.();
    }
  });
  const lineColor = (l: string) =>
    l.startsWith('+') && !l.startsWith('+++') ? colorFor(theme, 'ok') : l.startsWith('-') && !l.startsWith('---') ? colorFor(theme, 'error') : l.startsWith('@@') ? colorFor(theme, 'accent') : undefined;
  return (
    <Box flexDirection="column">
      <Lines lines={dialog.summary} width={width} />
      <Lines lines={dialog.lines.slice(offset, offset + bodyHeight)} width={width} color={lineColor} />
      <Text> </Text>
      <Text>
        <Text bold color={colorFor(theme, 'key')}>
          y
        </Text>{' '}
        apply{'   '}
        <Text bold color={colorFor(theme, 'key')}>
          n
        </Text>{' '}
        cancel{'   '}
        <Text color={colorFor(theme, 'muted')}>
          lines {dialog.lines.length === 0 ? 0 : offset + 1}-{Math.min(dialog.lines.length, offset + bodyHeight)} of {dialog.lines.length}
        </Text>
      </Text>
    </Box>
  );
}
