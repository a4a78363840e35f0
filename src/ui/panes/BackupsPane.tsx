/**
 * The Backups pane: guests with their last run → the runs of one guest (partial and damaged runs
 * shown as such), the guest's snapshots and the schedule, and the pane's own screens: a job with
 * progress rows, a review of what will run, the file browser of a run, and small forms. All state
 * is in store/backupsPane.ts.
 */
import { Box } from 'ink';
import { useStore } from 'zustand';
import { type BackupsController, copiesOf, guestLines, runLines } from '../../store/backupsPane.js';
import { scheduleLine, type Tone } from '../../store/backupsText.js';
import { useApp } from '../../store/context.js';
import { clip, useTheme } from '../components/Frame.js';
import { Text } from '../components/Text.js';
import { colorFor } from '../theme.js';
import { BrowserView, JobView, PaneFormView, ReviewView } from './backups/screens.js';
import { GuestTable, RunTable } from './backups/tables.js';
import type { PaneViewProps } from './paneViewProps.js';

export function BackupsPane({ width, height }: PaneViewProps) {
  const controller = useApp((s) => s.panes.backups) as BackupsController | undefined;
  if (!controller) return <Text>The Backups pane is not available.</Text>;
  return <BackupsBody controller={controller} width={width} height={height} />;
}

function BackupsBody({ controller, width, height }: { controller: BackupsController } & PaneViewProps) {
  const theme = useTheme();
  const s = useStore(controller.store);
  const guests = useApp((a) => a.guests);
  const filter = useApp((a) => a.filter);

  if (s.form) return <PaneFormView form={s.form} width={width} height={height} />;
  if (s.review) return <ReviewView review={s.review} width={width} height={height} />;
  if (s.browser) return <BrowserView browser={s.browser} width={width} height={height} />;
  if (s.job) return <JobView job={s.job} width={width} height={height} />;

  const lines = guestLines(s, guests.map((g) => g.name), filter);
  const selected = lines[Math.max(0, Math.min(s.guestIndex, lines.length - 1))] ?? null;
  const sched = s.schedule?.error ? { text: `schedule unknown: ${s.schedule.error}`, tone: 'warn' as Tone } : scheduleLine(s.schedule?.status ?? null, new Date(), s.dest);
  // The schedule has the second line to itself unless an error needs it; then it joins the first.
  const head = `Destination ${s.dest ?? '(none)'}${s.loading ? `${theme.symbols.separator}reading…` : ''}${s.error ? `${theme.symbols.separator}${sched.text}` : ''}`;
  const detailHeight = 4;
  const tableHeight = height - 2 - detailHeight;
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" color={colorFor(theme, 'muted')}>
        {clip(head, width, theme.symbols.ellipsis)}
      </Text>
      {s.error ? (
        <Text wrap="truncate" color={colorFor(theme, 'error')}>
          {clip(s.error, width, theme.symbols.ellipsis)}
        </Text>
      ) : (
        <Text wrap="truncate" color={sched.tone === 'warn' ? colorFor(theme, 'warn') : colorFor(theme, 'muted')}>
          {clip(sched.text, width, theme.symbols.ellipsis)}
        </Text>
      )}
      <Box height={tableHeight} flexDirection="column">
        {s.level === 'guests' ? (
          <GuestTable
            lines={lines}
            index={s.guestIndex}
            width={width}
            height={tableHeight}
            maxAgeDays={controller.maxAgeDays()}
            copies={Object.keys(s.copies).length > 0 ? (guest, run) => copiesOf(s, guest, run) : null}
          />
        ) : (
          <RunTable
            guest={selected?.guest ?? ''}
            runs={runLines(selected?.backups ?? null, selected?.copyOnly)}
            index={s.runIndex}
            width={width}
            height={tableHeight}
            copies={Object.keys(s.copies).length > 0 ? (run) => copiesOf(s, selected?.guest ?? '', run) : null}
          />
        )}
      </Box>
      <Text color={colorFor(theme, 'muted')}>{clip(`── ${selected?.guest ?? ''} `.padEnd(width, '─'), width, theme.symbols.ellipsis)}</Text>
      <Detail controller={controller} width={width} height={detailHeight - 1} />
    </Box>
  );
}

function Detail({ controller, width, height }: { controller: BackupsController; width: number; height: number }) {
  const theme = useTheme();
  const s = useStore(controller.store);
  const guests = useApp((a) => a.guests);
  const lines = controller.detailLines(s, guests.map((g) => g.name), Date.now());
  return (
    <Box flexDirection="column">
      {lines.slice(0, height).map((l) => (
        <Text key={l.text} wrap="truncate" color={l.warn ? colorFor(theme, 'warn') : undefined}>
          {clip(l.warn ? `${theme.symbols.warn} ${l.text}` : l.text, width, theme.symbols.ellipsis)}
        </Text>
      ))}
    </Box>
  );
}
