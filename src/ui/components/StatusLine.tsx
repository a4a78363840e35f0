import { useApp } from '../../store/context.js';
import { completeCommand } from '../../store/keys/router.js';
import { paneFilters } from '../../store/paneIds.js';
import { colorFor } from '../theme.js';
import { clip, useTheme } from './Frame.js';
import { Text } from './Text.js';

const NO_GUESTS: { name: string }[] = [];

/** The line above the key hints: the filter or command being typed, else the last message. */
export function StatusLine({ width }: { width: number }) {
  const theme = useTheme();
  const inputMode = useApp((s) => s.inputMode);
  // A pane without a list filter does not claim one.
  const filter = useApp((s) => (paneFilters(s.pane) ? s.filter : ''));
  const command = useApp((s) => s.command);
  const message = useApp((s) => s.message);
  // Read for completion only: a refresh's new list does not redraw the message line.
  const guests = useApp((s) => (s.inputMode === 'command' ? s.guests : NO_GUESTS));
  // In Guests, m migrates the selected guest: there the cut message says :message.
  const more = useApp((s) => (s.pane === 'guests' ? '(:message)' : '(m)'));
  const cursor = theme.symbols.cursor;
  if (inputMode === 'filter') return <Text wrap="truncate">/{filter}{cursor}</Text>;
  if (inputMode === 'command') {
    const options = completeCommand(command, guests.map((g) => g.name)).slice(0, 6);
    const line = `:${command}${cursor}`;
    const rest = options.length ? `   ${options.join('  ')}` : '';
    return (
      <Text wrap="truncate">
        {line}
        <Text color={colorFor(theme, 'muted')}>{clip(rest, width - line.length, theme.symbols.ellipsis)}</Text>
      </Text>
    );
  }
  if (filter) {
    const text = message ? `  ${message.text}` : '';
    return (
      <Text wrap="truncate">
        <Text color={colorFor(theme, 'accent')}>filter /{filter}</Text>
        {text.length <= width - filter.length - 8 ? text : `${clip(text, width - filter.length - 9 - more.length, theme.symbols.ellipsis)} ${more}`}
      </Text>
    );
  }
  if (!message) return <Text> </Text>;
  const color = message.kind === 'error' ? colorFor(theme, 'error') : message.kind === 'busy' ? colorFor(theme, 'warn') : colorFor(theme, 'ok');
  const prefix = message.kind === 'error' ? `${theme.symbols.warn} ` : '';
  const full = prefix + message.text;
  // A message cut at the edge says which key shows it whole.
  return (
    <Text color={color} wrap="truncate">
      {full.length <= width ? full : `${clip(full, width - 1 - more.length, theme.symbols.ellipsis)} ${more}`}
    </Text>
  );
}
