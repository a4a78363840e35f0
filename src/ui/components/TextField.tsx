/**
 * A one-line text field with ink-text-input's props. ink-text-input computes each key from the
 * value of its last render, so keys that arrive faster than React renders (typing over SSH, a held
 * Backspace, tmux send-keys) are lost. Here the value and cursor live in refs updated on every
 * key, and the parent's `value` is only the render source.
 */
import { useInput } from 'ink';
import { useRef, useState } from 'react';
import { Text } from './Text.js';

export interface TextFieldProps {
  value: string;
  onChange: (value: string) => void;
  onSubmit?: (value: string) => void;
  placeholder?: string;
  focus?: boolean;
  /** Show this character instead of each typed one (passwords). */
  mask?: string;
  showCursor?: boolean;
}

export function TextField({ value, onChange, onSubmit, placeholder = '', focus = true, mask, showCursor = true }: TextFieldProps) {
  const latest = useRef(value);
  const cursor = useRef(value.length);
  // A value the parent set (reset, generated MAC) replaces ours; one we emitted is already ours.
  const emitted = useRef(value);
  if (value !== emitted.current) {
    latest.current = value;
    emitted.current = value;
    cursor.current = value.length;
  }
  const [, rerender] = useState(0);

  useInput(
    (input, key) => {
      if (key.upArrow || key.downArrow || key.tab || (key.ctrl && input === 'c') || key.escape) return;
      if (key.return) {
        onSubmit?.(latest.current);
        return;
      }
      const v = latest.current;
      const at = Math.min(cursor.current, v.length);
      let next = v;
      let nextAt = at;
      if (key.leftArrow) nextAt = Math.max(0, at - 1);
      else if (key.rightArrow) nextAt = Math.min(v.length, at + 1);
      else if (key.ctrl && input === 'a') nextAt = 0;
      else if (key.ctrl && input === 'e') nextAt = v.length;
      else if (key.ctrl && input === 'u') {
        next = v.slice(at);
        nextAt = 0;
      } else if (key.backspace || key.delete) {
        if (at > 0) {
          next = v.slice(0, at - 1) + v.slice(at);
          nextAt = at - 1;
        }
      } else if (key.ctrl || key.meta) {
        return;
      } else if (input) {
        next = v.slice(0, at) + input + v.slice(at);
        nextAt = at + input.length;
      }
      latest.current = next;
      cursor.current = nextAt;
      if (next !== v) {
        emitted.current = next;
        onChange(next);
      } else rerender((n) => n + 1);
    },
    { isActive: focus },
  );

  const shown = mask ? mask.repeat(latest.current.length) : latest.current;
  if (!focus || !showCursor) {
    return <Text>{shown.length > 0 ? shown : <Text dimColor>{placeholder}</Text>}</Text>;
  }
  if (shown.length === 0) {
    return (
      <Text>
        <Text inverse>{placeholder[0] ?? ' '}</Text>
        <Text dimColor>{placeholder.slice(1)}</Text>
      </Text>
    );
  }
  const at = Math.min(cursor.current, shown.length);
  return (
    <Text>
      {shown.slice(0, at)}
      <Text inverse>{shown[at] ?? ' '}</Text>
      {shown.slice(at + 1)}
    </Text>
  );
}
