/**
 * The Backups pane's state and actions: guests with their last run → the runs of one guest, the
 * snapshots each guest keeps (flagged when too old), and the jobs started from here (backup now,
 * verify, restore, prune, file browser, snapshots). The jobs come in as BackupsDeps so UI tests
 * inject fakes; the defaults are the real job modules. Start-up recovery is asked from here too.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { HostContext } from '../host/hostContext.js';
import { type SnapshotInfo, snapshotsOfGuests } from '../host/snapshots.js';
import type { GuestRow } from '../host/virsh.js';
import { type GuestBackups, readCatalog } from '../jobs/backupCatalog.js';
import { type BackupEvent, loadBackupConfig } from '../jobs/backup.js';
import { detectRecovery, type RecoveryItem, resolveRecovery } from '../jobs/recovery.js';
import { createSnapshot, deleteSnapshot, revertSnapshot } from '../jobs/snapshot.js';
import type { FsInfo } from '../jobs/fileRestore.js';
import type { PruneResult, prune as pruneJob } from '../jobs/prune.js';
import type { prepareRestore as prepareRestoreJob, restore as restoreJob } from '../jobs/restore.js';
import type { installSchedule as installScheduleJob, removeSchedule as removeScheduleJob, ScheduleStatus } from '../jobs/schedule.js';
import type { RunnerEvent } from '../jobs/runner.js';
import type { CatalogRun } from '../model/backupManifest.js';
import type { Progress } from '../model/progress.js';
import type { RetentionPolicy } from '../model/retention.js';
import { checkSchedule, parseDays, WEEKDAYS } from '../model/schedule.js';
import { UserError } from '../model/userError.js';
import { formatAge, revertLoss, staleSnapshotWarning } from '../model/snapshotPlan.js';
import { type Move, moveFor, movedIndex } from './selection.js';
import type { ActionId } from '../ui/keymap.js';
import type { AppStore } from './appStore.js';
import { toShownError } from './appStore.js';
import type { PaneController } from './panes.js';
import {
  KEEP_FIELDS,
  policyText,
  pruneConfirmLines,
  pruneReviewLines,
  type RestoreChoice,
  removals,
  restoreConfirmLines,
  restoreReviewLines,
  sameRemovals,
  scheduleReviewLines,
  type ToneLine,
} from './backupsText.js';
import { setGuestNotes } from './warnings.js';

export interface BackupFsEntry {
  name: string;
  type: 'dir' | 'file' | 'link' | 'other';
  size: number;
}

/** A read-only look into the filesystems of one backup run (libguestfs behind it). */
export interface BackupFs {
  list(path: string): Promise<BackupFsEntry[]>;
  /** Copies the paths into hostDir; the host paths written. */
  extract(paths: string[], hostDir: string): Promise<string[]>;
  close(): Promise<void>;
}

export interface BackupSettings {
  destinations: string[];
  defaultDestination?: string;
  retention?: RetentionPolicy;
  snapshotMaxAgeDays: number;
}

export interface BackupsDeps {
  settings(): BackupSettings;
  stateDir(): string;
  readCatalog(host: HostContext, dest: string): Promise<GuestBackups[]>;
  snapshotsOf(host: HostContext, guests: { name: string; uuid: string }[]): Promise<Map<string, SnapshotInfo[]>>;
  runBackup?(host: HostContext, o: { guests: string[]; dest: string; signal: AbortSignal; onEvent: (e: BackupEvent) => void }): Promise<{ guests: { guest: string; ok: boolean; state: string; error?: { sentence: string } }[] }>;
  verify?(host: HostContext, o: { dest: string; guest: string; run: string; signal?: AbortSignal }): Promise<{ run: string; ok: boolean; findings: string[] }[]>;
  prepareRestore?: typeof prepareRestoreJob;
  restore?: typeof restoreJob;
  prune?: typeof pruneJob;
  /** One libguestfs session for the whole time the browser is open. */
  openBackupFs?(host: HostContext, o: { dest: string; guest: string; run: string; signal?: AbortSignal }): Promise<BackupFs>;
  scheduleStatus?(host: HostContext): Promise<ScheduleStatus>;
  installSchedule?(host: HostContext, wanted: Parameters<typeof installScheduleJob>[1], o: { dryRun?: boolean }): ReturnType<typeof installScheduleJob>;
  removeSchedule?(host: HostContext, o: { dryRun?: boolean }): ReturnType<typeof removeScheduleJob>;
  detectRecovery(host: HostContext, o: { stateDir: string; guests: GuestRow[] }): Promise<RecoveryItem[]>;
  resolveRecovery: typeof resolveRecovery;
  createSnapshot: typeof createSnapshot;
  revertSnapshot: typeof revertSnapshot;
  deleteSnapshot: typeof deleteSnapshot;
}

export interface JobRow {
  label: string;
  state: 'waiting' | 'running' | 'done' | 'failed';
  progress: Progress | null;
  note?: string;
}

export interface BrowserState {
  guest: string;
  run: string;
  path: string;
  entries: BackupFsEntry[];
  index: number;
  marked: string[];
  loading: boolean;
  /** The libguestfs appliance is starting (15–20 s here); Esc cancels. */
  opening: boolean;
}

export interface FormField {
  label: string;
  value: string;
  /** A choice field: Space or ←/→ cycle through these; typing does nothing. */
  choices?: string[];
  /** Shown (and focusable) only while field `field` has this value. */
  showWhen?: { field: number; value: string };
}

export interface PaneForm {
  title: string;
  lines: string[];
  fields: FormField[];
  focus: number;
  /** Values of every field (hidden ones too). A UserError thrown here keeps the form open behind the error dialog. */
  submit: (values: string[]) => void;
}

/** A read-through screen before a change: what will run, scrolled with ↑/↓; Enter goes on. */
export interface ReviewState {
  title: string;
  lines: ToneLine[];
  offset: number;
  /** Footer, e.g. "Enter: confirm the deletion · Esc: cancel". */
  hint: string;
  onEnter: () => void;
}

export function fieldVisible(form: PaneForm, index: number): boolean {
  const f = form.fields[index];
  if (!f?.showWhen) return Boolean(f);
  return form.fields[f.showWhen.field]?.value === f.showWhen.value;
}

export interface BackupsPaneState {
  dest: string | null;
  catalog: GuestBackups[];
  loading: boolean;
  error: string | null;
  level: 'guests' | 'runs';
  guestIndex: number;
  runIndex: number;
  snapshots: Record<string, SnapshotInfo[]>;
  /** null while it is read; status null with an error when it could not be read. */
  schedule: { status: ScheduleStatus | null; error: string | null } | null;
  job: { title: string; rows: JobRow[]; done: boolean; summary: string | null } | null;
  browser: BrowserState | null;
  form: PaneForm | null;
  review: ReviewState | null;
}

export type BackupsStore = StoreApi<BackupsPaneState>;

/** The restore engineer's filesystem API (device + path) as one tree: with several filesystems each is a top directory. */
interface DeviceFs {
  filesystems(): Promise<Pick<FsInfo, 'device' | 'type' | 'mountable'>[]>;
  list(device: string, path: string): Promise<{ name: string; type: string; sizeBytes: number }[]>;
  extract(device: string, paths: string[], toDir: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function pathsOverFilesystems(dfs: DeviceFs): Promise<BackupFs> {
  const fss = (await dfs.filesystems()).filter((f) => f.mountable);
  const single = fss.length === 1 ? fss[0] : undefined;
  const dirName = (device: string) => device.replace(/^\/dev\//, '').replace(/\//g, '-');
  const locate = (path: string): { device: string; path: string } | null => {
    if (single) return { device: single.device, path };
    const [, top, ...rest] = path.split('/');
    const fsInfo = fss.find((f) => dirName(f.device) === top);
    return fsInfo ? { device: fsInfo.device, path: `/${rest.join('/')}` } : null;
  };
  const kind = (t: string): BackupFsEntry['type'] => (t === 'dir' ? 'dir' : t === 'file' ? 'file' : t === 'symlink' ? 'link' : 'other');
  return {
    async list(path) {
      if (!single && path === '/') return fss.map((f) => ({ name: dirName(f.device), type: 'dir' as const, size: 0 }));
      const at = locate(path);
      if (!at) return [];
      return (await dfs.list(at.device, at.path)).map((e) => ({ name: e.name, type: kind(e.type), size: e.sizeBytes }));
    },
    async extract(paths, hostDir) {
      // One copy-out per filesystem; a path outside every filesystem (the top level) is refused first.
      const byDevice = new Map<string, string[]>();
      for (const p of paths) {
        const at = locate(p);
        if (!at || (!single && at.path === '/')) throw new UserError(`${p} is a whole filesystem, not a file or directory in one.`, 'Open it (Enter) and mark what is inside.');
        byDevice.set(at.device, [...(byDevice.get(at.device) ?? []), at.path]);
      }
      const written: string[] = [];
      for (const [device, list] of byDevice) written.push(...(await dfs.extract(device, list, hostDir)));
      return written;
    },
    close: () => dfs.close(),
  };
}

export function defaultBackupsDeps(): BackupsDeps {
  return {
    settings: () => {
      // A broken backup key must not keep the pane (or the Guests pane's flags) from working.
      try {
        return loadBackupConfig();
      } catch {
        return { destinations: [], snapshotMaxAgeDays: 7 };
      }
    },
    stateDir: () => defaultStateDir(),
    readCatalog: (host, dest) => readCatalog(host.sysExec, dest),
    snapshotsOf: snapshotsOfGuests,
    runBackup: async (host, o) => (await import('../jobs/backup.js')).runBackup(host, o),
    verify: async (host, o) => (await import('../jobs/backupVerify.js')).verifyRun(host, o),
    openBackupFs: async (host, o) => {
      const fr = await import('../jobs/fileRestore.js');
      const runDir = await fr.runDirOf(host, o.dest, o.guest, o.run, o.signal);
      const opened = await fr.openBackupFs(host, runDir, undefined, o.signal);
      try {
        return await pathsOverFilesystems(opened);
      } catch (e) {
        await opened.close().catch(() => undefined);
        throw e;
      }
    },
    prepareRestore: async (...a) => (await import('../jobs/restore.js')).prepareRestore(...a),
    restore: async (...a) => (await import('../jobs/restore.js')).restore(...a),
    prune: async (...a) => (await import('../jobs/prune.js')).prune(...a),
    scheduleStatus: async (host) => (await import('../jobs/schedule.js')).scheduleStatus(host, { stateDir: defaultStateDir() }),
    installSchedule: async (host, wanted, o) => (await import('../jobs/schedule.js')).installSchedule(host, wanted, o),
    removeSchedule: async (host, o) => (await import('../jobs/schedule.js')).removeSchedule(host, o),
    detectRecovery: (host, o) => detectRecovery(host, o),
    resolveRecovery,
    createSnapshot,
    revertSnapshot,
    deleteSnapshot,
  };
}

/** A guest row of the left list: every guest libvirt knows plus guests only the backups know. */
export interface GuestLine {
  guest: string;
  backups: GuestBackups | null;
  last: CatalogRun | null;
  snapshots: SnapshotInfo[];
}

export function guestLines(s: BackupsPaneState, libvirtGuests: string[]): GuestLine[] {
  const names = [...new Set([...libvirtGuests, ...s.catalog.map((c) => c.guest)])].sort();
  return names.map((guest) => {
    const backups = s.catalog.find((c) => c.guest === guest) ?? null;
    return { guest, backups, last: backups?.runs[backups.runs.length - 1] ?? null, snapshots: s.snapshots[guest] ?? [] };
  });
}

/** Runs of a guest, newest first, with partial and damaged ones as rows of their own. */
export interface RunLine {
  name: string;
  run: CatalogRun | null;
  status: 'good' | 'partial' | 'damaged';
  reason?: string;
}

export function runLines(b: GuestBackups | null): RunLine[] {
  if (!b) return [];
  return [
    ...b.partials.map((name) => ({ name, run: null, status: 'partial' as const, reason: 'interrupted: never complete, never restorable' })),
    ...b.damaged.map((d) => ({ name: d.name, run: null, status: 'damaged' as const, reason: d.reason })),
    ...[...b.runs].reverse().map((run) => ({ name: run.name, run, status: 'good' as const })),
  ];
}

export interface DetailLine {
  text: string;
  warn: boolean;
}

function runSummary(run: CatalogRun, now: number): string {
  const m = run.manifest;
  const age = formatAge(now - new Date(m.createdAt).getTime());
  return `${m.kind} · ${age} ago · ${m.method} · ${m.consistency} · ${m.disks.length} disk${m.disks.length === 1 ? '' : 's'}${m.note ? ` · ${m.note}` : ''}`;
}

/** The pane's detail strip: the selected run (or last run), the guest's snapshots, the too-old warning. */
export function detailLines(s: BackupsPaneState, libvirtGuests: string[], now: number, maxAgeDays: number): DetailLine[] {
  const all = guestLines(s, libvirtGuests);
  const g = all[clampIndex(s.guestIndex, all.length)];
  if (!g) return [{ text: 'No guests and no backups here yet.', warn: false }];
  const out: DetailLine[] = [];
  if (s.level === 'runs') {
    const runs = runLines(g.backups);
    const r = runs[clampIndex(s.runIndex, runs.length)];
    if (r?.run) out.push({ text: `${r.name}: ${runSummary(r.run, now)}`, warn: false });
    else if (r) out.push({ text: `${r.name}: ${r.status} — ${r.reason ?? ''}`, warn: true });
    else out.push({ text: `No runs of ${g.guest} in this destination; b backs it up now.`, warn: false });
  } else {
    out.push({ text: g.last ? `last run ${g.last.name}: ${runSummary(g.last, now)}` : `${g.guest} has no backup here; b backs up every guest now.`, warn: false });
    const logged = s.schedule?.status?.lastRuns.find((r) => r.guest === g.guest)?.logged;
    if (logged && !logged.ok) out.push({ text: `last scheduled run (${logged.at}) ${logged.text}`, warn: true });
  }
  const snaps = g.snapshots.map((x) => `${x.current ? '*' : ''}${x.name} (${x.location}${x.withMemory ? '+memory' : ''}, ${formatAge(now - x.createdAt.getTime())})`);
  out.push({ text: snaps.length ? `snapshots: ${snaps.join(', ')}` : 'no snapshots (t takes one before a risky change)', warn: false });
  const stale = staleSnapshotWarning(g.snapshots, maxAgeDays, new Date(now));
  if (stale) out.push({ text: stale, warn: true });
  return out;
}

export interface BackupsController extends PaneController {
  store: BackupsStore;
  maxAgeDays(): number;
  detailLines(s: BackupsPaneState, libvirtGuests: string[], now: number): DetailLine[];
  /** Keys of the pane's own screens (job, browser, form); true when consumed. */
  key(name: string, input: string): boolean;
  /** Start-up: recovery prompt and snapshot ages for the Guests pane. */
  start(): void;
}

const clampIndex = (i: number, n: number) => Math.max(0, Math.min(i, n - 1));

export function createBackupsController(host: HostContext, app: AppStore, deps: BackupsDeps = defaultBackupsDeps()): BackupsController {
  const store = createStore<BackupsPaneState>()(() => ({
    dest: null,
    catalog: [],
    loading: false,
    error: null,
    level: 'guests',
    guestIndex: 0,
    runIndex: 0,
    snapshots: {},
    schedule: null,
    job: null,
    browser: null,
    form: null,
    review: null,
  }));
  let fs: BackupFs | null = null;
  let fsOpening: AbortController | null = null;
  let jobAbort: AbortController | null = null;
  const set = store.setState;
  const get = store.getState;
  const say = (text: string, kind: 'info' | 'error' | 'busy' = 'info') => app.getState().setMessage(text, kind);
  const showError = (title: string, e: unknown) => app.getState().pushDialog({ kind: 'error', title, error: toShownError(e), showDetails: false });
  const libvirtNames = () => app.getState().guests.map((g) => g.name);
  const lines = () => guestLines(get(), libvirtNames());
  const selectedGuest = () => lines()[clampIndex(get().guestIndex, lines().length)] ?? null;
  const selectedRun = () => {
    const g = selectedGuest();
    const runs = runLines(g?.backups ?? null);
    return runs[clampIndex(get().runIndex, runs.length)] ?? null;
  };
  const maxAge = () => deps.settings().snapshotMaxAgeDays;

  const publishNotes = () => {
    const snaps = get().snapshots;
    setGuestNotes((guest) => {
      const w = staleSnapshotWarning(snaps[guest] ?? [], maxAge());
      return w ? [w.charAt(0).toUpperCase() + w.slice(1)] : [];
    });
  };

  const loadSnapshots = async () => {
    try {
      const map = await deps.snapshotsOf(host, app.getState().guests.map((g) => ({ name: g.name, uuid: g.uuid })));
      set({ snapshots: Object.fromEntries(map) });
      publishNotes();
    } catch {
      // Snapshot ages are a hint; a failure here must not block the pane.
    }
  };

  const reload = async () => {
    const settings = deps.settings();
    const dest = get().dest ?? settings.defaultDestination ?? settings.destinations[0] ?? null;
    set({ dest, loading: Boolean(dest), error: dest ? null : 'No backup destination is configured: press d and type a directory (e.g. the mount point of a backup disk).' });
    void loadSnapshots();
    void loadSchedule();
    if (!dest) return;
    try {
      set({ catalog: await deps.readCatalog(host, dest), loading: false });
    } catch (e) {
      set({ catalog: [], loading: false, error: toShownError(e).sentence });
    }
  };

  const loadSchedule = async () => {
    if (!deps.scheduleStatus) return set({ schedule: { status: null, error: 'reading the schedule is not available in this build' } });
    try {
      set({ schedule: { status: await deps.scheduleStatus(host), error: null } });
    } catch (e) {
      set({ schedule: { status: null, error: toShownError(e).sentence } });
    }
  };

  const notWired = (what: string, command: string) => say(`${what} from the console is not available in this build; run: ${command}`, 'error');
  const openReview = (r: Omit<ReviewState, 'offset'>) => set({ review: { ...r, offset: 0 } });

  // ------------------------------------------------------------------ jobs with progress rows

  const startJob = (title: string, rows: JobRow[]) => {
    jobAbort = new AbortController();
    set({ job: { title, rows, done: false, summary: null } });
    say(`${title}…`, 'busy');
    return jobAbort.signal;
  };
  const updateRow = (label: string, change: Partial<JobRow>) => {
    const job = get().job;
    if (!job) return;
    const rows = job.rows.some((r) => r.label === label) ? job.rows.map((r) => (r.label === label ? { ...r, ...change } : r)) : [...job.rows, { label, state: 'running' as const, progress: null, ...change }];
    set({ job: { ...job, rows } });
  };
  const endJob = (summary: string) => {
    const job = get().job;
    jobAbort = null;
    if (job) set({ job: { ...job, done: true, summary } });
    say('Finished: Enter or Esc closes this view.');
    void reload();
  };

  const backupNow = () => {
    const dest = get().dest;
    if (!dest) return say('Choose a destination first (d).', 'error');
    if (!deps.runBackup) return notWired('Backup', `virtdeck backup run --all --dest ${dest}`);
    const g = get().level === 'runs' || app.getState().guests.length === 0 ? selectedGuest()?.guest : null;
    const guests = g ? [g] : [];
    const signal = startJob(`Back up ${g ?? 'all guests'} to ${dest}`, []);
    let current = '';
    deps
      .runBackup(host, {
        guests,
        dest,
        signal,
        onEvent: (e) => {
          if (e.type === 'guest-start') {
            current = e.guest;
            updateRow(e.guest, { state: 'running', note: `${e.decision.kind} · ${e.decision.method} · ${e.decision.consistency}` });
          } else if (e.type === 'runner' && e.event.type === 'progress') {
            updateRow(current, { progress: e.event.progress });
          } else if (e.type === 'guest-end') {
            updateRow(e.guest, { state: e.result.ok ? 'done' : 'failed', note: e.result.ok ? `${e.result.kind} ${e.result.run}` : e.result.error?.sentence });
          } else if (e.type === 'warning') {
            say(e.line, 'error');
          }
        },
      })
      .then(
        (r) => {
          const failed = r.guests.filter((x) => !x.ok);
          endJob(failed.length ? `${failed.length} of ${r.guests.length} failed: ${failed.map((f) => `${f.guest} (${f.error?.sentence ?? f.state})`).join('; ')}` : `Backed up ${r.guests.length} guest${r.guests.length === 1 ? '' : 's'}.`);
        },
        (e) => endJob(toShownError(e).sentence),
      );
  };

  const verify = () => {
    const dest = get().dest;
    const g = selectedGuest();
    const run = get().level === 'runs' ? selectedRun() : g?.last ? { name: g.last.name, run: g.last, status: 'good' as const } : null;
    if (!dest || !g || !run) return say('Select a run to verify.', 'error');
    if (run.status !== 'good') return say(`${run.name} is ${run.status}: there is nothing to verify.`, 'error');
    if (!deps.verify) return notWired('Verify', `virtdeck backup verify --dest ${dest} ${g.guest} --run ${run.name}`);
    const signal = startJob(`Verify ${g.guest} ${run.name}`, [{ label: run.name, state: 'running', progress: null, note: 'qemu-img check, checksums' }]);
    deps.verify(host, { dest, guest: g.guest, run: run.name, signal }).then(
      (reports) => {
        for (const r of reports) updateRow(r.run, { state: r.ok ? 'done' : 'failed', note: r.ok ? 'verified ✓' : r.findings[0] });
        const bad = reports.filter((r) => !r.ok);
        endJob(bad.length ? `${bad.length} run(s) failed verification: ${bad[0]?.findings[0] ?? ''}` : `${run.name} verified.`);
      },
      (e) => endJob(toShownError(e).sentence),
    );
  };

  // ------------------------------------------------------------------ restore

  /** Runner events → the job's rows, one row per plan step (undos are rows of their own). */
  const stepRows = (e: RunnerEvent) => {
    const job = get().job;
    if (!job) return;
    const rows = [...job.rows];
    const at = (i: number, change: Partial<JobRow>) => {
      rows[i] = { ...(rows[i] ?? { label: '', state: 'waiting', progress: null }), ...change };
    };
    if (e.type === 'step-start') at(e.index, { label: `${e.index + 1} ${e.step.title}`, state: 'running' });
    else if (e.type === 'progress') at(e.index, { progress: e.progress });
    else if (e.type === 'step-end') at(e.index, { state: 'done', progress: null });
    else if (e.type === 'step-failed') at(e.index, { state: 'failed', note: e.error.sentence });
    else if (e.type === 'undo') rows.push({ label: `undo: ${e.title}`, state: 'running', progress: null });
    else if (e.type === 'undo-end') {
      const i = rows.map((r) => r.label).lastIndexOf(`undo: ${e.title}`);
      if (i >= 0) at(i, { state: e.ok ? 'done' : 'failed', note: e.ok ? undefined : 'left for the admin' });
    } else return;
    set({ job: { ...job, rows } });
  };

  const runRestore = (choice: RestoreChoice, planned: Awaited<ReturnType<typeof prepareRestoreJob>>, dest: string) => {
    const doRestore = deps.restore;
    if (!doRestore) return;
    const signal = startJob(
      planned.plan.title,
      planned.plan.steps.map((st, i) => ({ label: `${i + 1} ${st.title}`, state: 'waiting' as const, progress: null })),
    );
    doRestore(host, {
      guest: choice.guest,
      dest,
      run: choice.run,
      ...(choice.asName ? { asName: choice.asName, toDir: choice.toDir ?? undefined } : { deleteOld: choice.deleteOld }),
      signal,
      onEvent: stepRows,
      stateDir: deps.stateDir(),
    }).then(
      (r) => {
        void app.getState().refresh();
        if (r.state === 'done') {
          const where = r.disks.map((d) => `${d.target} → ${d.path}${d.aside && !choice.deleteOld ? ` (old disk kept at ${d.aside})` : ''}`).join('; ');
          return endJob([`${r.name} restored from ${r.run}: ${where}.`, ...r.notes].join(' '));
        }
        const what = r.state === 'cancelled' ? 'was cancelled and rolled back' : r.state === 'rollback-failed' ? 'failed and could not be fully rolled back (see the job journal)' : 'failed and was rolled back';
        endJob(`The restore ${what}${r.error ? `: ${r.error.sentence}` : '.'}`);
        if (r.error && r.state !== 'cancelled') showError(`Could not restore ${r.name}`, r.error);
      },
      (e) => {
        endJob(`The restore did not start: ${toShownError(e).sentence}`);
        showError(`Could not restore ${choice.asName ?? choice.guest}`, e);
      },
    );
  };

  const reviewRestore = (choice: RestoreChoice, dest: string) => {
    const prepare = deps.prepareRestore;
    if (!prepare) return;
    say(`Planning the restore of ${choice.guest} from ${choice.run}…`, 'busy');
    prepare(host, { guest: choice.guest, dest, run: choice.run, ...(choice.asName ? { asName: choice.asName, toDir: choice.toDir ?? undefined } : { deleteOld: choice.deleteOld }) }).then(
      (planned) => {
        say('Read the steps; Enter asks to confirm, Esc cancels.');
        openReview({
          title: planned.plan.title,
          lines: restoreReviewLines(planned),
          hint: 'Enter: confirm · ↑/↓ scroll · Esc: cancel',
          onEnter: () =>
            app.getState().pushDialog({
              kind: 'confirm',
              title: planned.plan.title,
              lines: restoreConfirmLines(choice, planned),
              yes: choice.asName ? `restore as ${choice.asName}` : `restore ${choice.guest} over itself`,
              onYes: () => {
                set({ review: null });
                runRestore(choice, planned, dest);
              },
            }),
        });
      },
      (e) => showError(`Could not plan the restore of ${choice.guest}`, e),
    );
  };

  const SAME = 'same name (over the guest)';
  const AS_NEW = 'as a new guest';
  const KEEP_OLD = 'keep them aside';
  const DELETE_OLD = 'delete after success';

  const restore = () => {
    const dest = get().dest;
    const g = selectedGuest();
    const run = get().level === 'runs' ? selectedRun() : g?.last ? { name: g.last.name, run: g.last, status: 'good' as const } : null;
    if (!dest || !g || !run) return say(`${g?.guest ?? 'This guest'} has no run to restore; back it up first (b).`, 'error');
    if (run.status !== 'good' || !run.run) return say(`${run.name} is ${run.status} and cannot be restored.`, 'error');
    if (!deps.restore || !deps.prepareRestore) return notWired('Restore', `virtdeck backup restore ${g.guest} ${run.name} --dest ${dest} [--as NEWNAME --to DIR]`);
    const source = run.run.manifest.disks[0]?.sourcePath ?? '';
    const dir = source.startsWith('/') && !source.startsWith('/dev/') ? source.replace(/\/[^/]*$/, '') || '/' : '/var/lib/libvirt/images';
    const exists = app.getState().guests.some((x) => x.name === g.guest);
    set({
      form: {
        title: `Restore ${g.guest} from ${run.name}`,
        lines: [
          'Same name: the guest must be shut off; its disks are moved aside, never overwritten.',
          'As a new guest: a copy with a new name, UUID and MACs; disks go into the directory given.',
        ],
        fields: [
          { label: 'Restore', value: exists ? AS_NEW : SAME, choices: [AS_NEW, SAME] },
          { label: 'New name', value: `${g.guest}-restored`, showWhen: { field: 0, value: AS_NEW } },
          { label: 'Disks into dir', value: dir, showWhen: { field: 0, value: AS_NEW } },
          { label: 'Current disks', value: KEEP_OLD, choices: [KEEP_OLD, DELETE_OLD], showWhen: { field: 0, value: SAME } },
        ],
        focus: 0,
        submit: ([mode, name, toDir, old]) => {
          const asNew = mode === AS_NEW;
          if (asNew && !name) throw new UserError('The new guest needs a name.', 'Type a name that no guest has yet, e.g. web-restored.');
          if (asNew && !toDir?.startsWith('/')) throw new UserError('The disks need an absolute directory on the host.', 'Type a path such as /var/lib/libvirt/images.');
          reviewRestore({ guest: g.guest, run: run.name, asName: asNew ? (name ?? null) : null, toDir: asNew ? (toDir ?? null) : null, deleteOld: !asNew && old === DELETE_OLD }, dest);
        },
      },
    });
  };

  // ------------------------------------------------------------------ prune

  const runPrune = (dest: string, guests: string[], policy: RetentionPolicy, reviewed: PruneResult, now: Date) => {
    const doPrune = deps.prune;
    if (!doPrune) return;
    const gone = removals(reviewed);
    const rowOf = (guest: string, name: string) => `${guest}/${name}`;
    const signal = startJob(`Prune ${guests.join(', ') || 'every guest'} in ${dest}`, gone.map((i) => ({ label: rowOf(i.guest, i.name), state: 'waiting' as const, progress: null })));
    (async () => {
      // The destination may have changed since the review (a scheduled run, another prune): delete
      // only when it still removes exactly what the admin confirmed.
      const again = await doPrune(host, dest, policy, { guests, now, dryRun: true, signal });
      if (!sameRemovals(again, reviewed)) {
        throw new UserError(`The runs in ${dest} changed since the review, so nothing was deleted.`, 'Press P again to see what retention removes now.');
      }
      return doPrune(host, dest, policy, {
        guests,
        now,
        signal,
        onRemove: (path) => {
          const rel = path.slice(dest.replace(/\/+$/, '').length + 1);
          updateRow(rel, { state: 'done', note: 'deleted' });
        },
      });
    })().then(
      (r) => endJob(`Deleted ${r.removed.length} director${r.removed.length === 1 ? 'y' : 'ies'} from ${dest}; ${r.items.filter((i) => i.action === 'keep').length} kept.`),
      (e) => {
        const job = get().job;
        if (job) set({ job: { ...job, rows: job.rows.map((r) => (r.state === 'waiting' ? { ...r, state: 'failed' as const, note: 'not deleted' } : r)) } });
        endJob(`Prune stopped: ${toShownError(e).sentence}`);
        if (!signal.aborted) showError(`Could not prune ${dest}`, e);
      },
    );
  };

  const reviewPrune = (dest: string, guests: string[], policy: RetentionPolicy) => {
    const doPrune = deps.prune;
    if (!doPrune) return;
    const now = new Date();
    const who = guests.join(', ') || 'every guest';
    say(`Working out what retention removes for ${who}…`, 'busy');
    doPrune(host, dest, policy, { guests, now, dryRun: true }).then(
      (plan) => {
        const gone = removals(plan);
        say(gone.length ? `${gone.length} to delete; Enter asks to confirm.` : 'Nothing to delete.');
        openReview({
          title: `Prune ${who} in ${dest} · dry run`,
          lines: pruneReviewLines(plan),
          hint: gone.length ? `Enter: delete ${gone.length} (asks first) · ↑/↓ scroll · Esc: cancel` : 'Nothing to delete · Esc/Enter: close',
          onEnter: () => {
            if (gone.length === 0) return set({ review: null });
            app.getState().pushDialog({
              kind: 'confirm',
              title: `Delete ${gone.length} backup director${gone.length === 1 ? 'y' : 'ies'}`,
              lines: pruneConfirmLines(plan),
              yes: `delete ${gone.length}`,
              onYes: () => {
                set({ review: null });
                runPrune(dest, guests, policy, plan, now);
              },
            });
          },
        });
      },
      (e) => showError(`Could not work out what to prune in ${dest}`, e),
    );
  };

  const prune = () => {
    const dest = get().dest;
    const g = selectedGuest();
    if (!dest) return say('Choose a destination first (d).', 'error');
    if (!deps.prune) return notWired('Prune', `virtdeck backup prune --dest ${dest} --dry-run`);
    // Only the selected guest, from either list: pruning every guest is the schedule's job (or the CLI's).
    const guests = g ? [g.guest] : [];
    const configured = deps.settings().retention ?? {};
    set({
      form: {
        title: `Prune ${guests.join(', ') || 'every guest'} in ${dest}`,
        lines: [`From config.json backup.retention: ${policyText(configured)}.`, 'Change a count for this prune only; empty = rule not used. The next screen lists what goes.'],
        fields: KEEP_FIELDS.map(([k, label]) => ({ label, value: configured[k] === undefined ? '' : String(configured[k]) })),
        focus: 0,
        submit: (values) => {
          const policy: RetentionPolicy = {};
          KEEP_FIELDS.forEach(([k, label], i) => {
            const v = values[i] ?? '';
            if (v === '') return;
            if (!/^\d+$/.test(v)) throw new UserError(`${label} "${v}" is not a whole number.`, `Type a count such as 7, or leave ${label} empty.`);
            policy[k] = Number(v);
          });
          reviewPrune(dest, guests, policy);
        },
      },
    });
  };

  // ------------------------------------------------------------------ schedule

  const SET = 'set or change';
  const REMOVE = 'remove';

  const writeSchedule = (wanted: { at: string; days: string; dest: string }) => {
    const install = deps.installSchedule;
    if (!install) return;
    const schedule = { at: wanted.at, days: parseDays(wanted.days), dest: wanted.dest };
    say('Working out the schedule file…', 'busy');
    install(host, schedule, { dryRun: true }).then(
      (change) => {
        say('This is what will be written; Enter writes it.');
        openReview({
          title: `Backup schedule · ${change.kind}`,
          lines: scheduleReviewLines(change, new Date()),
          hint: 'Enter: write it · ↑/↓ scroll · Esc: cancel',
          onEnter: () => {
            set({ review: null });
            say(`Writing ${change.files.map((f) => f.path).join(', ')}…`, 'busy');
            install(host, schedule, {}).then(
              (done) => {
                say(`Schedule written to ${done.files.map((f) => f.path).join(', ')}.`);
                void loadSchedule();
              },
              (e) => showError('Could not write the backup schedule', e),
            );
          },
        });
      },
      (e) => showError('Could not prepare the backup schedule', e),
    );
  };

  const dropSchedule = () => {
    const remove = deps.removeSchedule;
    if (!remove) return;
    remove(host, { dryRun: true }).then(
      (files) => {
        if (files.length === 0) return say('No backup schedule is installed.');
        app.getState().pushDialog({
          kind: 'confirm',
          title: 'Remove the backup schedule',
          lines: ['These files are renamed to .bak, so no scheduled backup or prune runs any more:', ...files.map((f) => `  ${f}`)],
          yes: 'remove the schedule',
          onYes: () =>
            remove(host, {}).then(
              (gone) => {
                say(`Schedule removed (${gone.join(', ')} kept as .bak).`);
                void loadSchedule();
              },
              (e) => showError('Could not remove the backup schedule', e),
            ),
        });
      },
      (e) => showError('Could not read the backup schedule', e),
    );
  };

  const editSchedule = () => {
    if (!deps.installSchedule || !deps.removeSchedule) return notWired('The schedule', 'virtdeck backup schedule set --at 01:30 --dest DIR');
    const current = get().schedule?.status?.installed ?? null;
    const sc = current?.schedule ?? null;
    const fields: FormField[] = [
      { label: 'At (HH:MM)', value: sc?.at ?? '01:30' },
      { label: 'Days', value: sc?.days.length ? sc.days.join(',') : 'daily' },
      { label: 'Destination', value: sc?.dest ?? get().dest ?? '' },
    ];
    const withAction = current !== null;
    set({
      form: {
        title: current ? 'Backup schedule' : 'Set a backup schedule',
        lines: [
          'At that time the host runs `virtdeck backup run --all`, then `backup prune`.',
          `Days: daily, or a list such as ${WEEKDAYS.slice(1, 6).join(',')}. Host local time. The next screen shows the file.`,
        ],
        fields: withAction ? [{ label: 'Schedule', value: SET, choices: [SET, REMOVE] }, ...fields.map((f) => ({ ...f, showWhen: { field: 0, value: SET } }))] : fields,
        focus: 0,
        submit: (values) => {
          const [action, at, days, dest] = withAction ? values : [SET, ...values];
          if (action === REMOVE) return dropSchedule();
          if (!dest?.startsWith('/')) throw new UserError('The schedule needs an absolute destination directory.', 'Type the mount point of the backup disk, e.g. /mnt/backup.');
          // Checked here so a typo keeps the form open; installSchedule checks again.
          checkSchedule({ at: at ?? '', days: parseDays(days), dest });
          writeSchedule({ at: at ?? '', days: days ?? '', dest });
        },
      },
    });
  };

  // ------------------------------------------------------------------ file browser

  /** Lists `path` in the open session; `select` names the entry to put the cursor on (the directory left when going up). */
  const browse = async (path: string, select?: string) => {
    const session = fs;
    const b = get().browser;
    if (!b || !session) return;
    set({ browser: { ...b, loading: true } });
    try {
      const entries = await session.list(path);
      const cur = get().browser;
      if (!cur || fs !== session) return;
      const sorted = entries.sort((x, y) => (x.type === 'dir' ? 0 : 1) - (y.type === 'dir' ? 0 : 1) || x.name.localeCompare(y.name));
      set({ browser: { ...cur, path, entries: sorted, index: Math.max(0, sorted.findIndex((e) => e.name === select)), loading: false } });
    } catch (e) {
      const cur = get().browser;
      if (cur) set({ browser: { ...cur, loading: false } });
      showError(`Could not list ${path}`, e);
    }
  };

  const openFiles = () => {
    const dest = get().dest;
    const g = selectedGuest();
    const run = get().level === 'runs' ? selectedRun() : g?.last ? { name: g.last.name, status: 'good' as const } : null;
    if (!dest || !g || !run) return say('Select a run to browse.', 'error');
    if (run.status !== 'good') return say(`${run.name} is ${run.status} and cannot be browsed.`, 'error');
    if (!deps.openBackupFs) return notWired('The file browser', `virtdeck backup files ${g.guest} ${run.name} --dest ${dest}`);
    if (fs || fsOpening) return;
    const opening = new AbortController();
    fsOpening = opening;
    set({ browser: { guest: g.guest, run: run.name, path: '/', entries: [], index: 0, marked: [], loading: true, opening: true } });
    say(`Opening the filesystems of ${g.guest} ${run.name} read-only (libguestfs, 15–20 s)…`, 'busy');
    deps.openBackupFs(host, { dest, guest: g.guest, run: run.name, signal: opening.signal }).then(
      (opened) => {
        fsOpening = null;
        // Esc while the appliance started: nobody browses it, so it goes at once.
        if (opening.signal.aborted || !get().browser) return void opened.close().catch(() => undefined);
        fs = opened;
        const b = get().browser as BrowserState;
        set({ browser: { ...b, opening: false } });
        say('Enter opens a directory, Backspace goes up, Space marks, x extracts, Esc closes.');
        void browse('/');
      },
      (e) => {
        fsOpening = null;
        set({ browser: null });
        if (!opening.signal.aborted) showError(`Could not open the backup ${run.name} of ${g.guest}`, e);
        else say('Closed the file browser.');
      },
    );
  };

  /** Leaving the browser ends its libguestfs session (or the start of one). */
  const closeBrowser = () => {
    const f = fs;
    fs = null;
    fsOpening?.abort();
    fsOpening = null;
    set({ browser: null });
    void f?.close().catch(() => undefined);
  };

  const join = (dir: string, name: string) => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);
  const parent = (dir: string) => dir.replace(/\/[^/]+\/?$/, '') || '/';

  const browserKey = (name: string): boolean => {
    const b = get().browser as BrowserState;
    if (b.opening) {
      if (name === 'esc' || name === 'q') closeBrowser();
      return true;
    }
    const entry = b.entries[b.index];
    if (name === 'up' || name === 'k') set({ browser: { ...b, index: clampIndex(b.index - 1, b.entries.length) } });
    else if (name === 'down' || name === 'j') set({ browser: { ...b, index: clampIndex(b.index + 1, b.entries.length) } });
    else if ((name === 'enter' || name === 'l' || name === 'right') && entry?.type === 'dir') void browse(join(b.path, entry.name));
    else if (name === 'backspace' || name === 'h' || name === 'left') {
      if (b.path !== '/') void browse(parent(b.path), b.path.split('/').filter(Boolean).pop());
    } else if (name === ' ' && entry) {
      const p = join(b.path, entry.name);
      const marked = b.marked.includes(p) ? b.marked.filter((m) => m !== p) : [...b.marked, p];
      set({ browser: { ...b, marked, index: clampIndex(b.index + 1, b.entries.length) } });
    } else if (name === 'x') {
      const paths = b.marked.length ? b.marked : entry ? [join(b.path, entry.name)] : [];
      if (paths.length === 0) return true;
      set({
        form: {
          title: `Extract ${paths.length} item${paths.length === 1 ? '' : 's'} from ${b.guest} ${b.run}`,
          lines: paths.slice(0, 6),
          fields: [{ label: 'To host directory', value: '/tmp' }],
          focus: 0,
          submit: ([dir]) => {
            if (!dir?.startsWith('/')) throw new UserError(`"${dir ?? ''}" is not an absolute host directory.`, 'Type the full path, e.g. /root/restored.');
            const session = fs;
            if (!session) return;
            say(`Extracting to ${dir}…`, 'busy');
            session.extract(paths, dir).then(
              (written) => {
                say(`Extracted ${written.length} item${written.length === 1 ? '' : 's'} to ${dir}.`);
                const cur = get().browser;
                if (cur) set({ browser: { ...cur, marked: [] } });
              },
              (e) => showError('Could not extract', e),
            );
          },
        },
      });
    } else if (name === 'esc' || name === 'q') closeBrowser();
    return true;
  };

  // ------------------------------------------------------------------ snapshots

  const snapshotOf = (guest: string): SnapshotInfo | null => {
    const snaps = get().snapshots[guest] ?? [];
    return snaps.find((s) => s.current) ?? snaps[snaps.length - 1] ?? null;
  };

  const runSnapshotJob = (what: string, run: () => Promise<unknown>, done: string) => {
    say(`${what}…`, 'busy');
    run().then(
      () => {
        say(done);
        void loadSnapshots();
        void app.getState().refresh();
      },
      (e) => showError(`Could not ${what.charAt(0).toLowerCase()}${what.slice(1)}`, e),
    );
  };

  const takeSnapshot = () => {
    const g = selectedGuest();
    if (!g) return;
    set({
      form: {
        title: `Take a snapshot of ${g.guest}`,
        lines: ['A way back before a risky change; delete it when the change worked (it slows the disk while kept).'],
        fields: [
          { label: 'Name', value: `before-${new Date().toISOString().slice(0, 10)}` },
          { label: 'Description', value: '' },
        ],
        focus: 0,
        submit: ([name, description]) =>
          runSnapshotJob(`Snapshot ${g.guest} as ${name}`, () => deps.createSnapshot(host, g.guest, { name: name ?? '', description: description || undefined }, { stateDir: deps.stateDir() }), `Snapshot "${name}" of ${g.guest} taken.`),
      },
    });
  };

  const revert = () => {
    const g = selectedGuest();
    const snap = g ? snapshotOf(g.guest) : null;
    if (!g || !snap) return say(`${g?.guest ?? 'The guest'} has no snapshot to revert to.`, 'error');
    const row = app.getState().guests.find((x) => x.name === g.guest);
    const lines = [revertLoss(g.guest, snap, row?.state ?? 'shut off')];
    if (snap.location === 'external') {
      lines.push('libvirt 9.0 cannot revert external snapshots, so virtdeck does it: the guest is turned off and gets a new overlay on the files the snapshot froze.', 'The overlay with the newer writes is kept on disk (delete it by hand or with the CLI --remove-overlay).');
    }
    app.getState().pushDialog({
      kind: 'confirm',
      title: `Revert ${g.guest} to "${snap.name}"`,
      lines,
      yes: 'revert',
      onYes: () => runSnapshotJob(`Revert ${g.guest} to ${snap.name}`, () => deps.revertSnapshot(host, g.guest, snap.name, { stateDir: deps.stateDir() }), `${g.guest} is back at "${snap.name}".`),
    });
  };

  const removeSnapshot = () => {
    const g = selectedGuest();
    const snap = g ? snapshotOf(g.guest) : null;
    if (!g || !snap) return say(`${g?.guest ?? 'The guest'} has no snapshot to delete.`, 'error');
    app.getState().pushDialog({
      kind: 'confirm',
      title: `Delete snapshot "${snap.name}" of ${g.guest}`,
      lines: [
        `The way back to ${formatAge(Date.now() - snap.createdAt.getTime())} ago goes; ${g.guest} keeps everything it wrote since.`,
        ...(snap.location === 'external' ? ['The overlay is merged back into the original image (blockcommit while running) and deleted.'] : []),
      ],
      yes: 'delete snapshot',
      onYes: () => runSnapshotJob(`Delete snapshot ${snap.name} of ${g.guest}`, () => deps.deleteSnapshot(host, g.guest, snap.name, { stateDir: deps.stateDir() }), `Snapshot "${snap.name}" of ${g.guest} deleted.`),
    });
  };

  const chooseDestination = () => {
    const settings = deps.settings();
    set({
      form: {
        title: 'Backup destination',
        lines: settings.destinations.length ? ['Configured:', ...settings.destinations.map((d) => `  ${d}`)] : ['No destination is configured (config.json backup.destinations).'],
        fields: [{ label: 'Directory', value: get().dest ?? settings.destinations[0] ?? '' }],
        focus: 0,
        submit: ([dir]) => {
          if (!dir?.startsWith('/')) return say('A destination is an absolute directory, e.g. /mnt/backup.', 'error');
          set({ dest: dir.replace(/\/+$/, '') || '/', level: 'guests', guestIndex: 0 });
          void reload();
        },
      },
    });
  };

  // ------------------------------------------------------------------ recovery at start

  const offerRecovery = async () => {
    let items: RecoveryItem[];
    try {
      items = await deps.detectRecovery(host, { stateDir: deps.stateDir(), guests: app.getState().guests });
    } catch {
      return;
    }
    if (items.length === 0) return;
    app.getState().pushDialog({
      kind: 'recovery',
      title: items.length === 1 ? 'virtdeck found a job left half-done' : `virtdeck found ${items.length} things left half-done`,
      items,
      index: 0,
      busy: null,
      results: {},
      onChoose: (item, how) => {
        app.getState().updateDialog('recovery', (d) => ({ ...d, busy: item.id }));
        deps.resolveRecovery(host, item, how, { stateDir: deps.stateDir() }).then(
          (r) => app.getState().updateDialog('recovery', (d) => ({ ...d, busy: null, results: { ...d.results, [item.id]: r.message } })),
          (e) => app.getState().updateDialog('recovery', (d) => ({ ...d, busy: null, results: { ...d.results, [item.id]: toShownError(e).sentence } })),
        );
      },
    });
  };

  // ------------------------------------------------------------------ keys

  /** The next visible field from `from` in direction `step` (the form always has one). */
  const nextField = (f: PaneForm, from: number, step: 1 | -1) => {
    const n = f.fields.length;
    for (let k = 1; k <= n; k++) {
      const i = (from + step * k + n * k) % n;
      if (fieldVisible(f, i)) return i;
    }
    return from;
  };

  const formKey = (name: string, input: string): boolean => {
    const f = get().form as PaneForm;
    const field = f.fields[f.focus];
    const change = (value: string) => set({ form: { ...f, fields: f.fields.map((x, i) => (i === f.focus ? { ...x, value } : x)) } });
    if (name === 'esc') set({ form: null });
    else if (name === 'enter') {
      set({ form: null });
      try {
        f.submit(f.fields.map((x) => x.value.trim()));
      } catch (e) {
        // Bad input: the form stays, with what was typed, behind the error dialog.
        set({ form: f });
        showError(f.title, e);
      }
    } else if (name === 'tab' || name === 'down') set({ form: { ...f, focus: nextField(f, f.focus, 1) } });
    else if (name === 'shift-tab' || name === 'up') set({ form: { ...f, focus: nextField(f, f.focus, -1) } });
    else if (field?.choices) {
      const i = field.choices.indexOf(field.value);
      const n = field.choices.length;
      if (name === ' ' || name === 'right' || name === 'l') change(field.choices[(i + 1) % n] ?? field.value);
      else if (name === 'left' || name === 'h') change(field.choices[(i - 1 + n) % n] ?? field.value);
    } else if (name === 'backspace' && field) change(field.value.slice(0, -1));
    else if (input && input.length >= 1 && !name.startsWith('ctrl-') && name === input && field) change(field.value + input);
    return true;
  };

  const reviewKey = (name: string): boolean => {
    const r = get().review as ReviewState;
    const page = 10;
    const scroll = (to: number) => set({ review: { ...r, offset: Math.max(0, Math.min(to, r.lines.length - 1)) } });
    if (name === 'esc' || name === 'q') {
      set({ review: null });
      say('Cancelled: nothing was changed.');
    } else if (name === 'enter') r.onEnter();
    else if (name === 'down' || name === 'j') scroll(r.offset + 1);
    else if (name === 'up' || name === 'k') scroll(r.offset - 1);
    else if (name === 'pagedown' || name === ' ') scroll(r.offset + page);
    else if (name === 'pageup') scroll(r.offset - page);
    else if (name === 'home' || name === 'g') scroll(0);
    else if (name === 'end' || name === 'G') scroll(r.lines.length - page);
    return true;
  };

  const jobKey = (name: string): boolean => {
    const job = get().job;
    if (!job) return false;
    if (!job.done && (name === 'c' || name === 'esc')) {
      jobAbort?.abort();
      say('Cancelling: the running step stops and what it made is removed…', 'busy');
    } else if (job.done && (name === 'esc' || name === 'enter' || name === 'q')) set({ job: null });
    return true;
  };

  const move = (m: Move) => {
    const s = get();
    const n = s.level === 'guests' ? lines().length : runLines(selectedGuest()?.backups ?? null).length;
    const next = Math.max(0, movedIndex(s.level === 'guests' ? s.guestIndex : s.runIndex, n, m));
    if (s.level === 'guests') set({ guestIndex: next });
    else set({ runIndex: next });
  };

  // The pane's screens hear a key through key() and the console through dispatch(), in either
  // order within one key event: a key key() consumed must not also act on the list behind.
  let consumed = false;
  const consume = (handled: boolean) => {
    if (handled) {
      consumed = true;
      setImmediate(() => {
        consumed = false;
      });
    }
    return handled;
  };

  const controller: BackupsController = {
    store,
    maxAgeDays: maxAge,
    detailLines: (s, names, now) => detailLines(s, names, now, maxAge()),
    key(name, input) {
      if (get().form) return consume(formKey(name, input));
      if (get().review) return consume(reviewKey(name));
      if (get().browser) return consume(browserKey(name));
      if (get().job) return consume(jobKey(name));
      return false;
    },
    dispatch(action: ActionId) {
      // The pane's own screens take every key through key(); the keymap must not act behind them.
      if (consumed || get().form || get().review || get().browser || get().job) return true;
      const m = moveFor(action);
      if (m !== null) {
        move(m);
        return true;
      }
      switch (action) {
        case 'backupsOpen':
          if (get().level === 'guests' && selectedGuest()) set({ level: 'runs', runIndex: 0 });
          return true;
        case 'backupsBack':
          if (get().level === 'runs') set({ level: 'guests' });
          return true;
        case 'backupNow':
          backupNow();
          return true;
        case 'backupVerify':
          verify();
          return true;
        case 'backupRestore':
          restore();
          return true;
        case 'backupFiles':
          openFiles();
          return true;
        case 'backupPrune':
          prune();
          return true;
        case 'backupDest':
          chooseDestination();
          return true;
        case 'backupSchedule':
          editSchedule();
          return true;
        case 'snapshotTake':
          takeSnapshot();
          return true;
        case 'snapshotRevert':
          revert();
          return true;
        case 'snapshotDelete':
          removeSnapshot();
          return true;
        case 'refresh':
          void reload();
          return true;
        default:
          return false;
      }
    },
    activate() {
      void reload();
    },
    start() {
      void offerRecovery();
      void loadSnapshots();
    },
    dispose() {
      jobAbort?.abort();
      closeBrowser();
    },
    completions() {
      return lines().map((l) => l.guest);
    },
  };
  return controller;
}
