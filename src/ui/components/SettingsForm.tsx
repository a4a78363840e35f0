/**
 * The settings form (e), drawn: its fields (store/settingsForm.ts) through FormView, the focused
 * field's help and a refusal under them. Keys never come here: the dialog's key owner
 * (store/dialogs/formDialogs.ts) edits the form in the store.
 */
import { Box } from 'ink';
import { focused } from '../../store/form.js';
import type { SettingsDialog } from '../../store/types.js';
import { colorFor } from '../theme.js';
import { FormView } from './FormView.js';
import { clip, useTheme } from './Frame.js';
import { Text } from './Text.js';
import { visibleWindow } from './table.js';

const LABEL_WIDTH = 24;

export function SettingsFormView({ dialog, width, height }: { dialog: SettingsDialog; width: number; height: number }) {
  const theme = useTheme();
  const { form } = dialog;
  const errorLines = form.error ? 2 : 0;
  const win = visibleWindow(form.fields.length, form.focus, Math.max(3, height - 3 - errorLines));
  // A long form scrolls: the rows around the focus, drawn as a form of their own.
  const shown = { ...form, fields: form.fields.slice(win.start, win.end), focus: form.focus - win.start };
  return (
    <Box flexDirection="column">
      <FormView form={shown} theme={theme} labelWidth={LABEL_WIDTH} showChanged width={width} />
      <Text> </Text>
      <Text color={colorFor(theme, 'muted')} wrap="truncate">
        {clip(focused(form)?.help ?? '', width, theme.symbols.ellipsis)}
      </Text>
      {form.error ? (
        <Box flexDirection="column">
          <Text color={colorFor(theme, 'error')} wrap="wrap">
            {theme.symbols.warn} {form.error.sentence}
          </Text>
          <Text wrap="wrap">Fix: {form.error.fix}</Text>
        </Box>
      ) : null}
    </Box>
  );
}
