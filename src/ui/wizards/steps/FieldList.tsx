import { Box, useInput } from 'ink';
import { useRef } from 'react';
import { Text } from '../../components/Text.js';
import { TextField as TextInput } from '../../components/TextField.js';
import { colorFor, type Theme } from '../../theme.js';

/**
 * A few labelled fields on one wizard step: text fields edit in place, choice fields cycle with
 * ←/→ or Space. ↑/↓ and Tab move between fields; Enter anywhere submits the step. Only the
 * focused text field listens to typing, so letters never leak into a choice.
 */

export interface ChoiceOption {
  value: string;
  label: string;
}

interface BaseField {
  key: string;
  label: string;
  /** Shown after the field, dimmed: units, what the default means. */
  hint?: string;
}
export interface TextField extends BaseField {
  kind: 'text';
  value: string;
  placeholder?: string;
  onChange: (value: string) => void;
}
export interface ChoiceField extends BaseField {
  kind: 'choice';
  value: string;
  options: ChoiceOption[];
  onChange: (value: string) => void;
}
export type Field = TextField | ChoiceField;

const LABEL_WIDTH = 13;

export function cycle(options: ChoiceOption[], value: string, delta: number): string {
  if (options.length === 0) return value;
  const i = options.findIndex((o) => o.value === value);
  const next = (((Math.max(i, 0) + delta) % options.length) + options.length) % options.length;
  return options[next]?.value ?? value;
}

export function FieldList(props: { fields: Field[]; focus: number; onFocus: (i: number) => void; onSubmit: () => void; theme: Theme; active: boolean }) {
  const { fields, theme, active } = props;
  const focus = Math.min(props.focus, Math.max(0, fields.length - 1));
  // Keys can arrive faster than React renders (Tab Tab, → → over SSH): each key starts from what
  // the previous key chose, not from the last render, as TextField does for typing.
  const latestFocus = useRef(focus);
  const shownFocus = useRef(focus);
  if (focus !== shownFocus.current) {
    shownFocus.current = focus;
    latestFocus.current = focus;
  }
  const chosen = useRef(new Map<string, string>());
  for (const f of fields) if (f.kind === 'choice') chosen.current.set(f.key, f.value);

  useInput(
    (input, key) => {
      const moveFocus = (delta: number) => {
        latestFocus.current = (latestFocus.current + delta + fields.length) % fields.length;
        props.onFocus(latestFocus.current);
      };
      const current = fields[latestFocus.current];
      if (key.downArrow || (key.tab && !key.shift)) moveFocus(1);
      else if (key.upArrow || (key.tab && key.shift)) moveFocus(-1);
      else if (current?.kind === 'choice') {
        const step = key.rightArrow || input === ' ' ? 1 : key.leftArrow ? -1 : 0;
        if (step !== 0) {
          const next = cycle(current.options, chosen.current.get(current.key) ?? current.value, step);
          chosen.current.set(current.key, next);
          current.onChange(next);
        } else if (key.return) props.onSubmit();
      }
    },
    { isActive: active && fields.length > 0 },
  );

  return (
    <Box flexDirection="column">
      {fields.map((f, i) => {
        const focused = i === focus;
        return (
          <Box key={f.key}>
            <Text color={focused ? colorFor(theme, 'accent') : undefined} bold={focused}>
              {(focused ? theme.symbols.pointer : ' ').padEnd(theme.ascii ? 2 : 1)} {f.label.padEnd(LABEL_WIDTH)}
            </Text>
            {f.kind === 'text' ? (
              <Box>
                <Text>[</Text>
                <TextInput value={f.value} placeholder={f.placeholder} focus={active && focused} onChange={f.onChange} onSubmit={() => props.onSubmit()} showCursor={focused} />
                <Text>]</Text>
              </Box>
            ) : (
              <Text>
                {focused ? (theme.ascii ? '< ' : '‹ ') : '  '}
                {f.options.find((o) => o.value === f.value)?.label ?? (f.value || 'none available')}
                {focused ? (theme.ascii ? ' >' : ' ›') : ''}
              </Text>
            )}
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
