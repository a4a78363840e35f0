/**
 * The Backups pane's controller: guests with their last run → the runs of one guest, the
 * snapshots each guest keeps (flagged when too old), and the jobs started from here (backup now,
 * verify, restore, prune, file browser, snapshots). Each flow lives in ./backups/; this file routes
 * keys to them. The jobs come in as BackupsDeps so UI tests inject fakes; the defaults are the real
 * job modules. Start-up recovery is asked from here too.
 */
import type { HostContext } from '../host/hostContext.js';
import type { AppStore } from './appState.js';
import { createPaneContext } from './backups/context.js';
import { type BackupsDeps, defaultBackupsDeps } from './backups/deps.js';
import { chooseDestination } from './backups/destination.js';
import { startCopy } from './backups/copyFlow.js';
import { createFileBrowser } from './backups/fileBrowser.js';
import { createPaneJob } from './backups/paneJob.js';
import { startDrill } from './backups/drillFlow.js';
import { showInstantList, startDiscard, startFinish } from './backups/instantFlow.js';
import { startPrune } from './backups/pruneFlow.js';
import { offerRecovery } from './backups/recoveryOffer.js';
import { startRestore } from './backups/restoreFlow.js';
import { backupAll, backupNow, verify } from './backups/runFlow.js';
import { editSchedule } from './backups/scheduleFlow.js';
import { formOwner, reviewOwner } from './backups/screenKeys.js';
import { type DetailLine, detailLines, runLines } from './backups/selectors.js';
import { removeSnapshot, revertToSnapshot, takeSnapshot } from './backups/snapshotFlow.js';
import { type BackupsPaneState, type BackupsStore, createBackupsStore } from './backups/state.js';
import { scheduleLine } from './backupsText.js';
import type { ActionId } from './keys/table.js';
import type { PaneController } from './panes.js';
import { type Move, movedIndex, moveFor } from './selection.js';

export { type BackupFs, type BackupFsEntry, pathsOverFilesystems } from './backups/backupFs.js';
export { type BackupSettings, type BackupsDeps, defaultBackupsDeps } from './backups/deps.js';
export { copiesOf, type DetailLine, detailLines, type GuestLine, guestLines, type RunLine, runLines } from './backups/selectors.js';
export type { BackupsPaneState, BackupsStore, BrowserState, PaneForm, ReviewState } from './backups/state.js';

export interface BackupsController extends PaneController {
  store: BackupsStore;
  maxAgeDays(): number;
  detailLines(s: BackupsPaneState, libvirtGuests: string[], now: number): DetailLine[];
  /** Start-up: recovery prompt and snapshot ages for the Guests pane. */
  start(): void;
}

export function createBackupsController(host: HostContext, app: AppStore, deps: BackupsDeps = defaultBackupsDeps()): BackupsController {
  const store = createBackupsStore();
  const ctx = createPaneContext(host, app, deps, store);
  const { get, set } = ctx;
  const job = createPaneJob(ctx);
  const form = formOwner(ctx);
  const review = reviewOwner(ctx);
  const browser = createFileBrowser(ctx);

  const move = (m: Move) => {
    const s = get();
    const n = s.level === 'guests' ? ctx.guestLines().length : runLines(ctx.selectedGuest()?.backups ?? null, ctx.selectedGuest()?.copyOnly).length;
    const next = Math.max(0, movedIndex(s.level === 'guests' ? s.guestIndex : s.runIndex, n, m));
    if (s.level === 'guests') set({ guestIndex: next });
    else set({ runIndex: next });
  };

  const controller: BackupsController = {
    store,
    maxAgeDays: ctx.maxAgeDays,
    detailLines: (s, names, now) => detailLines(s, names, now, ctx.maxAgeDays(), app.getState().filter),
    keyOwner() {
      // A form (the extract form too) over a review over the browser over a job.
      const s = get();
      if (s.form) return form;
      if (s.review) return review;
      if (s.browser) return browser.owner;
      if (s.job) return job.owner;
      return null;
    },
    subscribe: (onChange) => store.subscribe(onChange),
    dispatch(action: ActionId, guest?: string | null) {
      // A `:` command must not act behind one of the pane's own screens.
      if (get().form || get().review || get().browser || get().job) return true;
      const m = moveFor(action);
      if (m !== null) {
        move(m);
        return true;
      }
      switch (action) {
        case 'backupDetails': {
          // The strip cuts its lines at the edge; this shows each of them whole (the text dialog wraps).
          const s = get();
          const g = ctx.selectedGuest();
          if (!g) return true;
          const run = s.level === 'runs' ? runLines(g.backups, g.copyOnly)[s.runIndex] : undefined;
          const sched = s.schedule?.error ? `schedule unknown: ${s.schedule.error}` : scheduleLine(s.schedule?.status ?? null, new Date(), s.dest).text;
          const lines = [
            `Destination ${s.dest ?? '(none)'}`,
            s.error ?? sched,
            '',
            ...controller.detailLines(s, app.getState().guests.map((x) => x.name), Date.now()).map((l) => (l.warn ? `Warning: ${l.text}` : l.text)),
          ];
          app.getState().pushDialog({ kind: 'text', title: run ? `${g.guest} ${run.name}` : g.guest, lines, offset: 0 });
          return true;
        }
        case 'backupsOpen':
          if (get().level === 'guests' && ctx.selectedGuest()) set({ level: 'runs', runIndex: 0 });
          return true;
        case 'backupsBack':
          if (get().level === 'runs') set({ level: 'guests' });
          return true;
        case 'backupNow':
          // `:backup all` is B's explicit choice (and asks as B does).
          if (guest?.trim().toLowerCase() === 'all') backupAll(ctx, job);
          else backupNow(ctx, job);
          return true;
        case 'backupAll':
          backupAll(ctx, job);
          return true;
        case 'backupVerify':
          verify(ctx, job);
          return true;
        case 'backupRestore':
          startRestore(ctx, job);
          return true;
        case 'backupFiles':
          browser.open();
          return true;
        case 'backupInstantList':
          showInstantList(ctx);
          return true;
        case 'backupInstantFinish':
          startFinish(ctx, job);
          return true;
        case 'backupInstantDiscard':
          startDiscard(ctx, job);
          return true;
        case 'backupDrill':
          startDrill(ctx, job);
          return true;
        case 'backupPrune':
          startPrune(ctx, job);
          return true;
        case 'backupCopy':
          startCopy(ctx, job);
          return true;
        case 'backupDest':
          chooseDestination(ctx);
          return true;
        case 'backupSchedule':
          editSchedule(ctx);
          return true;
        case 'snapshotTake':
          takeSnapshot(ctx);
          return true;
        case 'snapshotRevert':
          revertToSnapshot(ctx);
          return true;
        case 'snapshotDelete':
          removeSnapshot(ctx);
          return true;
        case 'refresh':
          void ctx.reload();
          return true;
        default:
          return false;
      }
    },
    activate() {
      void ctx.reload();
    },
    start() {
      void offerRecovery(ctx);
      void ctx.loadSnapshots();
    },
    dispose() {
      job.controller.abort();
      browser.close();
    },
    completions() {
      return ctx.guestLines().map((l) => l.guest);
    },
  };
  return controller;
}
