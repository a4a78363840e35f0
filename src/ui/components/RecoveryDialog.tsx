/**
 * The start-up recovery prompt: each job an earlier virtdeck left half-done, what happened in
 * plain words, and the choices (finish, roll back, or leave it for later).
 */
import { Box } from 'ink';
import { scopesOf } from '../../store/dialogs/dialogKeys.js';
import { hintsFor } from '../../store/keys/router.js';
import type { RecoveryDialog } from '../../store/types.js';
import { colorFor } from '../theme.js';
import { clip, KeyHints, useTheme } from './Frame.js';
import { Text } from './Text.js';

export function RecoveryView({ dialog, width, height }: { dialog: RecoveryDialog; width: number; height: number }) {
  const theme = useTheme();
  const item = dialog.items[dialog.index];
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
      <KeyHints hints={hintsFor(scopesOf(dialog)).filter((h) => h.keys !== 'Up/Down')} width={width} />
    </Box>
  );
}
