/**
 * A small form in the dialog area: text fields and choices, Enter to submit, Esc to cancel. The
 * fields live in the dialog (app store), so tests read what was typed; a UserError thrown by
 * onSubmit keeps the form open with its sentence and fix under the fields.
 */
import { Box, useInput } from 'ink';
import { UserError } from '../../../model/userError.js';
import { useAppStoreApi } from '../../../store/context.js';
import { keyName } from '../../../store/keys/keyName.js';
import { toShownError } from '../../../store/shownError.js';
import type { FormDialog, FormDialogField } from '../../../store/types.js';
import { clip, useTheme } from '../../components/Frame.js';
import { Text } from '../../components/Text.js';
import { colorFor } from '../../theme.js';

function cycle(field: FormDialogField, step: 1 | -1): string {
  const options = field.options ?? [];
  const i = options.indexOf(field.value);
  return options[(i + step + options.length) % options.length] ?? field.value;
}

export function FormDialogView({ dialog, width }: { dialog: FormDialog; width: number; height: number }) {
  const store = useAppStoreApi();
  const theme = useTheme();
  useInput((input, key) => {
    const s = store.getState();
    const name = keyName(input, key);
    const setField = (change: (f: FormDialogField) => FormDialogField) =>
      s.updateDialog('form', (d) => ({ ...d, error: null, fields: d.fields.map((f, i) => (i === d.focus ? change(f) : f)) }));
    const field = dialog.fields[dialog.focus];
    if (name === 'esc') return s.popDialog();
    if (name === 'up' || name === 'shift-tab') return s.updateDialog('form', (d) => ({ ...d, focus: (d.focus - 1 + d.fields.length) % d.fields.length }));
    if (name === 'down' || name === 'tab') return s.updateDialog('form', (d) => ({ ...d, focus: (d.focus + 1) % d.fields.length }));
    if (name === 'enter') {
      const values = Object.fromEntries(dialog.fields.map((f) => [f.id, f.value]));
      // Popped first so the submit can open the next dialog (an error, a confirmation) on top.
      s.popDialog();
      void (async () => {
        try {
          await dialog.onSubmit(values);
        } catch (e) {
          const shown = e instanceof UserError ? { sentence: e.sentence, fix: e.fix } : (({ sentence, fix }) => ({ sentence, fix }))(toShownError(e));
          store.getState().pushDialog({ ...dialog, error: shown });
        }
      })();
      return;
    }
    if (!field) return;
    if (field.kind === 'choice') {
      if (name === 'left' || name === 'h') setField((f) => ({ ...f, value: cycle(f, -1) }));
      else if (name === 'right' || name === 'l' || name === ' ') setField((f) => ({ ...f, value: cycle(f, 1) }));
      return;
    }
    if (name === 'backspace') return setField((f) => ({ ...f, value: f.value.slice(0, -1) }));
    if (input && !key.ctrl && !key.meta && name === input) setField((f) => ({ ...f, value: f.value + input }));
  });
  const labelWidth = Math.max(...dialog.fields.map((f) => f.label.length)) + 2;
  return (
    <Box flexDirection="column">
      {dialog.lines.map((l) => (
        <Text key={l} wrap="truncate">
          {clip(l, width, theme.symbols.ellipsis)}
        </Text>
      ))}
      {dialog.lines.length ? <Text> </Text> : null}
      {dialog.fields.map((f, i) => {
        const focused = i === dialog.focus;
        const value = f.kind === 'choice' ? (f.options ?? []).map((o) => (o === f.value ? `[${o}]` : ` ${o} `)).join(' ') : `[${f.value}${focused ? theme.symbols.cursor : ''}]`;
        return (
          <Text key={f.id} wrap="truncate" color={focused ? colorFor(theme, 'accent') : undefined}>
            {focused ? theme.symbols.pointer.slice(0, 1) : ' '} {f.label.padEnd(labelWidth)}
            {clip(value, width - labelWidth - 3, theme.symbols.ellipsis)}
          </Text>
        );
      })}
      <Text> </Text>
      {dialog.fields[dialog.focus]?.help ? <Text color={colorFor(theme, 'muted')}>{clip(dialog.fields[dialog.focus]?.help ?? '', width, theme.symbols.ellipsis)}</Text> : null}
      {dialog.error ? (
        <>
          <Text color={colorFor(theme, 'error')} wrap="wrap">
            {theme.symbols.warn} {dialog.error.sentence}
          </Text>
          <Text wrap="wrap">Fix: {dialog.error.fix}</Text>
        </>
      ) : null}
      <Text>
        <Text bold color={colorFor(theme, 'key')}>
          Enter
        </Text>{' '}
        {dialog.submit}
        {'   '}
        <Text bold color={colorFor(theme, 'key')}>
          Esc
        </Text>{' '}
        cancel
      </Text>
    </Box>
  );
}
