/**
 * The migration wizard as a store (`m` on a guest, `:migrate NAME HOST`): destination → checks
 * (read from both hosts, nothing changed) → options → the reviewed plan → run through the job
 * controller → the result. The checks run again on the options chosen, so the plan exists only
 * when every check passes; the headless twin is `virtdeck guest migrate`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import type { HostError } from '../../../host/errors.js';
import type { HostContext } from '../../../host/hostContext.js';
import { planRoute } from '../../../host/planRoute.js';
import { gatherMigrateFacts, type MigrateDestination, migrateDestination, migrateUriFor, runMigrate } from '../../../jobs/migrate.js';
import type { RunnerEvent, RunResult } from '../../../jobs/runner.js';
import { type MigrateFacts, type MigrateOptions, type MigrateReview, planMigration, reviewMigration } from '../../../model/migratePlan.js';
import { describePlan, type Plan } from '../../../model/plan.js';
import { FieldRefusal, type UserError } from '../../../model/userError.js';
import { type Field, type Form, formKey, formValues, makeForm, withError } from '../../form.js';
import { createJobController, type JobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import { type PageLine, pageLines, pageMax } from '../page.js';
import { type Problem, problemOf, shownErrorOf } from '../problem.js';
import { stepLookup } from '../stepLookup.js';
import { routeStepWizardIntent } from '../stepWizardIntent.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';

export const MIGRATE_STEPS = ['dest', 'checks', 'options', 'review'] as const;
export type MigrateStepId = (typeof MIGRATE_STEPS)[number];
export const MIGRATE_STEP_TITLES: Record<MigrateStepId, string> = { dest: 'destination', checks: 'checks', options: 'options', review: 'review' };

/** Fits 80x24 with the frame, the title, the scroll note and the key hints. */
export const MIGRATE_ROWS = 17;

export const MIGRATE_UNDO = 'The migration stops (domjobabort); the guest keeps running here and what was made on the destination is removed.';

export interface MigrateWizardDeps {
  host: HostContext;
  guest: string;
  /** The destination typed with `:migrate NAME HOST`: the checks start at once. */
  to?: string;
  stateDir?: string;
  width?: number;
  onClose: () => void;
  jobScreen?: JobControllerOptions;
  /** Stand-ins for tests; default: the config file's hosts, the real hosts, the journaled runner. */
  destination?: (wanted: string) => MigrateDestination;
  gather?: (source: HostContext, dest: MigrateDestination, guest: string) => Promise<MigrateFacts>;
  run?: (host: HostContext, plan: Plan, o: { stateDir: string; signal: AbortSignal; onEvent: (e: RunnerEvent) => void }) => Promise<RunResult>;
}

export interface MigrateResult {
  ok: boolean;
  lines: PageLine[];
  error: UserError | HostError | null;
}

export interface MigrateWizardState {
  guest: string;
  hostName: string;
  step: MigrateStepId;
  stepNumber: number;
  form: Form;
  /** Reading both hosts for the checks. */
  busy: boolean;
  problems: Problem[];
  facts: MigrateFacts | null;
  dest: MigrateDestination | null;
  review: MigrateReview | null;
  plan: Plan | null;
  /** The checks page or the review page, wrapped. */
  lines: PageLine[];
  /** The checks as first found, for Esc back from the options. */
  checkPage: PageLine[];
  scroll: number;
  run: RunView | null;
  result: MigrateResult | null;
  owner: KeyOwner;
  jobs: JobController;
  dispose(): void;
}

export type MigrateWizardStore = StoreApi<MigrateWizardState>;

const YES_NO = [
  { value: 'no', label: 'no' },
  { value: 'yes', label: 'yes' },
];

function destFields(to: string): Field[] {
  return [{ id: 'to', label: 'To host', kind: 'text', value: to, hint: 'config host name or qemu+ssh://root@HOST/system' }];
}

/** The options a guest's facts allow, preset to what the checks found (copy when not shared). */
export function optionFields(f: MigrateFacts, live: boolean): Field[] {
  const copy = f.guest.disks.length > 0 && !f.dest.sharedStorage;
  return [
    { id: 'copyStorage', label: 'Copy disks', kind: 'choice', value: copy ? 'yes' : 'no', options: YES_NO },
    { id: 'keepSource', label: 'Keep here', kind: 'choice', value: 'no', options: YES_NO, hint: 'stay defined, shut off' },
    ...(live
      ? [
          { id: 'bandwidth', label: 'Bandwidth', kind: 'text' as const, value: '', hint: 'MiB/s, empty: no limit' },
          { id: 'autoConverge', label: 'Auto-conv.', kind: 'choice' as const, value: 'no', options: YES_NO, hint: 'slow a busy guest' },
          { id: 'postCopy', label: 'Post-copy', kind: 'choice' as const, value: 'no', options: YES_NO, hint: 'after one pass' },
        ]
      : []),
    // Only what a copy leaves behind can be deleted: shared disks are the ones the guest runs from.
    ...(copy ? [{ id: 'removeSource', label: 'Delete here', kind: 'choice' as const, value: 'no', options: YES_NO, hint: `disk files on ${f.source.name}, once checked there` }] : []),
  ];
}

/** The options form → MigrateOptions (the bandwidth refused on its field). */
export function optionsOf(form: Form, live: boolean, migrateUri: string): MigrateOptions {
  const v = formValues(form);
  const bw = (v.bandwidth ?? '').trim();
  if (bw && !/^[1-9]\d{0,6}$/.test(bw)) throw new FieldRefusal('bandwidth', `"${bw}" is not a whole number of MiB/s.`, 'Write the limit in MiB/s, for example 100, or leave it empty.');
  return {
    offline: !live,
    copyStorage: v.copyStorage === 'yes',
    keepSource: v.keepSource === 'yes',
    ...(v.removeSource === 'yes' ? { removeSourceDisks: true } : {}),
    ...(bw ? { bandwidthMiB: Number(bw) } : {}),
    ...(live ? { autoConverge: v.autoConverge === 'yes', postCopy: v.postCopy === 'yes' } : {}),
    migrateUri,
  };
}

/** The checks page: every check with its mark, and the fix under each refusal. */
export function checkLines(review: MigrateReview): (string | PageLine)[] {
  return review.checks.flatMap((c): (string | PageLine)[] => (c.refusal ? [{ text: c.refusal.sentence, mark: 'warn' }, `  Fix: ${c.refusal.fix}`] : [{ text: c.text, mark: 'ok' }]));
}

export function createMigrateWizard(deps: MigrateWizardDeps): MigrateWizardStore {
  const { host, guest } = deps;
  const width = Math.min(deps.width ?? 80, 80);
  const stateDir = deps.stateDir ?? defaultStateDir();
  const destination = deps.destination ?? ((wanted: string) => migrateDestination(wanted, 'the destination'));
  const gather = deps.gather ?? gatherMigrateFacts;
  const run = deps.run ?? runMigrate;
  const get = () => store.getState();
  const set = (change: Partial<MigrateWizardState>) => store.setState(change);
  const lookup = stepLookup(get, set);
  const jobs: JobController = createJobController((r) => set({ run: r }), undefined, deps.jobScreen);
  const owner: KeyOwner = {
    scopes() {
      const s = get();
      if (s.result) return wizardScopes({ kind: 'result', scroll: true });
      if (s.run) return wizardScopes({ kind: 'running', jobs });
      if (s.step === 'review') return wizardScopes({ kind: 'review' });
      if (s.step === 'checks') return wizardScopes({ kind: 'step', scroll: true, busy: s.busy ? 'stop' : undefined });
      return wizardScopes({ kind: 'step', form: s.form, busy: s.busy ? 'stop' : undefined });
    },
    perform: (intent) => perform(intent),
  };

  const store = createStore<MigrateWizardState>()(() => ({
    guest,
    hostName: host.name,
    step: 'dest',
    stepNumber: 1,
    form: makeForm(destFields(deps.to ?? '')),
    busy: false,
    problems: [],
    facts: null,
    dest: null,
    review: null,
    plan: null,
    lines: [],
    checkPage: [],
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

  const goTo = (step: MigrateStepId, change: Partial<MigrateWizardState> = {}) => set({ step, stepNumber: MIGRATE_STEPS.indexOf(step) + 1, problems: [], scroll: 0, ...change });

  const close = () => {
    lookup.stop();
    deps.onClose();
  };

  /** The destination's answers and the checks with the defaults (the options step may change them). */
  const check = () =>
    lookup.run(async (signal) => {
      const wanted = (formValues(get().form).to ?? '').trim();
      if (!wanted) throw new FieldRefusal('to', 'No destination host is given.', 'Type a host name from the config file, or qemu+ssh://root@HOST/system.');
      let dest: MigrateDestination;
      try {
        dest = destination(wanted);
      } catch (e) {
        const p = problemOf(e);
        throw new FieldRefusal('to', p.sentence, p.fix);
      }
      const facts = await gather(host, dest, guest);
      if (signal.aborted) return;
      const live = facts.guest.state !== 'shut off';
      const migrateUri = facts.dest.unreachable === null ? migrateUriFor(dest.ref.uri) : '';
      const review = reviewMigration(facts, { offline: !live, copyStorage: facts.guest.disks.length > 0 && !facts.dest.sharedStorage, migrateUri });
      const head = `${guest} on ${host.name} to ${dest.ref.name} (${live ? 'live' : 'offline'}); nothing has changed on either host.`;
      const checkPage = pageLines([head, '', ...checkLines(review)], width - 4);
      goTo('checks', { dest, facts, review, lines: checkPage, checkPage });
    });

  const toOptions = () => {
    const { facts, review } = get();
    if (!facts || !review) return;
    // Only the destination answering cannot be mended by an option.
    if (facts.dest.unreachable !== null) {
      set({ problems: review.refusals.map(problemOf) });
      return;
    }
    goTo('options', { form: makeForm(optionFields(facts, review.live)) });
  };

  const toReview = () => {
    const { facts, dest, review: first } = get();
    if (!facts || !dest || !first) return;
    try {
      const options = optionsOf(get().form, first.live, migrateUriFor(dest.ref.uri));
      const review = reviewMigration(facts, options);
      if (review.refusals.length > 0) {
        set({ problems: review.refusals.map(problemOf) });
        return;
      }
      const plan = planMigration(facts, options, review);
      const page: (string | PageLine)[] = [
        'These steps run in order, journaled: a killed virtdeck or dropped SSH leaves one runnable copy (virtdeck recover).',
        ...review.notes.map((n): PageLine => ({ text: n, mark: 'warn' })),
        '',
        ...describePlan(plan, planRoute(host)),
      ];
      goTo('review', { review, plan, lines: pageLines(page, width - 4) });
    } catch (e) {
      const problem = problemOf(e);
      set({ problems: [problem], form: withError(get().form, problem) });
    }
  };

  const start = async () => {
    const { plan, dest, review } = get();
    if (!plan || !dest || !review || get().run) return;
    const finish = (ok: boolean, lines: (string | PageLine)[], error: UserError | HostError | null) => set({ result: { ok, lines: pageLines(lines, width - 4), error }, scroll: 0 });
    try {
      const r = await jobs.start(planSpec(plan, 'migration', MIGRATE_UNDO), (io) => run(host, plan, { stateDir, signal: io.signal, onEvent: io.onEvent }));
      const logs = jobs.view()?.logs ?? [];
      if (r.state === 'done') {
        const where = `${guest} now ${review.live ? 'runs' : 'is defined'} on ${dest.ref.name}.`;
        jobs.end('done', where);
        finish(true, [where, ...logs.map((l): PageLine => ({ text: l, mark: 'ok' })), ...review.notes.map((n): PageLine => ({ text: n, mark: 'warn' }))], null);
      } else {
        const first =
          r.state === 'cancelled'
            ? `The migration was cancelled; ${guest} stays on ${host.name}.`
            : `The migration ${r.state === 'rollback-failed' ? 'failed and could not be fully undone' : `failed; ${guest} stays on ${host.name}`}.`;
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
    set({ scroll: scrolled(s.scroll, scrollStep(action, MIGRATE_ROWS), pageMax(lines, MIGRATE_ROWS)) });
  };

  const back = () => {
    const s = get();
    if (s.step === 'dest') return close();
    if (s.step === 'checks') return goTo('dest', { form: makeForm(destFields(s.dest?.ref.name ?? '')) });
    if (s.step === 'options') return goTo('checks', { lines: s.checkPage });
    if (s.facts && s.review) goTo('options', { form: makeForm(optionFields(s.facts, s.review.live)) });
  };

  function perform(intent: Intent): void {
    const s = get();
    routeStepWizardIntent(intent, s.run && !s.result ? jobs : null, {
      cancel: close,
      closed: () => deps.onClose(),
      back,
      stopBusy: () => {
        lookup.stop();
        set({ busy: false });
      },
      next: () => {
        if (s.step === 'dest') void check();
        else if (s.step === 'checks') toOptions();
        else if (s.step === 'options') toReview();
      },
      run: () => void start(),
      scroll,
      other: (i) => {
        if ((s.step === 'dest' || s.step === 'options') && !s.busy) set({ form: formKey(s.form, i) });
      },
    });
  }

  if (deps.to) void check();
  return store;
}
