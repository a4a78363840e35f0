/**
 * The frame: box lines drawn as text so a title can sit in the border (`├ demo-web ───┤`), and
 * side-bordered sections between them. Characters come from the theme, so TERM=linux gets +-|.
 */
import { Box } from 'ink';
import type { ReactNode } from 'react';
import { ASCII_ELLIPSIS, toAscii } from '../../model/glyphs.js';
import { colorFor } from '../theme.js';
import { Text } from './Text.js';
import { useTheme } from './themeContext.js';

export { ThemeProvider, useTheme } from './themeContext.js';

/**
 * Cuts text to width, ending in the theme's ellipsis when something was cut. The ellipsis also
 * says which glyph set draws the text: with the ASCII one the text is made ASCII first, so the
 * cut falls where the screen shows it ("→" is two columns there, "…" three).
 */
export function clip(text: string, width: number, ellipsis: string): string {
  const t = ellipsis === ASCII_ELLIPSIS ? toAscii(text) : text;
  if (width <= 0) return '';
  if (t.length <= width) return t;
  if (width <= ellipsis.length) return t.slice(0, width);
  return t.slice(0, width - ellipsis.length) + ellipsis;
}

export function Rule({ width, position, title, titleColor }: { width: number; position: 'top' | 'middle' | 'bottom'; title?: string; titleColor?: string }) {
  const theme = useTheme();
  const f = theme.frame;
  const [left, right] = position === 'top' ? [f.topLeft, f.topRight] : position === 'bottom' ? [f.bottomLeft, f.bottomRight] : [f.teeLeft, f.teeRight];
  const inner = width - 2;
  const label = title ? ` ${clip(title, inner - 2, theme.symbols.ellipsis)} ` : '';
  const fill = f.horizontal.repeat(Math.max(0, inner - label.length));
  return (
    <Text wrap="truncate">
      {left}
      <Text bold={Boolean(label)} color={titleColor}>
        {label}
      </Text>
      {fill}
      {right}
    </Text>
  );
}

/** A block with only the side borders; children are lines inside `width - 4` columns. */
export function Section({ width, height, children }: { width: number; height: number; children: ReactNode }) {
  const theme = useTheme();
  return (
    <Box width={width} height={height + 0} flexDirection="column" borderStyle={theme.borderStyle} borderTop={false} borderBottom={false} paddingX={1} overflowY="hidden">
      {children}
    </Box>
  );
}

export function KeyHints({ hints, width }: { hints: { keys: string; hint: string }[]; width: number }) {
  const theme = useTheme();
  const key = colorFor(theme, 'key');
  const parts: ReactNode[] = [];
  let used = 0;
  for (const [i, raw] of hints.entries()) {
    // Measured as drawn: "↑↓" is "Up/Down" on a Linux console.
    const h = { keys: theme.text(raw.keys), hint: theme.text(raw.hint) };
    const len = h.keys.length + (h.hint ? h.hint.length + 1 : 0) + 2;
    if (used + len > width) break;
    used += len;
    parts.push(
      <Text key={i}>
        <Text bold color={key}>
          {h.keys}
        </Text>
        {h.hint ? ` ${h.hint}` : ''}
        {'  '}
      </Text>,
    );
  }
  return <Text wrap="truncate">{parts}</Text>;
}
