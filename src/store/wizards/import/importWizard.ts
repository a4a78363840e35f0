/**
 * The VMware import wizard as a store: pick the .vmx on the host (a file browser) → what was read
 * → disks, name and bus (a form) → network cards (a form) → review → run through the job
 * controller. Reading the .vmx, checking against the host and the run happen in this store's
 * actions, through `jobs` (tests pass scripted ones, the console the real ones).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { HostContext } from '../../../host/hostContext.js';
import { importFailure, inspectImport, type PreparedImport, prepareImport, runImport } from '../../../jobs/importVmware.js';
import type { RunnerEvent, RunResult } from '../../../jobs/runner.js';
import { buildImportDomain, CONVERT_CHOICES, type ImportFacts, type ImportRequest } from '../../../model/importVmwarePlan.js';
import { describePlan } from '../../../model/plan.js';
import { BUS_CHOICES, type BusChoice } from '../../../model/vmxToDomain.js';
import { type Field, type Form, fieldValue, formKey, makeForm, withError } from '../../form.js';
import { createJobController, type JobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import type { Scope } from '../../keys/table.js';
import { filesKey, type HostFiles, openDir, readDir } from '../hostFiles.js';
import { type PageLine, pageLines, pageMax } from '../page.js';
import { type Problem, problemOf } from '../problem.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';
import { busHint, formToRequest, IMPORT_STEPS, type ImportForm, type ImportStepId, initialImportForm, nicOptions, readSummary } from './importForm.js';

/** The job functions; tests pass scripted ones, the console the real ones. */
export interface ImportJobs {
  inspect(host: HostContext, vmxPath: string, signal?: AbortSignal): Promise<ImportFacts>;
  prepare(host: HostContext, vmxPath: string, req: ImportRequest, signal: AbortSignal | undefined, facts: ImportFacts): Promise<PreparedImport>;
  run(host: HostContext, prepared: PreparedImport, opts: { signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void }): Promise<RunResult>;
}

const REAL_JOBS: ImportJobs = { inspect: inspectImport, prepare: prepareImport, run: runImport };

export const IMPORT_ROWS = 12;

export interface ImportWizardDeps {
  host: HostContext;
  startDir?: string;
  jobs?: ImportJobs;
  width?: number;
  /** `defined` is the new guest's name when the import finished. */
  onClose: (defined: string | null) => void;
  /** What its job screen borrows from the console: q's quit, and the worker start behind b (tests stand in for it). */
  jobScreen?: JobControllerOptions;
}

export interface ImportResult {
  ok: boolean;
  lines: string[];
  defined: string | null;
}

export interface ImportWizardState {
  hostName: string;
  step: ImportStepId;
  stepNumber: number;
  files: HostFiles;
  facts: ImportFacts | null;
  /** Step 3: name, disks, bus, start. */
  disks: Form | null;
  /** Step 4: one choice per network card. */
  nics: Form | null;
  prepared: PreparedImport | null;
  /** What a step is doing on the host; only Ctrl-C leaves meanwhile. */
  busy: string;
  problem: Problem | null;
  /** What was read, or the review. */
  lines: PageLine[];
  scroll: number;
  run: RunView | null;
  result: ImportResult | null;
  owner: KeyOwner;
  jobs: JobController;
  /** The console ends with the wizard open: its host work and job stop without asking. */
  dispose(): void;
}

export type ImportWizardStore = StoreApi<ImportWizardState>;

const CONVERT_OPTIONS = CONVERT_CHOICES.map((c) => ({ value: c, label: c === 'none' ? 'run the vmdk files as they are' : `convert to ${c} (vmdk kept)` }));

/**
 * The disks form after a change: hints follow the values, and the destination directory shows
 * only while the disks are converted (shown when Disks has the value it has now, unless none).
 */
function shapeDisks(form: Form): Form {
  const convert = fieldValue(form, 'convert');
  const fields = form.fields.map((f): Field => {
    if (f.id === 'convert') return { ...f, hint: convert === 'none' ? 'QEMU reads vmdk' : 'snapshots flattened' };
    if (f.id === 'dest') return { ...f, showWhen: { field: 'convert', value: convert === 'none' ? '\u0000' : convert } };
    if (f.id === 'bus') return { ...f, hint: busHint(f.value as BusChoice) };
    return f;
  });
  return { ...form, fields };
}

function disksForm(f: ImportForm): Form {
  return shapeDisks(
    makeForm([
      { id: 'name', label: 'Guest name', kind: 'text', value: f.name },
      { id: 'convert', label: 'Disks', kind: 'choice', value: f.convert, options: CONVERT_OPTIONS },
      { id: 'dest', label: 'Into dir', kind: 'text', value: f.destDir, placeholder: 'beside the .vmx' },
      { id: 'bus', label: 'Disk bus', kind: 'choice', value: f.bus, options: BUS_CHOICES.map((b) => ({ value: b, label: b })) },
      { id: 'start', label: 'Start', kind: 'choice', value: f.start ? 'yes' : 'no', options: [{ value: 'no', label: 'no' }, { value: 'yes', label: 'yes, after defining' }] },
    ]),
  );
}

function nicsForm(facts: ImportFacts, f: ImportForm): Form {
  return makeForm(facts.guest.nics.map((n, i): Field => ({ id: `nic${i}`, label: `ethernet${n.index}`, kind: 'choice', value: f.nics[i] ?? 'user', options: nicOptions(facts), hint: n.mac ?? 'new MAC' })));
}

/** The two forms as the ImportForm the CLI's request is made from. */
export function importFormOf(disks: Form, nics: Form | null): ImportForm {
  return {
    name: fieldValue(disks, 'name'),
    convert: fieldValue(disks, 'convert') as ImportForm['convert'],
    destDir: fieldValue(disks, 'dest'),
    bus: fieldValue(disks, 'bus') as BusChoice,
    nics: nics ? nics.fields.map((f) => f.value) : [],
    start: fieldValue(disks, 'start') === 'yes',
  };
}

/** What a cancel undoes (the plan's undos): converted copies removed, the guest undefined; the VMware files are only read. */
export function importUndo(prepared: PreparedImport | null): string {
  const copies = prepared?.request.convert !== undefined && prepared.request.convert !== 'none';
  return `Finished steps are undone (${copies ? 'the converted copies removed, ' : ''}the guest undefined); the .vmx and its disks are kept.`;
}

export function createImportWizard(deps: ImportWizardDeps): ImportWizardStore {
  const { host } = deps;
  const jobFns = deps.jobs ?? REAL_JOBS;
  const width = Math.min(deps.width ?? 80, 80);
  const get = () => store.getState();
  const set = (change: Partial<ImportWizardState>) => store.setState(change);
  // Closing a job handed to a worker closes the wizard: nothing of it is left to show here.
  const jobs: JobController = createJobController((run) => set({ run }), () => deps.onClose(null), deps.jobScreen);
  const owner: KeyOwner = { scopes: () => scopes(), perform: (intent) => perform(intent) };

  const store = createStore<ImportWizardState>()(() => ({
    hostName: host.name,
    step: 'file',
    stepNumber: 1,
    files: openDir({ dir: deps.startDir ?? '/', accept: /\.vmx$/i }, deps.startDir ?? '/'),
    facts: null,
    disks: null,
    nics: null,
    prepared: null,
    busy: '',
    problem: null,
    lines: [],
    scroll: 0,
    run: null,
    result: null,
    owner,
    jobs,
    dispose() {
      jobs.abort();
    },
  }));

  /** Reads the directory now shown; an answer for a directory left meanwhile is dropped. */
  const list = async (dir: string) => {
    set({ files: openDir(get().files, dir) });
    const read = await readDir(host, get().files);
    if (get().files.dir === dir && get().files.entries === null) set({ files: read });
  };

  const goTo = (step: ImportStepId, lines: PageLine[] = []) => {
    const s = get();
    set({
      step,
      stepNumber: IMPORT_STEPS.indexOf(step) + 1,
      scroll: 0,
      problem: null,
      lines,
      disks: step === 'disks' && s.disks ? shapeDisks(makeForm(s.disks.fields)) : s.disks,
      nics: step === 'nics' && s.nics ? makeForm(s.nics.fields) : s.nics,
    });
  };

  const readLines = (facts: ImportFacts) => pageLines(readSummary(facts), width - 4);

  const pick = async (path: string) => {
    if (get().busy) return;
    set({ busy: `reading ${path}`, problem: null });
    try {
      const facts = await jobFns.inspect(host, path);
      const f = initialImportForm(facts);
      set({ facts, disks: disksForm(f), nics: facts.guest.nics.length > 0 ? nicsForm(facts, f) : null });
      goTo('read', readLines(facts));
    } catch (e) {
      set({ problem: problemOf(e) });
    } finally {
      set({ busy: '' });
    }
  };

  /** A refusal lands on the step of the field it names (the name on the disks step, a card on the network step). */
  const refuse = (problem: Problem) => {
    const s = get();
    const onDisks = problem.field !== undefined && s.disks?.fields.some((f) => f.id === problem.field);
    const onNics = problem.field !== undefined && s.nics?.fields.some((f) => f.id === problem.field);
    if (onDisks && s.step !== 'disks') goTo('disks');
    else if (onNics && s.step !== 'nics') goTo('nics');
    const now = get();
    set({
      problem,
      disks: onDisks && now.disks ? withError(now.disks, problem) : now.disks,
      nics: onNics && now.nics ? withError(now.nics, problem) : now.nics,
    });
  };

  const review = async () => {
    const { facts, disks, nics } = get();
    if (!facts || !disks || get().busy) return;
    set({ busy: 'checking against the host', problem: null });
    try {
      const req = formToRequest(importFormOf(disks, nics));
      const p = await jobFns.prepare(host, facts.vmxPath, req, undefined, facts);
      set({ prepared: p });
      const refusal = p.check.refusals[0];
      if (refusal) refuse(problemOf(refusal));
      else if (p.plan) {
        const domain = buildImportDomain(p.facts, req);
        const warn = [...p.check.warnings, ...domain.warnings].map((w): PageLine => ({ text: w, mark: 'warn' }));
        goTo('review', pageLines([...warn, ...describePlan(p.plan), '', ...domain.xml.trimEnd().split('\n')], width - 4));
      }
    } catch (e) {
      set({ problem: problemOf(e) });
    } finally {
      set({ busy: '' });
    }
  };

  const run = async () => {
    const { prepared, disks, nics } = get();
    const plan = prepared?.plan;
    if (!prepared || !plan || !disks || get().run) return;
    const form = importFormOf(disks, nics);
    try {
      const r = await jobs.start(planSpec(plan, 'the import', importUndo(prepared), true), (io) => jobFns.run(host, prepared, { signal: io.signal, onEvent: io.onEvent }));
      if (jobs.handedOver()) return;
      if (r.state !== 'done') throw importFailure(r);
      const name = plan.targets.guests[0] ?? form.name;
      jobs.end('done', `${name} is defined.`);
      set({ result: { ok: true, defined: name, lines: [`${name} is defined${form.start ? ' and running' : ''}.`, `Disks: ${plan.targets.images.join(', ')}`] } });
    } catch (e) {
      const err = problemOf(e);
      jobs.end('failed', err.sentence);
      set({ result: { ok: false, defined: null, lines: [err.sentence, err.fix, 'What the import had done was undone.'] } });
    }
  };

  const next = () => {
    const s = get();
    if (s.step === 'read') goTo('disks');
    else if (s.step === 'disks') {
      if (s.nics) goTo('nics');
      else void review();
    } else if (s.step === 'nics') void review();
  };

  function scopes(): Scope[] {
    const s = get();
    if (s.result) return wizardScopes({ kind: 'result' });
    if (s.run) return wizardScopes({ kind: 'running', jobs });
    if (s.busy) return wizardScopes({ kind: 'step', busy: 'wait' });
    if (s.step === 'file') return ['wizard:files', 'wizard:step'];
    if (s.step === 'read') return wizardScopes({ kind: 'step', scroll: true });
    if (s.step === 'review') return wizardScopes({ kind: 'review' });
    return wizardScopes({ kind: 'step', form: (s.step === 'disks' ? s.disks : s.nics) ?? undefined });
  }

  function perform(intent: Intent): void {
    const s = get();
    if (s.run && !s.result) {
      jobs.perform(intent);
      return;
    }
    switch (intent.action) {
      case 'wizardCancel':
      case 'wizardQuit':
        deps.onClose(null);
        return;
      case 'wizardClose':
        deps.onClose(s.result?.defined ?? null);
        return;
      case 'wizardBack': {
        const i = IMPORT_STEPS.indexOf(s.step);
        if (i === 0) {
          deps.onClose(null);
          return;
        }
        // A .vmx without network cards has no network step to go back to.
        const back = IMPORT_STEPS[i - 1] === 'nics' && !s.nics ? 'disks' : (IMPORT_STEPS[i - 1] as ImportStepId);
        goTo(back, back === 'read' && s.facts ? readLines(s.facts) : []);
        return;
      }
      case 'wizardNext':
        next();
        return;
      case 'wizardRun':
        void run();
        return;
      case 'scrollUp':
      case 'scrollDown':
      case 'pageUp':
      case 'pageDown':
        if (s.step !== 'file') {
          set({ scroll: scrolled(s.scroll, scrollStep(intent.action, IMPORT_ROWS), pageMax(s.lines, IMPORT_ROWS)) });
          return;
        }
        break;
    }
    if (s.busy) return;
    if (s.step === 'file') {
      const moved = filesKey(s.files, intent.action, intent.key.name, IMPORT_ROWS);
      set({ files: moved.files });
      if (moved.open) void list(moved.open);
      if (moved.pick) void pick(moved.pick);
    } else if (s.step === 'disks' && s.disks) set({ disks: shapeDisks(formKey(s.disks, intent)) });
    else if (s.step === 'nics' && s.nics) set({ nics: formKey(s.nics, intent) });
  }

  void list(get().files.dir);
  return store;
}
