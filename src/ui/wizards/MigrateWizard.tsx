/**
 * Migrate a guest: destination → checks → options → review → run → result. Draws the wizard's
 * store (store/wizards/migrate); keys reach the store through the router.
 */
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { useMemo } from 'react';
import { useStore } from 'zustand';
import { formatProgressLine } from '../../model/progress.js';
import { hintLine } from '../../store/keys/router.js';
import { MIGRATE_ROWS, MIGRATE_STEP_TITLES, MIGRATE_STEPS, type MigrateWizardStore } from '../../store/wizards/migrate/migrateWizard.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { Text } from '../components/Text.js';
import { ProblemLines, ScrolledLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { pageText } from './pageText.js';

export function MigrateWizardView(props: { store: MigrateWizardStore; theme?: Theme; width?: number }) {
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const s = useStore(props.store);
  const hints = hintLine(s.owner.scopes(), s.jobs.hintVars());
  const frame = { hostName: s.hostName, width, theme, hints };
  const to = s.dest?.ref.name ?? '';

  if (s.result) {
    return (
      <WizardFrame title={`Migrate ${s.guest} · ${s.result.ok ? 'done' : 'not done'}`} {...frame}>
        <ScrolledLines lines={pageText(s.result.lines, theme)} scroll={s.scroll} rows={MIGRATE_ROWS} theme={theme} />
        {s.result.error ? <ProblemLines problems={[s.result.error]} theme={theme} /> : null}
      </WizardFrame>
    );
  }
  if (s.run) {
    return (
      <WizardFrame title={`Migrate ${s.guest} to ${to} · running`} {...frame}>
        <RunSteps run={s.run} width={width - 4} theme={theme} />
        {/* domjobinfo's memory and disk figures, each with its rate and ETA (the row above is their sum). */}
        {(s.run.rows[s.run.current]?.state === 'running' ? (s.run.rows[s.run.current]?.progress?.parts ?? []) : []).map((p) => (
          <Box key={p.label} flexDirection="column">
            <Text wrap="truncate-end">{`    ${p.label}`}</Text>
            <Text wrap="truncate-end">{`    ${formatProgressLine(p, width - 10, { ascii: theme.ascii })}`}</Text>
          </Box>
        ))}
      </WizardFrame>
    );
  }
  const header = `Migrate ${s.guest} · step ${s.stepNumber} of ${MIGRATE_STEPS.length} · ${MIGRATE_STEP_TITLES[s.step]}`;
  if (s.step === 'checks' || s.step === 'review') {
    return (
      <WizardFrame title={header} {...frame}>
        <ScrolledLines lines={pageText(s.lines, theme)} scroll={s.scroll} rows={MIGRATE_ROWS - Math.min(6, s.problems.length * 2)} theme={theme} />
        <ProblemLines problems={s.problems} theme={theme} />
      </WizardFrame>
    );
  }
  return (
    <WizardFrame title={header} {...frame}>
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        {s.step === 'dest'
          ? `Where ${s.guest} goes. The checks read both hosts and change nothing.`
          : `How ${s.guest} moves to ${to}. The checks run again on these choices.`}
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
