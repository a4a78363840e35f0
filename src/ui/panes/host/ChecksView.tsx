/**
 * The list of host checks with a status mark each, and under it the detail strip of the selected
 * one: what was found, why it matters, and the first fix line (Enter shows all, f applies a safe one).
 */
import { Box } from 'ink';
import { countByStatus } from '../../../model/hostChecks.js';
import type { HostPaneState } from '../../../store/hostPane.js';
import { visibleChecks } from '../../../store/hostPane.js';
import { clip, useTheme } from '../../components/Frame.js';
import { Text } from '../../components/Text.js';
import { colorFor } from '../../theme.js';
import { statusMark, statusRole, wrap } from './format.js';

const DETAIL_ROWS = 6;

export function ChecksView({ state, filter, width, height }: { state: HostPaneState; filter: string; width: number; height: number }) {
  const theme = useTheme();
  const ell = theme.symbols.ellipsis;
  const all = state.run?.results ?? [];
  const rows = visibleChecks(all, filter);
  const listHeight = Math.max(1, height - 1 - DETAIL_ROWS);
  const index = Math.max(0, rows.findIndex((r) => r.id === state.selected));
  const top = Math.min(Math.max(0, index - Math.floor(listHeight / 2)), Math.max(0, rows.length - listHeight));
  const shown = rows.slice(top, top + listHeight);
  const current = rows[index] ?? null;
  const c = countByStatus(all);
  const when = state.run ? new Date(state.run.at).toTimeString().slice(0, 8) : '';
  const head = state.loading
    ? `Checking the host${ell}`
    : state.run
      ? `${all.length} checks: ${c.ok} ok, ${c.warn} warning${c.warn === 1 ? '' : 's'}, ${c.fail} failed${theme.symbols.separator}checked ${when}${filter ? `${theme.symbols.separator}filter /${filter}` : ''}`
      : state.error
        ? `The checks could not run: ${state.error.sentence}`
        : `Press r to check the host.`;
  const titleWidth = 34;
  const markWidth = theme.ascii ? 4 : 1;
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate" color={colorFor(theme, state.error ? 'error' : 'muted')}>
        {clip(head, width, ell)}
      </Text>
      <Box flexDirection="column" height={listHeight}>
        {shown.map((r) => {
          const selected = r.id === current?.id;
          const title = clip(r.title, titleWidth, ell).padEnd(titleWidth);
          const rest = clip(r.detail, Math.max(0, width - markWidth - titleWidth - 4), ell);
          return (
            <Text key={r.id} wrap="truncate" inverse={selected && !theme.color} color={selected ? colorFor(theme, 'selected') : undefined}>
              {selected ? theme.symbols.pointer.slice(0, 1) : ' '}
              <Text color={colorFor(theme, statusRole(r.status))}>{statusMark(theme, r.status)}</Text> {title} {rest}
            </Text>
          );
        })}
        {rows.length === 0 && state.run ? <Text color={colorFor(theme, 'muted')}>No check matches /{filter}.</Text> : null}
      </Box>
      <Text wrap="truncate" color={colorFor(theme, 'muted')}>
        {clip(`${theme.frame.horizontal.repeat(2)} ${current ? current.title : 'no check selected'} `, width, ell).padEnd(width, theme.frame.horizontal)}
      </Text>
      <Box flexDirection="column" height={DETAIL_ROWS - 1}>{current ? <CheckDetail width={width} check={current} /> : null}</Box>
    </Box>
  );
}

function CheckDetail({ check, width }: { check: NonNullable<HostPaneState['run']>['results'][number]; width: number }) {
  const theme = useTheme();
  const ell = theme.symbols.ellipsis;
  const detail = wrap(check.detail, width, 2, ell);
  const why = wrap(`Why: ${check.why}`, width, check.status === 'ok' ? 3 : 2, ell);
  const more = check.fix.length > 1 ? `  (+${check.fix.length - 1} more: Enter)` : '';
  const fix = check.fix[0] ? `Fix: ${check.fix[0]}` : '';
  const safe = check.safeFix ? '  f applies it' : '';
  return (
    <>
      {detail.map((l) => (
        <Text key={`d${l}`} wrap="truncate">
          {l}
        </Text>
      ))}
      {why.map((l) => (
        <Text key={`w${l}`} wrap="truncate" color={colorFor(theme, 'muted')}>
          {l}
        </Text>
      ))}
      {fix ? (
        <Text wrap="truncate" color={colorFor(theme, statusRole(check.status))}>
          {clip(fix, Math.max(10, width - more.length - safe.length), ell)}
          <Text color={colorFor(theme, 'key')}>
            {safe}
            {more}
          </Text>
        </Text>
      ) : null}
    </>
  );
}
