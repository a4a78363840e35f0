/**
 * The console's only Text. Half of what the console shows was written by someone else: guest
 * names from a remote host, file names and os-release from inside a guest's disk, .vmx values,
 * QEMU log lines. A terminal obeys the control bytes in such text (an OSC title or clipboard
 * write, a cursor move that paints over a warning), so every string child is rendered through
 * `shownLines`: line breaks stay, every other control character is written out as `\xNN`.
 * Rendering all text this way, not just the strings known to be outside text, means no view can
 * forget it; virtdeck's own strings hold no control character but the line break. Lint forbids
 * importing Ink's Text anywhere else.
 *
 * For the same reason this is where text meets the glyph table: a terminal that cannot draw
 * Unicode (TERM=linux, a non-UTF-8 locale) gets every string through its ASCII side before Ink
 * measures it, whichever layer wrote the string ("256 MiB → 512 MiB" from a plan, "↑↓" from the
 * key table).
 */
import { Text as InkText } from 'ink';
import { Children, type ComponentProps, type ReactNode } from 'react';
import { shownLines } from '../../model/shown.js';
import { useTheme } from './themeContext.js';

export type TextProps = ComponentProps<typeof InkText>;

function safe(children: ReactNode, drawn: (s: string) => string): ReactNode {
  return Children.map(children, (child) => (typeof child === 'string' ? drawn(shownLines(child)) : child));
}

export function Text({ children, ...props }: TextProps) {
  const theme = useTheme();
  return <InkText {...props}>{safe(children, theme.text)}</InkText>;
}
