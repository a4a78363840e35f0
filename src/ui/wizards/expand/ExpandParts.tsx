import { Box } from 'ink';
import type { ExpandCheck } from '../../../model/expandPlan.js';
import { Text } from '../../components/Text.js';
import { colorFor, type Theme } from '../../theme.js';

/** The ✓/✗ lines under the size field. */
export function CheckLines({ checks, theme }: { checks: ExpandCheck[]; theme: Theme }) {
  return (
    <Box flexDirection="column">
      {checks.map((c) => (
        <Text key={c.text} color={c.ok ? undefined : colorFor(theme, 'warn')} wrap="wrap">
          {`${c.ok ? theme.symbols.ok : theme.symbols.error} ${c.text}`}
        </Text>
      ))}
    </Box>
  );
}
