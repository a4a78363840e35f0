/**
 * The frame: box lines drawn as text so a title can sit in the border (`├ demo-web ───┤`), and
 * side-bordered sections between them. Characters come from the theme, so TERM=linux gets +-|.
 */
import { Box } from 'ink';
import { createContext, type ReactNode, useContext } from 'react';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { Text } from './Text.js';

const ThemeContext = createContext<Theme>(chooseTheme(process.env));

export function ThemeProvider({ theme, children }: { theme: Theme; children: ReactNode }) {
  return <ThemeContext.Provider value={theme}>{children}</ThemeContext.Provider>;
}

export function useTheme(): Theme {
  return useContext(ThemeContext);
}

/** Cuts text to width, ending in the theme's ellipsis when something was cut. */
export function clip(text: string, width: number, ellipsis = '…'): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  if (width <= ellipsis.length) return text.slice(0, width);
  return text.slice(0, width - ellipsis.length) + ellipsis;
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
    <Box width={width} height={height + 0} flexDirection="column" borderStyle={theme.borderStyle} borderTop={false} borderBottom={false} paddingX={1} overflow="hidden">
      {children}
    </Box>
  );
}

export function KeyHints({ hints, width }: { hints: { keys: string; hint: string }[]; width: number }) {
  const theme = useTheme();
  const key = colorFor(theme, 'key');
  const parts: ReactNode[] = [];
  let used = 0;
  for (const [i, h] of hints.entries()) {
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
