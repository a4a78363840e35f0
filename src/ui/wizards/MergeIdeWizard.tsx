import Spinner from 'ink-spinner';
import { useEffect, useMemo, useRef, useState } from 'react';
import { stateDir as defaultStateDir } from '../../config/paths.js';
import { type HostError, toHostError } from '../../host/errors.js';
import type { HostContext } from '../../host/hostContext.js';
import { type PreparedMergeIde, prepareMergeIde, runMergeIde, summaryLines } from '../../jobs/mergeide.js';
import { describeChanges } from '../../model/mergeide.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import { cancelHints, followRun, JobSteps, type RunView } from '../components/JobSteps.js';
import { Text } from '../components/Text.js';
import { type Problem, ProblemLines, ScrolledLines, WizardFrame, wrapLine } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { explainMode, formToInput, initialMergeIdeForm, MERGEIDE_STEPS, type MergeIdeForm, type MergeIdeStepId, MODE_CHOICES } from './mergeide/mergeIdeForm.js';
import { type Field, FieldList } from './steps/FieldList.js';
import { useWizardKeys } from './useWizardKeys.js';
import { useWizardSteps } from './useWizardSteps.js';
import type { WizardScreen } from './wizardKeys.js';

export interface MergeIdeWizardProps {
  host: HostContext;
  guest: string;
  /** The guest runs: only the in-guest ISO is possible now (the offline way refuses). */
  running?: boolean;
  onClose: () => void;
  theme?: Theme;
  stateDir?: string;
  width?: number;
}

type Phase = { kind: 'form' } | { kind: 'running'; run: RunView } | { kind: 'result'; ok: boolean; lines: string[]; error: UserError | HostError | null };

/** Fits 80x24 with the frame, the title, the scroll note and the key hints. */
const ROWS = 17;

/** MergeIDE: choose the way → review what changes (per control set) and the plan → run → the report. */
export function MergeIdeWizard(props: MergeIdeWizardProps) {
  const { host, guest, onClose } = props;
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const [form, setForm] = useState<MergeIdeForm>(() => initialMergeIdeForm(Boolean(props.running)));
  const { stepIndex, goTo, focus, setFocus, problems, setProblems, scroll, setScroll } = useWizardSteps<Problem>();
  const [busy, setBusy] = useState(false);
  const [prepared, setPrepared] = useState<PreparedMergeIde | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const abort = useRef<AbortController | null>(null);
  const working = useRef(false);
  const latest = useRef(form);
  latest.current = form;
  const step = MERGEIDE_STEPS[stepIndex] as MergeIdeStepId;
  const lines = useMemo(() => {
    if (!prepared) return [];
    const detail = prepared.mode === 'offline' ? ['', 'Every change:', ...describeChanges(prepared.facts.changes, prepared.facts.controlSets)] : [];
    return [...summaryLines(prepared, { compact: true }), ...prepared.warnings.map((w) => `${theme.symbols.warn} ${w}`), '', 'Plan:', ...describePlan(prepared.plan), ...detail].flatMap((l) => wrapLine(l, width - 4));
  }, [prepared, theme, width]);
  const screen = useRef({ prepared });
  screen.current = { prepared };

  useEffect(() => () => abort.current?.abort(), []);

  const submit = async () => {
    if (working.current) return;
    working.current = true;
    setBusy(true);
    setProblems([]);
    const controller = new AbortController();
    abort.current = controller;
    try {
      const p = await prepareMergeIde(host, formToInput(guest, latest.current, props.stateDir), controller.signal);
      setPrepared(p);
      goTo(1);
    } catch (e) {
      if (!controller.signal.aborted) setProblems([e instanceof UserError ? e : toHostError(e)]);
    } finally {
      working.current = false;
      setBusy(false);
    }
  };

  const start = () => {
    const p = screen.current.prepared;
    if (!p) return;
    const controller = new AbortController();
    abort.current = controller;
    const { view, onEvent } = followRun((next) => setPhase((ph) => ({ kind: 'running', run: next(ph.kind === 'running' ? ph.run : null) })));
    runMergeIde(host, p.plan, { stateDir: props.stateDir ?? defaultStateDir(), signal: controller.signal, onEvent }).then(
      (r) => {
        if (r.state === 'done') setPhase({ kind: 'result', ok: true, lines: [...view.logs.map((l) => `${theme.symbols.ok} ${l}`), ...summaryLines(p)], error: null });
        else {
          const first = r.state === 'cancelled' ? 'MergeIDE was cancelled; what it had done was undone.' : `MergeIDE ${r.state === 'rollback-failed' ? 'failed and could not be fully undone' : 'failed; what it had done was undone'}.`;
          setPhase({ kind: 'result', ok: false, lines: [first, `Journal: ${r.journal.path}`], error: r.error ?? null });
        }
      },
      (e: unknown) => setPhase({ kind: 'result', ok: false, lines: [], error: e instanceof UserError ? e : toHostError(e) }),
    );
  };

  const cancel = () => {
    abort.current?.abort();
    onClose();
  };
  const keys: WizardScreen =
    phase.kind === 'running'
      ? { kind: 'running', run: phase.run, showRun: (run) => setPhase({ kind: 'running', run }), abort: () => abort.current?.abort() }
      : phase.kind === 'result'
        ? { kind: 'result', close: onClose, scroll: { max: Math.max(0, phase.lines.length - ROWS), set: setScroll } }
        : {
            kind: 'step',
            first: step === 'way',
            back: () => goTo(0),
            // Esc while looking into the disk (a slow libguestfs launch) stops it and stays on this step.
            busy: busy ? 'stop' : undefined,
            stopBusy: () => abort.current?.abort(),
            review: step === 'review' ? { scroll: { max: Math.max(0, lines.length - ROWS), set: setScroll }, run: start, quit: true } : undefined,
          };
  useWizardKeys({ screen: keys, cancel });

  if (phase.kind === 'running' && prepared) {
    return (
      <WizardFrame title={`MergeIDE · running · ${guest}`} hostName={host.name} width={width} theme={theme} hints={cancelHints(phase.run.confirmCancel, 'cancel')}>
        <JobSteps steps={prepared.plan.steps} run={phase.run} width={width} theme={theme} cancelQuestion="Cancel MergeIDE? What was done is undone (the original hive is uploaded again)." />
      </WizardFrame>
    );
  }
  if (phase.kind === 'result') {
    return (
      <WizardFrame title={phase.ok ? `MergeIDE · done · ${guest}` : `MergeIDE · not done · ${guest}`} hostName={host.name} width={width} theme={theme} hints="Enter close   ↑↓ scroll">
        <ScrolledLines lines={phase.lines.flatMap((l) => wrapLine(l, width - 4))} scroll={scroll} rows={ROWS} theme={theme} />
        {phase.error ? <ProblemLines problems={[phase.error]} theme={theme} /> : null}
      </WizardFrame>
    );
  }
  const header = `MergeIDE · ${guest} · step ${stepIndex + 1} of ${MERGEIDE_STEPS.length} · ${step === 'way' ? 'how' : 'review'}`;
  if (step === 'review') {
    return (
      <WizardFrame title={header} hostName={host.name} width={width} theme={theme} hints="Enter run   ↑↓ scroll   Esc back   q cancel">
        <ScrolledLines lines={lines} scroll={scroll} rows={ROWS} theme={theme} />
      </WizardFrame>
    );
  }
  const fields: Field[] = [
    { kind: 'choice', key: 'mode', label: 'Way', value: form.mode, options: MODE_CHOICES, onChange: (v) => setForm((f) => ({ ...f, mode: v as MergeIdeForm['mode'] })) },
    form.mode === 'offline'
      ? { kind: 'text', key: 'virtioIso', label: 'virtio ISO', value: form.virtioIso, hint: 'optional', onChange: (v) => setForm((f) => ({ ...f, virtioIso: v })) }
      : { kind: 'text', key: 'isoPath', label: 'ISO path', value: form.isoPath, hint: 'empty: beside the disk', onChange: (v) => setForm((f) => ({ ...f, isoPath: v })) },
  ];
  return (
    <WizardFrame title={header} hostName={host.name} width={width} theme={theme} hints={busy ? 'Esc stop looking' : 'Enter next   ↑↓ field   ←→ choose   Esc back   Ctrl-C cancel'}>
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        Old Windows boots only from a disk controller it has an entry for; MergeIDE adds the IDE ones.
      </Text>
      <Text> </Text>
      <FieldList fields={fields} focus={focus} onFocus={setFocus} onSubmit={() => void submit()} theme={theme} active={!busy} />
      <Text> </Text>
      {explainMode(form.mode).map((l) => (
        <Text key={l} color={colorFor(theme, 'muted')} wrap="truncate-end">
          {l}
        </Text>
      ))}
      {busy ? (
        <Text>
          {theme.ascii ? '...' : <Spinner />} {form.mode === 'offline' ? `Looking into ${guest}'s disks (a libguestfs launch, about 20 s)` : 'Reading the guest'}…
        </Text>
      ) : null}
      <ProblemLines problems={problems} theme={theme} />
    </WizardFrame>
  );
}
