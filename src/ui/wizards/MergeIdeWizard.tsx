/**
 * MergeIDE: choose the way → review what changes (per control set) and the plan → run → the report.
 * Draws the wizard's store (store/wizards/mergeide); keys reach the store through the router.
 */
import Spinner from 'ink-spinner';
import { useMemo } from 'react';
import { useStore } from 'zustand';
import { hintLine } from '../../store/keys/router.js';
import { explanation, MERGEIDE_ROWS, type MergeIdeWizardStore } from '../../store/wizards/mergeide/mergeIdeWizard.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { Text } from '../components/Text.js';
import { ProblemLines, ScrolledLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { pageText } from './pageText.js';

export function MergeIdeWizardView(props: { store: MergeIdeWizardStore; theme?: Theme; width?: number }) {
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const s = useStore(props.store);
  const hints = hintLine(s.owner.scopes(), s.jobs.hintVars());
  const frame = { hostName: s.hostName, width, theme, hints };

  if (s.result) {
    return (
      <WizardFrame title={s.result.ok ? `MergeIDE · done · ${s.guest}` : `MergeIDE · not done · ${s.guest}`} {...frame}>
        <ScrolledLines lines={pageText(s.result.lines, theme)} scroll={s.scroll} rows={MERGEIDE_ROWS} theme={theme} />
        {s.result.error ? <ProblemLines problems={[s.result.error]} theme={theme} /> : null}
      </WizardFrame>
    );
  }
  if (s.run) {
    return (
      <WizardFrame title={`MergeIDE · running · ${s.guest}`} {...frame}>
        <RunSteps run={s.run} width={width - 4} theme={theme} />
      </WizardFrame>
    );
  }
  const header = `MergeIDE · ${s.guest} · step ${s.stepNumber} of 2 · ${s.step === 'way' ? 'how' : 'review'}`;
  if (s.step === 'review') {
    return (
      <WizardFrame title={header} {...frame}>
        <ScrolledLines lines={pageText(s.lines, theme)} scroll={s.scroll} rows={MERGEIDE_ROWS} theme={theme} />
      </WizardFrame>
    );
  }
  const offline = s.form.fields.find((f) => f.id === 'mode')?.value === 'offline';
  return (
    <WizardFrame title={header} {...frame}>
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        Old Windows boots only from a disk controller it has an entry for; MergeIDE adds the IDE ones.
      </Text>
      <Text> </Text>
      <FormView form={s.form} theme={theme} active={!s.busy} />
      <Text> </Text>
      {explanation(s.form).map((l) => (
        <Text key={l} color={colorFor(theme, 'muted')} wrap="wrap">
          {l}
        </Text>
      ))}
      {s.busy ? (
        <Text>
          {theme.ascii ? '...' : <Spinner />} {offline ? `Looking into ${s.guest}'s disks (a libguestfs launch, about 20 s)` : 'Reading the guest'}…
        </Text>
      ) : null}
      <ProblemLines problems={s.problems} theme={theme} />
    </WizardFrame>
  );
}
