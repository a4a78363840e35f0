/**
 * Pieces every wizard draws the same way: the bordered frame with its title, host and key hints, a
 * scrolled list of lines, problem lines (sentence + fix) and a host error. Presentational only.
 */
import { Box } from 'ink';
import type { ReactNode } from 'react';
import { ranText } from '../../model/ranText.js';
import type { UserError } from '../../model/userError.js';
import { colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';

export type Problem = { sentence: string; fix: string };

/** Without `hints` the frame has no hint line (a screen that waits for nothing). */
export function WizardFrame(props: { title: string; hostName: string; hints?: string; width: number; theme: Theme; children: ReactNode }) {
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
      {props.hints === undefined ? null : (
        <Text color={muted} wrap="truncate-end">
          {props.hints}
        </Text>
      )}
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

/** The first `max` problems (default 3), each with its fix. */
export function ProblemLines({ problems, theme, max = 3 }: { problems: Problem[]; theme: Theme; max?: number }) {
  return (
    <Box flexDirection="column">
      {problems.slice(0, max).map((p) => (
        <Box key={p.sentence} flexDirection="column">
          <Text color={colorFor(theme, 'error')} wrap="wrap">{`${theme.symbols.error} ${p.sentence}`}</Text>
          <Text wrap="wrap">{`  Fix: ${p.fix}`}</Text>
        </Box>
      ))}
    </Box>
  );
}

/** One error as sentence, fix, and the command that failed when a host command did. */
/** `command` is there when a host command failed (a HostError). */
export function ErrorLines({ error, theme }: { error: Pick<UserError, 'sentence' | 'fix'> & { command?: readonly string[]; ranOn?: string | null }; theme: Theme }) {
  return (
    <Box flexDirection="column">
      <Text color={colorFor(theme, 'error')} wrap="wrap">
        {error.sentence}
      </Text>
      <Text wrap="wrap">{`Fix: ${error.fix}`}</Text>
      {error.command?.length ? (
        <Text color={colorFor(theme, 'muted')} wrap="wrap">{`Ran: ${ranText(error.command, error.ranOn)}`}</Text>
      ) : null}
    </Box>
  );
}
