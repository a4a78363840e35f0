/**
 * The expand wizard as a store: reading the image (and looking inside it with libguestfs while
 * the admin types the size), the steps disk → new size → guest side → review, the run through
 * the job controller, and the summary. Its view only draws this state; its keys come through the
 * router to `owner`.
 */
import { posix } from 'node:path';
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../../../config/paths.js';
import { type HostError, toHostError } from '../../../host/errors.js';
import { inspectDisk } from '../../../host/guestfs.js';
import type { HostContext } from '../../../host/hostContext.js';
import { planRoute } from '../../../host/planRoute.js';
import { type ExpandOutcome, gatherExpandFacts, runExpand } from '../../../jobs/expand.js';
import { savePlanScriptNote } from '../../../jobs/planScriptFile.js';
import { assessExpand, decideGrow, type ExpandAssessment, type ExpandFacts, type ExpandRoute, expandKeeps, type KeepCopyNames, reviewLines } from '../../../model/expandPlan.js';
import { isActive } from '../../../model/guest.js';
import type { PlanRoute } from '../../../model/plan.js';
import { formatBytesLong } from '../../../model/units.js';
import { UserError } from '../../../model/userError.js';
import { type Form, fieldValue, formKey, makeForm } from '../../form.js';
import { createJobController, type JobControllerOptions } from '../../jobs/jobController.js';
import { planSpec, type RunRow, type RunView } from '../../jobs/runView.js';
import type { KeyOwner } from '../../keys/owners.js';
import type { Intent } from '../../keys/router.js';
import type { Scope } from '../../keys/table.js';
import { type PageLine, pageLines, pageMax } from '../page.js';
import { scrolled, scrollStep, wizardScopes } from '../wizardScreen.js';

export const EXPAND_STEP_TITLES = ['disk', 'new size', 'guest side', 'review'] as const;

/** Rows of the review and the summary on screen at 80x24; ↑↓ scroll the rest. */
export const EXPAND_ROWS = 16;
/** The wizard's inner width (80 columns less border and padding). */
const PAGE_WIDTH = 76;

export type ExpandPhase = 'loading' | 'load-failed' | 'form' | 'running' | 'done' | 'failed';

export interface ExpandWizardState {
  host: { name: string };
  /** How the review shows commands that run on a remote host (null: this machine). */
  route: PlanRoute | null;
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
  /** The admin's choice on the review of a grow in place; null: not chosen, so a copy is kept wherever one can be. */
  keepCopy: boolean | null;
  /** The grow is in place (raw or qcow2, guest off): a copy of the original can be asked for. */
  canKeepCopy: boolean;
  /** Why no copy can be kept here (no room, a backing file, one kept already), when that is so. */
  keepCopyWhyNot: string | null;
  /** The checks, refusal and plan for the size and choice on screen. */
  assessment: ExpandAssessment | null;
  run: RunView | null;
  outcome: ExpandOutcome | null;
  /** Why the job failed or stopped (phase failed). */
  error: UserError | HostError | null;
  /** First row shown of the review or the summary (expandPage). */
  scroll: number;
  owner: KeyOwner;
  /** The console ends with the wizard open: stop its work without asking (no onClose). */
  dispose(): void;
  load(): void;
  next(): void;
  back(): void;
  toggleRoute(): void;
  toggleKeepCopy(): void;
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
export function expandUndo(route: ExpandRoute, keepCopy: KeepCopyNames | null = null): string {
  if (route === 'vmdk') return 'The work copy is removed; the original vmdk stays as it was.';
  const copy = keepCopy ? ` An unfinished copy of the original is removed; a finished one stays as ${posix.basename(keepCopy.keep)}.` : '';
  return `What is already grown stays grown (a grow is not undone); the rest is skipped.${copy}`;
}

/** What a stopped expansion left, in the words of its cancel question: a grow in place is never undone. */
function leftAfterStop(route: ExpandRoute, rows: readonly RunRow[]): string {
  if (route === 'vmdk') return 'the work copy was removed and the original vmdk is as it was.';
  return rows.some((r) => !r.undo && r.state === 'done') ? 'the steps already done stay done (a grow is not undone); the rest was skipped.' : 'the image is as it was.';
}

/**
 * The review (step 4) and the summary as the store keeps them: wrapped to the wizard's width, so
 * what the job keeps, every command, the guest-side steps and the warnings are read whole by
 * scrolling, never cut at the edge or after a dozen lines. Empty on other screens.
 */
export function expandPage(s: Pick<ExpandWizardState, 'phase' | 'step' | 'facts' | 'assessment' | 'outcome' | 'route' | 'keepCopyWhyNot'>): PageLine[] {
  const decision = s.assessment?.decision;
  if (s.phase === 'form' && s.step === 3 && decision && s.facts) {
    const lines: (string | PageLine)[] = [expandKeeps(s.facts, decision, 'c'), ...reviewLines(decision.plan, s.route).map((l) => ` ${l}`)];
    if (s.keepCopyWhyNot) lines.splice(1, 0, { text: `No copy can be kept: ${s.keepCopyWhyNot}`, mark: 'warn' });
    if (decision.guestSide.kind === 'instructions') lines.push(`  then: instructions for inside the guest (${decision.guestSide.reason})`);
    for (const w of decision.warnings) lines.push({ text: w, mark: 'warn' });
    return pageLines(lines, PAGE_WIDTH);
  }
  if (s.phase === 'done' && s.outcome) {
    const o = s.outcome;
    const lines: (string | PageLine)[] = [{ text: `disk ${formatBytesLong(decision?.currentBytes ?? 0)} → ${formatBytesLong(o.verifiedBytes ?? 0)} (verified)`, mark: 'ok' }];
    if (o.grow) lines.push({ text: `filesystem ${formatBytesLong(o.grow.fsBytesBefore)} → ${formatBytesLong(o.grow.fsBytesAfter)} (verified)`, mark: 'ok' });
    if (o.keptOriginal) lines.push(`  original kept in ${o.keptOriginal}/`);
    if (o.keptCopy) lines.push(`  original kept as ${o.keptCopy}`);
    if (o.instructions) lines.push(...o.instructions.text.trimEnd().split('\n'), `saved to ${o.instructions.file}`);
    return pageLines(lines, PAGE_WIDTH);
  }
  return [];
}

type Derived = Pick<ExpandWizardState, 'canGrowOffline' | 'assessment' | 'canKeepCopy' | 'keepCopyWhyNot'>;

/**
 * What follows from the facts, the size typed and the choices: whether offline growth is possible,
 * whether a copy of the original is kept, and the assessment. A grow in place keeps a copy unless
 * the admin said no (nothing is lost by default) or there is no way to keep one, which the review says.
 */
function derive(facts: ExpandFacts | null, form: Form, offline: boolean, inspecting: boolean, keepCopy: boolean | null): Derived {
  const canGrowOffline = Boolean(facts?.layout && 'op' in decideGrow(facts.layout)) && !(facts?.guest && isActive(facts.guest.state));
  const size = fieldValue(form, 'size').trim() || '+0';
  // "Instructions only" is the admin's choice only where growing offline was possible; otherwise
  // the assessment gives the real reason (running, still inspecting, a layout it cannot grow).
  const req = { size, growFs: true, instructionsOnly: canGrowOffline && !offline, inspecting };
  const plain = facts ? assessExpand(facts, req) : null;
  const canKeepCopy = plain?.decision?.route === 'resize';
  if (!facts || !canKeepCopy || keepCopy === false) return { canGrowOffline, assessment: plain, canKeepCopy, keepCopyWhyNot: null };
  const kept = assessExpand(facts, { ...req, keepCopy: true });
  if (kept.refusal) return { canGrowOffline, assessment: plain, canKeepCopy, keepCopyWhyNot: kept.refusal.sentence };
  return { canGrowOffline, assessment: kept, canKeepCopy, keepCopyWhyNot: null };
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
    store.setState({ ...patch, ...derive(s.facts, s.form, s.offline, s.inspecting, s.keepCopy) });
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
        return ['expand:done', ...(pageMax(expandPage(s), EXPAND_ROWS) > 0 ? (['wizard:scroll'] as Scope[]) : []), ...jobs.scopes()];
      case 'failed':
        return ['expand:failed'];
      case 'form':
        if (!s.facts?.image) return ['wizard:step'];
        // One field: nothing to move between, so no ↑↓ hint.
        if (s.step === 1) return wizardScopes({ kind: 'step', form: s.form }).filter((x) => x !== 'form');
        if (s.step === 2) return [...(s.canGrowOffline ? (['expand:guest-side'] as Scope[]) : []), ...wizardScopes({ kind: 'step' })];
        if (s.step === 3) {
          const review = wizardScopes({ kind: 'review', script: true, scroll: pageMax(expandPage(s), EXPAND_ROWS) > 0 });
          return s.canKeepCopy && !s.keepCopyWhyNot ? ['expand:keep-copy', ...review] : review;
        }
        return wizardScopes({ kind: 'step' });
    }
  };

  const perform = (intent: Intent) => {
    const s = store.getState();
    const { action } = intent;
    const by = scrollStep(action, EXPAND_ROWS);
    if (by !== 0 && ((s.phase === 'form' && s.step === 3) || s.phase === 'done')) {
      return store.setState({ scroll: scrolled(s.scroll, by, pageMax(expandPage(s), EXPAND_ROWS)) });
    }
    if (action.startsWith('job')) return jobs.perform(intent);
    if (action === 'wizardCancel' || action === 'wizardQuit' || action === 'wizardClose') return close(null);
    if (action === 'wizardRetry') return s.load();
    if (action === 'wizardBack') return s.back();
    if (action === 'wizardNext') return s.next();
    if (action === 'wizardRun') return void s.start();
    if (action === 'wizardSaveScript') return s.saveScript();
    if (action === 'expandToggleRoute') return s.toggleRoute();
    if (action === 'expandToggleKeepCopy') return s.toggleKeepCopy();
    if (s.phase === 'form' && s.step === 1) {
      const form = formKey(s.form, intent);
      if (form !== s.form) update({ form });
    }
  };

  const store = createStore<ExpandWizardState>()((set, get) => ({
    host: { name: host.name },
    route: planRoute(host),
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
    keepCopy: null,
    canKeepCopy: false,
    keepCopyWhyNot: null,
    assessment: null,
    run: null,
    outcome: null,
    error: null,
    scroll: 0,
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
      set({ step: s.step + 1, scroll: 0 });
    },

    back() {
      const s = get();
      if (s.phase === 'failed') return set({ phase: 'form', step: 3, run: null, error: null, note: null });
      if (s.phase !== 'form') return;
      if (s.step === 0) return close(null);
      set({ note: null, step: s.step - 1, scroll: 0 });
    },

    toggleRoute() {
      const s = get();
      if (s.phase === 'form' && s.step === 2 && s.canGrowOffline) update({ offline: !s.offline });
    },

    toggleKeepCopy() {
      const s = get();
      if (s.phase === 'form' && s.step === 3 && s.canKeepCopy && !s.keepCopyWhyNot) update({ keepCopy: !s.assessment?.decision?.keepCopy, scroll: 0 });
    },

    async start() {
      const s = get();
      const decision = s.assessment?.decision;
      const facts = s.facts;
      if (!facts || !decision || s.phase !== 'form' || s.step !== 3) return;
      set({ phase: 'running', note: null, outcome: null, error: null });
      const spec = planSpec(decision.plan, 'the expansion', expandUndo(decision.route, decision.keepCopy), true);
      try {
        const outcome = await jobs.start(spec, (io) => runExpand(host, facts, decision, { signal: io.signal, stateDir, onEvent: io.onEvent }));
        if (jobs.handedOver()) return;
        if (outcome.state === 'done') {
          set({ phase: 'done', outcome, scroll: 0 });
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
      if (plan) set({ note: savePlanScriptNote(stateDir, 'expand', plan, planRoute(host)) });
    },

    cancel() {
      close(null);
    },
  }));

  store.getState().load();
  return store;
}
