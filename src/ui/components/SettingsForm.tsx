/**
 * The settings form (e). Up/Down move between fields, typing edits text fields, Space or
 * Left/Right cycles choices, k/w on a "generate" row fill the MAC above; Ctrl-S or the Save row
 * shows the XML diff. Bad input shows its sentence here and nothing changes.
 */
import { Box, useInput } from 'ink';
import { randomMac } from '../../model/mac.js';
import { useAppStoreApi } from '../../store/context.js';
import { keyName } from '../../store/keys/keyName.js';
import { cycleChoice, type FormField } from '../../store/settingsForm.js';
import type { SettingsDialog } from '../../store/types.js';
import { colorFor } from '../theme.js';
import { clip, useTheme } from './Frame.js';
import { Text } from './Text.js';
import { visibleWindow } from './table.js';

const LABEL_WIDTH = 24;

export function SettingsFormView({ dialog, width, height }: { dialog: SettingsDialog; width: number; height: number }) {
  const store = useAppStoreApi();
  const theme = useTheme();
  const saveIndex = dialog.fields.length;
  const focused: FormField | undefined = dialog.fields[dialog.focus];

  useInput((input, key) => {
    const s = store.getState();
    const name = keyName(input, key);
    const setFields = (change: (f: FormField) => FormField) =>
      s.updateDialog('settings', (d) => ({ ...d, error: null, fields: d.fields.map((f, i) => (i === d.focus ? change(f) : f)) }));
    const move = (step: number) => s.updateDialog('settings', (d) => ({ ...d, focus: Math.min(Math.max(d.focus + step, 0), saveIndex) }));
    if (name === 'esc') return s.popDialog();
    if (name === 'ctrl-s') return s.saveSettings();
    if (name === 'up' || name === 'shift-tab') return move(-1);
    if (name === 'down' || name === 'tab') return move(1);
    if (name === 'enter') return dialog.focus === saveIndex ? s.saveSettings() : move(1);
    if (!focused) return;
    if (focused.kind === 'choice') {
      if (name === ' ' || name === 'right' || name === 'l') setFields((f) => cycleChoice(f, 1));
      else if (name === 'left' || name === 'h') setFields((f) => cycleChoice(f, -1));
      return;
    }
    if (focused.kind === 'macgen') {
      if (name !== 'k' && name !== 'w') return;
      const mac = randomMac(name === 'k' ? 'kvm' : 'vmware');
      s.updateDialog('settings', (d) => ({ ...d, error: null, fields: d.fields.map((f) => (f.id === `mac:${focused.nicIndex}` ? { ...f, value: mac } : f)) }));
      return;
    }
    if (name === 'backspace') return setFields((f) => ({ ...f, value: f.value.slice(0, -1) }));
    if (name === 'ctrl-u') return setFields((f) => ({ ...f, value: '' }));
    if (input && !key.ctrl && !key.meta && name === input) setFields((f) => ({ ...f, value: f.value + input }));
  });

  const errorLines = dialog.error ? 2 : 0;
  const listHeight = Math.max(3, height - 3 - errorLines);
  const rows = [...dialog.fields.map((f, i) => ({ f, i })), { f: null, i: saveIndex }];
  const win = visibleWindow(rows.length, dialog.focus, listHeight);
  const accent = colorFor(theme, 'accent');
  const valueWidth = width - LABEL_WIDTH - 3;

  return (
    <Box flexDirection="column">
      {rows.slice(win.start, win.end).map(({ f, i }) => {
        const active = i === dialog.focus;
        const pointer = active ? theme.symbols.pointer.slice(0, 1) : ' ';
        if (!f) {
          return (
            <Text key="save" bold={active} color={active ? accent : undefined}>
              {pointer} [ Save: show the changes ]
            </Text>
          );
        }
        const changed = f.kind !== 'macgen' && f.value !== f.original;
        let value: string;
        if (f.kind === 'macgen') value = 'k: 52:54:00 (KVM)   w: 00:50:56 (VMware)';
        else if (f.kind === 'choice') value = `< ${f.value} >`;
        else value = `[${f.value}${active ? theme.symbols.cursor : ''}]`;
        return (
          <Text key={f.id} wrap="truncate" color={active ? accent : undefined} bold={active}>
            {pointer} {f.label.padEnd(LABEL_WIDTH).slice(0, LABEL_WIDTH)}
            {clip(value, valueWidth, theme.symbols.ellipsis)}
            {changed ? <Text color={colorFor(theme, 'warn')}>{theme.ascii ? ' *' : ' •'}</Text> : null}
          </Text>
        );
      })}
      <Text> </Text>
      <Text color={colorFor(theme, 'muted')} wrap="truncate">
        {clip(focused?.help ?? 'Enter shows the XML diff before anything is applied.', width, theme.symbols.ellipsis)}
      </Text>
      {dialog.error ? (
        <Box flexDirection="column">
          <Text color={colorFor(theme, 'error')} wrap="wrap">
            {theme.symbols.warn} {dialog.error.sentence}
          </Text>
          <Text wrap="wrap">Fix: {dialog.error.fix}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
