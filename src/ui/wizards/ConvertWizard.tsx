/**
 * The convert wizard's screen (store/wizards/convert): the step with its fields, the review, the
 * job while it runs, the summary. Draws the store's state; keys go to the store's owner.
 */
import Spinner from 'ink-spinner';
import type { ReactNode } from 'react';
import { useStore } from 'zustand';
import { formatBytes } from '../../model/units.js';
import { hintLine } from '../../store/keys/router.js';
import { CONVERT_STEP_TITLES, CONVERT_STEPS, formDest } from '../../store/wizards/convert/convertForm.js';
import { CONVERT_WIDTH, type ConvertWizardState, type ConvertWizardStore, REVIEW_ROWS } from '../../store/wizards/convert/convertWizard.js';
import { FormView } from '../components/FormView.js';
import { RunSteps } from '../components/RunSteps.js';
import { Text } from '../components/Text.js';
import { ProblemLines, ScrolledLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';

export function ConvertWizardView({ store, theme = chooseTheme(process.env) }: { store: ConvertWizardStore; theme?: Theme }) {
  const s = useStore(store);
  const width = CONVERT_WIDTH;
  const hints = hintLine(s.owner.scopes(), s.owner.hintVars?.());
  const muted = colorFor(theme, 'muted');
  const frame = (title: string, children: ReactNode) => (
    <WizardFrame title={title} hostName={s.host.name} width={width} theme={theme}>
      {children}
      <Text color={muted} wrap="wrap">
        {hints}
      </Text>
    </WizardFrame>
  );
  const dest = formDest(s.values);

  if (s.result) {
    const r = s.result;
    return frame(
      r.title ?? (r.ok ? 'Convert disk · done' : 'Convert disk · not done'),
      <>
        {r.lines.map((l) => (
          <Text key={l.text} wrap="wrap">
            {l.ok ? `${theme.symbols.ok} ${l.text}` : l.text}
          </Text>
        ))}
        {r.error ? <ProblemLines problems={[r.error]} theme={theme} /> : null}
      </>,
    );
  }

  if (s.run) {
    return frame(
      `Convert disk · running · ${dest}`,
      <>
        <RunSteps run={s.run} width={width - 4} theme={theme} />
        {s.message ? <Text wrap="wrap">{s.message}</Text> : null}
      </>,
    );
  }

  const header = `Convert disk · step ${CONVERT_STEPS.indexOf(s.step) + 1} of ${CONVERT_STEPS.length} · ${CONVERT_STEP_TITLES[s.step]}`;
  if (s.step === 'review') {
    const lines = s.review.map((l) => (l.warn ? `${theme.symbols.warn} ${l.text}` : l.text));
    return frame(
      header,
      <>
        <Text color={muted} wrap="wrap">
          These steps run in order, each journaled; the original stays untouched until the copy is verified.
        </Text>
        <ScrolledLines lines={lines} scroll={s.scroll} rows={REVIEW_ROWS} theme={theme} />
        {s.message ? <Text wrap="wrap">{s.message}</Text> : null}
      </>,
    );
  }

  return frame(
    header,
    <>
      {introLines(s).map((l) => (
        <Text key={l} color={muted} wrap="wrap">
          {l}
        </Text>
      ))}
      <Text> </Text>
      <FormView form={s.form} theme={theme} labelWidth={14} />
      <Text> </Text>
      {s.checking ? (
        <Text>
          {theme.ascii ? '...' : <Spinner />} Checking on {s.host.name}…
        </Text>
      ) : null}
      <ProblemLines problems={s.problems} theme={theme} max={2} />
    </>,
  );
}

function introLines(s: ConvertWizardState): string[] {
  if (s.step === 'disk') {
    const known = s.info?.format ? `${s.info.format}${s.info.virtualSize ? `, ${formatBytes(s.info.virtualSize)} virtual` : ''}` : '';
    return [known ? `Selected image: ${known}` : 'The image to convert; the original is never changed.'];
  }
  const source = s.prepared?.request.source;
  if (!source) return [];
  const users = source.users.map((u) => `${u.guest} (${u.target}, ${u.state})`).join(', ');
  const about = `${source.path}: ${source.format}, ${formatBytes(source.virtualSize)} virtual${users ? ` · used by ${users}` : ' · no guest uses it'}`;
  if (s.step === 'dest') return [about, 'Default: beside the source with the new extension. Existing files are never overwritten.'];
  if (s.step === 'options') return [about, `New image: ${formDest(s.values)}`];
  return [about];
}
