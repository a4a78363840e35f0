/**
 * The VMware import wizard as a store: pick the .vmx on the host (a file browser) → what was read
 * → disks, name and bus (a form) → network cards (a form) → review → run through the job
 * controller. Reading the .vmx, checking against the host and the run happen in this store's
 * actions, through `jobs` (tests pass scripted ones, the console the real ones).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import { lastPickedDir, rememberPickedDir } from '../../../config/pickedDirs.js';
import { describePath, homeDir, listDirectory, listingRefusal } from '../../../host/dirListing.js';
import type { HostContext } from '../../../host/hostContext.js';
import { planRoute } from '../../../host/planRoute.js';
import { type EsxiTarget, inspectEsxi, listEsxi, prepareEsxiImport, runEsxiImport } from '../../../jobs/importEsxi.js';
import { inspectOva, prepareOvaImport, runOvaImport } from '../../../jobs/importOva.js';
import { importFailure, inspectImport, type PreparedImport, prepareImport, runImport } from '../../../jobs/importVmware.js';
import type { RunnerEvent, RunResult } from '../../../jobs/runner.js';
import { type EsxiListing, type EsxiVm, poweredOnRefusal } from '../../../model/esxiListing.js';
import { ESXI_DEFAULT_DEST, esxiCopySummary, isEsxiFacts } from '../../../model/importEsxiPlan.js';
import type { FixupChoice } from '../../../model/importFixup.js';
import { isOvaFacts } from '../../../model/importOvaPlan.js';
import { buildImportDomain, CONVERT_CHOICES, type ImportFacts, type ImportRequest, importFixup } from '../../../model/importVmwarePlan.js';
import { describePlan } from '../../../model/plan.js';
import { BUS_CHOICES, type BusChoice } from '../../../model/vmxToDomain.js';
import { type Field, type Form, fieldValue, formKey, makeForm, withError } from '../../form.js';
import { createJobController, type JobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import type { Scope } from '../../keys/table.js';
import { complete, expandPath, filesKey, filesScopes, type HostFiles, needsHome, newFiles, openDir, pathValue, splitTyped, withPath } from '../hostFiles.js';
import { type PageLine, pageLines, pageMax } from '../page.js';
import { type Problem, problemOf } from '../problem.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';
import {
  busHint,
  esxiTargetOf,
  FIXUP_OPTIONS,
  formToRequest,
  IMPORT_SOURCES,
  IMPORT_STEPS,
  type ImportForm,
  type ImportSource,
  type ImportStepId,
  initialImportForm,
  isPackagePath,
  nicOptions,
  readSummary,
  SOURCE_FILES,
  stepsFor,
} from './importForm.js';

/** The job functions; tests pass scripted ones, the console the real ones. */
export interface ImportJobs {
  inspect(host: HostContext, vmxPath: string, signal?: AbortSignal): Promise<ImportFacts>;
  prepare(host: HostContext, vmxPath: string, req: ImportRequest, signal: AbortSignal | undefined, facts: ImportFacts): Promise<PreparedImport>;
  run(host: HostContext, prepared: PreparedImport, opts: { signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void }): Promise<RunResult>;
  /** An ESXi host's VMs with their power state (one ssh command). */
  listEsxi?(target: EsxiTarget, signal?: AbortSignal): Promise<EsxiListing>;
  /** One of them read over ssh into the .vmx import's facts. */
  inspectEsxi?(host: HostContext, target: EsxiTarget, vm: EsxiVm, listing: EsxiListing, signal?: AbortSignal): Promise<ImportFacts>;
}

/** A .vmx, an OVA/OVF export or an ESXi VM: each source's job reads it into the same facts, plan and run. */
const REAL_JOBS: Required<ImportJobs> = {
  inspect: (host, path, signal) => (isPackagePath(path) ? inspectOva(host, path, signal) : inspectImport(host, path, signal)),
  prepare: (host, path, req, signal, facts) =>
    isEsxiFacts(facts) ? prepareEsxiImport(host, req, facts, signal) : isOvaFacts(facts) ? prepareOvaImport(host, path, req, signal, facts) : prepareImport(host, path, req, signal, facts),
  run: (host, prepared, opts) => (isEsxiFacts(prepared.facts) ? runEsxiImport(host, prepared, opts) : isOvaFacts(prepared.facts) ? runOvaImport(host, prepared, opts) : runImport(host, prepared, opts)),
  listEsxi: (target, signal) => listEsxi(target, signal),
  inspectEsxi: (host, target, vm, listing, signal) => inspectEsxi(host, target, vm.vmx, signal, listing),
};

export const IMPORT_ROWS = 12;

/** Where the picker starts: the directory the last .vmx was picked from on this host. */
export interface PickedDirs {
  last(): string | null;
  remember(dir: string): void;
}

export interface ImportWizardDeps {
  host: HostContext;
  /** Where the picker starts; else the last-used directory, else (on this machine) the working directory. */
  startDir?: string;
  pickedDirs?: PickedDirs;
  /** The console's working directory (a remote host's picker starts at / instead). */
  cwd?: string;
  /** Tests pass scripted ones; what they leave out is the real job. */
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
  /** Step 1: a .vmx, an OVA/OVF export or an ESXi host. */
  source: Form;
  /** How many steps the chosen source has. */
  stepCount: number;
  files: HostFiles;
  /** ESXi: who to log in as, and where (step 2). */
  esxiHost: Form;
  /** ESXi: the host's VMs as listed, and the one under the cursor (step 3). */
  esxi: { target: EsxiTarget; listing: EsxiListing } | null;
  vmCursor: number;
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
/** An export's disks are always converted: QEMU only reads a streamOptimized vmdk. */
const PACKAGE_CONVERT_OPTIONS = CONVERT_OPTIONS.filter((o) => o.value !== 'none').map((o) => ({ ...o, label: `convert to ${o.value} (the export kept)` }));
/** An ESXi VM's disks are copied here and converted: the host's files cannot be run from here. */
const ESXI_CONVERT_OPTIONS = CONVERT_OPTIONS.filter((o) => o.value !== 'none').map((o) => ({ ...o, label: `copy and convert to ${o.value} (the VM on ESXi kept)` }));

function esxiHostForm(): Form {
  return makeForm([
    { id: 'host', label: 'Host', kind: 'text', value: 'root@', hint: 'root@ESXI', help: 'The ESXi host as ssh reaches it: root@name or root@address (Secure Shell enabled on it).' },
    { id: 'port', label: 'Port', kind: 'text', value: '', placeholder: '22' },
    { id: 'identity', label: 'Key', kind: 'text', value: '', placeholder: "ssh's own keys", help: "The private key whose public half is in the host's /etc/ssh/keys-root/authorized_keys." },
  ]);
}

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
    // The fix-up runs on the copy only: with the vmdk files used in place there is nothing to fix up.
    if (f.id === 'fixup') return { ...f, showWhen: { field: 'convert', value: convert === 'none' ? '\u0000' : convert } };
    if (f.id === 'virtioWin') return { ...f, showWhen: { field: 'convert', value: convert === 'none' ? '\u0000' : convert } };
    return f;
  });
  return { ...form, fields };
}

function disksForm(f: ImportForm, from: 'vmx' | 'package' | 'esxi' = 'vmx'): Form {
  const options = from === 'esxi' ? ESXI_CONVERT_OPTIONS : from === 'package' ? PACKAGE_CONVERT_OPTIONS : CONVERT_OPTIONS;
  const hint = from === 'esxi' ? `empty: ${ESXI_DEFAULT_DEST}` : from === 'package' ? 'empty: beside the export' : 'empty: beside the .vmx';
  return shapeDisks(
    makeForm([
      { id: 'name', label: 'Guest name', kind: 'text', value: f.name },
      { id: 'convert', label: 'Disks', kind: 'choice', value: f.convert, options },
      { id: 'dest', label: 'Into dir', kind: 'text', value: f.destDir, hint },
      { id: 'bus', label: 'Disk bus', kind: 'choice', value: f.bus, options: BUS_CHOICES.map((b) => ({ value: b, label: b })) },
      { id: 'fixup', label: 'Fix-up', kind: 'choice', value: f.fixup, options: FIXUP_OPTIONS, hint: 'after the copy, on the copy' },
      { id: 'virtioWin', label: 'virtio-win', kind: 'text', value: f.virtioWin, hint: 'ISO for Windows; empty: none' },
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
    fixup: ((disks.fields.some((f) => f.id === 'fixup') ? fieldValue(disks, 'fixup') : 'none') || 'none') as FixupChoice,
    virtioWin: disks.fields.some((f) => f.id === 'virtioWin') ? fieldValue(disks, 'virtioWin') : '',
    nics: nics ? nics.fields.map((f) => f.value) : [],
    start: fieldValue(disks, 'start') === 'yes',
  };
}

/** What a cancel undoes (the plan's undos): converted copies removed, the guest undefined; the VMware files are only read. */
export function importUndo(prepared: PreparedImport | null): string {
  const copies = prepared?.request.convert !== undefined && prepared.request.convert !== 'none';
  const kept = prepared && isEsxiFacts(prepared.facts) ? 'the copied files are removed; the VM on the ESXi host was only read' : prepared && isOvaFacts(prepared.facts) ? 'the export is kept' : 'the .vmx and its disks are kept';
  return `Finished steps are undone (${copies ? 'the converted copies removed, ' : ''}the guest undefined); ${kept}.`;
}

export function createImportWizard(deps: ImportWizardDeps): ImportWizardStore {
  const { host } = deps;
  const jobFns: Required<ImportJobs> = { ...REAL_JOBS, ...deps.jobs };
  const width = Math.min(deps.width ?? 80, 80);
  const get = () => store.getState();
  const set = (change: Partial<ImportWizardState>) => store.setState(change);
  // Closing a job handed to a worker closes the wizard: nothing of it is left to show here.
  const jobs: JobController = createJobController((run) => set({ run }), () => deps.onClose(null), deps.jobScreen);
  const owner: KeyOwner = { scopes: () => scopes(), perform: (intent) => perform(intent) };
  const picked: PickedDirs = deps.pickedDirs ?? {
    last: () => lastPickedDir(defaultStateDir(), host.name),
    remember: (dir) => rememberPickedDir(defaultStateDir(), host.name, dir),
  };
  const fallbackDir = host.sysExec.label === 'local' ? (deps.cwd ?? process.cwd()) : '/';
  const remembered = deps.startDir ? null : picked.last();
  const startDir = deps.startDir ?? remembered ?? fallbackDir;

  const store = createStore<ImportWizardState>()(() => ({
    hostName: host.name,
    step: 'kind',
    stepNumber: 1,
    source: makeForm([{ id: 'source', label: 'I have', kind: 'choice', value: 'vmx', options: IMPORT_SOURCES }]),
    stepCount: IMPORT_STEPS.length,
    files: newFiles(startDir, SOURCE_FILES.vmx),
    esxiHost: esxiHostForm(),
    esxi: null,
    vmCursor: 0,
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
  const list = async (dir: string, only = '') => {
    set({ files: openDir(get().files, dir, only), problem: null });
    const shown = () => get().files.dir === dir && get().files.entries === null;
    try {
      const entries = await listDirectory(host, dir);
      if (shown()) set({ files: { ...get().files, entries, cursor: 0 } });
    } catch (e) {
      if (shown()) set({ files: { ...get().files, entries: [{ name: '..', dir: true }], error: listingRefusal(dir, e) } });
    }
  };

  let home: string | null = null;
  const hostHome = async () => {
    home ??= await homeDir(host);
    return home;
  };
  const absolute = async (typed: string) => expandPath(typed, get().files.dir, needsHome(typed) ? await hostHome() : '/');

  const refuseFile = (sentence: string, fix: string) => set({ problem: { sentence, fix } });

  /** Enter on a path: a directory is opened, an accepted readable file read; anything else is refused in one sentence. */
  const take = async (typed: string) => {
    if (!typed.trim()) {
      refuseFile('No path is typed.', 'Type the path of the .vmx, or pick it in the list (Tab completes a name).');
      return;
    }
    const path = await absolute(typed);
    const kind = await describePath(host, path);
    if (kind === 'dir') return list(path);
    if (kind === 'missing') return refuseFile(`${path} does not exist.`, 'Check the path; Tab completes names that are there.');
    if (kind === 'unreadable') return refuseFile(`${path} is not readable.`, 'Check its permissions (and, on NFS, root squashing), or copy the VM where virtdeck can read it.');
    if (!get().files.accept.test(path)) {
      return get().files.accept === SOURCE_FILES.ova
        ? refuseFile(`${path} is not an .ova or .ovf file.`, 'Pick the export: one .ova file, or the .ovf beside its .vmdk and .mf files.')
        : refuseFile(`${path} is not a .vmx file.`, "Pick the VM's .vmx, the small text file beside its .vmdk disks.");
    }
    const dir = path.replace(/\/[^/]*$/, '') || '/';
    try {
      picked.remember(dir);
    } catch {
      // Starting the next pick elsewhere is no reason to stop this one.
    }
    return pick(path);
  };

  /** Tab: the field's last name completed against the directory its head names. */
  const completeField = async () => {
    const typed = pathValue(get().files);
    const { head } = splitTyped(typed);
    const dir = await absolute(head || './');
    let entries = get().files.dir === dir ? get().files.entries : null;
    if (!entries) {
      try {
        entries = await listDirectory(host, dir);
      } catch (e) {
        return refuseFile(listingRefusal(dir, e), 'Check the path; Tab completes names that are there.');
      }
    }
    const c = complete(typed, entries);
    if (c.kind === 'none') return refuseFile(`Nothing in ${dir} starts with "${c.base}".`, 'Check the name, or press Backspace and Tab again to see what is there.');
    set({ problem: null });
    if (c.kind === 'done' && c.open) {
      await list(await absolute(c.value));
      return;
    }
    if (c.kind === 'many' && get().files.dir !== dir) await list(dir, c.only);
    else if (c.kind === 'many') set({ files: { ...get().files, only: c.only, cursor: 0 } });
    set({ files: withPath(get().files, c.value, true) });
  };

  const sourceOf = () => fieldValue(get().source, 'source') as ImportSource;
  const steps = () => stepsFor(sourceOf());

  const goTo = (step: ImportStepId, lines: PageLine[] = []) => {
    const s = get();
    set({
      step,
      stepNumber: steps().indexOf(step) + 1,
      stepCount: steps().length,
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
      set({ facts, disks: disksForm(f, isPackagePath(path) ? 'package' : 'vmx'), nics: facts.guest.nics.length > 0 ? nicsForm(facts, f) : null });
      goTo('read', readLines(facts));
    } catch (e) {
      set({ problem: problemOf(e) });
    } finally {
      set({ busy: '' });
    }
  };

  /** ESXi step 2 → 3: log in once and list every VM with its power state. */
  const listHost = async () => {
    if (get().busy) return;
    const form = get().esxiHost;
    let target: EsxiTarget;
    try {
      target = esxiTargetOf({ destination: fieldValue(form, 'host'), port: fieldValue(form, 'port'), identity: fieldValue(form, 'identity') });
    } catch (e) {
      const problem = problemOf(e);
      set({ problem, esxiHost: withError(form, problem) });
      return;
    }
    set({ busy: `listing the VMs on ${target.destination}`, problem: null });
    try {
      const listing = await jobFns.listEsxi(target);
      if (listing.vms.length === 0) {
        set({ problem: { sentence: `${target.destination} has no .vmx under ${listing.root}.`, fix: 'Check that this is the ESXi host the VM is on, and that its datastore is mounted there.' } });
        return;
      }
      const keep = get().esxi?.listing.vms[get().vmCursor]?.vmx;
      const at = listing.vms.findIndex((vm) => vm.vmx === keep);
      set({ esxi: { target, listing }, vmCursor: Math.max(0, at) });
      goTo('vm');
    } catch (e) {
      set({ problem: problemOf(e) });
    } finally {
      set({ busy: '' });
    }
  };

  /** ESXi step 3 → read: a running VM is refused at once; another is read over ssh. */
  const pickEsxiVm = async () => {
    const { esxi, vmCursor } = get();
    const vm = esxi?.listing.vms[vmCursor];
    if (!esxi || !vm || get().busy) return;
    const refusal = poweredOnRefusal(vm, esxi.target.destination);
    if (refusal) {
      set({ problem: problemOf(refusal) });
      return;
    }
    set({ busy: `reading ${vm.name} on ${esxi.target.destination}`, problem: null });
    try {
      const facts = await jobFns.inspectEsxi(host, esxi.target, vm, esxi.listing);
      const f = initialImportForm(facts);
      set({ facts, disks: disksForm(f, 'esxi'), nics: facts.guest.nics.length > 0 ? nicsForm(facts, f) : null });
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
        const fixup = importFixup(p.facts, req);
        const copy = isEsxiFacts(p.facts) ? [...esxiCopySummary(p.facts, p.request), ''] : [];
        goTo('review', pageLines([...copy, `Fix-up: ${fixup.engine}: ${fixup.why}`, ...warn, ...describePlan(p.plan, planRoute(host)), '', ...domain.xml.trimEnd().split('\n')], width - 4));
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
      jobs.end('done', `${name} is defined${form.start ? ' and started' : ''}.`);
      set({ result: { ok: true, defined: name, lines: [`${name} is defined${form.start ? ' and running' : ''}.`, `Disks: ${plan.targets.images.join(', ')}`] } });
    } catch (e) {
      const err = problemOf(e);
      jobs.end('failed', err.sentence);
      set({ result: { ok: false, defined: null, lines: [err.sentence, err.fix, 'What the import had done was undone.'] } });
    }
  };

  const next = () => {
    const s = get();
    if (s.step === 'kind') {
      const source = sourceOf();
      if (source === 'esxi') {
        goTo('host');
        return;
      }
      set({ files: { ...s.files, accept: SOURCE_FILES[source] } });
      goTo('file');
    } else if (s.step === 'host') void listHost();
    else if (s.step === 'vm') void pickEsxiVm();
    else if (s.step === 'read') goTo('disks');
    else if (s.step === 'disks') {
      if (s.nics) goTo('nics');
      else void review();
    } else if (s.step === 'nics') void review();
  };

  const moveVm = (by: number) => {
    const { esxi, vmCursor } = get();
    if (esxi) set({ vmCursor: Math.max(0, Math.min(esxi.listing.vms.length - 1, vmCursor + by)), problem: null });
  };

  function scopes(): Scope[] {
    const s = get();
    if (s.result) return wizardScopes({ kind: 'result' });
    if (s.run) return wizardScopes({ kind: 'running', jobs });
    if (s.busy) return wizardScopes({ kind: 'step', busy: 'wait' });
    if (s.step === 'kind') return wizardScopes({ kind: 'step', form: s.source });
    if (s.step === 'host') return wizardScopes({ kind: 'step', form: s.esxiHost });
    if (s.step === 'vm') return ['wizard:list', ...wizardScopes({ kind: 'step' })];
    if (s.step === 'file') return [...filesScopes(s.files), 'wizard:step'];
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
        const list = steps();
        const i = list.indexOf(s.step);
        if (i === 0) {
          deps.onClose(null);
          return;
        }
        // A .vmx without network cards has no network step to go back to.
        const back = list[i - 1] === 'nics' && !s.nics ? 'disks' : (list[i - 1] as ImportStepId);
        goTo(back, back === 'read' && s.facts ? readLines(s.facts) : []);
        return;
      }
      case 'wizardNext':
        next();
        return;
      case 'wizardRun':
        void run();
        return;
      case 'itemUp':
      case 'itemDown':
        if (s.step === 'vm') {
          moveVm(intent.action === 'itemUp' ? -1 : 1);
          return;
        }
        break;
      case 'scrollUp':
      case 'scrollDown':
      case 'pageUp':
      case 'pageDown':
        if (s.step === 'vm') {
          moveVm(scrollStep(intent.action, IMPORT_ROWS));
          return;
        }
        if (s.step !== 'file') {
          set({ scroll: scrolled(s.scroll, scrollStep(intent.action, IMPORT_ROWS), pageMax(s.lines, IMPORT_ROWS)) });
          return;
        }
        break;
    }
    if (s.busy) return;
    if (s.step === 'file') {
      const moved = filesKey(s.files, intent, IMPORT_ROWS);
      if (moved.files !== s.files) set({ files: moved.files, problem: null });
      if (moved.open) void list(moved.open);
      if (moved.home) void hostHome().then((h) => list(h));
      if (moved.take !== undefined) void take(moved.take);
      if (moved.complete) void completeField();
    } else if (s.step === 'kind') set({ source: formKey(s.source, intent) });
    else if (s.step === 'host') set({ esxiHost: formKey(s.esxiHost, intent) });
    else if (s.step === 'disks' && s.disks) set({ disks: shapeDisks(formKey(s.disks, intent)) });
    else if (s.step === 'nics' && s.nics) set({ nics: formKey(s.nics, intent) });
  }

  // A remembered directory that has gone since is no place to start: the usual one is.
  void list(get().files.dir).then(() => {
    const f = get().files;
    if (remembered && f.dir === remembered && f.error && remembered !== fallbackDir) void list(fallbackDir);
  });
  return store;
}
