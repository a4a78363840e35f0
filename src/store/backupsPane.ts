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
import type { CatalogRun } from '../model/backupManifest.js';
import type { Progress } from '../model/progress.js';
import { formatAge, revertLoss, staleSnapshotWarning } from '../model/snapshotPlan.js';
import type { ActionId } from '../ui/keymap.js';
import type { AppStore } from './appStore.js';
import { toShownError } from './appStore.js';
import type { PaneController } from './panes.js';
import { setGuestNotes } from './warnings.js';

export interface BackupFsEntry {
  name: string;
  type: 'dir' | 'file' | 'link' | 'other';
  size: number;
}

/** A read-only look into the filesystems of one backup run (libguestfs behind it). */
export interface BackupFs {
  list(path: string): Promise<BackupFsEntry[]>;
  extract(paths: string[], hostDir: string): Promise<void>;
  close(): Promise<void>;
}

export interface BackupSettings {
  destinations: string[];
  defaultDestination?: string;
  snapshotMaxAgeDays: number;
}

export interface BackupsDeps {
  settings(): BackupSettings;
  stateDir(): string;
  readCatalog(host: HostContext, dest: string): Promise<GuestBackups[]>;
  snapshotsOf(host: HostContext, guests: { name: string; uuid: string }[]): Promise<Map<string, SnapshotInfo[]>>;
  runBackup?(host: HostContext, o: { guests: string[]; dest: string; signal: AbortSignal; onEvent: (e: BackupEvent) => void }): Promise<{ guests: { guest: string; ok: boolean; state: string; error?: { sentence: string } }[] }>;
  verify?(host: HostContext, o: { dest: string; guest: string; run: string; signal?: AbortSignal }): Promise<{ run: string; ok: boolean; findings: string[] }[]>;
  restore?(host: HostContext, o: { dest: string; guest: string; run: string; asName: string | null }): Promise<string>;
  prune?(host: HostContext, o: { dest: string; guest: string; dryRun: boolean }): Promise<{ remove: string[] }>;
  openBackupFs?(host: HostContext, o: { dest: string; guest: string; run: string }): Promise<BackupFs>;
  /** "nightly 01:30 → next in 5 h 12 min", or null when no schedule is installed. */
  scheduleLine?(host: HostContext, now: Date): Promise<string | null>;
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
}

export interface FormField {
  label: string;
  value: string;
}

export interface PaneForm {
  title: string;
  lines: string[];
  fields: FormField[];
  focus: number;
  submit: (values: string[]) => void;
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
  schedule: string | null;
  job: { title: string; rows: JobRow[]; done: boolean; summary: string | null } | null;
  browser: BrowserState | null;
  form: PaneForm | null;
}

export type BackupsStore = StoreApi<BackupsPaneState>;

/** The restore engineer's filesystem API (device + path) as one tree: with several filesystems each is a top directory. */
interface DeviceFs {
  filesystems(): Promise<{ device: string; type: string; mountable: boolean }[]>;
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
      for (const p of paths) {
        const at = locate(p);
        if (at) await dfs.extract(at.device, [at.path], hostDir);
      }
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
      const runDir = await fr.runDirOf(host, o.dest, o.guest, o.run);
      return pathsOverFilesystems(await fr.openBackupFs(host, runDir));
    },
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
  }));
  let fs: BackupFs | null = null;
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
    if (deps.scheduleLine) deps.scheduleLine(host, new Date()).then((schedule) => set({ schedule }), () => set({ schedule: null }));
    if (!dest) return;
    try {
      set({ catalog: await deps.readCatalog(host, dest), loading: false });
    } catch (e) {
      set({ catalog: [], loading: false, error: toShownError(e).sentence });
    }
  };

  const notWired = (what: string, command: string) => say(`${what} from the console is not available in this build; run: ${command}`, 'error');

  // ------------------------------------------------------------------ jobs with progress rows

  const startJob = (title: string, rows: JobRow[]) => {
    jobAbort = new AbortController();
    set({ job: { title, rows, done: false, summary: null } });
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

  const restore = () => {
    const dest = get().dest;
    const g = selectedGuest();
    const run = get().level === 'runs' ? selectedRun() : null;
    if (!dest || !g || !run) return say('Open a guest (Enter) and select the run to restore.', 'error');
    if (run.status !== 'good') return say(`${run.name} is ${run.status} and cannot be restored.`, 'error');
    if (!deps.restore) return notWired('Restore', `virtdeck backup restore ${g.guest} --run ${run.name} --dest ${dest} [--as NEWNAME]`);
    const doRestore = deps.restore;
    set({
      form: {
        title: `Restore ${g.guest} from ${run.name}`,
        lines: ['Leave the name as it is to restore over the guest (it must be shut off; its disks are kept aside until the restore succeeded),', 'or type a new name to restore a copy (new UUID and MACs).'],
        fields: [{ label: 'Name', value: g.guest }],
        focus: 0,
        submit: ([name]) => {
          const asName = name && name !== g.guest ? name : null;
          startJob(`Restore ${g.guest} ${run.name}${asName ? ` as ${asName}` : ''}`, [{ label: asName ?? g.guest, state: 'running', progress: null }]);
          doRestore(host, { dest, guest: g.guest, run: run.name, asName }).then(
            (msg) => {
              updateRow(asName ?? g.guest, { state: 'done' });
              endJob(msg);
              void app.getState().refresh();
            },
            (e) => {
              updateRow(asName ?? g.guest, { state: 'failed' });
              endJob(toShownError(e).sentence);
            },
          );
        },
      },
    });
  };

  const prune = () => {
    const dest = get().dest;
    const g = selectedGuest();
    if (!dest || !g) return;
    if (!deps.prune) return notWired('Prune', `virtdeck backup prune --dest ${dest} ${g.guest} --dry-run`);
    const doPrune = deps.prune;
    say(`Working out what retention would delete for ${g.guest}…`, 'busy');
    doPrune(host, { dest, guest: g.guest, dryRun: true }).then(
      (plan) => {
        if (plan.remove.length === 0) return say(`Retention keeps every run of ${g.guest}; nothing to prune.`);
        app.getState().pushDialog({
          kind: 'confirm',
          title: `Prune ${g.guest}`,
          lines: [`These ${plan.remove.length} runs of ${g.guest} will be deleted from ${dest}:`, ...plan.remove.map((r) => `  ${r}`), 'Runs a kept incremental needs are never deleted.'],
          yes: `delete ${plan.remove.length} runs`,
          onYes: () =>
            doPrune(host, { dest, guest: g.guest, dryRun: false }).then(
              (done) => {
                say(`Deleted ${done.remove.length} runs of ${g.guest}.`);
                void reload();
              },
              (e) => showError(`Could not prune ${g.guest}`, e),
            ),
        });
      },
      (e) => showError(`Could not work out what to prune for ${g.guest}`, e),
    );
  };

  // ------------------------------------------------------------------ file browser

  const browse = async (path: string) => {
    const b = get().browser;
    if (!b || !fs) return;
    set({ browser: { ...b, loading: true } });
    try {
      const entries = await fs.list(path);
      set({ browser: { ...b, path, entries: entries.sort((x, y) => (x.type === 'dir' ? 0 : 1) - (y.type === 'dir' ? 0 : 1) || x.name.localeCompare(y.name)), index: 0, loading: false } });
    } catch (e) {
      set({ browser: { ...b, loading: false } });
      showError(`Could not list ${path}`, e);
    }
  };

  const openFiles = () => {
    const dest = get().dest;
    const g = selectedGuest();
    const run = get().level === 'runs' ? selectedRun() : g?.last ? { name: g.last.name, status: 'good' as const } : null;
    if (!dest || !g || !run) return say('Select a run to browse.', 'error');
    if (run.status !== 'good') return say(`${run.name} is ${run.status} and cannot be browsed.`, 'error');
    if (!deps.openBackupFs) return notWired('The file browser', `virtdeck backup files ${g.guest} --run ${run.name} --dest ${dest} /`);
    say(`Opening the filesystems of ${g.guest} ${run.name} (libguestfs, read-only; takes a few seconds)…`, 'busy');
    deps.openBackupFs(host, { dest, guest: g.guest, run: run.name }).then(
      (opened) => {
        fs = opened;
        set({ browser: { guest: g.guest, run: run.name, path: '/', entries: [], index: 0, marked: [], loading: true } });
        app.getState().setMessage('Enter opens a directory, Backspace goes up, Space marks, x extracts, Esc closes.');
        void browse('/');
      },
      (e) => showError(`Could not open the backup ${run.name} of ${g.guest}`, e),
    );
  };

  const closeBrowser = () => {
    const f = fs;
    fs = null;
    set({ browser: null });
    void f?.close().catch(() => undefined);
  };

  const join = (dir: string, name: string) => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);
  const parent = (dir: string) => dir.replace(/\/[^/]+\/?$/, '') || '/';

  const browserKey = (name: string): boolean => {
    const b = get().browser as BrowserState;
    const entry = b.entries[b.index];
    if (name === 'up' || name === 'k') set({ browser: { ...b, index: clampIndex(b.index - 1, b.entries.length) } });
    else if (name === 'down' || name === 'j') set({ browser: { ...b, index: clampIndex(b.index + 1, b.entries.length) } });
    else if ((name === 'enter' || name === 'l' || name === 'right') && entry?.type === 'dir') void browse(join(b.path, entry.name));
    else if (name === 'backspace' || name === 'h' || name === 'left') {
      if (b.path !== '/') void browse(parent(b.path));
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
            if (!dir?.startsWith('/')) return say('Give an absolute host directory, e.g. /root/restored.', 'error');
            say(`Extracting to ${dir}…`, 'busy');
            fs?.extract(paths, dir).then(
              () => {
                say(`Extracted ${paths.length} item${paths.length === 1 ? '' : 's'} to ${dir}.`);
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

  const formKey = (name: string, input: string): boolean => {
    const f = get().form as PaneForm;
    const field = f.fields[f.focus];
    if (name === 'esc') set({ form: null });
    else if (name === 'enter') {
      set({ form: null });
      f.submit(f.fields.map((x) => x.value.trim()));
    } else if (name === 'tab' || name === 'down') set({ form: { ...f, focus: (f.focus + 1) % f.fields.length } });
    else if (name === 'shift-tab' || name === 'up') set({ form: { ...f, focus: (f.focus - 1 + f.fields.length) % f.fields.length } });
    else if (name === 'backspace' && field) set({ form: { ...f, fields: f.fields.map((x, i) => (i === f.focus ? { ...x, value: x.value.slice(0, -1) } : x)) } });
    else if (input && input.length >= 1 && !name.startsWith('ctrl-') && name === input && field) {
      set({ form: { ...f, fields: f.fields.map((x, i) => (i === f.focus ? { ...x, value: x.value + input } : x)) } });
    }
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

  const move = (delta: number | 'top' | 'bottom') => {
    const s = get();
    const n = s.level === 'guests' ? lines().length : runLines(selectedGuest()?.backups ?? null).length;
    const cur = s.level === 'guests' ? s.guestIndex : s.runIndex;
    const next = delta === 'top' ? 0 : delta === 'bottom' ? n - 1 : cur + delta;
    if (s.level === 'guests') set({ guestIndex: clampIndex(next, n) });
    else set({ runIndex: clampIndex(next, n) });
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
      if (get().browser) return consume(browserKey(name));
      if (get().job) return consume(jobKey(name));
      return false;
    },
    dispatch(action: ActionId) {
      // The pane's own screens take every key through key(); the keymap must not act behind them.
      if (consumed || get().form || get().browser || get().job) return true;
      switch (action) {
        case 'up':
          move(-1);
          return true;
        case 'down':
          move(1);
          return true;
        case 'top':
          move('top');
          return true;
        case 'bottom':
          move('bottom');
          return true;
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
