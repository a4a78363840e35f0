import { describe, expect, it } from 'vitest';
import type { KeyFlags } from '../../src/store/keys/keyName.js';
import { emptyRun } from '../../src/ui/components/JobSteps.js';
import { askToCancel, type ReviewKeys, type Scroller, scrolled, type WizardScreen, wizardKeyIntent } from '../../src/ui/wizards/wizardKeys.js';

const noop = () => {};
/** A key as Ink reports it: the input text and its flags. */
const K: Record<string, [string, KeyFlags]> = {
  esc: ['', { escape: true, meta: true }],
  ctrlC: ['c', { ctrl: true }],
  enter: ['\r', { return: true }],
  up: ['', { upArrow: true }],
  down: ['', { downArrow: true }],
  pageUp: ['', { pageUp: true }],
  pageDown: ['', { pageDown: true }],
  q: ['q', {}],
  w: ['w', {}],
  b: ['b', {}],
  y: ['y', {}],
  n: ['n', {}],
  x: ['x', {}],
};
const intent = (screen: WizardScreen, k: keyof typeof K) => {
  const [input, flags] = K[k] as [string, KeyFlags];
  return wizardKeyIntent(screen, input, flags);
};
const step = (first: boolean, more: Partial<Extract<WizardScreen, { kind: 'step' }>> = {}): WizardScreen => ({ kind: 'step', first, back: noop, ...more });
const scroller = (max: number, page?: number): Scroller => ({ max, page, set: noop });

describe('wizard keys: steps', () => {
  it('Esc goes back a step, and closes without a result on the first', () => {
    expect(intent(step(false), 'esc')).toEqual({ do: 'back' });
    expect(intent(step(true), 'esc')).toEqual({ do: 'cancel' });
  });

  it('Ctrl-C cancels on every step and on the wizard’s own screens, busy or not', () => {
    expect(intent(step(false), 'ctrlC')).toEqual({ do: 'cancel' });
    expect(intent(step(false, { busy: 'wait' }), 'ctrlC')).toEqual({ do: 'cancel' });
    expect(intent({ kind: 'own' }, 'ctrlC')).toEqual({ do: 'cancel' });
  });

  it('while a step is busy, Esc stops the work or waits, and other keys wait', () => {
    expect(intent(step(false, { busy: 'stop' }), 'esc')).toEqual({ do: 'stop-busy' });
    expect(intent(step(false, { busy: 'wait' }), 'esc')).toEqual({ do: 'nothing' });
    expect(intent(step(false, { busy: 'wait', review: { run: noop } }), 'enter')).toEqual({ do: 'nothing' });
  });

  it('keys the shared part does not know go to the wizard', () => {
    expect(intent(step(false), 'enter')).toEqual({ do: 'pass' });
    expect(intent(step(false), 'x')).toEqual({ do: 'pass' });
    expect(intent({ kind: 'own' }, 'esc')).toEqual({ do: 'pass' });
    expect(intent({ kind: 'own' }, 'q')).toEqual({ do: 'pass' });
  });
});

describe('wizard keys: review', () => {
  const all: ReviewKeys = { scroll: scroller(5), run: noop, saveScript: noop, background: noop, quit: true };

  it('takes Enter, w, b and q only where the review offers them', () => {
    expect(intent(step(false, { review: all }), 'enter')).toEqual({ do: 'run' });
    expect(intent(step(false, { review: all }), 'w')).toEqual({ do: 'save-script' });
    expect(intent(step(false, { review: all }), 'b')).toEqual({ do: 'background' });
    expect(intent(step(false, { review: all }), 'q')).toEqual({ do: 'cancel' });
    const runOnly: ReviewKeys = { run: noop };
    for (const k of ['w', 'b', 'q', 'up', 'down'] as const) expect(intent(step(false, { review: runOnly }), k)).toEqual({ do: 'pass' });
  });

  it('scrolls with ↑↓, and with PgUp/PgDn only where it has a page size', () => {
    const lines = scroller(5);
    expect(intent(step(false, { review: { scroll: lines } }), 'down')).toEqual({ do: 'scroll', scroller: lines, by: 1 });
    expect(intent(step(false, { review: { scroll: lines } }), 'up')).toEqual({ do: 'scroll', scroller: lines, by: -1 });
    expect(intent(step(false, { review: { scroll: lines } }), 'pageDown')).toEqual({ do: 'pass' });
    const paged = scroller(40, 8);
    expect(intent(step(false, { review: { scroll: paged } }), 'pageDown')).toEqual({ do: 'scroll', scroller: paged, by: 8 });
    expect(intent(step(false, { review: { scroll: paged } }), 'pageUp')).toEqual({ do: 'scroll', scroller: paged, by: -8 });
  });

  it('never scrolls past the last full view going down, nor above the top going up', () => {
    expect(scrolled(0, -1, 5)).toBe(0);
    expect(scrolled(0, 1, 5)).toBe(1);
    expect(scrolled(4, 1, 5)).toBe(5);
    expect(scrolled(5, 1, 5)).toBe(5);
    expect(scrolled(3, 8, 5)).toBe(5);
    expect(scrolled(3, -8, 5)).toBe(0);
    // Fewer lines than the view: nowhere to go.
    expect(scrolled(0, 1, 0)).toBe(0);
  });
});

describe('wizard keys: a running job', () => {
  it('with a cancel question: Esc or Ctrl-C ask, y cancels, n or Esc keep going, others wait', () => {
    const run = emptyRun();
    const ask = intent({ kind: 'running', run, abort: noop }, 'ctrlC');
    expect(ask).toMatchObject({ do: 'ask', abort: false, run: { confirmCancel: true } });
    expect(intent({ kind: 'running', run, abort: noop }, 'esc')).toMatchObject({ do: 'ask', abort: false, run: { confirmCancel: true } });
    expect(intent({ kind: 'running', run, abort: noop }, 'q')).toEqual({ do: 'nothing' });
    const asking = { ...run, confirmCancel: true };
    expect(intent({ kind: 'running', run: asking, abort: noop }, 'y')).toMatchObject({ do: 'ask', abort: true, run: { confirmCancel: false } });
    expect(intent({ kind: 'running', run: asking, abort: noop }, 'n')).toMatchObject({ do: 'ask', abort: false, run: { confirmCancel: false } });
    expect(intent({ kind: 'running', run: asking, abort: noop }, 'esc')).toMatchObject({ do: 'ask', abort: false, run: { confirmCancel: false } });
    expect(intent({ kind: 'running', run: asking, abort: noop }, 'ctrlC')).toEqual({ do: 'nothing' });
  });

  it('askToCancel: a wizard drawing its own steps keeps only whether the question is asked', () => {
    const shown: boolean[] = [];
    let aborted = 0;
    const screen = (asking: boolean) => askToCancel(asking, (a) => shown.push(a), () => aborted++);
    const ask = intent(screen(false), 'ctrlC');
    expect(ask).toMatchObject({ do: 'ask', abort: false, run: { confirmCancel: true } });
    expect(intent(screen(true), 'n')).toMatchObject({ do: 'ask', abort: false, run: { confirmCancel: false } });
    expect(intent(screen(true), 'y')).toMatchObject({ do: 'ask', abort: true, run: { confirmCancel: false } });
    const s = screen(true);
    if (s.kind === 'running') {
      s.showRun?.({ ...emptyRun(), confirmCancel: false });
      s.abort();
    }
    expect(shown).toEqual([false]);
    expect(aborted).toBe(1);
  });

  it('without a question: Ctrl-C stops the job at once, every other key waits', () => {
    expect(intent({ kind: 'running', abort: noop }, 'ctrlC')).toEqual({ do: 'abort' });
    for (const k of ['esc', 'enter', 'q', 'y'] as const) expect(intent({ kind: 'running', abort: noop }, k)).toEqual({ do: 'nothing' });
  });
});

describe('wizard keys: the result', () => {
  it('closes on Enter, Esc and q; a wizard may name its own keys', () => {
    for (const k of ['enter', 'esc', 'q'] as const) expect(intent({ kind: 'result', close: noop }, k)).toEqual({ do: 'close' });
    expect(intent({ kind: 'result', close: noop }, 'ctrlC')).toEqual({ do: 'nothing' });
    expect(intent({ kind: 'result', close: noop, closeKeys: ['enter', 'esc'] }, 'q')).toEqual({ do: 'nothing' });
    expect(intent({ kind: 'result', close: noop, closeKeys: ['enter', 'ctrl-c'] }, 'ctrlC')).toEqual({ do: 'close' });
  });

  it('scrolls with ↑↓ where it is long', () => {
    const lines = scroller(3);
    expect(intent({ kind: 'result', close: noop, scroll: lines }, 'down')).toEqual({ do: 'scroll', scroller: lines, by: 1 });
    expect(intent({ kind: 'result', close: noop }, 'down')).toEqual({ do: 'nothing' });
  });
});
