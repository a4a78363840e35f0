/**
 * The start-up recovery prompt: each job an earlier virtdeck left half-done, what happened in
 * plain words, and the choices (finish, roll back, or leave it for later).
 */
import { Box, useInput } from 'ink';
import { Text } from './Text.js';
import { useAppStoreApi } from '../../store/context.js';
import type { RecoveryDialog } from '../../store/types.js';
import { keyName } from '../keymap.js';
import { colorFor } from '../theme.js';
import { clip, useTheme } from './Frame.js';

export function RecoveryView({ dialog, width, height }: { dialog: RecoveryDialog; width: number; height: number }) {
  const store = useAppStoreApi();
  const theme = useTheme();
  const item = dialog.items[dialog.index];
  useInput((input, key) => {
    const name = keyName(input, key);
    const move = (d: number) => store.getState().updateDialog('recovery', (x) => ({ ...x, index: Math.max(0, Math.min(x.index + d, x.items.length - 1)) }));
    if (name === 'up' || name === 'k') move(-1);
    else if (name === 'down' || name === 'j') move(1);
    else if (name === 'esc' || name === 'q' || name === 'enter') {
      if (dialog.busy) return;
      const left = dialog.items.filter((i) => !dialog.results[i.id]).length;
      store.getState().popDialog();
      if (left > 0) store.getState().setMessage(`${left} left as they are; \`virtdeck recover\` offers them again.`);
    } else if (item && !dialog.busy && !dialog.results[item.id]) {
      if (name === 'f') dialog.onChoose(item, 'finish');
      else if (name === 'r' && item.rollback) dialog.onChoose(item, 'rollback');
    }
  });
  const list = dialog.items.map((i, n) => {
    const mark = dialog.results[i.id] ? theme.symbols.ok : dialog.busy === i.id ? '…' : ' ';
    return `${n === dialog.index ? theme.symbols.pointer : ' '} ${mark} ${i.title}`;
  });
  const detail = item
    ? [...item.explanation, item.finish, item.rollback ?? 'Roll back: not possible without losing data; finish it or leave it.', ...(dialog.results[item.id] ? [`Done: ${dialog.results[item.id]}`] : [])]
    : [];
  const room = Math.max(height - list.length - 3, 3);
  return (
    <Box flexDirection="column">
      {list.slice(0, Math.max(height - 6, 2)).map((l) => (
        <Text key={l} wrap="truncate" color={l.startsWith(theme.symbols.pointer) ? colorFor(theme, 'selected') : undefined}>
          {clip(l, width, theme.symbols.ellipsis)}
        </Text>
      ))}
      <Text> </Text>
      {detail.slice(0, room).map((l) => (
        <Text key={l} wrap="wrap">
          {l}
        </Text>
      ))}
      <Text> </Text>
      <Text>
        <Text bold color={colorFor(theme, 'key')}>f</Text> finish{'   '}
        {item?.rollback ? (
          <>
            <Text bold color={colorFor(theme, 'warn')}>r</Text> roll back{'   '}
          </>
        ) : null}
        <Text bold color={colorFor(theme, 'key')}>Esc</Text> leave the rest for later
      </Text>
    </Box>
  );
}
