/**
 * Evacuate this host (`E` in the Host pane, `:evacuate HOST`): where to (or, when an evacuation
 * has guests away, bring them home) → the review, each guest live, offline or staying with the
 * check's sentence → a confirmation naming how many guests move → the run, one guest at a time
 * with the migration's own progress → the summary. The headless twin is `virtdeck host evacuate`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import type { HostError } from '../../../host/errors.js';
import type { HostContext } from '../../../host/hostContext.js';
import { evacuationOutcomes, type PreparedEvacuation, prepareEvacuation, prepareReturn, runEvacuation } from '../../../jobs/evacuate.js';
import { awayGuests, type EvacuationRecord, evacuationsFrom } from '../../../jobs/evacuationRecord.js';
import { type MigrateDestination, migrateDestination } from '../../../jobs/migrate.js';
import type { RunnerEvent, RunResult } from '../../../jobs/runner.js';
import { type EvacuateReview, summaryLines } from '../../../model/evacuatePlan.js';
import type { Plan } from '../../../model/plan.js';
import { FieldRefusal, type UserError } from '../../../model/userError.js';
import { type Field, type Form, formKey, formValues, makeForm, } from '../../form.js';
import { createJobController, type JobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import { type PageLine, pageLines, pageMax } from '../page.js';
import { type Problem, problemOf, shownErrorOf } from '../problem.js';
import { stepLookup } from '../stepLookup.js';
import { routeStepWizardIntent } from '../stepWizardIntent.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';

export const EVACUATE_STEPS = ['where', 'review', 'confirm'] as const;
export type EvacuateStepId = (typeof EVACUATE_STEPS)[number];
export const EVACUATE_STEP_TITLES: Record<EvacuateStepId, string> = { where: 'where to', review: 'review', confirm: 'confirm' };

/** Fits 80x24 with the frame, the title, the scroll note and the key hints. */
export const EVACUATE_ROWS = 17;

export const EVACUATE_UNDO = 'The guest being moved stops moving (domjobabort) and stays here; the guests already moved stay there.';

export interface EvacuateChoice {
  returning: boolean;
  /** Evacuate: where to, as typed; return: the URI of the host the guests are on (a record's). */
  to: string;
  includeShutOff: boolean;
  copyStorage: boolean | 'auto';
  bandwidthMiB?: number;
  /** Delete each copied guest's disk files on the host it leaves, once it is checked on the other. */
  removeSourceDisks?: boolean;
}

export interface EvacuateWizardDeps {
  host: HostContext;
  /** `:evacuate HOST`: the review starts at once. */
  to?: string;
  stateDir?: string;
  width?: number;
  onClose: () => void;
  jobScreen?: JobControllerOptions;
  /** Stand-ins for tests; default: the records in the state dir, the real hosts, the journaled runner. */
  records?: () => EvacuationRecord[];
  destination?: (wanted: string) => MigrateDestination;
  prepare?: (host: HostContext, choice: EvacuateChoice, dest: MigrateDestination | null) => Promise<PreparedEvacuation>;
  run?: (host: HostContext, plan: Plan, o: { stateDir: string; signal: AbortSignal; onEvent: (e: RunnerEvent) => void }) => Promise<RunResult>;
  outcomes?: typeof evacuationOutcomes;
}

export interface EvacuateResult {
  ok: boolean;
  lines: PageLine[];
  error: UserError | HostError | null;
}

export interface EvacuateWizardState {
  hostName: string;
  step: EvacuateStepId;
  stepNumber: number;
  form: Form;
  busy: boolean;
  problems: Problem[];
  prepared: PreparedEvacuation | null;
  returning: boolean;
  lines: PageLine[];
  scroll: number;
  run: RunView | null;
  result: EvacuateResult | null;
  owner: KeyOwner;
  jobs: JobController;
  dispose(): void;
}

export type EvacuateWizardStore = StoreApi<EvacuateWizardState>;

const YES_NO = [
  { value: 'no', label: 'no' },
  { value: 'yes', label: 'yes' },
];

function whereFields(records: EvacuationRecord[], to: string): Field[] {
  const away = records.filter((r) => awayGuests(r).length > 0);
  return [
    ...(away.length > 0
      ? [
          {
            id: 'what',
            label: 'Action',
            kind: 'choice' as const,
            value: 'evacuate',
            options: [{ value: 'evacuate', label: 'evacuate' }, ...away.map((r) => ({ value: `return:${r.to.uri}`, label: `bring ${awayGuests(r).length} home from ${r.to.name}` }))],
          },
        ]
      : []),
    { id: 'to', label: 'To host', kind: 'text', value: to, hint: 'config host name or qemu+ssh://root@HOST/system' },
    { id: 'shutOff', label: 'Shut-off too', kind: 'choice', value: 'no', options: YES_NO, hint: 'move them offline' },
    {
      id: 'copy',
      label: 'Copy disks',
      kind: 'choice',
      value: 'auto',
      options: [
        { value: 'auto', label: 'auto' },
        { value: 'yes', label: 'yes' },
        { value: 'no', label: 'no' },
      ],
      hint: 'auto: when not shared',
    },
    { id: 'bandwidth', label: 'Bandwidth', kind: 'text', value: '', hint: 'MiB/s per guest, empty: no limit' },
    { id: 'removeLeft', label: 'Delete old disks', kind: 'choice', value: 'no', options: YES_NO, hint: 'copied disks, on the host each guest left' },
  ];
}

/** The form → what to do (the bandwidth and the host refused on their fields). */
export function choiceOf(form: Form): EvacuateChoice {
  const v = formValues(form);
  const bw = (v.bandwidth ?? '').trim();
  if (bw && !/^[1-9]\d{0,6}$/.test(bw)) throw new FieldRefusal('bandwidth', `"${bw}" is not a whole number of MiB/s.`, 'Write the limit in MiB/s, for example 100, or leave it empty.');
  const what = v.what ?? 'evacuate';
  const returning = what.startsWith('return:');
  const to = returning ? what.slice('return:'.length) : (v.to ?? '').trim();
  if (!to) throw new FieldRefusal('to', 'No destination host is given.', 'Type a host name from the config file, or qemu+ssh://root@HOST/system.');
  const copyStorage = v.copy === 'yes' ? true : v.copy === 'no' ? false : 'auto';
  return { returning, to, includeShutOff: v.shutOff === 'yes', copyStorage, ...(bw ? { bandwidthMiB: Number(bw) } : {}), ...(v.removeLeft === 'yes' ? { removeSourceDisks: true } : {}) };
}

/** What the confirmation must name: the files each move deletes on the host the guest leaves. */
function deletedLines(r: EvacuateReview): (string | PageLine)[] {
  const files = r.moving.flatMap((e) => e.review?.removeFromSource ?? []);
  if (files.length === 0) return [];
  return [{ text: `Deletes on ${r.from} once each guest is checked on ${r.to.name}: ${files.join(', ')}`, mark: 'warn' }, ''];
}

/** The review page: a line per guest (live, offline, or staying with the sentence and its fix). */
export function reviewPage(review: EvacuateReview, returning: boolean): (string | PageLine)[] {
  const n = review.moving.length;
  const head = returning
    ? `${n} of ${review.entries.length} guest(s) come home from ${review.from} to ${review.to.name}, one at a time; nothing has changed yet.`
    : `${n} of ${review.entries.length} guest(s) move from ${review.from} to ${review.to.name}, one at a time; nothing has changed yet.`;
  const rows = review.entries.flatMap((e): (string | PageLine)[] =>
    e.mode === 'skip' ? [{ text: `${e.guest} stays: ${e.why}`, mark: 'warn' }, ...(e.refusal ? [`  Fix: ${e.refusal.fix}`] : [])] : [{ text: `${e.guest}: ${e.why}`, mark: 'ok' }],
  );
  const left: (string | PageLine)[] = review.runningLeft.length > 0 ? [{ text: `${review.runningLeft.length} running guest(s) stay on ${review.from}: ${review.runningLeft.join(', ')}.`, mark: 'warn' }] : [];
  const notes = review.moving.flatMap((e) => (e.review?.notes ?? []).map((t): PageLine => ({ text: t, mark: 'warn' })));
  return [head, '', ...rows, ...left, ...(notes.length > 0 ? ['', ...notes] : [])];
}

function defaultPrepare(stateDir: string) {
  return (h: HostContext, c: EvacuateChoice, dest: MigrateDestination | null): Promise<PreparedEvacuation> => {
    if (c.returning || !dest) return prepareReturn(h, stateDir, { uri: c.to, name: c.to }, { bandwidthMiB: c.bandwidthMiB, removeSourceDisks: c.removeSourceDisks, ...(c.copyStorage === 'auto' ? {} : { copyStorage: c.copyStorage }) });
    return prepareEvacuation(h, dest, { includeShutOff: c.includeShutOff, copyStorage: c.copyStorage, bandwidthMiB: c.bandwidthMiB, removeSourceDisks: c.removeSourceDisks });
  };
}

export function createEvacuateWizard(deps: EvacuateWizardDeps): EvacuateWizardStore {
  const { host } = deps;
  const width = Math.min(deps.width ?? 80, 80);
  const stateDir = deps.stateDir ?? defaultStateDir();
  const records = deps.records ?? (() => evacuationsFrom(stateDir, host.uri));
  const destination = deps.destination ?? ((wanted: string) => migrateDestination(wanted, 'the destination'));
  const prepare = deps.prepare ?? defaultPrepare(stateDir);
  const run = deps.run ?? runEvacuation;
  const outcomes = deps.outcomes ?? evacuationOutcomes;
  const get = () => store.getState();
  const set = (change: Partial<EvacuateWizardState>) => store.setState(change);
  const lookup = stepLookup(get, set);
  const jobs: JobController = createJobController((r) => set({ run: r }), undefined, deps.jobScreen);
  const owner: KeyOwner = {
    scopes() {
      const s = get();
      if (s.result) return wizardScopes({ kind: 'result', scroll: true });
      if (s.run) return wizardScopes({ kind: 'running', jobs });
      if (s.step === 'confirm') return wizardScopes({ kind: 'review' });
      if (s.step === 'review') return wizardScopes({ kind: 'step', scroll: true, next: Boolean(s.prepared?.plan) });
      return wizardScopes({ kind: 'step', form: s.form, busy: s.busy ? 'stop' : undefined });
    },
    perform: (intent) => perform(intent),
  };

  let firstForm: Form;
  try {
    firstForm = makeForm(whereFields(records(), deps.to ?? ''));
  } catch {
    // An unreadable records directory must not keep the admin from evacuating; --return says why.
    firstForm = makeForm(whereFields([], deps.to ?? ''));
  }

  const store = createStore<EvacuateWizardState>()(() => ({
    hostName: host.name,
    step: 'where',
    stepNumber: 1,
    form: firstForm,
    busy: false,
    problems: [],
    prepared: null,
    returning: false,
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

  const goTo = (step: EvacuateStepId, change: Partial<EvacuateWizardState> = {}) => set({ step, stepNumber: EVACUATE_STEPS.indexOf(step) + 1, problems: [], scroll: 0, ...change });

  const close = () => {
    lookup.stop();
    deps.onClose();
  };

  const review = () =>
    lookup.run(async (signal) => {
      const choice = choiceOf(get().form);
      let dest: MigrateDestination | null = null;
      if (!choice.returning) {
        try {
          dest = destination(choice.to);
        } catch (e) {
          const p = problemOf(e);
          throw new FieldRefusal('to', p.sentence, p.fix);
        }
      }
      const prepared = await prepare(host, choice, dest);
      if (signal.aborted) return;
      goTo('review', { prepared, returning: choice.returning, lines: pageLines(reviewPage(prepared.review, choice.returning), width - 4) });
      if (!prepared.plan) set({ problems: [problemOf(prepared.review.entries.find((e) => e.refusal)?.refusal ?? new FieldRefusal('to', 'No guest would move.', 'Set "Shut-off too" to yes to move the shut-off guests offline.'))] });
    });

  const confirm = () => {
    const { prepared, returning } = get();
    if (!prepared?.plan) return;
    const r = prepared.review;
    const n = r.moving.length;
    const page: (string | PageLine)[] = [
      returning ? `Bring ${n} guest(s) home from ${r.from} to ${r.to.name} now?` : `Move ${n} guest(s) from ${r.from} to ${r.to.name} now?`,
      '',
      ...r.moving.map((e, i) => `  ${i + 1} ${e.guest} (${e.why})`),
      '',
      ...deletedLines(r),
      'One guest at a time, each journaled: a killed virtdeck leaves each guest with one runnable copy (virtdeck recover finishes).',
      'A cancel stops at the guest being moved: it stays here, the ones before it stay moved.',
    ];
    goTo('confirm', { lines: pageLines(page, width - 4) });
  };

  const start = async () => {
    const { prepared, returning } = get();
    const plan = prepared?.plan;
    if (!prepared || !plan || get().run) return;
    const finish = (ok: boolean, lines: (string | PageLine)[], error: UserError | HostError | null) => set({ result: { ok, lines: pageLines(lines, width - 4), error }, scroll: 0 });
    let r: RunResult | null = null;
    try {
      r = await jobs.start(planSpec(plan, returning ? 'return' : 'evacuation', EVACUATE_UNDO), (io) => run(host, plan, { stateDir, signal: io.signal, onEvent: io.onEvent }));
      const outs = outcomes(prepared.review, r, stateDir);
      const [head = '', ...rest] = summaryLines(outs, prepared.review.to.name, returning);
      const all = r.state === 'done' && outs.every((o) => o.result === 'moved' || (o.result === 'skipped' && !prepared.review.runningLeft.includes(o.guest)));
      jobs.end(r.state === 'cancelled' ? 'cancelled' : all ? 'done' : 'failed', head);
      finish(all, [{ text: head, mark: all ? 'ok' : 'warn' }, ...rest.map((t): PageLine => ({ text: t, mark: 'warn' })), '', `Journal: ${r.journal.path}`], r.state === 'done' ? null : (r.error ?? null));
    } catch (e) {
      const error = shownErrorOf(e);
      jobs.end('failed', error.sentence);
      finish(false, [], error);
    }
  };

  const scroll = (action: string) => {
    const s = get();
    const lines = s.result ? s.result.lines : s.lines;
    set({ scroll: scrolled(s.scroll, scrollStep(action, EVACUATE_ROWS), pageMax(lines, EVACUATE_ROWS)) });
  };

  const back = () => {
    const s = get();
    if (s.step === 'where') return close();
    if (s.step === 'review') return goTo('where');
    if (s.prepared) goTo('review', { lines: pageLines(reviewPage(s.prepared.review, s.returning), width - 4) });
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
        if (s.step === 'where') void review();
        else if (s.step === 'review') confirm();
      },
      run: () => void start(),
      scroll,
      other: (i) => {
        if (s.step === 'where' && !s.busy) set({ form: formKey(s.form, i) });
      },
    });
  }

  if (deps.to) void review();
  return store;
}
