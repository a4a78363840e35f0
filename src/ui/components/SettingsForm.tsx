/**
 * The settings form (e), drawn: its fields (store/settingsForm.ts) through FormView, the focused
 * field's help and a refusal under them. Keys never come here: the dialog's key owner
 * (store/dialogs/formDialogs.ts) edits the form in the store.
 */
import { Box } from 'ink';
import { wrapLine } from '../../model/textWrap.js';
import { focused } from '../../store/form.js';
import type { SettingsDialog } from '../../store/types.js';
import { colorFor } from '../theme.js';
import { FormView } from './FormView.js';
import { useTheme } from './Frame.js';
import { Text } from './Text.js';
import { visibleWindow } from './table.js';

const LABEL_WIDTH = 24;

export function SettingsFormView({ dialog, width, height }: { dialog: SettingsDialog; width: number; height: number }) {
  const theme = useTheme();
  const { form } = dialog;
  const errorLines = form.error ? 2 : 0;
  // The focused field's help wraps; the list of fields gives up the rows it takes.
  const help = wrapLine(focused(form)?.help ?? '', width);
  const win = visibleWindow(form.fields.length, form.focus, Math.max(3, height - 2 - help.length - errorLines));
  // A long form scrolls: the rows around the focus, drawn as a form of their own.
  const shown = { ...form, fields: form.fields.slice(win.start, win.end), focus: form.focus - win.start };
  return (
    <Box flexDirection="column">
      <FormView form={shown} theme={theme} labelWidth={LABEL_WIDTH} showChanged width={width} />
      <Text> </Text>
      {help.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the wrapped rows of one help text, in order.
        <Text key={i} color={colorFor(theme, 'muted')}>
          {l || ' '}
        </Text>
      ))}
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
