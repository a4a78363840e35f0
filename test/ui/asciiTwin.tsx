/**
 * Every screen the UI tests reach is also drawn for a Linux console: each harness (renderApp,
 * driveWizard, wizardDriver) renders a twin of its view on the same store with the ASCII theme,
 * and when the test ends every frame the twin wrote must be printable ASCII (no byte above 0x7E),
 * as written to the terminal (after the frame stream's swap of Ink's own cut mark). So a new
 * screen, step or message is checked in ASCII by the test that brings it in.
 */
import { render } from 'ink-testing-library';
import { cloneElement, isValidElement, type ReactNode } from 'react';
import { onTestFinished } from 'vitest';
import { asciiFrame } from '../../src/model/glyphs.js';
import { ThemeProvider } from '../../src/ui/components/Frame.js';
import { chooseTheme } from '../../src/ui/theme.js';

export const ASCII_THEME = chooseTheme({ TERM: 'linux', LANG: 'C' });

/** The first line of the frames, as written to the terminal, with a byte above 0x7E (ESC sequences of colour are fine). */
export function firstNonAsciiLine(frames: readonly string[]): string | null {
  for (const frame of frames) {
    for (const line of asciiFrame(frame).split('\n')) {
      if (/[^\x00-\x7e]/.test(line)) return line;
    }
  }
  return null;
}

function asciiThemed(view: ReactNode) {
  const themed = isValidElement<{ theme?: unknown }>(view) && 'theme' in view.props ? cloneElement(view, { theme: ASCII_THEME }) : view;
  return <ThemeProvider theme={ASCII_THEME}>{themed}</ThemeProvider>;
}

/** Draws `view` again with the ASCII theme (as prop, where the view takes one, and as context) and checks its frames when the test ends. */
export function asciiTwin(view: ReactNode): void {
  const twin = render(asciiThemed(view));
  onTestFinished(() => {
    const bad = firstNonAsciiLine(twin.frames);
    twin.unmount();
    if (bad !== null) throw new Error(`A screen drawn with TERM=linux holds non-ASCII text:\n${bad}\n${JSON.stringify(bad.match(/[^\x00-\x7e]/gu))}`);
  });
}

/** One drawing of `view` with the ASCII theme, checked at once (for tests that draw a snapshot, not a live view). */
export function expectAsciiDraw(view: ReactNode): void {
  const r = render(asciiThemed(view));
  const bad = firstNonAsciiLine(r.frames);
  r.unmount();
  if (bad !== null) throw new Error(`A screen drawn with TERM=linux holds non-ASCII text:\n${bad}`);
}
