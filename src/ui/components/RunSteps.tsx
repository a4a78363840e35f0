/**
 * A job on screen (store/jobs/runView.ts): one row per step with its mark (✓ done, ✗ failed, a
 * spinner on the running one), the progress line under the running row, undo rows, and the cancel
 * question when it is up. The same for every wizard, the Backups job view and the Jobs pane.
 */
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { formatProgressLine } from '../../model/progress.js';
import { cancelQuestion, quitQuestion, type RunView } from '../../store/jobs/runView.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';

/** `spinner` off: the running row is marked with an ellipsis (the Backups pane's job view). */
export function RunSteps({ run, width, theme, numbered = true, spinner = true }: { run: RunView; width: number; theme: Theme; numbered?: boolean; spinner?: boolean }) {
  const steps = run.rows.filter((r) => !r.undo);
  return (
    <Box flexDirection="column">
      {run.rows.map((r, i) => {
        const mark = r.state === 'done' ? theme.symbols.ok : r.state === 'failed' ? theme.symbols.error : r.state === 'running' ? (!spinner ? theme.symbols.ellipsis : theme.ascii ? '*' : <Spinner />) : ' ';
        const label = r.undo ? `undo: ${r.label}` : numbered ? `${i + 1}/${steps.length} ${r.label}` : r.label;
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows only grow at the end; the position is the identity.
          <Box key={i} flexDirection="column">
            <Text wrap="truncate-end" color={r.undo ? colorFor(theme, 'warn') : undefined}>
              {mark} {label}
              {r.note ? `  ${r.note}` : ''}
            </Text>
            {r.state === 'running' && r.progress ? <Text>{`  ${formatProgressLine(r.progress, width - 6, { ascii: theme.ascii })}`}</Text> : null}
          </Box>
        );
      })}
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
