/**
 * The console's only Text. Half of what the console shows was written by someone else: guest
 * names from a remote host, file names and os-release from inside a guest's disk, .vmx values,
 * QEMU log lines. A terminal obeys the control bytes in such text (an OSC title or clipboard
 * write, a cursor move that paints over a warning), so every string child is rendered through
 * `shownLines`: line breaks stay, every other control character is written out as `\xNN`.
 * Rendering all text this way, not just the strings known to be outside text, means no view can
 * forget it; virtdeck's own strings hold no control character but the line break. Lint forbids
 * importing Ink's Text anywhere else.
 */
import { Text as InkText } from 'ink';
import { Children, type ComponentProps, type ReactNode } from 'react';
import { shownLines } from '../../model/shown.js';

export type TextProps = ComponentProps<typeof InkText>;

function safe(children: ReactNode): ReactNode {
  return Children.map(children, (child) => (typeof child === 'string' ? shownLines(child) : child));
}

export function Text({ children, ...props }: TextProps) {
  return <InkText {...props}>{safe(children)}</InkText>;
}
