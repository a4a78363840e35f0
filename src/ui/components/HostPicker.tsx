/**
 * `H`: which host virtdeck acts on. Lists this one and the hosts of the config file (name and
 * URI); Enter switches — the console starts again on the chosen host, so nothing of the old one
 * (guest list, pane state, watchers) leaks into the new one.
 */
import { Box } from 'ink';
import type { HostPickerDialog } from '../../store/types.js';
import { colorFor } from '../theme.js';
import { clip, useTheme } from './Frame.js';
import { Text } from './Text.js';

export function HostPickerView({ dialog, width, height }: { dialog: HostPickerDialog; width: number; height: number }) {
  const theme = useTheme();
  const nameWidth = Math.min(20, Math.max(6, ...dialog.hosts.map((h) => h.name.length)));
  const rows = dialog.hosts.map((h, i) => {
    const pointer = i === dialog.index ? theme.symbols.pointer : ' ';
    return { key: `${h.name}|${h.uri}`, selected: i === dialog.index, text: `${pointer} ${h.name.padEnd(nameWidth)}  ${h.uri}${h.current ? '   (current)' : ''}` };
  });
  return (
    <Box flexDirection="column">
      <Text>Act on which host? Disk and file work runs over SSH on remote ones.</Text>
      <Text> </Text>
      {rows.slice(0, Math.max(1, height - 5)).map((r) => (
        <Text key={r.key} wrap="truncate" bold={r.selected} color={r.selected ? colorFor(theme, 'selected') : undefined}>
          {clip(r.text, width, theme.symbols.ellipsis)}
        </Text>
      ))}
      <Text> </Text>
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        Hosts come from the config file ("hosts": name, uri, ssh); :host NAME switches without this list.
      </Text>
    </Box>
  );
}
