/**
 * The MergeIDE wizard as a store: choose the way (a form) → review what changes (per control set)
 * and the plan → run through the job controller → the report. Looking into the disk (a slow
 * libguestfs launch) happens here, not in the view; Esc stops it and stays on the step.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import type { HostError } from '../../../host/errors.js';
import type { HostContext } from '../../../host/hostContext.js';
import { planRoute } from '../../../host/planRoute.js';
import { type PreparedMergeIde, prepareMergeIde, runMergeIde, summaryLines } from '../../../jobs/mergeide.js';
import { describeChanges } from '../../../model/mergeide.js';
import { describePlan } from '../../../model/plan.js';
import type { UserError } from '../../../model/userError.js';
import { type Field, type Form, formKey, formValues, makeForm, withError } from '../../form.js';
import { createJobController, type JobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import { type PageLine, pageLines, pageMax } from '../page.js';
import { type Problem, shownErrorOf } from '../problem.js';
import { stepLookup } from '../stepLookup.js';
import { routeStepWizardIntent } from '../stepWizardIntent.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';
import { explainMode, formToInput, initialMergeIdeForm, MERGEIDE_STEPS, type MergeIdeForm, type MergeIdeStepId, MODE_CHOICES } from './mergeIdeForm.js';

/** Fits 80x24 with the frame, the title, the scroll note and the key hints. */
export const MERGEIDE_ROWS = 17;

/** Kept as the wizard always said it: the cancel question's undo. */
export const MERGEIDE_UNDO = 'What was done is undone (the original hive is uploaded again).';

export interface MergeIdeWizardDeps {
  host: HostContext;
  guest: string;
  /** The guest runs: only the in-guest ISO is possible now (the offline way refuses). */
  running?: boolean;
  stateDir?: string;
  width?: number;
  onClose: () => void;
  /** What its job screen borrows from the console: q's quit (wait or cancel, then quit). */
  jobScreen?: JobControllerOptions;
}

export interface MergeIdeResult {
  ok: boolean;
  lines: PageLine[];
  error: UserError | HostError | null;
}

export interface MergeIdeWizardState {
  guest: string;
  hostName: string;
  step: MergeIdeStepId;
  stepNumber: number;
  form: Form;
  /** Looking into the guest (prepare); Esc stops it. */
  busy: boolean;
  problems: Problem[];
  prepared: PreparedMergeIde | null;
  /** The review page. */
  lines: PageLine[];
  scroll: number;
  run: RunView | null;
  result: MergeIdeResult | null;
  owner: KeyOwner;
  jobs: JobController;
  /** The console ends with the wizard open: its host work and job stop without asking. */
  dispose(): void;
}

export type MergeIdeWizardStore = StoreApi<MergeIdeWizardState>;

function wayFields(f: MergeIdeForm): Field[] {
  return [
    { id: 'mode', label: 'Way', kind: 'choice', value: f.mode, options: MODE_CHOICES },
    { id: 'virtioIso', label: 'virtio ISO', kind: 'text', value: f.virtioIso, hint: 'optional', showWhen: { field: 'mode', value: 'offline' } },
    { id: 'isoPath', label: 'ISO path', kind: 'text', value: f.isoPath, hint: 'empty: beside the disk', showWhen: { field: 'mode', value: 'iso' } },
  ];
}

export function formOf(form: Form): MergeIdeForm {
  const v = formValues(form);
  return { mode: v.mode === 'iso' ? 'iso' : 'offline', virtioIso: v.virtioIso ?? '', isoPath: v.isoPath ?? '' };
}

/** The lines under the way: what the chosen way does before anything runs. */
export function explanation(form: Form): string[] {
  return explainMode(formOf(form).mode);
}

export function createMergeIdeWizard(deps: MergeIdeWizardDeps): MergeIdeWizardStore {
  const { host, guest } = deps;
  const width = Math.min(deps.width ?? 80, 80);
  const stateDir = deps.stateDir ?? defaultStateDir();
  const get = () => store.getState();
  const set = (change: Partial<MergeIdeWizardState>) => store.setState(change);
  const lookup = stepLookup(get, set);
  const jobs: JobController = createJobController((run) => set({ run }), undefined, deps.jobScreen);
  const owner: KeyOwner = {
    scopes() {
      const s = get();
      if (s.result) return wizardScopes({ kind: 'result', scroll: true });
      if (s.run) return wizardScopes({ kind: 'running', jobs });
      if (s.step === 'review') return wizardScopes({ kind: 'review' });
      return wizardScopes({ kind: 'step', form: s.form, busy: s.busy ? 'stop' : undefined });
    },
    perform: (intent) => perform(intent),
  };

  const store = createStore<MergeIdeWizardState>()(() => ({
    guest,
    hostName: host.name,
    step: 'way',
    stepNumber: 1,
    form: makeForm(wayFields(initialMergeIdeForm(Boolean(deps.running)))),
    busy: false,
    problems: [],
    prepared: null,
    lines: [],
    scroll: 0,
    run: null,
    result: null,
    owner,
    jobs,
    dispose() {
      lookup.stop();
      jobs.abort();
    },
  }));

  const goTo = (step: MergeIdeStepId) => set({ step, stepNumber: MERGEIDE_STEPS.indexOf(step) + 1, problems: [], scroll: 0, form: withError(get().form, null) });

  const close = () => {
    lookup.stop();
    deps.onClose();
  };

  const submit = () =>
    lookup.run(async (signal) => {
      const p = await prepareMergeIde(host, formToInput(guest, formOf(get().form), deps.stateDir), signal);
      const detail = p.mode === 'offline' ? ['', 'Every change:', ...describeChanges(p.facts.changes, p.facts.controlSets)] : [];
      const page = [...summaryLines(p, { compact: true }), ...p.warnings.map((w): PageLine => ({ text: w, mark: 'warn' })), '', 'Plan:', ...describePlan(p.plan, planRoute(host)), ...detail];
      set({ prepared: p, lines: pageLines(page, width - 4) });
      goTo('review');
    });

  const start = async () => {
    const p = get().prepared;
    if (!p || get().run) return;
    const finish = (ok: boolean, lines: (string | PageLine)[], error: UserError | HostError | null) => {
      set({ result: { ok, lines: pageLines(lines, width - 4), error }, scroll: 0 });
    };
    try {
      const r = await jobs.start(planSpec(p.plan, 'MergeIDE', MERGEIDE_UNDO), (io) => runMergeIde(host, p.plan, { stateDir, signal: io.signal, onEvent: io.onEvent }));
      const logs = jobs.view()?.logs ?? [];
      if (r.state === 'done') {
        jobs.end('done', 'MergeIDE is done.');
        finish(true, [...logs.map((l): PageLine => ({ text: l, mark: 'ok' })), ...summaryLines(p)], null);
      } else {
        const first = r.state === 'cancelled' ? 'MergeIDE was cancelled; what it had done was undone.' : `MergeIDE ${r.state === 'rollback-failed' ? 'failed and could not be fully undone' : 'failed; what it had done was undone'}.`;
        jobs.end(r.state === 'cancelled' ? 'cancelled' : 'failed', first);
        finish(false, [first, `Journal: ${r.journal.path}`], r.error ?? null);
      }
    } catch (e) {
      const error = shownErrorOf(e);
      jobs.end('failed', error.sentence);
      finish(false, [], error);
    }
  };

  const scroll = (action: string) => {
    const s = get();
    const lines = s.result ? s.result.lines : s.lines;
    set({ scroll: scrolled(s.scroll, scrollStep(action, MERGEIDE_ROWS), pageMax(lines, MERGEIDE_ROWS)) });
  };

  function perform(intent: Intent): void {
    const s = get();
    routeStepWizardIntent(intent, s.run && !s.result ? jobs : null, {
      cancel: close,
      closed: () => deps.onClose(),
      back: () => (s.step === 'way' ? close() : goTo('way')),
      stopBusy: () => lookup.stop(),
      next: () => void submit(),
      run: () => void start(),
      scroll,
      other: (i) => {
        if (s.step === 'way' && !s.busy) set({ form: formKey(s.form, i) });
      },
    });
  }

  return store;
}
