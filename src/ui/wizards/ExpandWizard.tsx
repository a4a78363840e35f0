import { posix } from 'node:path';
import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { stateDir } from '../../config/paths.js';
import { type HostError, toHostError } from '../../host/errors.js';
import { inspectDisk } from '../../host/guestfs.js';
import type { HostContext } from '../../host/hostContext.js';
import { type ExpandOutcome, gatherExpandFacts, runExpand } from '../../jobs/expand.js';
import { savePlanScriptNote } from '../../jobs/planScriptFile.js';
import { assessExpand, decideGrow, type ExpandFacts, type ExpandRequest, type ExpandRoute, osLabel, reviewLines } from '../../model/expandPlan.js';
import type { Progress } from '../../model/progress.js';
import { formatBytesLong } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { CancelQuestion, cancelHints } from '../components/JobSteps.js';
import { Text } from '../components/Text.js';
import { TextField } from '../components/TextField.js';
import { ErrorLines, WizardFrame } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { CheckLines, ProgressRows, type RowState } from './expand/ExpandParts.js';
import { useWizardKeys } from './useWizardKeys.js';
import { askToCancel, type WizardScreen } from './wizardKeys.js';

export interface ExpandWizardProps {
  host: HostContext;
  /** The image to grow (the Disks pane's selection). */
  path: string;
  /** The finished job's outcome, or null when cancelled before anything ran. */
  onClose: (result: ExpandOutcome | null) => void;
  theme?: Theme;
  /** Where journals, saved scripts and instructions go (tests pass a temp dir). */
  stateDir?: string;
}

const STEP_TITLES = ['disk', 'new size', 'guest side', 'review'] as const;
const WIDTH = 80;

type Phase =
  | { kind: 'loading' }
  | { kind: 'load-failed'; error: HostError | UserError }
  | { kind: 'form' }
  | { kind: 'running'; states: RowState[]; progress: Map<number, Progress> }
  | { kind: 'done'; outcome: ExpandOutcome }
  | { kind: 'failed'; error: HostError | UserError; states: RowState[] };

function asError(e: unknown): HostError | UserError {
  return e instanceof UserError ? e : toHostError(e);
}

export function ExpandWizard({ host, path, onClose, theme: themeProp, stateDir: stateDirProp }: ExpandWizardProps) {
  const theme = useMemo(() => themeProp ?? chooseTheme(process.env), [themeProp]);
  const state = stateDirProp ?? stateDir();
  const [phase, setPhase] = useState<Phase>({ kind: 'loading' });
  const [facts, setFacts] = useState<ExpandFacts | null>(null);
  const [inspecting, setInspecting] = useState(false);
  const [step, setStep] = useState(0);
  const [size, setSize] = useState('');
  const [offline, setOffline] = useState(true);
  const [note, setNote] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const latestSize = useRef(size);
  latestSize.current = size;

  const load = () => {
    setPhase({ kind: 'loading' });
    const controller = new AbortController();
    abort.current = controller;
    gatherExpandFacts(host, path, { growFs: true, inspect: false, signal: controller.signal }).then(
      (f) => {
        setFacts(f);
        setPhase({ kind: 'form' });
        const online = f.guest !== null && f.guest.state !== 'shut off';
        if (!f.image || online || !['raw', 'qcow2', 'vmdk'].includes(f.image.format)) return;
        // One libguestfs launch (~20 s) while the admin types the size.
        setInspecting(true);
        inspectDisk(host.sysExec, path, f.image.format, controller.signal).then(
          (layout) => setFacts((old) => (old ? { ...old, layout } : old)),
          (e: unknown) => setFacts((old) => (old ? { ...old, layoutError: `libguestfs could not look inside the image (${asError(e).sentence})` } : old)),
        ).finally(() => setInspecting(false));
      },
      (e: unknown) => setPhase({ kind: 'load-failed', error: asError(e) }),
    );
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: read the image once when the wizard opens.
  useEffect(() => {
    load();
    return () => abort.current?.abort();
  }, []);

  const canGrowOffline = Boolean(facts?.layout && 'op' in decideGrow(facts.layout)) && !(facts?.guest && facts.guest.state !== 'shut off');
  const sizeText = size.trim() || '+0';
  const instructionsOnly = !(offline && canGrowOffline);
  const assessment = useMemo(() => {
    const request: ExpandRequest = { size: sizeText, growFs: true, instructionsOnly };
    return facts ? assessExpand(facts, request) : null;
  }, [facts, sizeText, instructionsOnly]);

  const next = () => {
    setNote(null);
    if (step === 1) {
      if (!latestSize.current.trim()) return setNote('Type the new size, e.g. 35G or +15G.');
      if (inspecting) return setNote('Still looking inside the disk; a moment.');
      if (assessment?.refusal) return;
    }
    setStep((s) => Math.min(3, s + 1));
  };

  const saveScript = () => {
    const plan = assessment?.decision?.plan;
    if (!plan) return;
    setNote(savePlanScriptNote(state, 'expand', plan));
  };

  const run = () => {
    const decision = assessment?.decision;
    if (!facts || !decision) return;
    const controller = new AbortController();
    abort.current = controller;
    const states: RowState[] = decision.plan.steps.map(() => 'pending');
    const progress = new Map<number, Progress>();
    const show = () => setPhase({ kind: 'running', states: [...states], progress: new Map(progress) });
    setAsking(false);
    show();
    runExpand(host, facts, decision, {
      signal: controller.signal,
      stateDir: state,
      onEvent: (e) => {
        if (e.type === 'step-start') states[e.index] = 'running';
        else if (e.type === 'step-end') states[e.index] = 'done';
        else if (e.type === 'step-failed') states[e.index] = 'failed';
        else if (e.type === 'undo-end' && e.ok) states[e.index] = 'undone';
        else if (e.type === 'progress') progress.set(e.index, e.progress);
        else return;
        show();
      },
    }).then(
      (outcome) => {
        if (outcome.state === 'done') setPhase({ kind: 'done', outcome });
        else {
          const error = outcome.result.error ?? new UserError(`The expansion was ${outcome.state}; ${leftAfterStop(decision.route, states)}`, 'Start it again when ready.');
          setPhase({ kind: 'failed', error, states: [...states] });
        }
      },
      (e: unknown) => setPhase({ kind: 'failed', error: asError(e), states: [...states] }),
    );
  };

  const keys: WizardScreen =
    phase.kind === 'running'
      ? askToCancel(asking, setAsking, () => abort.current?.abort())
      : phase.kind === 'done'
        ? { kind: 'result', close: () => onClose(phase.outcome), closeKeys: ['enter', 'esc', 'q', 'ctrl-c'] }
        : phase.kind === 'form'
          ? {
              kind: 'step',
              first: step === 0,
              back: () => {
                setNote(null);
                setStep(step - 1);
              },
              review: step === 3 ? { run, saveScript } : undefined,
            }
          : { kind: 'own' };
  useWizardKeys({
    screen: keys,
    cancel: () => onClose(null),
    onKey: (input, key) => {
      if (phase.kind === 'load-failed') {
        if (input === 'r') load();
        else if (key.escape || input === 'q') onClose(null);
      } else if (phase.kind === 'failed') {
        if (key.escape) setPhase({ kind: 'form' });
        else if (input === 'q') onClose(null);
      } else if (phase.kind === 'form' && step === 2 && (key.leftArrow || key.rightArrow || key.upArrow || key.downArrow || input === ' ')) {
        if (canGrowOffline) setOffline((o) => !o);
      } else if (phase.kind === 'form' && step !== 1 && key.return) next(); // step 1: the text field handles typing and Enter
    },
  });

  const frame = (title: string, children: ReactNode, hints?: string) => (
    <WizardFrame title={title} hostName={host.name} hints={hints} width={WIDTH} theme={theme}>
      {children}
    </WizardFrame>
  );
  const spin = theme.ascii ? '...' : <Spinner />;

  if (phase.kind === 'loading') {
    return frame(
      'Expand disk',
      <Text wrap="truncate-middle">
        {spin} Reading {path}: format, size, guest, free space…
      </Text>,
    );
  }
  if (phase.kind === 'load-failed') {
    return frame('Expand disk · could not read the image', <ErrorLines error={phase.error} theme={theme} />, 'r retry   Esc/q close');
  }
  const decision = assessment?.decision ?? null;
  if (phase.kind === 'running' || phase.kind === 'failed') {
    const plan = decision?.plan;
    return frame(
      phase.kind === 'running' ? `Expand disk · growing ${posix.basename(path)}` : `Could not grow ${posix.basename(path)}`,
      <>
        {plan ? <ProgressRows plan={plan} states={phase.states} progress={phase.kind === 'running' ? phase.progress : new Map()} width={WIDTH - 4} theme={theme} /> : null}
        {phase.kind === 'failed' ? <ErrorLines error={phase.error} theme={theme} /> : null}
        {phase.kind === 'running' && asking && decision ? <CancelQuestion question={cancelQuestion(decision.route)} theme={theme} /> : null}
      </>,
      phase.kind === 'running' ? cancelHints(asking, 'cancel the expansion') : 'Esc back to the review   q close',
    );
  }
  if (phase.kind === 'done') {
    const o = phase.outcome;
    const instr = o.instructions?.text.trimEnd().split('\n') ?? [];
    return frame(
      `Expand disk · done · ${posix.basename(path)}`,
      <>
        <Text>{`${theme.symbols.ok} disk ${formatBytesLong(decision?.currentBytes ?? 0)} → ${formatBytesLong(o.verifiedBytes ?? 0)} (verified)`}</Text>
        {o.grow ? <Text>{`${theme.symbols.ok} filesystem ${formatBytesLong(o.grow.fsBytesBefore)} → ${formatBytesLong(o.grow.fsBytesAfter)} (verified)`}</Text> : null}
        {o.keptOriginal ? <Text wrap="truncate-middle">{`  original kept in ${o.keptOriginal}/`}</Text> : null}
        {instr.slice(0, 12).map((l, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: lines of fixed text.
          <Text key={i} wrap="truncate-end">
            {l}
          </Text>
        ))}
        {o.instructions ? <Text color={colorFor(theme, 'muted')} wrap="truncate-middle">{`saved to ${o.instructions.file}`}</Text> : null}
      </>,
      'Enter close',
    );
  }

  // phase: form
  const f = facts as ExpandFacts;
  const img = f.image;
  const header = `Expand disk · step ${step + 1} of 4 · ${STEP_TITLES[step]}`;
  const noteLine = note ? <Text color={colorFor(theme, 'warn')} wrap="truncate-end">{note}</Text> : null;
  if (!img) {
    return frame('Expand disk', assessment?.refusal ? <ErrorLines error={assessment.refusal} theme={theme} /> : null, 'Esc close');
  }
  const vmdkText = img.vmdk ? ` ${img.vmdk.createType} · ${img.vmdk.options.adapter_type ?? 'ide'} · hw ${img.vmdk.options.hwversion ?? '?'}` : '';
  const about = (
    <Box flexDirection="column">
      <Text wrap="truncate-middle">{`Disk      ${img.path}`}</Text>
      <Text wrap="truncate-end">{`Format    ${img.format}${vmdkText}`}</Text>
      <Text wrap="truncate-end">{`Now       ${formatBytesLong(img.virtualSize)} virtual${img.backingFile ? ` · backing file ${img.backingFile}` : ''}`}</Text>
    </Box>
  );

  if (step === 0) {
    return frame(
      header,
      <>
        {about}
        <Text wrap="truncate-end">{`Guest     ${f.guest ? `${f.guest.name} (${f.guest.target}), ${f.guest.state}` : 'none uses it'}`}</Text>
        <Text> </Text>
        {noteLine}
      </>,
      'Enter next   Esc cancel',
    );
  }
  if (step === 1) {
    const osLine = inspecting ? (
      <Text>
        {spin} Looking inside the disk (libguestfs, about 20 s)…
      </Text>
    ) : null;
    return frame(
      header,
      <>
        {about}
        <Text> </Text>
        <Box>
          <Text>{'New size  '}</Text>
          <TextField value={size} onChange={setSize} onSubmit={() => next()} placeholder="35G" />
          <Text color={colorFor(theme, 'muted')}>{'   absolute, or +15G'}</Text>
        </Box>
        <Text> </Text>
        {size.trim() ? <CheckLines checks={assessment?.checks ?? []} theme={theme} /> : null}
        {osLine}
        {size.trim() && assessment?.refusal ? <ErrorLines error={assessment.refusal} theme={theme} /> : null}
        {noteLine}
      </>,
      'Esc back   Enter next   Ctrl-C cancel',
    );
  }
  if (step === 2) {
    const grow = f.layout ? decideGrow(f.layout) : null;
    const what = grow && 'op' in grow ? grow.description : null;
    const why = f.guest && f.guest.state !== 'shut off' ? `${f.guest.name} is running` : grow && 'reason' in grow ? grow.reason : (f.layoutError ?? 'the disk was not inspected');
    const box = (on: boolean) => (on ? '(*)' : '( )');
    return frame(
      header,
      <>
        <Text wrap="truncate-end">{`Inside: ${f.layout ? osLabel(f.layout.os) : 'not inspected'}`}</Text>
        <Text> </Text>
        <Text color={canGrowOffline ? undefined : colorFor(theme, 'muted')} wrap="truncate-end">
          {`${box(offline && canGrowOffline)} grow offline now: ${what ?? `not possible (${why})`}`}
        </Text>
        <Text wrap="truncate-end">{`${box(!(offline && canGrowOffline))} instructions only: steps to run inside the guest, shown and saved`}</Text>
        <Text> </Text>
      </>,
      `${canGrowOffline ? '←→ choose   ' : ''}Enter next   Esc back   Ctrl-C cancel`,
    );
  }
  // review
  return frame(
    header,
    <>
      <Text wrap="wrap">These steps will run in order. Each is journaled; the original stays until the result is verified.</Text>
      {decision ? (
        reviewLines(decision.plan).map((l) => (
          <Text key={l} wrap="truncate-end">
            {` ${l}`}
          </Text>
        ))
      ) : assessment?.refusal ? (
        <ErrorLines error={assessment.refusal} theme={theme} />
      ) : null}
      {decision?.guestSide.kind === 'instructions' ? <Text wrap="truncate-end">{`  then: instructions for inside the guest (${decision.guestSide.reason})`}</Text> : null}
      {(decision?.warnings ?? []).map((w) => (
        <Text key={w} color={colorFor(theme, 'warn')} wrap="wrap">{`${theme.symbols.warn} ${w}`}</Text>
      ))}
      <Text> </Text>
      {noteLine}
    </>,
    'Enter run   w save as script   Esc back',
  );
}

/** What a stopped expansion left, in the words of cancelQuestion: a grow in place is never undone. */
function leftAfterStop(route: ExpandRoute, states: readonly string[]): string {
  if (route === 'vmdk') return 'the work copy was removed and the original vmdk is as it was.';
  return states.some((s) => s === 'done') ? 'the steps already done stay done (a grow is not undone); the rest was skipped.' : 'the image is as it was.';
}

/**
 * What a cancel leaves, by route (expandPlan.ts): the vmdk route's undos remove the work folder and
 * put the original back; a grow in place or online has no undo (it only appended space).
 */
function cancelQuestion(route: ExpandRoute): string {
  return route === 'vmdk'
    ? 'Cancel the expansion? The work copy is removed; the original vmdk stays as it was.'
    : 'Cancel the expansion? What is already grown stays grown (a grow is not undone); the rest is skipped.';
}
