/**
 * The P2V wizard as a store: source (a form) → what was found (size, partitions, memory, CPUs,
 * NICs, and why the source must be quiet) → the new guest (a form, prefilled) → review of the
 * plan → run through the job controller. Every host call (reading the source, checking the
 * destination, the run, saving the plan as a script) happens in this store's actions.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import type { HostError } from '../../../host/errors.js';
import type { HostContext } from '../../../host/hostContext.js';
import { planRoute } from '../../../host/planRoute.js';
import { gatherSourceFacts, type PreparedP2v, prepareP2v, runP2v } from '../../../jobs/p2v.js';
import { savePlanScriptNote } from '../../../jobs/planScriptFile.js';
import { type P2vSourceFacts, p2vGuestLine } from '../../../model/p2vPlan.js';
import { describePlan } from '../../../model/plan.js';
import type { UserError } from '../../../model/userError.js';
import { type Field, type Form, fieldValue, formKey, formValues, makeForm, setField, withError } from '../../form.js';
import { createJobController, type JobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import type { Scope } from '../../keys/table.js';
import { type PageLine, pageLines, pageMax } from '../page.js';
import { type Problem, problemOf, shownErrorOf } from '../problem.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';
import { BUS_CHOICES, FORMAT_CHOICES, formInput, formSource, foundLines, initialP2vForm, KIND_CHOICES, P2V_STEPS, type P2vForm, type P2vStepId, prefill } from './p2vForm.js';

export const P2V_ROWS = 12;

/** Kept as the wizard always said it: the cancel question's undo. */
export const P2V_UNDO = 'The partial copy will be removed.';

export interface P2vWizardDeps {
  host: HostContext;
  stateDir?: string;
  width?: number;
  initial?: Partial<P2vForm>;
  /** `defined` is the new guest's name when one was defined. */
  onClose: (defined: string | null) => void;
  /** What its job screen borrows from the console: q's quit, and the worker start behind b (tests stand in for it). */
  jobScreen?: JobControllerOptions;
}

export interface P2vResult {
  ok: boolean;
  lines: PageLine[];
  error: UserError | HostError | null;
  defined: string | null;
}

export interface P2vWizardState {
  hostName: string;
  step: P2vStepId;
  stepNumber: number;
  /** Step 1's fields. */
  source: Form;
  /** Step 3's fields (prefilled from the source). */
  guest: Form;
  /** What a step is doing on the host ("Reading the source"); only Ctrl-C leaves meanwhile. */
  busy: string | null;
  problems: Problem[];
  facts: P2vSourceFacts | null;
  prepared: PreparedP2v | null;
  /** The page of "what was found" or the review. */
  lines: PageLine[];
  scroll: number;
  /** After w: where the script went. */
  message: string;
  run: RunView | null;
  result: P2vResult | null;
  owner: KeyOwner;
  jobs: JobController;
  /** The console ends with the wizard open: its host work and job stop without asking. */
  dispose(): void;
}

export type P2vWizardStore = StoreApi<P2vWizardState>;

function sourceFields(f: P2vForm): Field[] {
  const ssh = { field: 'kind', value: 'ssh' };
  return [
    { id: 'kind', label: 'Source', kind: 'choice', value: f.kind, options: KIND_CHOICES },
    { id: 'sshTarget', label: 'Machine', kind: 'text', value: f.sshTarget, placeholder: 'root@host', showWhen: ssh },
    { id: 'sshDevice', label: 'Disk there', kind: 'text', value: f.sshDevice, showWhen: ssh },
    { id: 'sshPort', label: 'SSH port', kind: 'text', value: f.sshPort, hint: 'empty: 22', showWhen: ssh },
    { id: 'identity', label: 'Key file', kind: 'text', value: f.identity, hint: 'empty: your ssh defaults', showWhen: ssh },
    { id: 'sshOptions', label: 'SSH -o', kind: 'text', value: f.sshOptions, hint: 'Key=value …, e.g. UserKnownHostsFile=/root/p2v_hosts', showWhen: ssh },
    { id: 'devicePath', label: 'Disk', kind: 'text', value: f.kind === 'device' ? f.path : '', placeholder: '/dev/sdb', showWhen: { field: 'kind', value: 'device' } },
    { id: 'filePath', label: 'Dump file', kind: 'text', value: f.kind === 'file' ? f.path : '', placeholder: '/srv/dumps/server.img', showWhen: { field: 'kind', value: 'file' } },
  ];
}

function guestFields(f: P2vForm): Field[] {
  return [
    { id: 'name', label: 'Guest name', kind: 'text', value: f.name },
    { id: 'destDir', label: 'Image dir', kind: 'text', value: f.destDir },
    { id: 'format', label: 'Format', kind: 'choice', value: f.format, options: FORMAT_CHOICES },
    { id: 'memory', label: 'Memory', kind: 'text', value: f.memory, hint: 'MiB, or with a unit: 2G' },
    { id: 'vcpus', label: 'vCPUs', kind: 'text', value: f.vcpus },
    { id: 'macs', label: 'MACs', kind: 'text', value: f.macs, hint: 'one e1000 NIC each' },
    { id: 'bus', label: 'Disk bus', kind: 'choice', value: f.bus, options: BUS_CHOICES },
    { id: 'network', label: 'Network', kind: 'text', value: f.network, hint: 'user, bridge:br0, network:NAME' },
  ];
}

/** The two forms as the one P2vForm the pure functions read. */
export function p2vFormOf(source: Form, guest: Form): P2vForm {
  const s = formValues(source);
  const g = formValues(guest);
  const kind = (s.kind ?? 'ssh') as P2vForm['kind'];
  return {
    kind,
    sshTarget: s.sshTarget ?? '',
    sshDevice: s.sshDevice ?? '',
    sshPort: s.sshPort ?? '',
    identity: s.identity ?? '',
    sshOptions: s.sshOptions ?? '',
    path: (kind === 'device' ? s.devicePath : s.filePath) ?? '',
    name: g.name ?? '',
    destDir: g.destDir ?? '',
    format: (g.format ?? 'qcow2') as P2vForm['format'],
    memory: g.memory ?? '',
    vcpus: g.vcpus ?? '',
    macs: g.macs ?? '',
    bus: (g.bus ?? 'ide') as P2vForm['bus'],
    network: g.network ?? '',
  };
}

/** A refusal of `path` belongs to the path field the source kind shows. */
function onSourceForm(source: Form, problem: Problem): Form {
  const field = problem.field === 'path' ? (fieldValue(source, 'kind') === 'device' ? 'devicePath' : 'filePath') : problem.field;
  return withError(source, { ...problem, field });
}

export function createP2vWizard(deps: P2vWizardDeps): P2vWizardStore {
  const { host } = deps;
  const width = Math.min(deps.width ?? 80, 80);
  const stateDir = deps.stateDir ?? defaultStateDir();
  let working: AbortController | null = null;
  const get = () => store.getState();
  const set = (change: Partial<P2vWizardState>) => store.setState(change);
  // Closing a job handed to a worker closes the wizard: nothing of it is left to show here.
  const jobs: JobController = createJobController((run) => set({ run }), () => close(null), deps.jobScreen);
  const owner: KeyOwner = { scopes: () => scopes(), perform: (intent) => perform(intent) };
  const start = { ...initialP2vForm(), ...deps.initial };

  const store = createStore<P2vWizardState>()(() => ({
    hostName: host.name,
    step: 'source',
    stepNumber: 1,
    source: makeForm(sourceFields(start)),
    guest: makeForm(guestFields(start)),
    busy: null,
    problems: [],
    facts: null,
    prepared: null,
    lines: [],
    scroll: 0,
    message: '',
    run: null,
    result: null,
    owner,
    jobs,
    dispose() {
      working?.abort();
      jobs.abort();
    },
  }));

  const form = () => p2vFormOf(get().source, get().guest);

  /** Going to a step starts it afresh: focus on its first field, no problems, page at the top. */
  const goTo = (step: P2vStepId, lines: PageLine[] = []) => {
    const s = get();
    set({
      step,
      stepNumber: P2V_STEPS.indexOf(step) + 1,
      problems: [],
      scroll: 0,
      message: '',
      lines,
      source: step === 'source' ? makeForm(s.source.fields) : s.source,
      guest: step === 'guest' ? makeForm(s.guest.fields) : s.guest,
    });
  };

  const close = (defined: string | null) => {
    working?.abort();
    deps.onClose(defined);
  };

  /** One host call of a step at a time; its refusal is shown on the step (on its field when it names one). */
  const guard = async (label: string, work: (signal: AbortSignal) => Promise<void>) => {
    if (get().busy) return;
    const controller = new AbortController();
    working = controller;
    set({ busy: label, problems: [] });
    try {
      await work(controller.signal);
    } catch (e) {
      if (!controller.signal.aborted) {
        const problem = problemOf(e);
        const s = get();
        set({ problems: [problem], ...(s.step === 'source' ? { source: onSourceForm(s.source, problem) } : { guest: withError(s.guest, problem) }) });
      }
    } finally {
      if (working === controller) working = null;
      set({ busy: null });
    }
  };

  const readSource = () =>
    guard('Reading the source', async (signal) => {
      const f = form();
      const found = await gatherSourceFacts(host, formSource(f), signal);
      const filled = prefill(f, found);
      let guest = get().guest;
      for (const id of ['name', 'memory', 'vcpus', 'macs', 'bus'] as const) guest = setField(guest, id, filled[id]);
      set({ facts: found, guest });
      goTo('found', pageLines(foundLines(formSource(f), found), width - 4));
    });

  const checkGuest = () =>
    guard('Checking the destination', async (signal) => {
      const p = await prepareP2v(host, formInput(form()), { sourceFacts: get().facts ?? undefined, signal });
      set({ prepared: p });
      const first = p.refusals[0];
      if (first) {
        set({ problems: p.refusals.map(problemOf), guest: withError(get().guest, problemOf(first)) });
        return;
      }
      if (!p.plan) return;
      // The guest line names the MAC the run gives it (a new one when the source reported none).
      goTo('review', pageLines([...p.warnings.map((w): PageLine => ({ text: w, mark: 'warn' })), `guest ${p2vGuestLine(p.request)}`, ...describePlan(p.plan, planRoute(host))], width - 4));
    });

  const runPlan = async () => {
    const p = get().prepared;
    const plan = p?.plan;
    if (!p || !plan || get().run) return;
    const req = p.request;
    const finish = (result: P2vResult) => set({ result });
    try {
      const r = await jobs.start(planSpec(plan, 'the P2V', P2V_UNDO, true), (io) => runP2v(host, plan, { stateDir, signal: io.signal, onEvent: io.onEvent }));
      if (jobs.handedOver()) return;
      const logs = jobs.view()?.logs ?? [];
      if (r.state === 'done') {
        jobs.end('done', `${req.name} is defined.`);
        finish({
          ok: true,
          defined: req.name,
          error: null,
          lines: [
            { text: `${plan.targets.images[0]}: copied and verified`, mark: 'ok' },
            ...logs.map((l): PageLine => ({ text: l, mark: 'ok' })),
            { text: `guest ${req.name} defined: ${req.bus} disk, e1000 ${req.macs.join(', ')}`, mark: 'ok' },
            { text: req.osType === 'windows' ? 'Windows: run MergeIDE (M on the guest) before the first start on IDE.' : 'Start it with s on the Guests pane.' },
          ],
        });
      } else {
        const first = r.state === 'cancelled' ? 'The P2V was cancelled; the partial copy was removed.' : `The P2V ${r.state === 'rollback-failed' ? 'failed and could not be fully undone' : 'failed; what it had done was undone'}.`;
        jobs.end(r.state === 'cancelled' ? 'cancelled' : 'failed', first);
        finish({ ok: false, defined: null, error: r.error ?? null, lines: [{ text: first }, { text: `Journal: ${r.journal.path}` }] });
      }
    } catch (e) {
      const error = shownErrorOf(e);
      jobs.end('failed', error.sentence);
      finish({ ok: false, defined: null, error, lines: [] });
    }
  };

  function scopes(): Scope[] {
    const s = get();
    if (s.result) return wizardScopes({ kind: 'result' });
    if (s.run) return wizardScopes({ kind: 'running', jobs });
    if (s.step === 'found') return ['wizard:next', 'wizard:scroll', 'wizard:quit', 'wizard:step'];
    if (s.step === 'review') return wizardScopes({ kind: 'review', script: true });
    return wizardScopes({ kind: 'step', form: s.step === 'source' ? s.source : s.guest, busy: s.busy ? 'wait' : undefined });
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
        close(null);
        return;
      case 'wizardClose':
        close(s.result?.defined ?? null);
        return;
      case 'wizardBack':
        if (s.step === 'source') {
          close(null);
          return;
        }
        goTo(P2V_STEPS[P2V_STEPS.indexOf(s.step) - 1] as P2vStepId, s.step === 'guest' ? pageLines(foundLines(formSource(form()), s.facts as P2vSourceFacts), width - 4) : []);
        return;
      case 'wizardNext':
        if (s.step === 'source') void readSource();
        else if (s.step === 'found') goTo('guest');
        else if (s.step === 'guest') void checkGuest();
        return;
      case 'wizardRun':
        void runPlan();
        return;
      case 'wizardSaveScript':
        if (s.prepared?.plan) set({ message: savePlanScriptNote(stateDir, 'p2v', s.prepared.plan, planRoute(host)) });
        return;
      case 'scrollUp':
      case 'scrollDown':
      case 'pageUp':
      case 'pageDown':
        set({ scroll: scrolled(s.scroll, scrollStep(intent.action, P2V_ROWS), pageMax(s.lines, P2V_ROWS)) });
        return;
      default:
        if (s.busy) return;
        if (s.step === 'source') set({ source: formKey(s.source, intent) });
        else if (s.step === 'guest') set({ guest: formKey(s.guest, intent) });
    }
  }

  return store;
}
