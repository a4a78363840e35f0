/**
 * The Host pane's state and actions: the host checks (run on first view and on `r`), their
 * safe fixes (planned, confirmed naming file and line, applied, checks re-run), and the logs view
 * (libvirtd log or a guest's QEMU log, followed live, searched with the console's `/` line, known
 * errors explained under the lines they match). Processes run in jobs/ and host/, injected as
 * HostPaneDeps so UI tests use fakes.
 */

import { createStore, type StoreApi } from 'zustand/vanilla';
import type { HostContext } from '../host/hostContext.js';
import { followLog, guestLogSource, type LogFollower, type LogLine, type LogSource, libvirtdLogSource } from '../host/logs.js';
import { type HostCheckRun, runHostChecks } from '../jobs/hostChecks.js';
import { applyFix, type FixOutcome, type FixPlan, planFix } from '../jobs/hostFixes.js';
import { countOf } from '../model/countText.js';
import type { CheckResult, SafeFix } from '../model/hostChecks.js';
import { explainKnown } from '../model/knownErrors.js';
import type { AppStore } from './appState.js';
import type { KeyOwner } from './keys/owners.js';
import type { ActionId, Scope } from './keys/table.js';
import type { PaneController } from './panes.js';
import { toShownError } from './shownError.js';
import type { ShownError } from './types.js';

export interface HostPaneDeps {
  runChecks(host: HostContext): Promise<HostCheckRun>;
  planFix(host: HostContext, fix: SafeFix): Promise<FixPlan>;
  applyFix(host: HostContext, fix: SafeFix, plan: FixPlan): Promise<FixOutcome>;
  libvirtdLog(host: HostContext): Promise<LogSource>;
  follow(host: HostContext, source: LogSource, lines: number, onLines: (l: LogLine[]) => void, onEnd: (e: ShownError | null) => void): LogFollower;
}

export function defaultHostPaneDeps(): HostPaneDeps {
  return {
    runChecks: (host) => runHostChecks(host),
    planFix: (host, fix) => planFix(host.sysExec, fix),
    applyFix: (host, fix, plan) => applyFix(host.sysExec, fix, plan),
    libvirtdLog: (host) => libvirtdLogSource(host.sysExec),
    follow: (host, source, lines, onLines, onEnd) => followLog(host.sysExec, source, lines, onLines, (e) => onEnd(e ? toShownError(e) : null)),
  };
}

/** One row of the logs view: a log line, or the catalog's explanation (sentence, then fix) under it. */
export type LogRow = { kind: 'line'; line: LogLine } | { kind: 'known'; text: string; first: boolean };

export interface LogView {
  title: string;
  rows: LogRow[];
  /** Index of the top row shown. */
  offset: number;
  /** Keep the newest line in view as lines arrive. */
  follow: boolean;
  /** Why the log cannot be shown or stopped being followed. */
  error: ShownError | null;
  ended: boolean;
  /** Columns the lines are scrolled sideways (← →): a long QEMU command line is read whole that way. */
  shift?: number;
}

/** How far one ← or → moves the log's lines sideways. */
export const LOG_SHIFT_STEP = 40;

export interface HostPaneState {
  screen: 'checks' | 'logs' | 'pickGuest';
  run: HostCheckRun | null;
  loading: boolean;
  error: ShownError | null;
  /** Id of the selected check: kept across re-runs. */
  selected: string | null;
  log: LogView | null;
  pick: { names: string[]; index: number };
  /** Rows the logs view shows at once (set by the view), for paging and follow. */
  viewport: number;
  /** The logs view's search (`/` there): its own, so it never touches the checks' filter. */
  search: string;
  /** The search line is being typed. */
  searching: boolean;
}

export type HostPaneStore = StoreApi<HostPaneState>;

export interface HostPaneController extends PaneController {
  store: HostPaneStore;
  setViewport(rows: number): void;
}

/** Lines kept in the logs view; older ones scroll away. */
export const LOG_KEEP = 5000;
const LOG_START_LINES = 300;

/** Pure: log lines → rows, each matched line followed by its explanation. */
export function logRows(lines: LogLine[]): LogRow[] {
  const rows: LogRow[] = [];
  for (const line of lines) {
    rows.push({ kind: 'line', line });
    const known = explainKnown(line.text);
    if (known) rows.push({ kind: 'known', text: known.sentence, first: true }, { kind: 'known', text: `Fix: ${known.fix}`, first: false });
  }
  return rows;
}

/** Pure: checks shown for a filter (title, detail or status word). */
export function visibleChecks(results: CheckResult[], filter: string): CheckResult[] {
  const f = filter.trim().toLowerCase();
  if (!f) return results;
  return results.filter((r) => `${r.status} ${r.title} ${r.detail}`.toLowerCase().includes(f));
}

/** Pure: indexes of log rows whose text contains the search (case-insensitive). */
export function searchHits(rows: LogRow[], search: string): number[] {
  const s = search.toLowerCase();
  if (!s) return [];
  const hits: number[] = [];
  rows.forEach((r, i) => {
    if (r.kind === 'line' && r.line.text.toLowerCase().includes(s)) hits.push(i);
  });
  return hits;
}

function maxOffset(log: LogView, viewport: number): number {
  return Math.max(0, log.rows.length - viewport);
}

export function createHostPaneController(host: HostContext, app: AppStore, deps: HostPaneDeps = defaultHostPaneDeps()): HostPaneController {
  const store = createStore<HostPaneState>()(() => ({
    screen: 'checks',
    run: null,
    loading: false,
    error: null,
    selected: null,
    log: null,
    pick: { names: [], index: 0 },
    viewport: 10,
    search: '',
    searching: false,
  }));
  let follower: LogFollower | null = null;
  let activated = false;
  let checking: Promise<void> | null = null;

  const filter = () => app.getState().filter;
  const visible = () => visibleChecks(store.getState().run?.results ?? [], filter());
  const selectedCheck = (): CheckResult | null => {
    const rows = visible();
    return rows.find((r) => r.id === store.getState().selected) ?? rows[0] ?? null;
  };

  const recheck = (): Promise<void> => {
    if (checking) return checking;
    store.setState({ loading: true });
    app.getState().setMessage('Checking the host…', 'busy');
    checking = deps
      .runChecks(host)
      .then(
        (run) => {
          const keep = run.results.some((r) => r.id === store.getState().selected);
          store.setState({ run, loading: false, error: null, selected: keep ? store.getState().selected : (run.results[0]?.id ?? null) });
          const bad = run.results.filter((r) => r.status !== 'ok').length;
          app.getState().setMessage(bad ? `${bad} of ${countOf(run.results.length, 'check')} need${bad === 1 ? 's' : ''} attention.` : run.results.length === 1 ? 'The one check is ok.' : `All ${run.results.length} checks are ok.`);
        },
        (e: unknown) => {
          store.setState({ loading: false, error: toShownError(e) });
          app.getState().setMessage('The host checks could not run.', 'error');
        },
      )
      .finally(() => {
        checking = null;
      });
    return checking;
  };

  const move = (delta: number | 'top' | 'bottom') => {
    const rows = visible();
    if (rows.length === 0) return;
    const i = Math.max(0, rows.findIndex((r) => r.id === selectedCheck()?.id));
    const next = delta === 'top' ? 0 : delta === 'bottom' ? rows.length - 1 : Math.min(Math.max(i + delta, 0), rows.length - 1);
    store.setState({ selected: rows[next]?.id ?? null });
  };

  const showFix = () => {
    const c = selectedCheck();
    if (!c) return;
    const lines = [c.detail, '', `Why: ${c.why}`, ''];
    if (c.fix.length === 0) lines.push('Nothing to fix.');
    else lines.push('Fix (run as root on the host):', ...c.fix.map((f) => `  ${f}`));
    if (c.safeFix) lines.push('', 'Press f on this check to let virtdeck apply it (after a confirmation).');
    app.getState().pushDialog({ kind: 'text', title: `${c.status.toUpperCase()} · ${c.title}`, lines, offset: 0 });
  };

  const askFix = async () => {
    const c = selectedCheck();
    if (!c) return;
    if (!c.safeFix) {
      app.getState().setMessage(c.status === 'ok' ? 'This check is ok; nothing to fix.' : 'virtdeck cannot apply this fix itself; Enter shows the commands to run.', 'error');
      return;
    }
    const fix = c.safeFix;
    let plan: FixPlan;
    try {
      plan = await deps.planFix(host, fix);
    } catch (e) {
      app.getState().pushDialog({ kind: 'error', title: `Could not prepare: ${c.title}`, error: toShownError(e), showDetails: false });
      return;
    }
    app.getState().pushDialog({
      kind: 'confirm',
      title: `${plan.title}?`,
      lines: plan.lines,
      yes: 'apply',
      onYes: async () => {
        app.getState().setMessage(`${plan.title}…`, 'busy');
        try {
          const outcome = await deps.applyFix(host, fix, plan);
          app.getState().setMessage(outcome.done.join(' '));
        } catch (e) {
          app.getState().pushDialog({ kind: 'error', title: `Could not apply: ${plan.title}`, error: toShownError(e), showDetails: false });
          return;
        }
        await recheck();
      },
    });
  };

  const stopFollowing = () => {
    follower?.stop();
    follower = null;
  };

  const openLog = (title: string, source: LogSource) => {
    stopFollowing();
    const log: LogView = { title, rows: [], offset: 0, follow: true, error: null, ended: false };
    store.setState({ screen: 'logs', log });
    if (source.kind === 'none') {
      store.setState({ log: { ...log, error: { sentence: source.sentence, fix: source.fix, command: [], stderr: '' }, ended: true } });
      return;
    }
    const mine = deps.follow(
      host,
      source,
      LOG_START_LINES,
      (lines) => {
        const s = store.getState();
        if (!s.log || follower !== mine) return;
        const rows = [...s.log.rows, ...logRows(lines)].slice(-LOG_KEEP);
        const next = { ...s.log, rows };
        if (next.follow) next.offset = maxOffset(next, s.viewport);
        store.setState({ log: next });
      },
      (error) => {
        const s = store.getState();
        if (!s.log || follower !== mine) return;
        store.setState({ log: { ...s.log, ended: true, error } });
      },
    );
    follower = mine;
  };

  const openLibvirtdLog = async () => {
    store.setState({ screen: 'logs', log: { title: 'libvirtd log', rows: [], offset: 0, follow: true, error: null, ended: false } });
    try {
      const source = await deps.libvirtdLog(host);
      openLog(source.label, source);
    } catch (e) {
      const s = store.getState();
      if (s.log) store.setState({ log: { ...s.log, error: toShownError(e), ended: true } });
    }
  };

  const scrollLog = (delta: number | 'top' | 'bottom') => {
    const s = store.getState();
    if (!s.log) return;
    const max = maxOffset(s.log, s.viewport);
    const offset = delta === 'top' ? 0 : delta === 'bottom' ? max : Math.min(Math.max(s.log.offset + delta, 0), max);
    store.setState({ log: { ...s.log, offset, follow: offset >= max } });
  };

  /** Puts the next (or previous) row matching the search at the top third of the view. */
  const jumpToMatch = (direction: 1 | -1, from?: number) => {
    const s = store.getState();
    if (!s.log) return;
    const hits = searchHits(s.log.rows, s.search);
    if (hits.length === 0) {
      if (s.search) app.getState().setMessage(`"${s.search}" is not in this log.`, 'error');
      return;
    }
    const anchor = from ?? s.log.offset + Math.floor(s.viewport / 3);
    const hit = direction === 1 ? (hits.find((h) => h > anchor) ?? hits[0]) : ([...hits].reverse().find((h) => h < anchor) ?? hits[hits.length - 1]);
    const offset = Math.min(Math.max((hit ?? 0) - Math.floor(s.viewport / 3), 0), maxOffset(s.log, s.viewport));
    store.setState({ log: { ...s.log, offset, follow: false } });
    app.getState().setMessage(`Match ${hits.indexOf(hit ?? 0) + 1} of ${hits.length}; n next, N previous.`);
  };

  // Typing after `/` searches the log as it goes, from the top of the view.
  const setSearch = (search: string) => {
    store.setState({ search });
    const s = store.getState();
    if (s.log && search) jumpToMatch(1, s.log.offset - 1);
  };
  const searchOwner: KeyOwner = {
    scopes: () => ['input:search', 'console'],
    perform: ({ action, key }) => {
      const s = store.getState();
      if (action === 'inputType') setSearch(s.search + key.input);
      else if (action === 'inputErase') setSearch(s.search.slice(0, -1));
      else if (action === 'inputKeep') store.setState({ searching: false });
      else if (action === 'inputClear') store.setState({ search: '', searching: false });
      else if (action === 'quit') app.getState().quit();
    },
  };

  const back = () => {
    const s = store.getState();
    if (s.screen === 'pickGuest') return store.setState({ screen: 'logs' });
    if (s.screen === 'logs') {
      stopFollowing();
      store.setState({ screen: 'checks', log: null, search: '', searching: false });
    }
  };

  const openPicker = () => {
    const names = app.getState().guests.map((g) => g.name);
    if (names.length === 0) return app.getState().setMessage('There are no guests, so no guest logs.', 'error');
    const current = store.getState().log?.title ?? '';
    const index = Math.max(0, names.findIndex((n) => current.endsWith(`/${n}.log`)));
    store.setState({ screen: 'pickGuest', pick: { names, index } });
  };

  const done = (run: () => unknown): true => {
    run();
    return true;
  };

  const dispatch = (action: ActionId): boolean => {
    const s = store.getState();
    if (s.screen === 'pickGuest') {
      const { names, index } = s.pick;
      const to = (i: number) => store.setState({ pick: { names, index: Math.min(Math.max(i, 0), names.length - 1) } });
      switch (action) {
        case 'up':
          return done(() => to(index - 1));
        case 'down':
          return done(() => to(index + 1));
        case 'top':
          return done(() => to(0));
        case 'bottom':
          return done(() => to(names.length - 1));
        case 'hostOpen': {
          const name = names[index];
          if (name) openLog(guestLogSource(name).label, guestLogSource(name));
          return true;
        }
        case 'hostBack':
          return done(() => back());
        case 'hostLogs':
          return true;
        default:
          return false;
      }
    }
    if (s.screen === 'logs') {
      switch (action) {
        case 'up':
          return done(() => scrollLog(-1));
        case 'down':
          return done(() => scrollLog(1));
        case 'hostPageUp':
          return done(() => scrollLog(-Math.max(1, s.viewport - 1)));
        case 'hostPageDown':
          return done(() => scrollLog(Math.max(1, s.viewport - 1)));
        case 'top':
          return done(() => scrollLog('top'));
        case 'bottom':
          return done(() => scrollLog('bottom'));
        case 'hostShiftRight':
        case 'hostShiftLeft': {
          if (!s.log) return true;
          const longest = Math.max(0, ...s.log.rows.map((r) => (r.kind === 'line' ? r.line.text.length : r.text.length)));
          const by = action === 'hostShiftRight' ? LOG_SHIFT_STEP : -LOG_SHIFT_STEP;
          const shift = Math.max(0, Math.min((s.log.shift ?? 0) + by, Math.max(0, longest - LOG_SHIFT_STEP)));
          return done(() => store.setState({ log: { ...s.log, shift } as LogView }));
        }
        case 'hostFollow': {
          if (!s.log) return true;
          const follow = !s.log.follow;
          store.setState({ log: { ...s.log, follow, offset: follow ? maxOffset(s.log, s.viewport) : s.log.offset } });
          app.getState().setMessage(follow ? 'Following: new lines scroll into view.' : 'Paused scrolling; lines still arrive (F resumes).');
          return true;
        }
        case 'hostNextMatch':
          return done(() => jumpToMatch(1));
        case 'hostPrevMatch':
          return done(() => jumpToMatch(-1));
        case 'hostSearch':
          return done(() => store.setState({ search: '', searching: true }));
        case 'hostOpen':
          return done(() => openPicker());
        case 'hostLogs':
          return done(() => openLibvirtdLog());
        case 'hostBack':
          return done(() => back());
        case 'hostFix':
        case 'hostRecheck':
          return true;
        default:
          return false;
      }
    }
    switch (action) {
      case 'up':
        return done(() => move(-1));
      case 'down':
        return done(() => move(1));
      case 'top':
        return done(() => move('top'));
      case 'bottom':
        return done(() => move('bottom'));
      case 'hostPageUp':
        return done(() => move(-10));
      case 'hostPageDown':
        return done(() => move(10));
      case 'hostOpen':
        return done(() => showFix());
      case 'hostFix':
        return done(() => askFix());
      case 'hostRecheck':
      case 'refresh':
        return done(() => recheck());
      case 'hostLogs':
        return done(() => openLibvirtdLog());
      case 'hostBack':
        if (filter()) app.getState().clearFilter();
        return true;
      case 'hostFollow':
      case 'hostNextMatch':
      case 'hostPrevMatch':
        return true;
      default:
        return false;
    }
  };

  // The logs view and the guest picker are screens of their own: their rows first, then every pane's.
  const screenOwner = (scope: Scope): KeyOwner => ({
    scopes: () => [scope, 'panes', 'console'],
    perform: (intent) => app.getState().dispatch(intent.action),
  });
  const logsOwner = screenOwner('pane:host-logs');
  const pickOwner = screenOwner('pane:host-pick');

  return {
    store,
    dispatch,
    keyOwner() {
      const { screen, searching } = store.getState();
      if (screen === 'logs' && searching) return searchOwner;
      return screen === 'logs' ? logsOwner : screen === 'pickGuest' ? pickOwner : null;
    },
    subscribe: (onChange) => store.subscribe(onChange),
    activate() {
      if (activated) return;
      activated = true;
      void recheck();
    },
    dispose() {
      stopFollowing();
    },
    completions() {
      return (store.getState().run?.results ?? []).map((r) => r.rule);
    },
    setViewport(rows) {
      const s = store.getState();
      if (s.viewport === rows) return;
      const log = s.log?.follow ? { ...s.log, offset: Math.max(0, s.log.rows.length - rows) } : s.log;
      store.setState({ viewport: rows, log });
    },
  };
}
