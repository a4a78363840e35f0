/**
 * Evacuate this host: where to → review → confirm → one guest at a time → summary. Draws the
 * wizard's store (store/wizards/evacuate); keys reach the store through the router.
 */
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { useMemo } from 'react';
import { useStore } from 'zustand';
import { formatProgressLine } from '../../model/progress.js';
import { cancelQuestion } from '../../store/jobs/runView.js';
import { hintLine } from '../../store/keys/router.js';
import { EVACUATE_ROWS, EVACUATE_STEP_TITLES, EVACUATE_STEPS, type EvacuateWizardStore } from '../../store/wizards/evacuate/evacuateWizard.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { runWindow } from '../components/runWindow.js';
import { Text } from '../components/Text.js';
import { ProblemLines, ScrolledLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { pageText } from './pageText.js';

export function EvacuateWizardView(props: { store: EvacuateWizardStore; theme?: Theme; width?: number }) {
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const s = useStore(props.store);
  const hints = hintLine(s.owner.scopes(), s.jobs.hintVars());
  const frame = { hostName: s.hostName, width, theme, hints };
  const what = s.returning ? 'Bring guests home' : `Evacuate ${s.hostName}`;
  const to = s.prepared?.review.to.name ?? '';

  if (s.result) {
    return (
      <WizardFrame title={`${what} · ${s.result.ok ? 'done' : 'not all moved'}`} {...frame}>
        <ScrolledLines lines={pageText(s.result.lines, theme)} scroll={s.scroll} rows={EVACUATE_ROWS} theme={theme} />
        {s.result.error ? <ProblemLines problems={[s.result.error]} theme={theme} /> : null}
      </WizardFrame>
    );
  }
  if (s.run) {
    const current = s.run.rows[s.run.current];
    // The guest being moved: its migration's own step, then domjobinfo's memory and disk figures.
    const step = [...s.run.logs].reverse().find((l) => / \d+\/\d+: /.test(l));
    const parts = current?.state === 'running' ? (current.progress?.parts ?? []) : [];
    // Twenty guests are twenty steps: only a window of them fits beside the moving guest's figures.
    const shown = runWindow(s.run, width - 4, theme, EVACUATE_ROWS - (step ? 1 : 0) - parts.length * 2);
    return (
      <WizardFrame title={`${what} to ${to} · running`} {...frame}>
        {shown.above ? <Text color={colorFor(theme, 'muted')}>{`  ${shown.above}`}</Text> : null}
        <RunSteps run={{ ...shown.run, asking: false }} width={width - 4} theme={theme} numbered={false} />
        {shown.below ? <Text color={colorFor(theme, 'muted')}>{`  ${shown.below}`}</Text> : null}
        {s.run.asking ? (
          <Text color={colorFor(theme, 'warn')} wrap="wrap">
            {cancelQuestion(s.run.spec)} (y/n)
          </Text>
        ) : null}
        {current?.state === 'running' && step ? <Text wrap="truncate-end">{`    ${step}`}</Text> : null}
        {parts.map((p) => (
          <Box key={p.label} flexDirection="column">
            <Text wrap="truncate-end">{`    ${p.label}`}</Text>
            <Text wrap="truncate-end">{`    ${formatProgressLine(p, width - 10, { ascii: theme.ascii })}`}</Text>
          </Box>
        ))}
      </WizardFrame>
    );
  }
  const header = `${what} · step ${s.stepNumber} of ${EVACUATE_STEPS.length} · ${EVACUATE_STEP_TITLES[s.step]}`;
  if (s.step !== 'where') {
    return (
      <WizardFrame title={header} {...frame}>
        <ScrolledLines lines={pageText(s.lines, theme)} scroll={s.scroll} rows={EVACUATE_ROWS - Math.min(6, s.problems.length * 2)} theme={theme} />
        <ProblemLines problems={s.problems} theme={theme} />
      </WizardFrame>
    );
  }
  return (
    <WizardFrame title={header} {...frame}>
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        Every running guest moves live, one at a time, with the checks of a migration; a guest that fails them stays and is named. Nothing changes before the confirmation.
      </Text>
      <Text> </Text>
      <FormView form={s.form} theme={theme} active={!s.busy} />
      {s.busy ? (
        <Text>
          {theme.ascii ? '...' : <Spinner />} Reading {s.hostName} and the destination for the checks
        </Text>
      ) : null}
      <ProblemLines problems={s.problems} theme={theme} />
    </WizardFrame>
  );
}
