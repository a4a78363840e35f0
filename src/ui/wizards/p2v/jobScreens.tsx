/**
 * Pieces the P2V and MergeIDE wizards share: the bordered frame, a scrolled list of lines, the
 * running screen (one row per step, a progress line under the current one, cancel with a y/n), and
 * problem lines. Presentational only: the wizards own the state and start the jobs.
 */
import { Box, Text } from 'ink';
import Spinner from 'ink-spinner';
import type { ReactNode } from 'react';
import type { PlanStep } from '../../../model/plan.js';
import { formatProgressLine, type Progress } from '../../../model/progress.js';
import { type Theme, colorFor } from '../../theme.js';

export interface RunView {
  current: number;
  done: Set<number>;
  failed: number | null;
  progress: Progress | null;
  undoing: string | null;
  confirmCancel: boolean;
  logs: string[];
}

export const emptyRun = (): RunView => ({ current: 0, done: new Set(), failed: null, progress: null, undoing: null, confirmCancel: false, logs: [] });

export type Problem = { sentence: string; fix: string };

export function WizardFrame(props: { title: string; hostName: string; hints: string; width: number; theme: Theme; children: ReactNode }) {
  const muted = colorFor(props.theme, 'muted');
  return (
    <Box flexDirection="column" borderStyle={props.theme.borderStyle} width={props.width} paddingX={1}>
      <Box justifyContent="space-between">
        <Text bold color={colorFor(props.theme, 'accent')} wrap="truncate-end">
          {props.title}
        </Text>
        <Text color={muted}>{props.hostName}</Text>
      </Box>
      {props.children}
      <Text color={muted} wrap="truncate-end">
        {props.hints}
      </Text>
    </Box>
  );
}

export function ScrolledLines(props: { lines: string[]; scroll: number; rows: number; theme: Theme }) {
  const shown = props.lines.slice(props.scroll, props.scroll + props.rows);
  return (
    <Box flexDirection="column">
      {shown.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows of a scrolled viewport; the position is the identity.
        <Text key={i} wrap="truncate-end">
          {l || ' '}
        </Text>
      ))}
      {props.lines.length > props.rows ? (
        <Text color={colorFor(props.theme, 'muted')}>{`lines ${props.scroll + 1}–${props.scroll + shown.length} of ${props.lines.length} (↑↓)`}</Text>
      ) : null}
    </Box>
  );
}

export function RunSteps(props: { steps: PlanStep[]; run: RunView; width: number; theme: Theme; cancelQuestion: string }) {
  const { steps, run, theme } = props;
  return (
    <Box flexDirection="column">
      {steps.map((s, i) => {
        const done = run.done.has(i);
        const current = i === run.current && !done && run.failed === null;
        const mark = done ? theme.symbols.ok : run.failed === i ? theme.symbols.error : current ? theme.ascii ? '*' : <Spinner /> : ' ';
        return (
          <Box key={s.id} flexDirection="column">
            <Text wrap="truncate-end">
              {mark} {`${i + 1}/${steps.length} ${s.title}`}
            </Text>
            {current && run.progress ? <Text>{`  ${formatProgressLine(run.progress, props.width - 6, { ascii: theme.ascii })}`}</Text> : null}
          </Box>
        );
      })}
      {run.undoing ? <Text color={colorFor(theme, 'warn')} wrap="truncate-end">{`undo: ${run.undoing}`}</Text> : null}
      {run.confirmCancel ? (
        <Text color={colorFor(theme, 'warn')} wrap="wrap">
          {props.cancelQuestion} (y/n)
        </Text>
      ) : null}
    </Box>
  );
}

export function ProblemLines({ problems, theme }: { problems: Problem[]; theme: Theme }) {
  return (
    <Box flexDirection="column">
      {problems.slice(0, 3).map((p) => (
        <Box key={p.sentence} flexDirection="column">
          <Text color={colorFor(theme, 'error')} wrap="wrap">{`${theme.symbols.error} ${p.sentence}`}</Text>
          <Text wrap="wrap">{`  Fix: ${p.fix}`}</Text>
        </Box>
      ))}
    </Box>
  );
}

/** Long commands wrap at spaces (continuations indented) so the review shows them whole. */
export function wrapLine(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line;
  let indent = '';
  while (indent.length + rest.length > width) {
    const room = width - indent.length;
    let cut = rest.lastIndexOf(' ', room);
    if (cut <= indent.length) cut = room;
    out.push(indent + rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^ /, '');
    indent = '    ';
  }
  out.push(indent + rest);
  return out;
}
