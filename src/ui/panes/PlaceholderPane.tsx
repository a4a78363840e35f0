import { Box, Text } from 'ink';
import type { PaneId } from '../keymap.js';
import { colorFor } from '../theme.js';
import { useTheme } from '../components/Frame.js';

/** What each later pane will hold. Said plainly: these are not built yet and do nothing. */
const PLANNED: Record<Exclude<PaneId, 'guests'>, { title: string; lines: string[] }> = {
  disks: {
    title: 'Disks',
    lines: [
      'Will list every disk image of every guest: format, virtual and allocated size, backing chain,',
      'and which guest uses it; with wizards to expand, convert (e.g. vmdk to qcow2) and check an image.',
    ],
  },
  backups: {
    title: 'Backups',
    lines: [
      'Will list backup sets per guest (full and incremental, with their manifests), run a backup now,',
      'apply retention (keep-last/daily/weekly/monthly), and restore a guest or single files.',
    ],
  },
  host: {
    title: 'Host',
    lines: [
      'Will show the host checks: KVM or TCG and why, libvirtd and virtlogd, bridges and networks,',
      'free space where images and backups live, memory committed to guests.',
    ],
  },
  jobs: {
    title: 'Jobs',
    lines: [
      'Will show running and finished jobs (backups, conversions, imports) with their progress,',
      'and offer to finish or roll back a job that was interrupted.',
    ],
  },
};

export function PlaceholderPane({ pane }: { pane: Exclude<PaneId, 'guests'> }) {
  const theme = useTheme();
  const p = PLANNED[pane];
  return (
    <Box flexDirection="column">
      <Text bold>{p.title}: not built yet.</Text>
      <Text> </Text>
      {p.lines.map((l) => (
        <Text key={l} color={colorFor(theme, 'muted')}>
          {l}
        </Text>
      ))}
      <Text> </Text>
      <Text>Nothing in this pane works yet. Press 1 for Guests; the command line (:) works from here.</Text>
    </Box>
  );
}
