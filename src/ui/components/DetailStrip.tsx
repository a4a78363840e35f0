import { Box } from 'ink';
import { useSyncExternalStore } from 'react';
import type { GuestRow } from '../../host/virsh.js';
import { guestNotesVersion, guestWarnings, subscribeGuestNotes } from '../../store/warnings.js';
import { colorFor } from '../theme.js';
import { clip, useTheme } from './Frame.js';
import { Text } from './Text.js';

export function detailLines(g: GuestRow): string[] {
  const disks = g.disks.map((d) => `${d.target.padEnd(4)} ${(d.source ?? (d.device === 'cdrom' ? '(no disc)' : '(no image)')).padEnd(36)} ${(d.format ?? '-').padEnd(6)} ${d.bus}${d.device === 'disk' ? '' : ` ${d.device}`}`);
  const nics = g.nics.map((n) => `net  ${[n.type, n.source].filter(Boolean).join(' ').padEnd(36)} ${n.mac}${n.model ? `  ${n.model}` : ''}`);
  const vnc = g.vnc ? [`vnc  ${g.vnc.port === 'auto' ? 'port chosen at start' : `port ${g.vnc.port}`} on ${g.vnc.listen ?? '127.0.0.1'}   (v: how to connect)`] : [];
  return [...disks, ...nics, ...vnc];
}

/** What the selected guest is made of, in `height` lines; a warning always gets a line. */
/** `usage`: the lines of what the guest is using now, first. */
export function DetailStrip({ guest, all, width, height, usage = [] }: { guest: GuestRow | null; all: GuestRow[]; width: number; height: number; usage?: string[] }) {
  const theme = useTheme();
  // Drawn again when another pane's notes change (a snapshot found too old), not only with the guest.
  useSyncExternalStore(subscribeGuestNotes, guestNotesVersion);
  if (!guest) return <Text color={colorFor(theme, 'muted')}>No guest selected.</Text>;
  const warnings = guestWarnings(guest, all);
  const shownWarnings = warnings.slice(0, Math.min(warnings.length, height > 1 ? 1 : 0));
  let body = [...usage, ...detailLines(guest)];
  const room = height - shownWarnings.length;
  if (body.length > room) {
    const more = body.length - room + 1;
    body = [...body.slice(0, room - 1), `${theme.symbols.ellipsis} ${more} more (Enter shows everything)`];
  }
  return (
    <Box flexDirection="column">
      {body.map((l) => (
        <Text key={l} wrap="truncate">
          {clip(l, width, theme.symbols.ellipsis)}
        </Text>
      ))}
      {shownWarnings.map((w) => (
        <Text key={w} color={colorFor(theme, 'warn')} wrap="truncate">
          {clip(`${theme.symbols.warn} ${w}`, width, theme.symbols.ellipsis)}
        </Text>
      ))}
    </Box>
  );
}
