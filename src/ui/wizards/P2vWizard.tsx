import Spinner from 'ink-spinner';
import { useEffect, useMemo, useRef, useState } from 'react';
import { stateDir as defaultStateDir } from '../../config/paths.js';
import { type HostError, toHostError } from '../../host/errors.js';
import type { HostContext } from '../../host/hostContext.js';
import { gatherSourceFacts, type PreparedP2v, prepareP2v, runP2v } from '../../jobs/p2v.js';
import { savePlanScriptNote } from '../../jobs/planScriptFile.js';
import type { P2vSourceFacts } from '../../model/p2vPlan.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import { cancelHints, followRun, JobSteps, type RunView } from '../components/JobSteps.js';
import { Text } from '../components/Text.js';
import { type Problem, ProblemLines, ScrolledLines, WizardFrame, wrapLine } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import { BUS_CHOICES, FORMAT_CHOICES, formInput, formSource, foundLines, initialP2vForm, KIND_CHOICES, P2V_STEP_TITLES, P2V_STEPS, type P2vForm, type P2vStepId, prefill } from './p2v/p2vForm.js';
import { type Field, FieldList } from './steps/FieldList.js';
import { useWizardKeys } from './useWizardKeys.js';
import { useWizardSteps } from './useWizardSteps.js';
import type { WizardScreen } from './wizardKeys.js';

export interface P2vWizardProps {
  host: HostContext;
  /** Called when the wizard closes; the new guest's name when one was defined. */
  onClose: (defined: string | null) => void;
  theme?: Theme;
  stateDir?: string;
  width?: number;
  initial?: Partial<P2vForm>;
}

type Phase = { kind: 'form' } | { kind: 'running'; run: RunView } | { kind: 'result'; ok: boolean; lines: string[]; error: UserError | HostError | null };

const ROWS = 12;

/**
 * P2V: source → what was found (size, partitions, memory, CPUs, NICs, and why the source must be
 * quiet) → the new guest (prefilled) → review of the plan → run with progress and cancel.
 */
export function P2vWizard(props: P2vWizardProps) {
  const { host, onClose } = props;
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const [form, setForm] = useState<P2vForm>(() => ({ ...initialP2vForm(), ...props.initial }));
  const { stepIndex, goTo, focus, setFocus, problems, setProblems, scroll, setScroll, message, setMessage } = useWizardSteps<Problem>();
  const [busy, setBusy] = useState<string | null>(null);
  const [facts, setFacts] = useState<P2vSourceFacts | null>(null);
  const [prepared, setPrepared] = useState<PreparedP2v | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const abort = useRef<AbortController | null>(null);
  const working = useRef(false);
  const latest = useRef(form);
  latest.current = form;
  const step = P2V_STEPS[stepIndex] as P2vStepId;

  const lines = useMemo(() => {
    if (step === 'found' && facts) return foundLines(formSource(latest.current), facts).flatMap((l) => wrapLine(l, width - 4));
    if (step === 'review' && prepared?.plan) {
      return [...prepared.warnings.map((w) => `${theme.symbols.warn} ${w}`), ...describePlan(prepared.plan)].flatMap((l) => wrapLine(l, width - 4));
    }
    return [];
  }, [step, facts, prepared, theme, width]);
  const screen = useRef({ step, stepIndex, prepared });
  screen.current = { step, stepIndex, prepared };

  useEffect(() => () => abort.current?.abort(), []);

  const update = (patch: Partial<P2vForm>) => setForm((f) => ({ ...f, ...patch }));
  const guard = async (label: string, work: () => Promise<void>) => {
    if (working.current) return;
    working.current = true;
    setBusy(label);
    setProblems([]);
    try {
      await work();
    } catch (e) {
      setProblems([e instanceof UserError ? e : toHostError(e)]);
    } finally {
      working.current = false;
      setBusy(null);
    }
  };

  const submit = () => {
    const { step, stepIndex } = screen.current;
    if (step === 'source') {
      void guard('Reading the source', async () => {
        const f = latest.current;
        const found = await gatherSourceFacts(host, formSource(f));
        setFacts(found);
        setForm(prefill(f, found));
        goTo(stepIndex + 1);
      });
    } else if (step === 'found') goTo(stepIndex + 1);
    else if (step === 'guest') {
      void guard('Checking the destination', async () => {
        const p = await prepareP2v(host, formInput(latest.current), { sourceFacts: facts ?? undefined });
        setPrepared(p);
        if (p.refusals.length > 0) setProblems(p.refusals);
        else goTo(stepIndex + 1);
      });
    }
  };

  const start = () => {
    const plan = screen.current.prepared?.plan;
    const req = screen.current.prepared?.request;
    if (!plan || !req) return;
    const controller = new AbortController();
    abort.current = controller;
    const { view, onEvent } = followRun((next) => setPhase((ph) => ({ kind: 'running', run: next(ph.kind === 'running' ? ph.run : null) })));
    runP2v(host, plan, { stateDir: props.stateDir ?? defaultStateDir(), signal: controller.signal, onEvent }).then(
      (r) => {
        if (r.state === 'done') {
          setPhase({
            kind: 'result',
            ok: true,
            lines: [
              `${theme.symbols.ok} ${plan.targets.images[0]}: copied and verified`,
              ...view.logs.map((l) => `${theme.symbols.ok} ${l}`),
              `${theme.symbols.ok} guest ${req.name} defined: ${req.bus} disk, e1000 ${req.macs.join(', ')}`,
              req.osType === 'windows' ? 'Windows: run MergeIDE (M on the guest) before the first start on IDE.' : 'Start it with s on the Guests pane.',
            ],
            error: null,
          });
        } else {
          const first = r.state === 'cancelled' ? 'The P2V was cancelled; the partial copy was removed.' : `The P2V ${r.state === 'rollback-failed' ? 'failed and could not be fully undone' : 'failed; what it had done was undone'}.`;
          setPhase({ kind: 'result', ok: false, lines: [first, `Journal: ${r.journal.path}`], error: r.error ?? null });
        }
      },
      (e: unknown) => setPhase({ kind: 'result', ok: false, lines: [], error: e instanceof UserError ? e : toHostError(e) }),
    );
  };

  const saveScript = () => {
    const plan = screen.current.prepared?.plan;
    if (!plan) return;
    setMessage(savePlanScriptNote(props.stateDir ?? defaultStateDir(), 'p2v', plan));
  };

  const scroller = { max: Math.max(0, lines.length - ROWS), set: setScroll };
  const keys: WizardScreen =
    phase.kind === 'running'
      ? { kind: 'running', run: phase.run, showRun: (run) => setPhase({ kind: 'running', run }), abort: () => abort.current?.abort() }
      : phase.kind === 'result'
        ? { kind: 'result', close: () => onClose(phase.ok ? (prepared?.request.name ?? null) : null) }
        : {
            kind: 'step',
            first: stepIndex === 0,
            back: () => goTo(stepIndex - 1),
            busy: busy ? 'wait' : undefined,
            review: step === 'found' ? { scroll: scroller, run: submit, quit: true } : step === 'review' ? { scroll: scroller, run: start, saveScript, quit: true } : undefined,
          };
  useWizardKeys({ screen: keys, cancel: () => onClose(null) });

  if (phase.kind === 'running' && prepared?.plan) {
    return (
      <WizardFrame title={`P2V · running · ${prepared.request.name}`} hostName={host.name} width={width} theme={theme} hints={cancelHints(phase.run.confirmCancel, 'cancel the copy')}>
        <JobSteps steps={prepared.plan.steps} run={phase.run} width={width} theme={theme} cancelQuestion="Cancel the P2V? The partial copy will be removed." />
      </WizardFrame>
    );
  }
  if (phase.kind === 'result') {
    return (
      <WizardFrame title={phase.ok ? 'P2V · done' : 'P2V · not done'} hostName={host.name} width={width} theme={theme} hints="Enter close">
        {phase.lines.map((l) => (
          <Text key={l} wrap="truncate-end">
            {l}
          </Text>
        ))}
        {phase.error ? <ProblemLines problems={[phase.error]} theme={theme} /> : null}
      </WizardFrame>
    );
  }

  const header = `P2V · step ${stepIndex + 1} of ${P2V_STEPS.length} · ${P2V_STEP_TITLES[step]}`;
  const spinner = busy ? (
    <Text>
      {theme.ascii ? '...' : <Spinner />} {busy}…
    </Text>
  ) : null;
  if (step === 'found' || step === 'review') {
    return (
      <WizardFrame title={header} hostName={host.name} width={width} theme={theme} hints={step === 'review' ? 'Enter run   w save as script   ↑↓ scroll   Esc back   q cancel' : 'Enter next   ↑↓ scroll   Esc back   q cancel'}>
        {step === 'review' ? (
          <Text color={colorFor(theme, 'muted')} wrap="wrap">
            Each step is journaled; the image keeps a temporary name until it is verified.
          </Text>
        ) : null}
        <ScrolledLines lines={lines} scroll={scroll} rows={ROWS} theme={theme} />
        {message ? <Text wrap="truncate-middle">{message}</Text> : null}
      </WizardFrame>
    );
  }
  return (
    <WizardFrame title={header} hostName={host.name} width={width} theme={theme} hints="Enter next   ↑↓ field   ←→ choose   Esc back   Ctrl-C cancel">
      <Text color={colorFor(theme, 'muted')} wrap="wrap">
        {step === 'source' ? 'Where the physical disk is. It is only read; boot the machine from a live system first.' : 'Prefilled from the source; the MACs are kept so Windows keeps its network settings.'}
      </Text>
      <Text> </Text>
      <FieldList fields={fieldsFor(step, form, update)} focus={focus} onFocus={setFocus} onSubmit={submit} theme={theme} active={!busy} />
      <Text> </Text>
      {spinner}
      <ProblemLines problems={problems} theme={theme} />
    </WizardFrame>
  );
}

function fieldsFor(step: P2vStepId, f: P2vForm, update: (p: Partial<P2vForm>) => void): Field[] {
  if (step === 'source') {
    const kind: Field = { kind: 'choice', key: 'kind', label: 'Source', value: f.kind, options: KIND_CHOICES, onChange: (v) => update({ kind: v as P2vForm['kind'] }) };
    if (f.kind === 'ssh') {
      return [
        kind,
        { kind: 'text', key: 'sshTarget', label: 'Machine', value: f.sshTarget, placeholder: 'root@host', onChange: (v) => update({ sshTarget: v }) },
        { kind: 'text', key: 'sshDevice', label: 'Disk there', value: f.sshDevice, onChange: (v) => update({ sshDevice: v }) },
        { kind: 'text', key: 'sshPort', label: 'SSH port', value: f.sshPort, hint: 'empty: 22', onChange: (v) => update({ sshPort: v }) },
        { kind: 'text', key: 'identity', label: 'Key file', value: f.identity, hint: 'empty: your ssh defaults', onChange: (v) => update({ identity: v }) },
      ];
    }
    return [kind, { kind: 'text', key: 'path', label: f.kind === 'device' ? 'Disk' : 'Dump file', value: f.path, placeholder: f.kind === 'device' ? '/dev/sdb' : '/srv/dumps/server.img', onChange: (v) => update({ path: v }) }];
  }
  if (step === 'guest') {
    return [
      { kind: 'text', key: 'name', label: 'Guest name', value: f.name, onChange: (v) => update({ name: v }) },
      { kind: 'text', key: 'destDir', label: 'Image dir', value: f.destDir, onChange: (v) => update({ destDir: v }) },
      { kind: 'choice', key: 'format', label: 'Format', value: f.format, options: FORMAT_CHOICES, onChange: (v) => update({ format: v as P2vForm['format'] }) },
      { kind: 'text', key: 'memory', label: 'Memory MiB', value: f.memory, onChange: (v) => update({ memory: v }) },
      { kind: 'text', key: 'vcpus', label: 'vCPUs', value: f.vcpus, onChange: (v) => update({ vcpus: v }) },
      { kind: 'text', key: 'macs', label: 'MACs', value: f.macs, hint: 'one e1000 NIC each', onChange: (v) => update({ macs: v }) },
      { kind: 'choice', key: 'bus', label: 'Disk bus', value: f.bus, options: BUS_CHOICES, onChange: (v) => update({ bus: v as P2vForm['bus'] }) },
      { kind: 'text', key: 'network', label: 'Network', value: f.network, hint: 'user, bridge:br0, network:NAME', onChange: (v) => update({ network: v }) },
    ];
  }
  return [];
}
