import { Box } from 'ink';
import Spinner from 'ink-spinner';
import type { ExpandCheck } from '../../../model/expandPlan.js';
import type { Plan } from '../../../model/plan.js';
import { formatProgressLine, type Progress } from '../../../model/progress.js';
import { Text } from '../../components/Text.js';
import { colorFor, type Theme } from '../../theme.js';

/** The ✓/✗ lines under the size field. */
export function CheckLines({ checks, theme }: { checks: ExpandCheck[]; theme: Theme }) {
  return (
    <Box flexDirection="column">
      {checks.map((c) => (
        <Text key={c.text} color={c.ok ? undefined : colorFor(theme, 'warn')} wrap="truncate-end">
          {`${c.ok ? theme.symbols.ok : theme.symbols.error} ${c.text}`}
        </Text>
      ))}
    </Box>
  );
}

export type RowState = 'pending' | 'running' | 'done' | 'failed' | 'undone';

/** One row per plan step: mark, number, title, and a progress bar on the running copy. */
export function ProgressRows(props: { plan: Plan; states: RowState[]; progress: Map<number, Progress>; width: number; theme: Theme }) {
  const { theme } = props;
  const total = props.plan.steps.length;
  return (
    <Box flexDirection="column">
      {props.plan.steps.map((s, i) => {
        const st = props.states[i] ?? 'pending';
        const p = props.progress.get(i);
        const mark =
          st === 'done' ? theme.symbols.ok : st === 'failed' ? theme.symbols.error : st === 'undone' ? (theme.ascii ? '<' : '↶') : st === 'running' ? null : ' ';
        const label = `${i + 1}/${total} ${s.title}`;
        const bar = st === 'running' && p ? `  ${formatProgressLine(p, Math.max(20, props.width - 30), { ascii: theme.ascii, maxBarWidth: 20 })}` : '';
        return (
          <Text key={s.id} wrap="truncate-end">
            {mark === null ? theme.ascii ? '*' : <Spinner /> : mark} {bar ? `${label.slice(0, 24).padEnd(24)}${bar}` : label}
          </Text>
        );
      })}
    </Box>
  );
}
