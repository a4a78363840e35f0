/**
 * The convert wizard as a store: the step on screen and its form, the host check behind each
 * Enter, the review, the run through the job controller (in this process, or `b` in a worker that
 * outlives the console), and the summary. Its view only draws this state; its keys come through
 * the router to `owner`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import { type HostError, toHostError } from '../../../host/errors.js';
import type { HostContext } from '../../../host/hostContext.js';
import { planRoute } from '../../../host/planRoute.js';
import { type PreparedConvert, prepareConvert, runConvert } from '../../../jobs/convert.js';
import type { Launched } from '../../../jobs/detached.js';
import { savePlanScriptNote } from '../../../jobs/planScriptFile.js';
import { describeTarget } from '../../../model/convertPlan.js';
import { describePlan, type Plan, type PlanRoute } from '../../../model/plan.js';
import { wrapLine } from '../../../model/textWrap.js';
import { UserError } from '../../../model/userError.js';
import { type Form, formKey, withError } from '../../form.js';
import { createJobController, type JobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import type { Scope } from '../../keys/table.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';
import { CONVERT_STEPS, type ConvertStepId, type ConvertValues, formDest, formToInput, initialConvertValues, readStepForm, refusalPlace, stepForm } from './convertForm.js';

/** The wizard is drawn at most this wide; review lines wrap to fit inside its border. */
export const CONVERT_WIDTH = 80;
export const REVIEW_ROWS = 12;
/** What a cancel of the running conversion undoes (its question names it). */
export const CONVERT_UNDO = 'The partial copy will be removed.';

export interface Problem {
  sentence: string;
  fix: string;
}

/** A review line; `warn` lines are drawn after the theme's warning mark. */
export interface ReviewLine {
  text: string;
  warn?: boolean;
}

export interface ConvertResult {
  ok: boolean;
  title?: string;
  /** `ok` lines are drawn after the theme's tick. */
  lines: { text: string; ok?: boolean }[];
  error: UserError | HostError | null;
}

export interface ConvertWizardState {
  host: { name: string };
  imagePath: string;
  info?: { format?: string; virtualSize?: number };
  step: ConvertStepId;
  values: ConvertValues;
  /** The fields of the step on screen. */
  form: Form;
  problems: Problem[];
  /** A host check of the step runs (Esc stops it). */
  checking: boolean;
  prepared: PreparedConvert | null;
  review: ReviewLine[];
  scroll: number;
  message: string;
  /** Set once Enter or b asked for a start: nothing starts a second time. */
  started: 'here' | 'background' | null;
  /** The job on screen (the controller's view), null before the start. */
  run: RunView | null;
  /** The end of the run, drawn instead of the review once known. */
  result: ConvertResult | null;
  owner: KeyOwner;
  /** The console ends with the wizard open: stop its work without asking (no onClose). */
  dispose(): void;
  /** Enter on a step: checks the step on the host and goes on, or shows what is wrong here. */
  next(): Promise<void>;
  back(): void;
  /** Enter on the review: runs the plan here, showing each step. */
  start(): Promise<void>;
  /** b on the review: the same plan in a detached worker, started through the job controller. */
  startInBackground(): Promise<void>;
  saveScript(): void;
  /** Leave without a result (Ctrl-C, Esc on the first step, q on the review). */
  cancel(): void;
}

export type ConvertWizardStore = StoreApi<ConvertWizardState>;

export interface ConvertWizardDeps {
  host: HostContext;
  /** The image selected in the Disks pane (the first step is prefilled with it). */
  imagePath: string;
  /** What the pane already knows about it, shown on the first step. */
  info?: { format?: string; virtualSize?: number };
  /** Where journals and saved plans go (default: virtdeck's state directory). */
  stateDir?: string;
  /** `converted` is the new image's path when a conversion finished here. */
  onClose: (converted: string | null) => void;
  /** Starts a plan in a detached worker (tests stand in for it). */
  launch?: (plan: Plan) => Promise<Launched>;
  /** Asks a worker's job to stop (tests stand in for it). */
  cancelWorker?: (id: string) => Promise<unknown>;
  /** What its job screen borrows from the console: q's quit, and the worker start behind b (tests stand in for it). */
  jobScreen?: JobControllerOptions;
}

const asError = (e: unknown): UserError | HostError => (e instanceof UserError ? e : toHostError(e));

function reviewOf(prepared: PreparedConvert | null, route: PlanRoute | null): ReviewLine[] {
  if (!prepared?.plan) return [];
  const room = CONVERT_WIDTH - 4;
  // A warning is drawn after a mark of up to four columns ("[!] "): it wraps in what is left.
  const warnings = prepared.check.warnings.flatMap((w) => wrapLine(w, room - 4).map((text, i) => ({ text, warn: i === 0 })));
  return [...warnings, ...describePlan(prepared.plan, route).flatMap((l) => wrapLine(l, room).map((text) => ({ text })))];
}

export function createConvertWizard(deps: ConvertWizardDeps): ConvertWizardStore {
  const { host } = deps;
  const stateDir = deps.stateDir ?? defaultStateDir();
  const launch = deps.launch ?? (async (plan: Plan) => (await import('../../../jobs/detached.js')).launchDetached(host, plan, { stateDir }));
  const cancelWorker = deps.cancelWorker ?? (async (id: string) => (await import('../../../jobs/detached.js')).cancelJob(stateDir, id));
  let checkAbort: AbortController | null = null;
  let closed = false;

  const close = (converted: string | null) => {
    if (closed) return;
    closed = true;
    checkAbort?.abort();
    jobs.abort();
    deps.onClose(converted);
  };

  const jobs: JobController = createJobController(
    (run) => store.setState({ run }),
    () => {
      const r = store.getState().result;
      close(r?.ok ? formDest(store.getState().values) : null);
    },
    deps.jobScreen,
  );

  /** A fresh page for `step`: its form from the values, nothing left from the step before. */
  const goTo = (step: ConvertStepId) => {
    const s = store.getState();
    store.setState({ step, form: stepForm(step, s.values, s.prepared?.request.source.users.length ?? 0), problems: [], scroll: 0, message: '' });
  };

  const scopes = (): Scope[] => {
    const s = store.getState();
    if (s.run) {
      // The question names what is cancelled: y's hint is the wizard's own row.
      const own = jobs.scopes();
      return own;
    }
    if (s.result) return wizardScopes({ kind: 'result' });
    if (s.started) return wizardScopes({ kind: 'step', busy: 'wait' });
    if (s.step === 'review') return wizardScopes({ kind: 'review', script: true, background: true });
    return wizardScopes({ kind: 'step', form: s.form, busy: s.checking ? 'stop' : undefined });
  };

  const perform = (intent: Intent) => {
    const s = store.getState();
    const { action } = intent;
    if (s.run) {
      jobs.perform(intent);
      return;
    }
    if (action === 'wizardCancel' || action === 'wizardQuit') return s.cancel();
    if (action === 'wizardClose') return close(null);
    if (action === 'wizardStopBusy') return checkAbort?.abort();
    if (action === 'wizardBack') return s.back();
    if (action === 'wizardNext') return void s.next();
    if (action === 'wizardRun') return void s.start();
    if (action === 'wizardBackground') return void s.startInBackground();
    if (action === 'wizardSaveScript') return s.saveScript();
    const by = scrollStep(action, REVIEW_ROWS);
    if (s.step === 'review' && by !== 0) return store.setState({ scroll: scrolled(s.scroll, by, Math.max(0, s.review.length - REVIEW_ROWS)) });
    const form = formKey(s.form, intent);
    if (form !== s.form) store.setState({ form, values: readStepForm(s.values, s.step, form) });
  };

  /** The summary of a run that ended here. */
  const ended = (prepared: PreparedConvert, plan: Plan, state: string, journalPath: string, error: UserError | HostError | null): ConvertResult => {
    const req = prepared.request;
    const dest = formDest(store.getState().values);
    if (state === 'done') {
      const lines = [
        { text: `${req.source.path} (${req.source.format}) → ${dest}` },
        { text: describeTarget(req.target) },
        plan.steps.some((x) => x.id === 'compare') ? { ok: true, text: 'qemu-img compare: the copy is identical to the original' } : null,
        req.repoint ? { ok: true, text: `${req.repoint.guest} now uses ${dest}${req.repoint.bus ? ` on the ${req.repoint.bus} bus` : ''}` } : null,
        req.keepOriginal === false ? { ok: true, text: 'the original was removed' } : { text: `the original ${req.source.path} is kept` },
      ].filter((l): l is { text: string; ok?: boolean } => l !== null);
      return { ok: true, lines, error: null };
    }
    const what =
      state === 'cancelled'
        ? 'The conversion was cancelled; the partial copy was removed.'
        : `The conversion ${state === 'rollback-failed' ? 'failed and could not be fully undone' : 'failed; what it had done was undone'}.`;
    return { ok: false, lines: [{ text: what }, { text: `Journal: ${journalPath}` }], error };
  };

  const store = createStore<ConvertWizardState>()((set, get) => ({
    host: { name: host.name },
    imagePath: deps.imagePath,
    info: deps.info,
    step: 'disk',
    values: initialConvertValues(deps.imagePath),
    form: stepForm('disk', initialConvertValues(deps.imagePath), 0),
    problems: [],
    checking: false,
    prepared: null,
    review: [],
    scroll: 0,
    message: '',
    started: null,
    run: null,
    result: null,
    owner: { scopes, perform, hintVars: () => jobs.hintVars() },
    dispose() {
      if (closed) return;
      closed = true;
      checkAbort?.abort();
      jobs.abort();
    },

    async next() {
      const s = get();
      if (s.checking || s.step === 'review') return;
      const step = s.step;
      const controller = new AbortController();
      checkAbort = controller;
      set({ checking: true, problems: [], form: withError(s.form, null) });
      try {
        const p = await prepareConvert(host, formToInput(s.values, s.prepared?.request.source ?? null, step), controller.signal);
        if (controller.signal.aborted || closed) return;
        const here = CONVERT_STEPS.indexOf(step);
        // A refusal of a later step waits for that step; one of this step or an earlier one keeps the admin here.
        const blocking = p.check.refusals.filter((r) => CONVERT_STEPS.indexOf(refusalPlace(r, step).step) <= here);
        set({ prepared: p, review: reviewOf(p, planRoute(host)) });
        if (blocking.length > 0) return refuse(blocking);
        goTo(CONVERT_STEPS[here + 1] as ConvertStepId);
      } catch (e) {
        if (!controller.signal.aborted) refuse([e]);
      } finally {
        if (checkAbort === controller) checkAbort = null;
        set({ checking: false });
      }
    },

    back() {
      const s = get();
      if (s.checking || s.started) return;
      const i = CONVERT_STEPS.indexOf(s.step);
      if (i === 0) return s.cancel();
      goTo(CONVERT_STEPS[i - 1] as ConvertStepId);
    },

    async start() {
      const s = get();
      const prepared = s.prepared;
      const plan = prepared?.plan;
      if (!prepared || !plan || s.started || s.step !== 'review') return;
      set({ started: 'here', message: '' });
      const spec = planSpec(plan, 'the conversion', CONVERT_UNDO, true);
      try {
        const r = await jobs.start(spec, (io) => runConvert(host, plan, { stateDir, signal: io.signal, onEvent: io.onEvent }));
        if (jobs.handedOver()) return;
        const result = ended(prepared, plan, r.state, r.journal.path, r.error ?? null);
        set({ result });
        jobs.end(r.state === 'done' ? 'done' : r.state === 'cancelled' ? 'cancelled' : 'failed', result.lines[0]?.text ?? '');
      } catch (e) {
        set({ result: { ok: false, lines: [], error: asError(e) } });
        jobs.end('failed', asError(e).sentence);
      }
    },

    async startInBackground() {
      const s = get();
      const plan = s.prepared?.plan;
      if (!plan || s.started || s.step !== 'review') return;
      set({ started: 'background', message: 'Starting a worker…' });
      // The job is the worker's: cancel asks it to stop (it undoes its steps), b leaves it be.
      let job: Launched | null = null;
      let cancelled = false;
      const hooks = {
        background: () => {},
        cancel: async () => {
          cancelled = true;
          if (job) await cancelWorker(job.id).catch(() => undefined);
        },
      };
      try {
        job = await jobs.start(planSpec(plan, 'the conversion', CONVERT_UNDO, true), () => launch(plan), hooks);
        if (cancelled) {
          await cancelWorker(job.id).catch(() => undefined);
          const result = { ok: false, lines: [{ text: `Job ${job.id} was cancelled; its worker undoes what it did (the Jobs pane shows it).` }], error: null };
          set({ message: '', result });
          return jobs.end('cancelled', result.lines[0]?.text ?? '');
        }
        const lines = [
          { text: `Started job ${job.id} in a worker (pid ${job.pid ?? '?'}) that survives this console and the SSH session.` },
          { text: 'The Jobs pane (5) shows its progress; c there cancels it.' },
          { text: `Log: virtdeck job log ${job.id} --follow` },
        ];
        set({ message: '', result: { ok: false, title: 'Convert disk · running in the background', lines, error: null } });
        jobs.end('detached', lines[0]?.text ?? '');
      } catch (e) {
        set({ message: '', result: { ok: false, lines: [], error: asError(e) } });
        jobs.end('failed', asError(e).sentence);
      }
    },

    saveScript() {
      const plan = get().prepared?.plan;
      if (plan) set({ message: savePlanScriptNote(stateDir, 'convert', plan, planRoute(host)) });
    },

    cancel() {
      close(null);
    },
  }));

  /** Refusals on the page: the first one's field takes the focus when it is on this step. */
  function refuse(errors: unknown[]) {
    const s = store.getState();
    const problems = errors.map((e) => {
      const err = asError(e);
      return { sentence: err.sentence, fix: err.fix };
    });
    const first = errors[0];
    const place = refusalPlace(first, s.step);
    const at = place.step === s.step ? place.field : undefined;
    store.setState({ problems, form: withError(s.form, { field: at, sentence: problems[0]?.sentence ?? '', fix: problems[0]?.fix ?? '' }) });
  }

  return store;
}
