import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyRun, type RunView } from '../../src/ui/components/JobSteps.js';
import { useWizardKeys } from '../../src/ui/wizards/useWizardKeys.js';
import type { WizardScreen } from '../../src/ui/wizards/wizardKeys.js';
import { ESC, inkDriver, KEYS } from './helpers.js';

const LINES = 10;
const ROWS = 4;

/**
 * A wizard with nothing but the shared keys: steps 0 and 1 (Enter goes on, its own key), a review
 * on step 2 with LINES lines shown ROWS at a time, a job that runs until cancelled, and a result.
 */
function Demo(props: { log: string[]; question: boolean }) {
  const { log } = props;
  const [phase, setPhase] = useState<'steps' | 'running' | 'result'>('steps');
  const [step, setStep] = useState(0);
  const [scroll, setScroll] = useState(0);
  const [run, setRun] = useState<RunView>(emptyRun);
  const screen: WizardScreen =
    phase === 'running'
      ? {
          kind: 'running',
          run: props.question ? run : undefined,
          showRun: setRun,
          abort: () => {
            log.push('abort');
            setPhase('result');
          },
        }
      : phase === 'result'
        ? { kind: 'result', close: () => log.push('close') }
        : {
            kind: 'step',
            first: step === 0,
            back: () => setStep(step - 1),
            review: step === 2 ? { scroll: { max: LINES - ROWS, set: setScroll }, run: () => setPhase('running'), saveScript: () => log.push('script'), quit: true } : undefined,
          };
  useWizardKeys({
    screen,
    cancel: () => log.push('cancel'),
    onKey: (input, key) => {
      if (key.return) setStep(step + 1);
      else log.push(`own ${input}`);
    },
  });
  return <Text>{`${phase} · step ${step} · scroll ${scroll}${run.confirmCancel ? ' · cancel? (y/n)' : ''}`}</Text>;
}

let unmount: (() => void) | null = null;
afterEach(() => {
  unmount?.();
  unmount = null;
});

function renderDemo(question = true) {
  const log: string[] = [];
  const r = render(<Demo log={log} question={question} />);
  unmount = () => r.unmount();
  return { log, ...inkDriver(r) };
}

describe('useWizardKeys', () => {
  it('Esc goes back a step and closes on the first; Ctrl-C cancels; other keys are the wizard’s', async () => {
    const t = renderDemo();
    await t.waitFor('step 0');
    await t.press(KEYS.enter);
    await t.waitFor('step 1');
    await t.press('x');
    expect(t.log).toEqual(['own x']);
    await t.press(ESC);
    await t.waitFor('step 0');
    expect(t.log).toEqual(['own x']);
    await t.press(ESC);
    expect(t.log).toEqual(['own x', 'cancel']);
    await t.press(KEYS.ctrlC);
    expect(t.log).toEqual(['own x', 'cancel', 'cancel']);
  });

  it('the review scrolls within its lines, saves the script on w, closes on q and runs on Enter', async () => {
    const t = renderDemo();
    await t.press(KEYS.enter);
    await t.waitFor('step 1');
    await t.press(KEYS.enter);
    await t.waitFor('step 2 · scroll 0');
    await t.press(KEYS.up);
    expect(t.frame()).toContain('scroll 0');
    for (let i = 0; i < LINES; i++) await t.press(KEYS.down);
    await t.waitFor(`scroll ${LINES - ROWS}`);
    await t.press(KEYS.down);
    expect(t.frame()).toContain(`scroll ${LINES - ROWS}`);
    await t.press(KEYS.up);
    await t.waitFor(`scroll ${LINES - ROWS - 1}`);
    await t.press('w');
    await t.press('q');
    expect(t.log).toEqual(['script', 'cancel']);
    await t.press(KEYS.enter);
    await t.waitFor('running');
  });

  it('while running, Esc/Ctrl-C ask first: n keeps going, y cancels; the result closes on Enter, Esc and q', async () => {
    const t = renderDemo();
    for (const shown of ['step 1', 'step 2', 'running']) {
      await t.press(KEYS.enter);
      await t.waitFor(shown);
    }
    await t.press(KEYS.ctrlC);
    await t.waitFor('cancel? (y/n)');
    await t.press('n');
    await t.waitFor((f) => f.startsWith('running') && !f.includes('cancel?'));
    await t.press(ESC);
    await t.waitFor('cancel? (y/n)');
    await t.press(ESC);
    await t.waitFor((f) => !f.includes('cancel?'));
    expect(t.log).toEqual([]);
    await t.press(ESC);
    await t.waitFor('cancel? (y/n)');
    await t.press('y');
    await t.waitFor('result');
    expect(t.log).toEqual(['abort']);
    await t.press(KEYS.enter);
    await t.press(ESC);
    await t.press('q');
    await t.press(KEYS.ctrlC);
    expect(t.log).toEqual(['abort', 'close', 'close', 'close']);
  });

  it('a job without a cancel question stops on Ctrl-C at once and ignores Esc', async () => {
    const t = renderDemo(false);
    for (const shown of ['step 1', 'step 2', 'running']) {
      await t.press(KEYS.enter);
      await t.waitFor(shown);
    }
    await t.press(ESC);
    await t.press('q');
    expect(t.frame()).toContain('running');
    expect(t.log).toEqual([]);
    await t.press(KEYS.ctrlC);
    await t.waitFor('result');
    expect(t.log).toEqual(['abort']);
  });
});
