import Spinner from 'ink-spinner';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { stateDir as defaultStateDir } from '../../config/paths.js';
import { type HostError, toHostError } from '../../host/errors.js';
import type { HostContext } from '../../host/hostContext.js';
import { type PreparedConvert, prepareConvert, runConvert } from '../../jobs/convert.js';
import { savePlanScriptNote } from '../../jobs/planScriptFile.js';
import { describeTarget } from '../../model/convertPlan.js';
import { describePlan } from '../../model/plan.js';
import { formatBytes } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { cancelHints, followRun, JobSteps, type RunView } from '../components/JobSteps.js';
import { Text } from '../components/Text.js';
import { type Problem, ProblemLines, ScrolledLines, WizardFrame, wrapLine } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import {
  BUS_CHOICES,
  CONVERT_STEP_TITLES,
  CONVERT_STEPS,
  type ConvertForm,
  type ConvertStepId,
  formDest,
  formToInput,
  initialConvertForm,
  PRESET_CHOICES,
  stepOfRefusal,
} from './convert/convertForm.js';
import { type Field, FieldList } from './steps/FieldList.js';
import { useWizardKeys } from './useWizardKeys.js';
import { useWizardSteps } from './useWizardSteps.js';
import type { WizardScreen } from './wizardKeys.js';

export interface ConvertWizardProps {
  host: HostContext;
  /** The image selected in the Disks pane (the first step is prefilled with it). */
  imagePath: string;
  /** What the pane already knows about it, shown on the first step. */
  info?: { format?: string; virtualSize?: number };
  /** Called when the wizard closes; `converted` is the new image's path when a conversion finished. */
  onClose: (converted: string | null) => void;
  theme?: Theme;
  /** Where journals and saved plans go (default: virtdeck's state directory). */
  stateDir?: string;
  width?: number;
  height?: number;
}

type Phase =
  | { kind: 'form' }
  | { kind: 'running'; run: RunView }
  | { kind: 'result'; ok: boolean; lines: string[]; error: UserError | HostError | null; title?: string };

const REVIEW_ROWS = 12;

export function ConvertWizard(props: ConvertWizardProps) {
  const { host, onClose } = props;
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const [form, setForm] = useState<ConvertForm>(() => initialConvertForm(props.imagePath));
  const { stepIndex, goTo, focus, setFocus, problems, setProblems, scroll, setScroll, message, setMessage } = useWizardSteps<Problem>();
  const [checking, setChecking] = useState(false);
  const [prepared, setPrepared] = useState<PreparedConvert | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const abort = useRef<AbortController | null>(null);
  const busy = useRef(false);
  const latest = useRef(form);
  latest.current = form;
  const step = CONVERT_STEPS[stepIndex] as ConvertStepId;
  const reviewLines = useMemo(() => {
    if (!prepared?.plan) return [];
    const lines = [...prepared.check.warnings.map((w) => `${theme.symbols.warn} ${w}`), ...describePlan(prepared.plan)];
    return lines.flatMap((l) => wrapLine(l, width - 4));
  }, [prepared, theme, width]);
  // Keys can arrive between a render and the effect that re-binds the key handler: handlers read
  // what is on screen from here, not from their closure.
  const screen = useRef({ step, stepIndex, prepared });
  screen.current = { step, stepIndex, prepared };

  useEffect(() => () => abort.current?.abort(), []);

  const update = (patch: Partial<ConvertForm>) => setForm((f) => ({ ...f, ...patch }));
  /** Checks everything up to this step on the host; refusals of this or an earlier step keep the admin here. */
  const submit = async () => {
    // A ref, not the state: a second Enter may arrive before the frame that shows the first one.
    if (busy.current) return;
    busy.current = true;
    const f = latest.current;
    const { step, stepIndex, prepared } = screen.current;
    setChecking(true);
    try {
      const p = await prepareConvert(host, formToInput(f, prepared?.request.source ?? null, step));
      const here = CONVERT_STEPS.indexOf(step);
      const blocking = p.check.refusals.filter((r) => CONVERT_STEPS.indexOf(stepOfRefusal(r.sentence)) <= here);
      setPrepared(p);
      if (blocking.length > 0) {
        setProblems(blocking);
        return;
      }
      goTo(stepIndex + 1);
    } catch (e) {
      setProblems([e instanceof UserError ? e : toHostError(e)]);
    } finally {
      busy.current = false;
      setChecking(false);
    }
  };

  const start = () => {
    const prepared = screen.current.prepared;
    const plan = prepared?.plan;
    if (!plan) return;
    const controller = new AbortController();
    abort.current = controller;
    const { onEvent } = followRun((next) => setPhase((ph) => ({ kind: 'running', run: next(ph.kind === 'running' ? ph.run : null) })));
    runConvert(host, plan, { stateDir: props.stateDir ?? defaultStateDir(), signal: controller.signal, onEvent }).then(
      (r) => {
        const req = prepared.request;
        const dest = formDest(latest.current);
        if (r.state === 'done') {
          const lines = [
            `${req.source.path} (${req.source.format}) → ${dest}`,
            `${describeTarget(req.target)}`,
            plan.steps.some((s) => s.id === 'compare') ? `${theme.symbols.ok} qemu-img compare: the copy is identical to the original` : '',
            req.repoint ? `${theme.symbols.ok} ${req.repoint.guest} now uses ${dest}${req.repoint.bus ? ` on the ${req.repoint.bus} bus` : ''}` : '',
            req.keepOriginal === false ? `${theme.symbols.ok} the original was removed` : `the original ${req.source.path} is kept`,
          ].filter(Boolean);
          setPhase({ kind: 'result', ok: true, lines, error: null });
        } else {
          const lines = [r.state === 'cancelled' ? 'The conversion was cancelled; the partial copy was removed.' : `The conversion ${r.state === 'rollback-failed' ? 'failed and could not be fully undone' : 'failed; what it had done was undone'}.`, `Journal: ${r.journal.path}`];
          setPhase({ kind: 'result', ok: false, lines, error: r.error ?? null });
        }
      },
      (e: unknown) => setPhase({ kind: 'result', ok: false, lines: [], error: e instanceof UserError ? e : toHostError(e) }),
    );
  };

  /** b: the same plan in a detached worker that survives this console and the SSH session. */
  const startInBackground = () => {
    const plan = screen.current.prepared?.plan;
    if (!plan || busy.current) return;
    busy.current = true;
    setMessage('Starting a worker…');
    import('../../jobs/detached.js')
      .then(({ launchDetached }) => launchDetached(host, plan, { stateDir: props.stateDir ?? defaultStateDir() }))
      .then(
        (job) =>
          setPhase({
            kind: 'result',
            ok: false,
            title: 'Convert disk · running in the background',
            lines: [`Started job ${job.id} in a worker (pid ${job.pid ?? '?'}) that survives this console and the SSH session.`, 'The Jobs pane (5) shows its progress; c there cancels it.', `Log: virtdeck job log ${job.id} --follow`],
            error: null,
          }),
        (e: unknown) => setPhase({ kind: 'result', ok: false, lines: [], error: e instanceof UserError ? e : toHostError(e) }),
      )
      .finally(() => {
        busy.current = false;
      });
  };

  const saveScript = () => {
    const plan = screen.current.prepared?.plan;
    if (!plan) return;
    setMessage(savePlanScriptNote(props.stateDir ?? defaultStateDir(), 'convert', plan));
  };

  const keys: WizardScreen =
    phase.kind === 'running'
      ? { kind: 'running', run: phase.run, showRun: (run) => setPhase({ kind: 'running', run }), abort: () => abort.current?.abort() }
      : phase.kind === 'result'
        ? { kind: 'result', close: () => onClose(phase.ok ? formDest(latest.current) : null) }
        : {
            kind: 'step',
            first: stepIndex === 0,
            back: () => goTo(stepIndex - 1),
            review: step === 'review' ? { scroll: { max: Math.max(0, reviewLines.length - REVIEW_ROWS), set: setScroll }, run: start, saveScript, background: startInBackground, quit: true } : undefined,
          };
  useWizardKeys({ screen: keys, cancel: () => onClose(null) });

  const muted = colorFor(theme, 'muted');
  const frame = (title: string, children: ReactNode, hints: string) => (
    <WizardFrame title={title} hostName={host.name} hints={hints} width={width} theme={theme}>
      {children}
    </WizardFrame>
  );

  if (phase.kind === 'running' && prepared?.plan) {
    return frame(
      `Convert disk · running · ${formDest(form)}`,
      <JobSteps steps={prepared.plan.steps} run={phase.run} width={width} theme={theme} cancelQuestion="Cancel the conversion? The partial copy will be removed." />,
      cancelHints(phase.run.confirmCancel, 'cancel the conversion'),
    );
  }

  if (phase.kind === 'result') {
    return frame(
      phase.title ?? (phase.ok ? 'Convert disk · done' : 'Convert disk · not done'),
      <>
        {phase.lines.map((l) => (
          <Text key={l} wrap="truncate-end">
            {l}
          </Text>
        ))}
        {phase.error ? <ProblemLines problems={[phase.error]} theme={theme} /> : null}
      </>,
      'Enter close',
    );
  }

  const header = `Convert disk · step ${stepIndex + 1} of ${CONVERT_STEPS.length} · ${CONVERT_STEP_TITLES[step]}`;
  const source = prepared?.request.source;
  const spinner = checking ? (
    <Text>
      {theme.ascii ? '...' : <Spinner />} Checking on {host.name}…
    </Text>
  ) : null;

  if (step === 'review') {
    return frame(
      header,
      <>
        <Text color={muted} wrap="wrap">
          These steps run in order, each journaled; the original stays untouched until the copy is verified.
        </Text>
        <ScrolledLines lines={reviewLines} scroll={scroll} rows={REVIEW_ROWS} theme={theme} />
        {message ? <Text wrap="truncate-middle">{message}</Text> : null}
      </>,
      'Enter run   b in background   w script   ↑↓ scroll   Esc back   q cancel',
    );
  }

  const fields = fieldsFor(step, form, update, source?.users.length ?? 0);
  const intro = introFor(step, form, props, source);
  return frame(
    header,
    <>
      {intro.map((l) => (
        <Text key={l} color={muted} wrap="truncate-end">
          {l}
        </Text>
      ))}
      <Text> </Text>
      <FieldList fields={fields} focus={focus} onFocus={setFocus} onSubmit={() => void submit()} theme={theme} active />
      <Text> </Text>
      {spinner}
      <ProblemLines problems={problems} theme={theme} max={2} />
    </>,
    'Enter next   ↑↓ field   ←→ choose   Esc back   Ctrl-C cancel',
  );
}

function introFor(step: ConvertStepId, form: ConvertForm, props: ConvertWizardProps, source: PreparedConvert['request']['source'] | undefined): string[] {
  if (step === 'disk') {
    const known = props.info?.format ? `${props.info.format}${props.info.virtualSize ? `, ${formatBytes(props.info.virtualSize)} virtual` : ''}` : '';
    return [known ? `Selected image: ${known}` : 'The image to convert; the original is never changed.'];
  }
  if (!source) return [];
  const users = source.users.map((u) => `${u.guest} (${u.target}, ${u.state})`).join(', ');
  const about = `${source.path}: ${source.format}, ${formatBytes(source.virtualSize)} virtual${users ? ` · used by ${users}` : ' · no guest uses it'}`;
  if (step === 'dest') return [about, 'Default: beside the source with the new extension. Existing files are never overwritten.'];
  if (step === 'options') return [about, `New image: ${formDest(form)}`];
  return [about];
}

function fieldsFor(step: ConvertStepId, form: ConvertForm, update: (p: Partial<ConvertForm>) => void, users: number): Field[] {
  const yesNo = [
    { value: 'yes', label: 'yes' },
    { value: 'no', label: 'no' },
  ];
  switch (step) {
    case 'disk':
      return [{ kind: 'text', key: 'source', label: 'Image', value: form.source, onChange: (v) => update({ source: v }) }];
    case 'target': {
      const preset: Field = { kind: 'choice', key: 'preset', label: 'Convert to', value: form.preset, options: PRESET_CHOICES, onChange: (v) => update({ preset: v }) };
      if (form.preset !== 'custom') return [preset];
      return [
        preset,
        { kind: 'text', key: 'customFormat', label: 'Format', value: form.customFormat, hint: 'raw qcow2 vmdk vdi vhdx vpc', onChange: (v) => update({ customFormat: v }) },
        { kind: 'text', key: 'customOptions', label: 'Options (-o)', value: form.customOptions, hint: 'key=value,…', onChange: (v) => update({ customOptions: v }) },
      ];
    }
    case 'dest':
      return [{ kind: 'text', key: 'dest', label: 'Destination', value: formDest(form), onChange: (v) => update({ dest: v, destEdited: true }) }];
    case 'options': {
      const fields: Field[] = [];
      if (users > 0) {
        fields.push({ kind: 'choice', key: 'repoint', label: 'Repoint guest', value: form.repoint, options: yesNo, hint: 'use the new image from now on', onChange: (v) => update({ repoint: v as 'yes' | 'no' }) });
        if (form.repoint === 'yes') fields.push({ kind: 'choice', key: 'bus', label: 'Disk bus', value: form.bus, options: BUS_CHOICES, onChange: (v) => update({ bus: v as ConvertForm['bus'] }) });
      }
      fields.push({ kind: 'choice', key: 'keepOriginal', label: 'Keep original', value: form.keepOriginal, options: yesNo, hint: 'no: removed as the very last step', onChange: (v) => update({ keepOriginal: v as 'yes' | 'no' }) });
      return fields;
    }
    default:
      return [];
  }
}
