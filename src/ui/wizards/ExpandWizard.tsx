/**
 * The expand wizard's screen (store/wizards/expand): reading the image, the four steps, the job
 * while it runs, the summary. Draws the store's state; keys go to the store's owner.
 */
import { posix } from 'node:path';
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import type { ReactNode } from 'react';
import { useStore } from 'zustand';
import { decideGrow, osLabel } from '../../model/expandPlan.js';
import { isActive } from '../../model/guest.js';
import { formatBytesLong } from '../../model/units.js';
import { fieldValue } from '../../store/form.js';
import { hintLine } from '../../store/keys/router.js';
import { EXPAND_ROWS, EXPAND_STEP_TITLES, type ExpandWizardStore, expandPage } from '../../store/wizards/expand/expandWizard.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { Text } from '../components/Text.js';
import { ErrorLines, ScrolledLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { CheckLines } from './expand/ExpandParts.js';
import { pageText } from './pageText.js';

const WIDTH = 80;

export function ExpandWizardView({ store, theme = chooseTheme(process.env) }: { store: ExpandWizardStore; theme?: Theme }) {
  const s = useStore(store);
  const { path, step } = s;
  const scopes = s.owner.scopes();
  const frame = (title: string, children: ReactNode, hints = true) => (
    <WizardFrame title={title} hostName={s.host.name} width={WIDTH} theme={theme}>
      {children}
      {hints ? (
        <Text color={colorFor(theme, 'muted')} wrap="wrap">
          {hintLine(scopes, s.owner.hintVars?.())}
        </Text>
      ) : null}
    </WizardFrame>
  );
  const spin = theme.ascii ? '...' : <Spinner />;

  if (s.phase === 'loading') {
    return frame(
      'Expand disk',
      <Text wrap="wrap">
        {spin} Reading {path}: format, size, guest, free space…
      </Text>,
      false,
    );
  }
  if (s.phase === 'load-failed' && s.loadError) {
    return frame('Expand disk · could not read the image', <ErrorLines error={s.loadError} theme={theme} />);
  }
  const decision = s.assessment?.decision ?? null;
  if ((s.phase === 'running' || s.phase === 'failed') && s.run) {
    return frame(
      s.phase === 'running' ? `Expand disk · growing ${posix.basename(path)}` : `Could not grow ${posix.basename(path)}`,
      <>
        <RunSteps run={s.run} width={WIDTH - 4} theme={theme} />
        {s.phase === 'failed' && s.error ? <ErrorLines error={s.error} theme={theme} /> : null}
      </>,
    );
  }
  if (s.phase === 'done' && s.outcome) {
    return frame(`Expand disk · done · ${posix.basename(path)}`, <ScrolledLines lines={pageText(expandPage(s), theme)} scroll={s.scroll} rows={EXPAND_ROWS} theme={theme} />);
  }

  // The steps.
  const f = s.facts;
  const img = f?.image;
  const noteLine = s.note ? (
    <Text color={colorFor(theme, 'warn')} wrap="wrap">
      {s.note}
    </Text>
  ) : null;
  if (!f || !img) {
    return frame('Expand disk', s.assessment?.refusal ? <ErrorLines error={s.assessment.refusal} theme={theme} /> : null);
  }
  const header = `Expand disk · step ${step + 1} of 4 · ${EXPAND_STEP_TITLES[step]}`;
  const vmdkText = img.vmdk ? ` ${img.vmdk.createType} · ${img.vmdk.options.adapter_type ?? 'ide'} · hw ${img.vmdk.options.hwversion ?? '?'}` : '';
  const about = (
    <Box flexDirection="column">
      <Text wrap="wrap">{`Disk      ${img.path}`}</Text>
      <Text wrap="wrap">{`Format    ${img.format}${vmdkText}`}</Text>
      <Text wrap="wrap">{`Now       ${formatBytesLong(img.virtualSize)} virtual${img.backingFile ? ` · backing file ${img.backingFile}` : ''}`}</Text>
    </Box>
  );

  if (step === 0) {
    return frame(
      header,
      <>
        {about}
        <Text wrap="wrap">{`Guest     ${f.guest ? `${f.guest.name} (${f.guest.target}), ${f.guest.state}` : 'none uses it'}`}</Text>
        <Text> </Text>
        {noteLine}
      </>,
    );
  }
  if (step === 1) {
    const typed = fieldValue(s.form, 'size').trim() !== '';
    return frame(
      header,
      <>
        {about}
        <Text> </Text>
        <FormView form={s.form} theme={theme} labelWidth={9} />
        <Text> </Text>
        {typed ? <CheckLines checks={s.assessment?.checks ?? []} theme={theme} /> : null}
        {s.inspecting ? <Text>{spin} Looking inside the disk (libguestfs, about 20 s)…</Text> : null}
        {typed && s.assessment?.refusal ? <ErrorLines error={s.assessment.refusal} theme={theme} /> : null}
        {noteLine}
      </>,
    );
  }
  if (step === 2) {
    const grow = f.layout ? decideGrow(f.layout) : null;
    const what = grow && 'op' in grow ? grow.description : null;
    const why = f.guest && isActive(f.guest.state) ? `${f.guest.name} is running` : grow && 'reason' in grow ? grow.reason : (f.layoutError ?? 'the disk was not inspected');
    const box = (on: boolean) => (on ? '(*)' : '( )');
    const offline = s.offline && s.canGrowOffline;
    return frame(
      header,
      <>
        <Text wrap="wrap">{`Inside: ${f.layout ? osLabel(f.layout.os) : 'not inspected'}`}</Text>
        <Text> </Text>
        <Text color={s.canGrowOffline ? undefined : colorFor(theme, 'muted')} wrap="wrap">
          {`${box(offline)} grow offline now: ${what ?? `not possible (${why})`}`}
        </Text>
        <Text wrap="wrap">{`${box(!offline)} instructions only: steps to run inside the guest, shown and saved`}</Text>
        <Text> </Text>
      </>,
    );
  }
  return frame(
    header,
    <>
      {decision ? (
        <ScrolledLines lines={pageText(expandPage(s), theme)} scroll={s.scroll} rows={EXPAND_ROWS} theme={theme} />
      ) : s.assessment?.refusal ? (
        <ErrorLines error={s.assessment.refusal} theme={theme} />
      ) : null}
      <Text> </Text>
      {noteLine}
    </>,
  );
}
