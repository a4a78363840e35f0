import { Box } from 'ink';
import Spinner from 'ink-spinner';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { toHostError } from '../../host/errors.js';
import type { HostContext } from '../../host/hostContext.js';
import { importFailure, inspectImport, type PreparedImport, prepareImport, runImport } from '../../jobs/importVmware.js';
import type { RunnerEvent, RunResult } from '../../jobs/runner.js';
import { buildImportDomain, CONVERT_CHOICES, type ImportFacts, type ImportRequest } from '../../model/importVmwarePlan.js';
import { describePlan } from '../../model/plan.js';
import { formatProgressLine, type Progress } from '../../model/progress.js';
import { UserError } from '../../model/userError.js';
import { BUS_CHOICES, type BusChoice } from '../../model/vmxToDomain.js';
import { FileBrowser } from '../components/FileBrowser.js';
import { CancelQuestion, cancelHints } from '../components/JobSteps.js';
import { Text } from '../components/Text.js';
import { wrapLine } from '../components/WizardParts.js';
import { chooseTheme, colorFor, type Theme } from '../theme.js';
import {
  busHint,
  formToRequest,
  IMPORT_STEP_TITLES,
  IMPORT_STEPS,
  type ImportForm,
  type ImportStepId,
  initialImportForm,
  nicOptions,
  readSummary,
} from './import/importForm.js';
import { type Field, FieldList } from './steps/FieldList.js';
import { useWizardKeys } from './useWizardKeys.js';
import { askToCancel, type WizardScreen } from './wizardKeys.js';

/** The job functions; tests pass scripted ones, the console the real ones. */
export interface ImportJobs {
  inspect(host: HostContext, vmxPath: string, signal?: AbortSignal): Promise<ImportFacts>;
  prepare(host: HostContext, vmxPath: string, req: ImportRequest, signal: AbortSignal | undefined, facts: ImportFacts): Promise<PreparedImport>;
  run(host: HostContext, prepared: PreparedImport, opts: { signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void }): Promise<RunResult>;
}

const REAL_JOBS: ImportJobs = { inspect: inspectImport, prepare: prepareImport, run: runImport };

export interface ImportVmwareWizardProps {
  host: HostContext;
  startDir?: string;
  /** `defined` is the new guest's name when the import finished. */
  onClose: (defined: string | null) => void;
  jobs?: ImportJobs;
  theme?: Theme;
  width?: number;
  height?: number;
}

type Phase = { kind: 'form' } | { kind: 'running'; index: number; title: string; progress: Progress | null } | { kind: 'result'; ok: boolean; lines: string[] };

const VIEW_ROWS = 12;

export function ImportVmwareWizard(props: ImportVmwareWizardProps) {
  const { host, onClose } = props;
  const jobs = props.jobs ?? REAL_JOBS;
  const theme = useMemo(() => props.theme ?? chooseTheme(process.env), [props.theme]);
  const width = Math.min(props.width ?? 80, 80);
  const [stepIndex, setStepIndex] = useState(0);
  const [facts, setFacts] = useState<ImportFacts | null>(null);
  const [form, setForm] = useState<ImportForm | null>(null);
  const [prepared, setPrepared] = useState<PreparedImport | null>(null);
  const [busy, setBusy] = useState('');
  const [problem, setProblem] = useState<{ sentence: string; fix: string } | null>(null);
  const [focus, setFocus] = useState(0);
  const [scroll, setScroll] = useState(0);
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const [asking, setAsking] = useState(false);
  const abort = useRef<AbortController | null>(null);
  const step = IMPORT_STEPS[stepIndex] as ImportStepId;
  useEffect(() => () => abort.current?.abort(), []);

  const fail = (e: unknown) => {
    const err = e instanceof UserError ? e : toHostError(e);
    setProblem({ sentence: err.sentence, fix: err.fix });
  };
  const goTo = (i: number) => {
    setStepIndex(i);
    setFocus(0);
    setScroll(0);
    setProblem(null);
  };

  const pick = async (path: string) => {
    setBusy(`reading ${path}`);
    setProblem(null);
    try {
      const f = await jobs.inspect(host, path);
      setFacts(f);
      setForm(initialImportForm(f));
      goTo(1);
    } catch (e) {
      fail(e);
    } finally {
      setBusy('');
    }
  };

  const review = async () => {
    if (!facts || !form) return;
    setBusy('checking against the host');
    setProblem(null);
    try {
      const p = await jobs.prepare(host, facts.vmxPath, formToRequest(form), undefined, facts);
      setPrepared(p);
      const refusal = p.check.refusals[0];
      if (refusal) setProblem({ sentence: refusal.sentence, fix: refusal.fix });
      else goTo(4);
    } catch (e) {
      fail(e);
    } finally {
      setBusy('');
    }
  };

  const run = async () => {
    if (!prepared?.plan || !form) return;
    const controller = new AbortController();
    abort.current = controller;
    setAsking(false);
    setPhase({ kind: 'running', index: 0, title: prepared.plan.steps[0]?.title ?? '', progress: null });
    try {
      const r = await jobs.run(host, prepared, {
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'step-start') setPhase({ kind: 'running', index: e.index, title: e.step.title, progress: null });
          else if (e.type === 'progress') setPhase((p) => (p.kind === 'running' ? { ...p, progress: e.progress } : p));
        },
      });
      if (r.state !== 'done') throw importFailure(r);
      const name = prepared.plan.targets.guests[0] ?? form.name;
      setPhase({ kind: 'result', ok: true, lines: [`${name} is defined${form.start ? ' and running' : ''}.`, `Disks: ${prepared.plan.targets.images.join(', ')}`] });
    } catch (e) {
      const err = e instanceof UserError ? e : toHostError(e);
      setPhase({ kind: 'result', ok: false, lines: [err.sentence, err.fix, 'What the import had done was undone.'] });
    }
  };

  const domain = useMemo(() => (facts && form && prepared?.plan ? buildImportDomain(prepared.facts, formToRequest(form)) : null), [facts, form, prepared]);
  const reviewLines = useMemo(() => {
    if (!prepared?.plan || !domain) return [];
    const warn = [...prepared.check.warnings, ...domain.warnings].map((w) => `${theme.symbols.warn} ${w}`);
    return [...warn, ...describePlan(prepared.plan), '', ...domain.xml.trimEnd().split('\n')].flatMap((l) => wrapLine(l, width - 4));
  }, [prepared, domain, theme, width]);
  const readLines = useMemo(() => (facts ? readSummary(facts).flatMap((l) => wrapLine(l, width - 4)) : []), [facts, width]);

  const fields: Field[] = [];
  if (form && facts && step === 'disks') {
    const set = (patch: Partial<ImportForm>) => setForm((f) => (f ? { ...f, ...patch } : f));
    fields.push({ kind: 'text', key: 'name', label: 'Guest name', value: form.name, onChange: (v) => set({ name: v }) });
    fields.push({
      kind: 'choice',
      key: 'convert',
      label: 'Disks',
      value: form.convert,
      options: CONVERT_CHOICES.map((c) => ({ value: c, label: c === 'none' ? 'run the vmdk files as they are' : `convert to ${c} (vmdk kept)` })),
      hint: form.convert === 'none' ? 'QEMU reads vmdk' : 'snapshots flattened',
      onChange: (v) => set({ convert: v as ImportForm['convert'] }),
    });
    if (form.convert !== 'none') fields.push({ kind: 'text', key: 'dest', label: 'Into dir', value: form.destDir, placeholder: 'beside the .vmx', onChange: (v) => set({ destDir: v }) });
    fields.push({ kind: 'choice', key: 'bus', label: 'Disk bus', value: form.bus, options: BUS_CHOICES.map((b) => ({ value: b, label: b })), hint: busHint(form.bus), onChange: (v) => set({ bus: v as BusChoice }) });
    fields.push({ kind: 'choice', key: 'start', label: 'Start', value: form.start ? 'yes' : 'no', options: [{ value: 'no', label: 'no' }, { value: 'yes', label: 'yes, after defining' }], onChange: (v) => set({ start: v === 'yes' }) });
  }
  if (form && facts && step === 'nics') {
    facts.guest.nics.forEach((n, i) => {
      fields.push({
        kind: 'choice',
        key: `nic${i}`,
        label: `ethernet${n.index}`,
        value: form.nics[i] ?? 'user',
        options: nicOptions(facts),
        hint: n.mac ?? 'new MAC',
        onChange: (v) => setForm((f) => (f ? { ...f, nics: f.nics.map((x, j) => (j === i ? v : x)) } : f)),
      });
    });
  }

  const pages = (lines: string[]) => ({ max: Math.max(0, lines.length - VIEW_ROWS), page: VIEW_ROWS, set: setScroll });
  const keys: WizardScreen =
    phase.kind === 'running'
      ? askToCancel(asking, setAsking, () => abort.current?.abort())
      : phase.kind === 'result'
        ? { kind: 'result', close: () => onClose(phase.ok ? (prepared?.plan?.targets.guests[0] ?? null) : null) }
        : {
            kind: 'step',
            first: stepIndex === 0,
            back: () => goTo(stepIndex - 1),
            busy: busy ? 'wait' : undefined,
            review: step === 'read' ? { scroll: pages(readLines), run: () => goTo(2) } : step === 'review' ? { scroll: pages(reviewLines), run: () => void run() } : undefined,
          };
  useWizardKeys({ screen: keys, cancel: () => onClose(null) });

  const submitFields = () => {
    if (step === 'disks') {
      if (facts && facts.guest.nics.length > 0) goTo(3);
      else void review();
    } else if (step === 'nics') void review();
  };

  const header = `Import a VMware VM ${theme.symbols.separator} ${stepIndex + 1}/${IMPORT_STEPS.length} ${IMPORT_STEP_TITLES[step]}`;
  const view = (lines: string[]) =>
    lines.slice(scroll, scroll + VIEW_ROWS).map((l, i) => (
      // biome-ignore lint/suspicious/noArrayIndexKey: lines of a fixed viewport; the index is the identity.
      <Text key={i} wrap="truncate-end" color={l.startsWith(theme.symbols.warn) ? colorFor(theme, 'warn') : undefined}>
        {l}
      </Text>
    ));

  let body: ReactNode;
  if (phase.kind === 'running') {
    const total = prepared?.plan?.steps.length ?? 0;
    body = (
      <Box flexDirection="column">
        <Text>
          <Spinner type="dots" /> {phase.index + 1}/{total} {phase.title}
        </Text>
        {phase.progress ? <Text>{formatProgressLine(phase.progress, width - 4, { ascii: theme.ascii })}</Text> : null}
        {asking ? <CancelQuestion question={cancelQuestion(prepared)} theme={theme} /> : null}
      </Box>
    );
  } else if (phase.kind === 'result') {
    body = (
      <Box flexDirection="column">
        {phase.lines.map((l) => (
          <Text key={l} color={phase.ok ? colorFor(theme, 'ok') : colorFor(theme, 'error')} wrap="wrap">
            {l}
          </Text>
        ))}
        <Text color={colorFor(theme, 'muted')}>Enter/q close</Text>
      </Box>
    );
  } else if (step === 'file') {
    body = <FileBrowser host={host} startDir={props.startDir ?? '/'} accept={(n) => /\.vmx$/i.test(n)} onPick={(p) => void pick(p)} theme={theme} active={!busy} rows={VIEW_ROWS} />;
  } else if (step === 'read' || step === 'review') {
    body = <Box flexDirection="column">{view(step === 'read' ? readLines : reviewLines)}</Box>;
  } else {
    body = (
      <Box flexDirection="column">
        <FieldList fields={fields} focus={focus} onFocus={setFocus} onSubmit={submitFields} theme={theme} active={!busy} />
        {step === 'nics' ? (
          <Text color={colorFor(theme, 'muted')} wrap="wrap">
            Each card keeps its MAC from the .vmx: Windows ties its IP settings to the MAC, and a new MAC would appear as a new card without them.
          </Text>
        ) : null}
      </Box>
    );
  }
  const footer =
    phase.kind === 'running'
      ? cancelHints(asking, 'cancel the import')
      : phase.kind !== 'form'
      ? ''
      : step === 'file'
        ? 'Enter open/pick  ← parent  Esc cancel'
        : step === 'review'
          ? 'Enter import  ↑↓ scroll  Esc back  Ctrl-C cancel'
          : step === 'read'
            ? 'Enter next  ↑↓ scroll  Esc back  Ctrl-C cancel'
            : '↑↓ field  ←→ choose  Enter next  Esc back  Ctrl-C cancel';
  return (
    <Box flexDirection="column" width={width}>
      <Text bold color={colorFor(theme, 'accent')}>
        {header}
      </Text>
      {body}
      {busy ? (
        <Text>
          <Spinner type="dots" /> {busy}
        </Text>
      ) : null}
      {problem ? (
        <Box flexDirection="column">
          <Text color={colorFor(theme, 'error')} wrap="wrap">
            {theme.symbols.error} {problem.sentence}
          </Text>
          <Text wrap="wrap">fix: {problem.fix}</Text>
        </Box>
      ) : null}
      <Text color={colorFor(theme, 'muted')}>{footer}</Text>
    </Box>
  );
}

/** What a cancel undoes (the plan's undos): converted copies removed, the guest undefined; the VMware files are only read. */
function cancelQuestion(prepared: PreparedImport | null): string {
  const copies = prepared?.request.convert !== undefined && prepared.request.convert !== 'none';
  return `Cancel the import? Finished steps are undone (${copies ? 'the converted copies removed, ' : ''}the guest undefined); the .vmx and its disks are kept.`;
}
