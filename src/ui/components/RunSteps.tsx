/**
 * A job on screen (store/jobs/runView.ts): one row per step with its mark (✓ done, ✗ failed, a
 * spinner on the running one), the progress line under the running row, undo rows, and the cancel
 * question when it is up. The same for every wizard, the Backups job view and the Jobs pane.
 */
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { formatProgressLine } from '../../model/progress.js';
import { wrapLine } from '../../model/textWrap.js';
import { cancelQuestion, quitQuestion, type RunRow, type RunView } from '../../store/jobs/runView.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';

/** A row's text wrapped beside its mark: the first part after the mark, the rest indented under it. */
function rowParts(r: RunRow, label: string, width: number, markWidth: number): string[] {
  return wrapLine(`${label}${r.note ? `  ${r.note}` : ''}`, width - markWidth - 1);
}

/** The screen rows a job view takes at `width` (wrapped steps, progress lines, warnings), for a view that must fit. */
export function runStepsHeight(run: RunView, width: number, theme: Theme, numbered = true): number {
  const steps = run.rows.filter((r) => !r.undo).length;
  const markWidth = markWidthOf(theme);
  let n = 0;
  for (const [i, r] of run.rows.entries()) {
    n += rowParts(r, rowLabel(r, i, steps, numbered), width, markWidth).length + (r.state === 'running' && r.progress ? 1 : 0);
  }
  for (const w of run.warnings ?? []) n += wrapLine(w, width - markWidth - 1).length;
  return n;
}

function rowLabel(r: RunRow, i: number, steps: number, numbered: boolean): string {
  return r.undo ? `undo: ${r.label}` : numbered ? `${i + 1}/${steps} ${r.label}` : r.label;
}

function markWidthOf(theme: Theme): number {
  return Math.max(1, theme.symbols.ok.length, theme.symbols.error.length, theme.symbols.warn.length);
}

/** `spinner` off: the running row is marked with an ellipsis (the Backups pane's job view). */
export function RunSteps({ run, width, theme, numbered = true, spinner = true }: { run: RunView; width: number; theme: Theme; numbered?: boolean; spinner?: boolean }) {
  const steps = run.rows.filter((r) => !r.undo);
  const markWidth = markWidthOf(theme);
  const pad = ' '.repeat(markWidth + 1);
  return (
    <Box flexDirection="column">
      {run.rows.map((r, i) => {
        const mark = r.state === 'done' ? theme.symbols.ok : r.state === 'failed' ? theme.symbols.error : r.state === 'running' ? (!spinner ? theme.symbols.ellipsis : theme.ascii ? '*' : <Spinner />) : ' ';
        const parts = rowParts(r, rowLabel(r, i, steps.length, numbered), width, markWidth);
        const markText = typeof mark === 'string' ? mark.padEnd(markWidth) : mark;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows only grow at the end; the position is the identity.
          <Box key={i} flexDirection="column">
            {parts.map((text, j) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the wrapped parts of one row, in order.
              <Text key={j} wrap="truncate-end" color={r.undo ? colorFor(theme, 'warn') : undefined}>
                {j === 0 ? markText : pad.slice(1)} {text}
              </Text>
            ))}
            {r.state === 'running' && r.progress ? <Text>{`  ${formatProgressLine(r.progress, width - 6, { ascii: theme.ascii })}`}</Text> : null}
          </Box>
        );
      })}
      {(run.warnings ?? []).map((w, i) =>
        wrapLine(w, width - markWidth - 1).map((text, j) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: warnings only grow at the end.
          <Text key={`w${i}-${j}`} color={colorFor(theme, 'warn')} wrap="truncate-end">
            {j === 0 ? theme.symbols.warn.padEnd(markWidth) : pad.slice(1)} {text}
          </Text>
        )),
      )}
      {run.asking ? (
        <Text color={colorFor(theme, 'warn')} wrap="wrap">
          {cancelQuestion(run.spec)} (y/n)
        </Text>
      ) : null}
      {run.quitting ? (
        <Text color={colorFor(theme, 'warn')} wrap="wrap">
          {quitQuestion(run.spec)}
        </Text>
      ) : null}
      {run.quitAfter === 'done' && run.state === 'running' ? <Text wrap="wrap">The console quits when the job has ended well.</Text> : null}
      {(run.state === 'detaching' || run.state === 'detached') && run.summary ? <Text wrap="wrap">{run.summary}</Text> : null}
    </Box>
  );
}
