/**
 * What every flow of the Backups pane shares: the host, the console, the jobs (deps), the pane's
 * store and the few helpers they all speak through. One object so each flow takes a single
 * argument and none reaches into another's closure.
 */
import type { HostContext } from '../../host/hostContext.js';
import type { AppStore } from '../appState.js';
import { toShownError } from '../shownError.js';
import type { BackupsDeps } from './deps.js';
import { loadSchedule, loadSnapshots, reload } from './loading.js';
import type { PaneContext } from './paneContext.js';
import { clampIndex, guestLines, runLines } from './selectors.js';
import type { BackupsStore } from './state.js';

export type { PaneContext } from './paneContext.js';

export function createPaneContext(host: HostContext, app: AppStore, deps: BackupsDeps, store: BackupsStore): PaneContext {
  const get = store.getState;
  const set = store.setState;
  const say = (text: string, kind: 'info' | 'error' | 'busy' = 'info') => app.getState().setMessage(text, kind);
  const lines = () => guestLines(get(), app.getState().guests.map((g) => g.name), app.getState().filter);
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
      const g = selectedGuest();
      const runs = runLines(g?.backups ?? null, g?.copyOnly);
      return runs[clampIndex(get().runIndex, runs.length)] ?? null;
    },
    maxAgeDays: () => deps.settings().snapshotMaxAgeDays,
    reload: () => reload(ctx),
    loadSnapshots: () => loadSnapshots(ctx),
    loadSchedule: () => loadSchedule(ctx),
  };
  return ctx;
}
