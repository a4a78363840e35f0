/**
 * Draws a Form (store/form.ts): label, then a text field with its cursor, a choice between ‹ ›,
 * or an action row; the focused field's hint after it. Keys never come here: the store's router
 * edits the form and this only shows the result.
 */
import { Box } from 'ink';
import { type Field, type Form, fieldWindow, isVisible } from '../../store/form.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';

const LABEL_WIDTH = 13;
/** A dialog's or a wizard's inner width at 80 columns. */
const WIDTH = 76;
/** A text field narrower than this gives up the room its hint wanted. */
const MIN_FIELD = 20;

/**
 * The field between its brackets, `room` columns at most: a long value scrolls sideways with the
 * cursor, and a bracket turns into < or > where text is cut off. An empty field stays empty: its
 * placeholder is drawn after it as an example (see `placeholderText`), never where a value goes.
 */
function TextValue({ field, cursor, focused, room }: { field: Field; cursor: number; focused: boolean; room: number }) {
  const shown = field.mask ? field.mask.repeat(field.value.length) : field.value;
  const w = fieldWindow(shown, cursor, room, focused);
  const at = Math.min(cursor, shown.length) - w.start;
  return (
    <Text>
      {w.cutLeft ? '<' : '['}
      {focused ? (
        <Text>
          {w.text.slice(0, at)}
          <Text inverse>{w.text[at] ?? ' '}</Text>
          {w.text.slice(at + 1)}
        </Text>
      ) : (
        w.text || ' '
      )}
      {w.cutRight ? '>' : ']'}
    </Text>
  );
}

/** A placeholder as what it is, an example: `(e.g. 35G)`, dimmed, after the empty field. */
export function placeholderText(field: Field): string {
  return field.kind === 'text' && field.value === '' && field.placeholder ? `(e.g. ${field.placeholder})` : '';
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
  width = WIDTH,
}: { form: Form; theme: Theme; active?: boolean; labelWidth?: number; showChanged?: boolean; brackets?: boolean; width?: number }) {
  const prefix = (theme.ascii ? 2 : 1) + 1 + labelWidth;
  return (
    <Box flexDirection="column">
      {form.fields.map((f, i) => {
        if (!isVisible(form, f)) return null;
        const focused = active && i === form.focus;
        const after = [placeholderText(f), f.hint ?? ''].filter(Boolean).join('  ');
        const full = width - prefix - 2 - (showChanged ? 2 : 0);
        const room = after && full - after.length - 2 >= MIN_FIELD ? full - after.length - 2 : full;
        return (
          <Box key={f.id}>
            <Box flexShrink={0}>
              <Text color={focused ? colorFor(theme, 'accent') : undefined} bold={focused}>
                {(focused ? theme.symbols.pointer : ' ').padEnd(theme.ascii ? 2 : 1)} {f.label.padEnd(labelWidth)}
              </Text>
            </Box>
            {f.kind === 'text' ? (
              <Box flexShrink={0}>
                <TextValue field={f} cursor={form.cursor} focused={focused} room={room} />
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
            {after ? (
              <Text color={colorFor(theme, 'muted')} wrap="truncate-end">
                {'  '}
                {after}
              </Text>
            ) : null}
          </Box>
        );
      })}
    </Box>
  );
}
