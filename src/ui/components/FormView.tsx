/**
 * Draws a Form (store/form.ts): label, then a text field with its cursor, a choice between ‹ ›,
 * or an action row; the focused field's hint after it. Keys never come here: the store's router
 * edits the form and this only shows the result.
 */
import { Box } from 'ink';
import { type Field, type Form, isVisible } from '../../store/form.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';

const LABEL_WIDTH = 13;

function TextValue({ field, cursor, focused }: { field: Field; cursor: number; focused: boolean }) {
  const shown = field.mask ? field.mask.repeat(field.value.length) : field.value;
  const placeholder = field.placeholder ?? '';
  if (!focused) return <Text>{shown.length > 0 ? shown : <Text dimColor>{placeholder}</Text>}</Text>;
  if (shown.length === 0) {
    return (
      <Text>
        <Text inverse>{placeholder[0] ?? ' '}</Text>
        <Text dimColor>{placeholder.slice(1)}</Text>
      </Text>
    );
  }
  const at = Math.min(cursor, shown.length);
  return (
    <Text>
      {shown.slice(0, at)}
      <Text inverse>{shown[at] ?? ' '}</Text>
      {shown.slice(at + 1)}
    </Text>
  );
}

/**
 * `showChanged` marks a field whose value differs from the one the form opened with (settings);
 * `brackets` puts every choice between < >, focused or not (the Backups pane's forms have always shown them so).
 */
export function FormView({
  form,
  theme,
  active = true,
  labelWidth = LABEL_WIDTH,
  showChanged = false,
  brackets = false,
}: { form: Form; theme: Theme; active?: boolean; labelWidth?: number; showChanged?: boolean; brackets?: boolean }) {
  return (
    <Box flexDirection="column">
      {form.fields.map((f, i) => {
        if (!isVisible(form, f)) return null;
        const focused = active && i === form.focus;
        return (
          <Box key={f.id}>
            <Text color={focused ? colorFor(theme, 'accent') : undefined} bold={focused}>
              {(focused ? theme.symbols.pointer : ' ').padEnd(theme.ascii ? 2 : 1)} {f.label.padEnd(labelWidth)}
            </Text>
            {f.kind === 'text' ? (
              <Box>
                <Text>[</Text>
                <TextValue field={f} cursor={form.cursor} focused={focused} />
                <Text>]</Text>
              </Box>
            ) : f.kind === 'choice' ? (
              <Text>
                {brackets ? '< ' : focused ? (theme.ascii ? '< ' : '‹ ') : '  '}
                {f.options?.find((o) => o.value === f.value)?.label ?? (f.value || 'none available')}
                {brackets ? ' >' : focused ? (theme.ascii ? ' >' : ' ›') : ''}
              </Text>
            ) : (
              <Text>{f.value}</Text>
            )}
            {showChanged && f.kind !== 'action' && f.value !== f.original ? <Text color={colorFor(theme, 'warn')}>{theme.ascii ? ' *' : ' •'}</Text> : null}
            {f.hint ? (
              <Text color={colorFor(theme, 'muted')} wrap="truncate-end">
                {'  '}
                {f.hint}
              </Text>
            ) : null}
          </Box>
        );
      })}
    </Box>
  );
}
