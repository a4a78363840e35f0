import { type Key, useInput } from 'ink';
import { useRef } from 'react';
import { scrolled, type WizardIntent, type WizardScreen, wizardKeyIntent } from './wizardKeys.js';

export interface WizardKeysSpec {
  /** What is on screen now (see wizardKeys.ts for the keys each kind takes). */
  screen: WizardScreen;
  /** Leave without a result: Ctrl-C, Esc on the first step, q where offered. */
  cancel: () => void;
  /** The wizard's own keys: whatever the shared ones leave on a step or an own screen. */
  onKey?: (input: string, key: Key) => void;
}

function carryOut(intent: WizardIntent, spec: WizardKeysSpec, input: string, key: Key): void {
  const { screen } = spec;
  switch (intent.do) {
    case 'pass':
      spec.onKey?.(input, key);
      return;
    case 'cancel':
      spec.cancel();
      return;
    case 'close':
      if (screen.kind === 'result') screen.close();
      return;
    case 'back':
      if (screen.kind === 'step') screen.back();
      return;
    case 'stop-busy':
      if (screen.kind === 'step') screen.stopBusy?.();
      return;
    case 'abort':
      if (screen.kind === 'running') screen.abort();
      return;
    case 'ask':
      if (screen.kind !== 'running') return;
      if (intent.abort) screen.abort();
      screen.showRun?.(intent.run);
      return;
    case 'scroll': {
      const { scroller, by } = intent;
      scroller.set((at) => scrolled(at, by, scroller.max));
      return;
    }
    case 'run':
      if (screen.kind === 'step') screen.review?.run?.();
      return;
    case 'save-script':
      if (screen.kind === 'step') screen.review?.saveScript?.();
      return;
    case 'background':
      if (screen.kind === 'step') screen.review?.background?.();
      return;
    case 'nothing':
      return;
  }
}

/**
 * The one key handler of a job wizard. The spec is kept in a ref set during render: a key that
 * arrives between a render and the effect re-binding the handler acts on the screen now shown.
 */
export function useWizardKeys(spec: WizardKeysSpec): void {
  const latest = useRef(spec);
  latest.current = spec;
  useInput((input, key) => {
    const now = latest.current;
    carryOut(wizardKeyIntent(now.screen, input, key), now, input, key);
  });
}
