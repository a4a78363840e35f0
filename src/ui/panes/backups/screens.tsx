/**
 * The Backups pane's own screens: a job with progress rows, a review of what will run, the file
 * browser, a small form. Draw-only: their keys are rows of the key table and their hints are in the
 * footer.
 */
import { Box } from 'ink';
import { wrapLine } from '../../../model/textWrap.js';
import { formatBytes } from '../../../model/units.js';
import type { BrowserState, PaneForm, ReviewState } from '../../../store/backupsPane.js';
import type { Tone } from '../../../store/backupsText.js';
import type { RunView } from '../../../store/jobs/runView.js';
import { FormView } from '../../components/FormView.js';
import { clip, useTheme } from '../../components/Frame.js';
import { RunSteps, runStepsHeight } from '../../components/RunSteps.js';
import { Text } from '../../components/Text.js';
import { colorFor, type Theme } from '../../theme.js';

/** The job on screen: its title, one row per guest, run or plan step (RunSteps), then its summary. */
export function JobView({ job, width, height }: { job: RunView; width: number; height: number }) {
  const theme = useTheme();
  // The newest rows when they do not all fit (a running row's progress takes a line too).
  const title = wrapLine(job.spec.title, width);
  const room = height - 4 - title.length;
  let rows = job.rows;
  while (rows.length > 1 && runStepsHeight({ ...job, rows }, width, theme, false) > room) rows = rows.slice(1);
  return (
    <Box flexDirection="column" height={height}>
      {title.map((t) => (
        <Text key={t} bold>
          {t}
        </Text>
      ))}
      <Text> </Text>
      {job.rows.length === 0 ? <Text color={colorFor(theme, 'muted')}>Starting…</Text> : null}
      <RunSteps run={{ ...job, rows }} width={width} theme={theme} numbered={false} spinner={false} />
      <Text> </Text>
      {job.summary && job.state !== 'detaching' && job.state !== 'detached' ? <Text wrap="wrap">{job.summary}</Text> : null}
    </Box>
  );
}

export function BrowserView({ browser, width, height }: { browser: BrowserState; width: number; height: number }) {
  const theme = useTheme();
  if (browser.opening) {
    return (
      <Box flexDirection="column" height={height}>
        <Text bold wrap="truncate">{clip(`${browser.guest} ${browser.run}`, width, theme.symbols.ellipsis)}</Text>
        <Text> </Text>
        <Text wrap="wrap">Opening the backup read-only with libguestfs: its small appliance starts once (15–20 s here) and stays up while you browse.</Text>
      </Box>
    );
  }
  const room = height - 4;
  const offset = Math.max(0, Math.min(browser.index - room + 1, browser.entries.length - room));
  const join = (name: string) => (browser.path.endsWith('/') ? `${browser.path}${name}` : `${browser.path}/${name}`);
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate">{clip(`${browser.guest} ${browser.run}:${browser.path}${browser.loading ? '  (reading…)' : ''}`, width, theme.symbols.ellipsis)}</Text>
      <Text color={colorFor(theme, 'muted')} wrap="truncate">
        {clip(`${browser.marked.length} marked · read-only view of the ${browser.from ? `copy on ${browser.from}${browser.source?.includes('restic mount') ? ' (restic mount)' : ''}` : 'backup'}`, width, theme.symbols.ellipsis)}
      </Text>
      {browser.entries.slice(Math.max(offset, 0), Math.max(offset, 0) + room).map((e, i) => {
        const sel = Math.max(offset, 0) + i === browser.index;
        const marked = browser.marked.includes(join(e.name));
        const name = `${e.name}${e.type === 'dir' ? '/' : e.type === 'link' ? '@' : ''}`;
        const text = `${sel ? theme.symbols.pointer : ' '} ${marked ? '[*]' : '[ ]'} ${name.padEnd(50)} ${e.type === 'file' ? formatBytes(e.size).padStart(9) : ''}`;
        return (
          <Text key={e.name} wrap="truncate" color={sel ? colorFor(theme, 'selected') : undefined}>
            {clip(text, width, theme.symbols.ellipsis)}
          </Text>
        );
      })}
      {!browser.loading && browser.entries.length === 0 ? <Text color={colorFor(theme, 'muted')}>(empty)</Text> : null}
    </Box>
  );
}

/** A small form of the pane: its title and lines, then its fields (the one FormView). */
export function PaneFormView({ form, width }: { form: PaneForm; width: number; height: number }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column">
      <Text bold>{clip(form.title, width, theme.symbols.ellipsis)}</Text>
      <Text> </Text>
      {form.lines.map((l) => (
        <Text key={l} wrap="wrap">
          {l}
        </Text>
      ))}
      <Text> </Text>
      <FormView form={form.form} theme={theme} labelWidth={16} brackets width={width} />
    </Box>
  );
}

function toneColor(theme: Theme, tone: Tone | undefined): string | undefined {
  return tone === undefined || tone === 'bold' ? undefined : colorFor(theme, tone);
}

export function ReviewView({ review, width, height }: { review: ReviewState; width: number; height: number }) {
  const theme = useTheme();
  const rows = review.lines.flatMap((l, i) => wrapLine(l.text, width).map((text, j) => ({ key: `${i}-${j}`, text, tone: l.tone })));
  // The offset counts source lines; the window starts at that line's first wrapped row.
  const start = review.lines.slice(0, review.offset).reduce((n, l) => n + wrapLine(l.text, width).length, 0);
  const room = height - 3;
  const first = Math.max(0, Math.min(start, rows.length - room));
  const shown = rows.slice(first, first + room);
  const more = rows.length > room ? `  (${first + 1}–${first + shown.length} of ${rows.length})` : '';
  return (
    <Box flexDirection="column" height={height}>
      <Text bold wrap="truncate">{clip(review.title, width, theme.symbols.ellipsis)}</Text>
      <Text> </Text>
      <Box flexDirection="column" height={room}>
        {shown.map((r) => (
          <Text key={r.key} wrap="truncate" bold={r.tone === 'bold'} color={toneColor(theme, r.tone)}>
            {r.text === '' ? ' ' : r.text}
          </Text>
        ))}
      </Box>
      <Text color={colorFor(theme, 'muted')} wrap="truncate">
        {more}
      </Text>
    </Box>
  );
}
