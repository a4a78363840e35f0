/**
 * The Jobs pane: every job of this machine, newest first — running ones with a live progress bar,
 * interrupted ones with the way out (finish or roll back) — over a strip for the selected job. It
 * only reads stores; keys reach the controller through the key table (c shows the job's steps with
 * the one cancel question, as every job screen asks it).
 */
import { Box } from 'ink';
import { useStore } from 'zustand';
import { useApp } from '../../store/context.js';
import type { RunView } from '../../store/jobs/runView.js';
import type { JobsPaneController, JobsPaneData } from '../../store/jobsPane.js';
import { clip, useTheme } from '../components/Frame.js';
import { RunSteps } from '../components/RunSteps.js';
import { Text } from '../components/Text.js';
import { visibleWindow } from '../components/table.js';
import { colorFor } from '../theme.js';
import type { JobSummary } from '../../jobs/jobStatus.js';
import { hostWidth, jobHeader, jobHostName, jobLines, jobStrip, kindWidth } from './jobs/jobLines.js';
import type { PaneViewProps } from './paneViewProps.js';

const STRIP_HEIGHT = 3;

export function JobsPane({ width, height }: PaneViewProps) {
  const controller = useApp((s) => s.panes.jobs) as JobsPaneController | undefined;
  if (!controller) return <Text>The Jobs pane is not available.</Text>;
  return <JobsBody controller={controller} width={width} height={height} />;
}

function JobsBody({ controller, width, height }: { controller: JobsPaneController } & PaneViewProps) {
  const cancel = useStore(controller.store, (s) => s.cancel);
  if (cancel) return <CancelView job={cancel.job} view={cancel.view} width={width} height={height} />;
  return <JobsTable controller={controller} width={width} height={height} />;
}

/** c on a running job: where it is, its steps, and the one cancel question under them. */
function CancelView({ job, view, width, height }: { job: NonNullable<JobsPaneData['cancel']>['job']; view: RunView; width: number; height: number }) {
  const theme = useTheme();
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text bold wrap="truncate">
        {clip(view.spec.title, width, theme.symbols.ellipsis)}
      </Text>
      <Text wrap="wrap">
        Job {job.id} ({job.kind}, pid {job.pid}) is at step {Math.min(job.stepIndex + 1, job.stepCount)} of {job.stepCount}: {job.stepTitle}.
      </Text>
      <Text> </Text>
      <RunSteps run={view} width={width} theme={theme} />
      {view.summary ? (
        <>
          <Text> </Text>
          <Text wrap="wrap">{view.summary}</Text>
        </>
      ) : null}
    </Box>
  );
}

function JobsTable({ controller, width, height }: { controller: JobsPaneController } & PaneViewProps) {
  const theme = useTheme();
  const jobs = useStore(controller.store, (s) => s.jobs);
  const selectedId = useStore(controller.store, (s) => s.selected);
  const lastRead = useStore(controller.store, (s) => s.lastRead);
  const error = useStore(controller.store, (s) => s.error);
  const selected = jobs.find((j) => j.id === selectedId) ?? jobs[0] ?? null;
  // With several hosts configured, a HOST column says which one each job acts on.
  const hosts = useApp((s) => s.knownHosts)();
  const hostCol = hosts.length > 1 ? { of: (j: JobSummary) => jobHostName(j.uri, hosts), width: hostWidth(jobs.map((j) => jobHostName(j.uri, hosts))) } : undefined;
  const lines = jobLines(jobs, width, { ascii: theme.ascii, ellipsis: theme.symbols.ellipsis, host: hostCol });
  const tableHeight = Math.max(2, height - STRIP_HEIGHT - 1);
  const selectedLine = Math.max(0, lines.findIndex((l) => l.jobId === selected?.id && l.kind === 'row'));
  const win = visibleWindow(lines.length, selectedLine, tableHeight - 1);
  let empty: string | null = null;
  if (jobs.length === 0) empty = error ? `Could not read the jobs: ${error.sentence} ${error.fix}` : lastRead === null ? 'Reading the jobs…' : null;
  const stateColor = (state: string) =>
    state === 'running' ? colorFor(theme, 'accent') : state === 'interrupted' || state.includes('fail') ? colorFor(theme, 'error') : state === 'done' ? colorFor(theme, 'ok') : colorFor(theme, 'muted');
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box flexDirection="column" height={tableHeight}>
        <Text bold color={colorFor(theme, 'muted')} wrap="truncate">
          {jobHeader(width, kindWidth(jobs), hostCol?.width ?? 0)}
        </Text>
        {empty ? <Text wrap="wrap">{empty}</Text> : null}
        {lines.slice(win.start, win.end).map((l) => {
          const isSelected = l.jobId === selected?.id;
          const job = jobs.find((j) => j.id === l.jobId);
          if (l.kind !== 'row') {
            return (
              <Text key={l.key} wrap="truncate" color={l.kind === 'progress' ? colorFor(theme, 'accent') : colorFor(theme, 'muted')}>
                {'  '}
                {l.text}
              </Text>
            );
          }
          return (
            <Text key={l.key} wrap="truncate" bold={isSelected} inverse={isSelected && !theme.color}>
              <Text color={isSelected ? colorFor(theme, 'selected') : undefined}>{isSelected ? theme.symbols.pointer.slice(0, 1) : ' '} </Text>
              <Text color={isSelected ? colorFor(theme, 'selected') : job ? stateColor(job.state) : undefined}>{l.text}</Text>
            </Text>
          );
        })}
      </Box>
      <Text color={colorFor(theme, 'muted')} wrap="truncate">
        {clip(`${theme.frame.horizontal.repeat(2)} ${selected ? selected.id : 'no job selected'} ${theme.frame.horizontal.repeat(width)}`, width, '')}
      </Text>
      <Box flexDirection="column" height={STRIP_HEIGHT}>
        {jobStrip(selected).map((l, i) => ({ l, alert: i === 1 && selected?.state === 'interrupted' })).map(({ l, alert }) => (
          <Text key={l} wrap="truncate" color={alert ? colorFor(theme, 'error') : undefined}>
            {clip(l, width, theme.symbols.ellipsis)}
          </Text>
        ))}
      </Box>
    </Box>
  );
}
