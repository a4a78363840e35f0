/**
 * A pane's small form in the dialog area (new image, attach to guest), drawn: its lines, the
 * fields through FormView, the focused field's help and a refusal under them. The form lives in
 * the dialog (app store), whose key owner (store/dialogs/formDialogs.ts) edits and submits it.
 */
import { Box } from 'ink';
import { wrapLines } from '../../../model/textWrap.js';
import { focused } from '../../../store/form.js';
import type { FormDialog } from '../../../store/types.js';
import { FormView } from '../../components/FormView.js';
import { useTheme } from '../../components/Frame.js';
import { Text } from '../../components/Text.js';
import { colorFor } from '../../theme.js';

export function FormDialogView({ dialog, width }: { dialog: FormDialog; width: number; height: number }) {
  const theme = useTheme();
  const { form } = dialog;
  const labelWidth = Math.max(...form.fields.map((f) => f.label.length)) + 1;
  const help = focused(form)?.help;
  return (
    <Box flexDirection="column">
      {wrapLines(dialog.lines, width).map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the wrapped rows of fixed lines, in order.
        <Text key={i}>{l || ' '}</Text>
      ))}
      {dialog.lines.length ? <Text> </Text> : null}
      <FormView form={form} theme={theme} labelWidth={labelWidth} width={width} />
      <Text> </Text>
      {help ? (
        <Text color={colorFor(theme, 'muted')} wrap="wrap">
          {help}
        </Text>
      ) : null}
      {form.error ? (
        <>
          <Text color={colorFor(theme, 'error')} wrap="wrap">
            {theme.symbols.warn} {form.error.sentence}
          </Text>
          <Text wrap="wrap">Fix: {form.error.fix}</Text>
        </>
      ) : null}
    </Box>
  );
}
