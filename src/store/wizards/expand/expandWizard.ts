/**
 * The expand wizard as a store: reading the image (and looking inside it with libguestfs while
 * the admin types the size), the steps disk → new size → guest side → review, the run through
 * the job controller, and the summary. Its view only draws this state; its keys come through the
 * router to `owner`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import { type HostError, toHostError } from '../../../host/errors.js';
import { inspectDisk } from '../../../host/guestfs.js';
import type { HostContext } from '../../../host/hostContext.js';
import { type ExpandOutcome, gatherExpandFacts, runExpand } from '../../../jobs/expand.js';
import { savePlanScriptNote } from '../../../jobs/planScriptFile.js';
import { assessExpand, decideGrow, type ExpandAssessment, type ExpandFacts, type ExpandRoute } from '../../../model/expandPlan.js';
import { isActive } from '../../../model/guest.js';
import { UserError } from '../../../model/userError.js';
import { type Form, fieldValue, formKey, makeForm } from '../../form.js';
import { createJobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunRow, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import type { Scope } from '../../keys/table.js';
import { wizardScopes } from '../wizardScreen.js';

export const EXPAND_STEP_TITLES = ['disk', 'new size', 'guest side', 'review'] as const;

export type ExpandPhase = 'loading' | 'load-failed' | 'form' | 'running' | 'done' | 'failed';

export interface ExpandWizardState {
  host: { name: string };
  path: string;
  phase: ExpandPhase;
  /** Why the image could not be read (phase load-failed). */
  loadError: UserError | HostError | null;
  facts: ExpandFacts | null;
  /** libguestfs looks inside the disk (about 20 s) while the admin types the size. */
  inspecting: boolean;
  /** 0 disk, 1 new size, 2 guest side, 3 review. */
  step: number;
  /** The size field (step 1). */
  form: Form;
  /** The admin's choice on the guest side step: grow offline (when possible) or instructions only. */
  offline: boolean;
  note: string | null;
  /** The guest-side grow can be done offline now (inspected, shut off, a layout virtdeck grows). */
  canGrowOffline: boolean;
  /** The checks, refusal and plan for the size and choice on screen. */
  assessment: ExpandAssessment | null;
  run: RunView | null;
  outcome: ExpandOutcome | null;
  /** Why the job failed or stopped (phase failed). */
  error: UserError | HostError | null;
  owner: KeyOwner;
  /** The console ends with the wizard open: stop its work without asking (no onClose). */
  dispose(): void;
  load(): void;
  next(): void;
  back(): void;
  toggleRoute(): void;
  start(): Promise<void>;
  saveScript(): void;
  /** Leave without a result. */
  cancel(): void;
}

export type ExpandWizardStore = StoreApi<ExpandWizardState>;

export interface ExpandWizardDeps {
  host: HostContext;
  /** The image to grow (the Disks pane's selection). */
  path: string;
  /** The finished job's outcome, or null when closed before anything ran. */
  onClose: (result: ExpandOutcome | null) => void;
  /** What its job screen borrows from the console: q's quit, and the worker start behind b (tests stand in for it). */
  jobScreen?: JobControllerOptions;
  /** Where journals, saved scripts and instructions go. */
  stateDir?: string;
}

const asError = (e: unknown): UserError | HostError => (e instanceof UserError ? e : toHostError(e));

/**
 * What a cancel leaves, by route (expandPlan.ts): the vmdk route's undos remove the work folder and
 * put the original back; a grow in place or online has no undo (it only appended space).
 */
export function expandUndo(route: ExpandRoute): string {
  return route === 'vmdk' ? 'The work copy is removed; the original vmdk stays as it was.' : 'What is already grown stays grown (a grow is not undone); the rest is skipped.';
}

/** What a stopped expansion left, in the words of its cancel question: a grow in place is never undone. */
function leftAfterStop(route: ExpandRoute, rows: readonly RunRow[]): string {
  if (route === 'vmdk') return 'the work copy was removed and the original vmdk is as it was.';
  return rows.some((r) => !r.undo && r.state === 'done') ? 'the steps already done stay done (a grow is not undone); the rest was skipped.' : 'the image is as it was.';
}

/** What follows from the facts, the size typed and the choice: whether offline growth is possible, and the assessment. */
function derive(facts: ExpandFacts | null, form: Form, offline: boolean, inspecting: boolean): Pick<ExpandWizardState, 'canGrowOffline' | 'assessment'> {
  const canGrowOffline = Boolean(facts?.layout && 'op' in decideGrow(facts.layout)) && !(facts?.guest && isActive(facts.guest.state));
  const size = fieldValue(form, 'size').trim() || '+0';
  // "Instructions only" is the admin's choice only where growing offline was possible; otherwise
  // the assessment gives the real reason (running, still inspecting, a layout it cannot grow).
  const assessment = facts ? assessExpand(facts, { size, growFs: true, instructionsOnly: canGrowOffline && !offline, inspecting }) : null;
  return { canGrowOffline, assessment };
}

const sizeForm = () => makeForm([{ id: 'size', label: 'New size', kind: 'text', value: '', placeholder: '35G', hint: 'absolute, or +15G' }]);

export function createExpandWizard(deps: ExpandWizardDeps): ExpandWizardStore {
  const { host, path } = deps;
  const stateDir = deps.stateDir ?? defaultStateDir();
  let abort: AbortController | null = null;
  let closed = false;

  const close = (outcome: ExpandOutcome | null) => {
    if (closed) return;
    closed = true;
    abort?.abort();
    jobs.abort();
    deps.onClose(outcome);
  };
  const jobs = createJobController(
    (run) => store.setState({ run }),
    () => close(store.getState().outcome),
    deps.jobScreen,
  );

  /** Sets part of the state and what follows from it. */
  const update = (patch: Partial<ExpandWizardState>) => {
    const s = { ...store.getState(), ...patch };
    store.setState({ ...patch, ...derive(s.facts, s.form, s.offline, s.inspecting) });
  };

  const scopes = (): Scope[] => {
    const s = store.getState();
    switch (s.phase) {
      case 'loading':
        return wizardScopes({ kind: 'step', busy: 'wait' });
      case 'load-failed':
        return ['expand:load-failed'];
      case 'running': {
        return jobs.scopes();
      }
      case 'done':
        return ['expand:done', ...jobs.scopes()];
      case 'failed':
        return ['expand:failed'];
      case 'form':
        if (!s.facts?.image) return ['wizard:step'];
        // One field: nothing to move between, so no ↑↓ hint.
        if (s.step === 1) return wizardScopes({ kind: 'step', form: s.form }).filter((x) => x !== 'form');
        if (s.step === 2) return [...(s.canGrowOffline ? (['expand:guest-side'] as Scope[]) : []), ...wizardScopes({ kind: 'step' })];
        if (s.step === 3) return wizardScopes({ kind: 'review', script: true, scroll: false });
        return wizardScopes({ kind: 'step' });
    }
  };

  const perform = (intent: Intent) => {
    const s = store.getState();
    const { action } = intent;
    if (action.startsWith('job')) return jobs.perform(intent);
    if (action === 'wizardCancel' || action === 'wizardQuit' || action === 'wizardClose') return close(null);
    if (action === 'wizardRetry') return s.load();
    if (action === 'wizardBack') return s.back();
    if (action === 'wizardNext') return s.next();
    if (action === 'wizardRun') return void s.start();
    if (action === 'wizardSaveScript') return s.saveScript();
    if (action === 'expandToggleRoute') return s.toggleRoute();
    if (s.phase === 'form' && s.step === 1) {
      const form = formKey(s.form, intent);
      if (form !== s.form) update({ form });
    }
  };

  const store = createStore<ExpandWizardState>()((set, get) => ({
    host: { name: host.name },
    path,
    phase: 'loading',
    loadError: null,
    facts: null,
    inspecting: false,
    step: 0,
    form: sizeForm(),
    offline: true,
    note: null,
    canGrowOffline: false,
    assessment: null,
    run: null,
    outcome: null,
    error: null,
    owner: { scopes, perform, hintVars: () => jobs.hintVars() },
    dispose() {
      if (closed) return;
      closed = true;
      abort?.abort();
      jobs.abort();
    },

    load() {
      abort?.abort();
      const controller = new AbortController();
      abort = controller;
      set({ phase: 'loading', loadError: null });
      gatherExpandFacts(host, path, { growFs: true, inspect: false, signal: controller.signal }).then(
        (f) => {
          if (controller.signal.aborted) return;
          update({ facts: f, phase: 'form' });
          const online = f.guest !== null && isActive(f.guest.state);
          if (!f.image || online || !['raw', 'qcow2', 'vmdk'].includes(f.image.format)) return;
          // One libguestfs launch (~20 s) while the admin types the size.
          update({ inspecting: true });
          inspectDisk(host.sysExec, path, f.image.format, controller.signal)
            .then(
              (layout) => {
                const facts = get().facts;
                if (facts) update({ facts: { ...facts, layout } });
              },
              (e: unknown) => {
                const facts = get().facts;
                if (facts) update({ facts: { ...facts, layoutError: `libguestfs could not look inside the image (${asError(e).sentence})` } });
              },
            )
            .finally(() => update({ inspecting: false }));
        },
        (e: unknown) => {
          if (!controller.signal.aborted) set({ phase: 'load-failed', loadError: asError(e) });
        },
      );
    },

    next() {
      const s = get();
      if (s.phase !== 'form' || s.step >= 3) return;
      set({ note: null });
      if (s.step === 1) {
        if (!fieldValue(s.form, 'size').trim()) return set({ note: 'Type the new size, e.g. 35G or +15G.' });
        if (s.inspecting) return set({ note: 'Still looking inside the disk; a moment.' });
        if (s.assessment?.refusal) return;
      }
      set({ step: s.step + 1 });
    },

    back() {
      const s = get();
      if (s.phase === 'failed') return set({ phase: 'form', step: 3, run: null, error: null, note: null });
      if (s.phase !== 'form') return;
      if (s.step === 0) return close(null);
      set({ note: null, step: s.step - 1 });
    },

    toggleRoute() {
      const s = get();
      if (s.phase === 'form' && s.step === 2 && s.canGrowOffline) update({ offline: !s.offline });
    },

    async start() {
      const s = get();
      const decision = s.assessment?.decision;
      const facts = s.facts;
      if (!facts || !decision || s.phase !== 'form' || s.step !== 3) return;
      set({ phase: 'running', note: null, outcome: null, error: null });
      const spec = planSpec(decision.plan, 'the expansion', expandUndo(decision.route), true);
      try {
        const outcome = await jobs.start(spec, (io) => runExpand(host, facts, decision, { signal: io.signal, stateDir, onEvent: io.onEvent }));
        if (jobs.handedOver()) return;
        if (outcome.state === 'done') {
          set({ phase: 'done', outcome });
          jobs.end('done', 'The disk is grown.');
          return;
        }
        const error = outcome.result.error ?? new UserError(`The expansion was ${outcome.state}; ${leftAfterStop(decision.route, get().run?.rows ?? [])}`, 'Start it again when ready.');
        set({ phase: 'failed', error });
        jobs.end(outcome.state === 'cancelled' ? 'cancelled' : 'failed', error.sentence);
      } catch (e) {
        set({ phase: 'failed', error: asError(e) });
        jobs.end('failed', asError(e).sentence);
      }
    },

    saveScript() {
      const plan = get().assessment?.decision?.plan;
      if (plan) set({ note: savePlanScriptNote(stateDir, 'expand', plan) });
    },

    cancel() {
      close(null);
    },
  }));

  store.getState().load();
  return store;
}
