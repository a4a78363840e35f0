import { Box } from 'ink';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { Section, ThemeProvider } from '../../src/ui/components/Frame.js';
import { Text } from '../../src/ui/components/Text.js';
import { chooseTheme } from '../../src/ui/theme.js';

/**
 * A Section cuts what does not fit below it, and only that: every line in it is already made to
 * fit its width (truncated or padded by the pane), and Ink's horizontal clip would slice every
 * line of the screen again, every frame (bench/top.ts: a console redraws 40 rows every refresh).
 */
describe('Section', () => {
  it('clips vertically, not horizontally', () => {
    const wide = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const r = render(
      <ThemeProvider theme={chooseTheme({ LANG: 'C.UTF-8', TERM: 'xterm-256color', NO_COLOR: '1' })}>
        <Box flexDirection="column">
          <Section width={20} height={2}>
            <Box flexDirection="column" flexShrink={0}>
              <Box width={wide.length}>
                <Text>{wide}</Text>
              </Box>
              <Text>second</Text>
              <Text>third, cut off</Text>
            </Box>
          </Section>
          <Text>end</Text>
        </Box>
      </ThemeProvider>,
    );
    const frame = r.lastFrame() ?? '';
    // A child wider than the section is drawn whole: no horizontal clip.
    expect(frame).toContain(wide);
    // Only the section's two rows: the lines below it are cut.
    expect(frame).toContain('second');
    expect(frame).not.toContain('cut off');
    expect(frame.split('\n')).toEqual([expect.stringContaining(wide), expect.stringContaining('second'), 'end']);
    r.unmount();
  });
});
