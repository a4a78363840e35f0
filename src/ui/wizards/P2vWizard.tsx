/**
 * P2V: source → what was found → the new guest (prefilled) → review of the plan → run with
 * progress and cancel. Draws the wizard's store (store/wizards/p2v); keys reach the store through
 * the router, so a burst typed over SSH lands where each key before it left the focus.
 */
import Spinner from 'ink-spinner';
import { useMemo } from 'react';
import { useStore } from 'zustand';
import { hintLine } from '../../store/keys/router.js';
import { P2V_STEP_TITLES, P2V_STEPS } from '../../store/wizards/p2v/p2vForm.js';
import { P2V_ROWS, type P2vWizardStore } from '../../store/wizards/p2v/p2vWizard.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { Text } from '../components/Text.js';
import { ProblemLines, ScrolledLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { pageText } from './pageText.js';

export function P2vWizardView(props: { store: P2vWizardStore; theme?: Theme; width?: number }) {
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const s = useStore(props.store);
  const frame = { hostName: s.hostName, width, theme, hints: hintLine(s.owner.scopes(), s.jobs.hintVars()) };

  if (s.result) {
    return (
      <WizardFrame title={s.result.ok ? 'P2V · done' : 'P2V · not done'} {...frame}>
        {pageText(s.result.lines, theme).map((l) => (
          <Text key={l} wrap="wrap">
            {l}
          </Text>
        ))}
        {s.result.error ? <ProblemLines problems={[s.result.error]} theme={theme} /> : null}
      </WizardFrame>
    );
  }
  if (s.run) {
    return (
      <WizardFrame title={`P2V · running · ${s.prepared?.request.name ?? ''}`} {...frame}>
        <RunSteps run={s.run} width={width - 4} theme={theme} />
      </WizardFrame>
    );
  }
  const header = `P2V · step ${s.stepNumber} of ${P2V_STEPS.length} · ${P2V_STEP_TITLES[s.step]}`;
  if (s.step === 'found' || s.step === 'review') {
    return (
      <WizardFrame title={header} {...frame}>
        {s.step === 'review' ? (
          <Text color={colorFor(theme, 'muted')} wrap="wrap">
            Each step is journaled; the image keeps a temporary name until it is verified.
          </Text>
        ) : null}
        <ScrolledLines lines={pageText(s.lines, theme)} scroll={s.scroll} rows={P2V_ROWS} theme={theme} />
        {s.message ? <Text wrap="wrap">{s.message}</Text> : null}
      </WizardFrame>
    );
  }
  return (
    <WizardFrame title={header} {...frame}>
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        {s.step === 'source' ? 'Where the physical disk is. It is only read; boot the machine from a live system first.' : 'Prefilled from the source; the MACs are kept so Windows keeps its network settings.'}
      </Text>
      <Text> </Text>
      <FormView form={s.step === 'source' ? s.source : s.guest} theme={theme} active={!s.busy} />
      <Text> </Text>
      {s.busy ? (
        <Text>
          {theme.ascii ? '...' : <Spinner />} {s.busy}…
        </Text>
      ) : null}
      <ProblemLines problems={s.problems} theme={theme} />
    </WizardFrame>
  );
}
