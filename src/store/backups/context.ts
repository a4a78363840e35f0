/**
 * What every flow of the Backups pane shares: the host, the console, the jobs (deps), the pane's
 * store and the few helpers they all speak through. One object so each flow takes a single
 * argument and none reaches into another's closure.
 */
import type { HostContext } from '../../host/hostContext.js';
import type { AppStore } from '../appStore.js';
import { toShownError } from '../shownError.js';
import type { BackupsDeps } from './deps.js';
import { loadSchedule, loadSnapshots, reload } from './loading.js';
import { clampIndex, type GuestLine, guestLines, type RunLine, runLines } from './selectors.js';
import type { BackupsPaneState, BackupsStore, ReviewState } from './state.js';

export interface PaneContext {
  host: HostContext;
  app: AppStore;
  deps: BackupsDeps;
  get: () => BackupsPaneState;
  set: BackupsStore['setState'];
  say(text: string, kind?: 'info' | 'error' | 'busy'): void;
  showError(title: string, e: unknown): void;
  /** A job this build lacks: the message names the CLI command that does it. */
  notWired(what: string, command: string): void;
  openReview(r: Omit<ReviewState, 'offset'>): void;
  guestLines(): GuestLine[];
  selectedGuest(): GuestLine | null;
  selectedRun(): RunLine | null;
  maxAgeDays(): number;
  reload(): Promise<void>;
  loadSnapshots(): Promise<void>;
  loadSchedule(): Promise<void>;
}

export function createPaneContext(host: HostContext, app: AppStore, deps: BackupsDeps, store: BackupsStore): PaneContext {
  const get = store.getState;
  const set = store.setState;
  const say = (text: string, kind: 'info' | 'error' | 'busy' = 'info') => app.getState().setMessage(text, kind);
  const lines = () => guestLines(get(), app.getState().guests.map((g) => g.name));
  const selectedGuest = () => lines()[clampIndex(get().guestIndex, lines().length)] ?? null;
  const ctx: PaneContext = {
    host,
    app,
    deps,
    get,
    set,
    say,
    showError: (title, e) => app.getState().pushDialog({ kind: 'error', title, error: toShownError(e), showDetails: false }),
    notWired: (what, command) => say(`${what} from the console is not available in this build; run: ${command}`, 'error'),
    openReview: (r) => set({ review: { ...r, offset: 0 } }),
    guestLines: lines,
    selectedGuest,
    selectedRun: () => {
      const runs = runLines(selectedGuest()?.backups ?? null);
      return runs[clampIndex(get().runIndex, runs.length)] ?? null;
    },
    maxAgeDays: () => deps.settings().snapshotMaxAgeDays,
    reload: () => reload(ctx),
    loadSnapshots: () => loadSnapshots(ctx),
    loadSchedule: () => loadSchedule(ctx),
  };
  return ctx;
}
