import { Box } from 'ink';
import { commandLine, compactRoute, type PlanRoute, type PlanStep } from '../../../model/plan.js';
import { XML_ROWS } from '../../../store/wizards/newGuest/newGuestWizard.js';
import { Text } from '../../components/Text.js';
import { colorFor, type Theme } from '../../theme.js';

/** The commands that will run and the domain XML they define, scrolled by the wizard. */

export function ReviewStep(props: {
  summary: string;
  steps: PlanStep[];
  /** A remote host's route: its commands read `ssh user@host '…'` (cut at the width, so without the options). */
  route?: PlanRoute | null;
  xml: string;
  scroll: number;
  start: boolean;
  openConsole: boolean;
  theme: Theme;
}) {
  const { theme } = props;
  const lines = props.xml.replace(/\n$/, '').split('\n');
  const top = Math.max(0, Math.min(props.scroll, lines.length - XML_ROWS));
  const shown = lines.slice(top, top + XML_ROWS);
  const box = (on: boolean) => (on ? '[x]' : '[ ]');
  return (
    <Box flexDirection="column">
      <Text wrap="wrap">{props.summary}</Text>
      <Text color={colorFor(theme, 'muted')}>These steps run in order; if one fails, the ones before it are undone.</Text>
      {props.steps.map((s, i) => (
        <Text key={s.id} wrap="wrap">
          {` ${i + 1} ${s.command ? commandLine(s.command, compactRoute(props.route)) : s.title}`}
        </Text>
      ))}
      <Text>
        {box(props.start)} <Text color={colorFor(theme, 'key')}>s</Text> start now{'   '}
        <Text color={props.start ? undefined : colorFor(theme, 'muted')}>
          {box(props.start && props.openConsole)} <Text color={colorFor(theme, 'key')}>c</Text> open the console after start
        </Text>
      </Text>
      <Text color={colorFor(theme, 'muted')} wrap="truncate-end">
        {`${theme.frame.horizontal.repeat(2)} domain XML, lines ${top + 1}–${top + shown.length} of ${lines.length} ${theme.frame.horizontal.repeat(20)}`}
      </Text>
      {shown.map((l, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: lines of a fixed viewport; the index is the identity.
        <Text key={i} wrap="truncate-end">
          {l}
        </Text>
      ))}
    </Box>
  );
}
