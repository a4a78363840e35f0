/**
 * The New guest wizard as a store: which step is shown, the values typed so far, the step's form,
 * the refusals, the review and the job. Keys arrive through `owner` (store/keys) and act on the
 * state each key leaves, so a burst typed after ↓ or Tab lands in the field the ↓ moved to. The
 * host is read here (facts, the install and storage checks) and the job runs here through the one
 * job controller; the view (ui/wizards/NewGuestWizard.tsx) only draws.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { type HostError, toHostError } from '../../../host/errors.js';
import type { HostContext } from '../../../host/hostContext.js';
import { planRoute } from '../../../host/planRoute.js';
import { checkNewGuest, domainXmlFile, gatherHostFacts, type HostFacts, NewGuestRefused, runNewGuest } from '../../../jobs/newGuest.js';
import { buildDomainXml, defaultDiskPath, planNewGuest, type SpecProblem } from '../../../model/newGuest.js';
import type { PlanRoute, PlanStep } from '../../../model/plan.js';
import { UserError } from '../../../model/userError.js';
import { type Form, formKey, makeForm, withError } from '../../form.js';
import { createJobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import type { Scope } from '../../keys/table.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';
import {
  applyOsDefaults,
  formToSpec,
  HOST_CHECKED_STEPS,
  initialForm,
  type NewGuestForm,
  OS_CHOICES,
  problemsForStep,
  STEPS,
  type StepId,
} from './newGuestForm.js';
import { applyChange, stepForm } from './stepFields.js';

/** Rows of domain XML the review shows at once (PgUp/PgDn move this far). */
export const XML_ROWS = 8;

export type NewGuestPhase = 'loading' | 'load-failed' | 'form' | 'running' | 'failed';

export interface ReviewData {
  steps: PlanStep[];
  xml: string;
  /** The values do not make a guest (drawn instead of the plan; Enter does nothing). */
  error: HostError | UserError | null;
}

export interface NewGuestWizardState {
  hostName: string;
  /** How the review shows commands that run on a remote host (null: this machine). */
  route: PlanRoute | null;
  phase: NewGuestPhase;
  /** Why the host could not be read (load-failed) or the guest not created (failed). */
  error: HostError | UserError | null;
  facts: HostFacts | null;
  /** What the admin typed and chose, as typed. */
  values: NewGuestForm;
  stepIndex: number;
  /** The fields of the step shown (none on the OS list and the review). */
  form: Form;
  /** Refusals of the step shown, each with its fix. */
  problems: SpecProblem[];
  /** The step is being checked on the host. */
  checking: boolean;
  /** Formats of the existing images, read by the install check. */
  formats: Record<string, string> | undefined;
  /** The highlighted row of the OS list. */
  osIndex: number;
  /** First XML row shown on the review. */
  scroll: number;
  review: ReviewData | null;
  /** The job on screen (running phase). */
  run: RunView | null;
  owner: KeyOwner;
  /** Reads the host (guests, bridges, networks, memory, KVM); the first step follows. */
  load(): void;
  /** Enter on a step: its refusals, or the next step. Resolves once the host check (if any) is done. */
  submitStep(): Promise<void>;
  /** Enter on the review: defines (and starts) the guest. Resolves when the job has ended. */
  create(): Promise<void>;
  /** The console ends: the check and the job stop without asking (the job undoes what it did). */
  dispose(): void;
}

export type NewGuestWizardStore = StoreApi<NewGuestWizardState>;

export interface NewGuestWizardDeps {
  host: HostContext;
  /** Called with the new guest's name after define (and optional start), or null when left. */
  onClose: (defined: string | null, opts?: { openConsole?: boolean }) => void;
  /** What its job screen borrows from the console: q's quit (wait or cancel, then quit). */
  jobScreen?: JobControllerOptions;
  /** For the generated MAC addresses (tests make them fixed). */
  rng?: () => number;
}

/** The form field a refusal of `step` is about, when one field holds everything the step checks. */
function refusedField(step: StepId, v: NewGuestForm): string | undefined {
  if (step === 'name') return 'name';
  if (step === 'install') return v.installKind === 'iso' ? 'isoPath' : v.installKind === 'existing' ? 'diskPaths' : undefined;
  return undefined;
}

function reviewOf(v: NewGuestForm, facts: HostFacts, formats: Record<string, string> | undefined, uri: string): ReviewData {
  try {
    const { spec } = formToSpec(v, facts.domainType, formats);
    return { steps: planNewGuest(spec, { uri, start: v.start, xmlFile: domainXmlFile(spec.name) }).steps, xml: buildDomainXml(spec), error: null };
  } catch (e) {
    return { steps: [], xml: '', error: e instanceof UserError ? e : toHostError(e) };
  }
}

/** What a cancel of the create takes back, in the words the question has always used. */
function undoWords(newDisk: boolean): string {
  return `Finished steps are undone (${newDisk ? 'the new disk removed, ' : ''}the guest undefined); existing disks and ISOs are not touched.`;
}

export function createNewGuestWizard(deps: NewGuestWizardDeps): NewGuestWizardStore {
  const { host, onClose } = deps;
  const rng = deps.rng ?? Math.random;
  let checkAbort: AbortController | null = null;
  let closed = false;

  const store = createStore<NewGuestWizardState>()((set, get) => {
    const jobs = createJobController((run) => set({ run }), undefined, deps.jobScreen);
    const step = (): StepId => STEPS[get().stepIndex] as StepId;

    const close = (defined: string | null, opts?: { openConsole?: boolean }) => {
      if (closed) return;
      closed = true;
      checkAbort?.abort();
      jobs.abort();
      if (opts) onClose(defined, opts);
      else onClose(defined);
    };

    /** Shows step `i` afresh: focus on its first field, no refusals, the review at its top. */
    const goTo = (i: number, problems: SpecProblem[] = []) => {
      const s = get();
      const next = STEPS[i] as StepId;
      const osIndex = Math.max(0, OS_CHOICES.findIndex((o) => o.id === s.values.os));
      let form = stepForm(next, s.values, s.facts);
      const first = problems[0];
      if (first) form = withError(form, { field: refusedField(next, s.values), sentence: first.sentence, fix: first.fix });
      set({
        stepIndex: i,
        form,
        problems,
        scroll: 0,
        osIndex,
        review: next === 'review' && s.facts ? reviewOf(s.values, s.facts, s.formats, host.uri) : null,
      });
    };

    /** Going on: the disk path follows the name until the admin edits it. */
    const enterStep = (i: number) => {
      const v = get().values;
      if (STEPS[i] === 'storage' && !v.diskPath) set({ values: { ...v, diskPath: defaultDiskPath(v.name.trim(), v.diskFormat) } });
      goTo(i);
    };

    const setValues = (values: NewGuestForm) => {
      const s = get();
      set({ values, review: step() === 'review' && s.facts ? reviewOf(values, s.facts, s.formats, host.uri) : s.review });
    };

    const pickOs = (index: number) => {
      const choice = OS_CHOICES[index];
      if (!choice) return;
      set({ values: applyOsDefaults(get().values, choice.id) });
      goTo(get().stepIndex + 1);
    };

    const formKeyed = (intent: Intent) => {
      const s = get();
      const next = formKey(s.form, intent);
      if (next === s.form) return;
      const changed = next.fields.find((f, i) => f.value !== s.form.fields[i]?.value);
      const values = changed ? applyChange(s.values, changed.id, changed.value, s.facts, rng) : s.values;
      set({ values, form: changed ? stepForm(step(), values, s.facts, next) : next });
    };

    const reviewMax = () => {
      const xml = get().review?.xml ?? '';
      return Math.max(0, xml.split('\n').length - 1 - XML_ROWS);
    };

    const scopes = (): Scope[] => {
      const s = get();
      switch (s.phase) {
        case 'loading':
          return ['wizard:newGuest-loading', 'wizard:busy-wait'];
        case 'load-failed':
          return ['wizard:newGuest-loadFailed'];
        case 'running':
          return jobs.scopes();
        case 'failed':
          return ['wizard:newGuest-failed'];
        case 'form': {
          const at = step();
          if (at === 'os') return ['wizard:newGuest-os', 'wizard:step'];
          if (at === 'review') {
            const [review, ...rest] = wizardScopes({ kind: 'review' });
            return [review as Scope, 'wizard:newGuest-review', ...rest];
          }
          return wizardScopes({ kind: 'step', form: s.form, ...(s.checking ? { busy: 'stop' as const } : {}) });
        }
      }
    };

    const perform = (intent: Intent) => {
      const s = get();
      const { action } = intent;
      if (intent.scope.startsWith('job:')) return jobs.perform(intent);
      if (intent.scope.startsWith('form')) return formKeyed(intent);
      switch (action) {
        case 'wizardCancel':
        case 'wizardQuit':
        case 'wizardClose':
          return close(null);
        case 'newGuestRetry':
          return get().load();
        case 'wizardBack':
          if (s.phase === 'failed') return set({ phase: 'form', error: null });
          if (s.stepIndex === 0) return close(null);
          return goTo(s.stepIndex - 1);
        case 'wizardStopBusy':
          checkAbort?.abort();
          return;
        case 'wizardNext':
          if (step() === 'os') return pickOs(s.osIndex);
          return void get().submitStep();
        case 'newGuestOsPrev':
        case 'newGuestOsNext': {
          const n = OS_CHOICES.length;
          return set({ osIndex: (s.osIndex + (action === 'newGuestOsNext' ? 1 : -1) + n) % n });
        }
        case 'newGuestOsNumber':
          return pickOs(Number(intent.key.name) - 1);
        case 'newGuestStartNow':
          return setValues({ ...s.values, start: !s.values.start });
        case 'newGuestOpenConsole':
          if (s.values.start) setValues({ ...s.values, openConsole: !s.values.openConsole });
          return;
        case 'wizardRun':
          return void get().create();
        default: {
          const by = scrollStep(action, XML_ROWS);
          if (by !== 0 && step() === 'review') set({ scroll: scrolled(s.scroll, by, reviewMax()) });
        }
      }
    };

    return {
      hostName: host.name,
      route: planRoute(host),
      phase: 'loading',
      error: null,
      facts: null,
      values: initialForm(null, rng),
      stepIndex: 0,
      form: makeForm([]),
      problems: [],
      checking: false,
      formats: undefined,
      osIndex: 0,
      scroll: 0,
      review: null,
      run: null,
      owner: { scopes, perform, hintVars: () => jobs.hintVars() },

      load() {
        set({ phase: 'loading', error: null });
        gatherHostFacts(host).then(
          (facts) => {
            if (closed) return;
            set({ facts, values: { ...initialForm(facts, rng), name: get().values.name }, phase: 'form' });
            goTo(get().stepIndex);
          },
          (e: unknown) => {
            if (!closed) set({ phase: 'load-failed', error: toHostError(e) });
          },
        );
      },

      async submitStep() {
        const s = get();
        if (!s.facts || s.checking || s.phase !== 'form') return;
        const at = step();
        let found = problemsForStep(at, s.values, s.facts, s.formats);
        if (found.length === 0 && HOST_CHECKED_STEPS.includes(at)) {
          const abort = new AbortController();
          checkAbort = abort;
          set({ checking: true });
          try {
            const check = await checkNewGuest(host, formToSpec(s.values, s.facts.domainType).spec, s.facts, abort.signal);
            if (abort.signal.aborted) return;
            found = check.problems.filter((p) => p.field === at);
            if (check.spec.install.kind === 'existing') set({ formats: check.spec.install.formats });
          } catch (e) {
            // Esc stopped the check: the step stays as it was.
            if (abort.signal.aborted) return;
            set({ problems: [], phase: 'failed', error: toHostError(e) });
            return;
          } finally {
            if (checkAbort === abort) checkAbort = null;
            set({ checking: false });
          }
        }
        if (found.length > 0) {
          const first = found[0] as SpecProblem;
          set({ problems: found, form: withError(get().form, { field: refusedField(at, get().values), sentence: first.sentence, fix: first.fix }) });
          return;
        }
        enterStep(get().stepIndex + 1);
      },

      dispose() {
        closed = true;
        checkAbort?.abort();
        jobs.abort();
      },

      async create() {
        const s = get();
        if (!s.facts || s.phase !== 'form' || step() !== 'review' || s.review?.error) return;
        const { values } = s;
        const { spec } = formToSpec(values, s.facts.domainType, s.formats);
        const plan = planNewGuest(spec, { uri: host.uri, start: values.start, xmlFile: domainXmlFile(spec.name) });
        set({ phase: 'running', problems: [] });
        try {
          const result = await jobs.start(planSpec(plan, `creating ${spec.name}`, undoWords(Boolean(spec.newDisk))), (io) =>
            runNewGuest(host, spec, { start: values.start, signal: io.signal, onEvent: io.onEvent }),
          );
          jobs.end('done', `${values.start ? 'Defined and started' : 'Defined'} ${result.name}.`);
          jobs.close();
          close(result.name, { openConsole: values.start && values.openConsole });
        } catch (e) {
          jobs.end(jobs.view()?.state === 'cancelling' ? 'cancelled' : 'failed', e instanceof Error ? e.message : String(e));
          jobs.close();
          if (closed) return;
          if (e instanceof NewGuestRefused) {
            // Something changed on the host since the step was checked: send the admin back there.
            const first = e.problems[0];
            const target = first ? STEPS.indexOf(first.field as StepId) : -1;
            set({ phase: 'form' });
            goTo(
              target < 0 ? STEPS.length - 1 : target,
              e.problems.filter((p) => p.field === first?.field),
            );
            return;
          }
          set({ phase: 'failed', error: e instanceof UserError ? e : toHostError(e) });
        }
      },
    };
  });
  return store;
}
