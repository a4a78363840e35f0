/**
 * What the Backups pane needs from the job modules, as one injectable object: UI tests pass fakes,
 * the console passes defaultBackupsDeps(). Heavy job modules load on first use so the console
 * starts fast.
 */
import { saveBackupDestination } from '../../config/configWrite.js';
import { stateDir as defaultStateDir } from '../../config/paths.js';
import type { HostContext } from '../../host/hostContext.js';
import { type SnapshotInfo, snapshotsOfGuests } from '../../host/snapshots.js';
import type { GuestRow } from '../../host/virsh.js';
import { type BackupEvent, loadBackupConfig } from '../../jobs/backup.js';
import { type GuestBackups, readCatalog } from '../../jobs/backupCatalog.js';
import type { copyRuns as copyRunsJob } from '../../jobs/backupCopy.js';
import type { FetchedRun } from '../../jobs/copyFetch.js';
import { readCopies } from '../../jobs/copyState.js';
import type { runDrill as runDrillJob } from '../../jobs/drill.js';
import type {
  discardInstant as discardInstantJob,
  finishInstant as finishInstantJob,
  InstantListEntry,
  prepareDiscard as prepareDiscardJob,
  prepareFinish as prepareFinishJob,
  prepareInstant as prepareInstantJob,
  runInstant as runInstantJob,
} from '../../jobs/instant.js';
import type { prune as pruneJob } from '../../jobs/prune.js';
import { detectRecovery, type RecoveryItem, resolveRecovery } from '../../jobs/recovery.js';
import type { prepareRestore as prepareRestoreJob, restore as restoreJob } from '../../jobs/restore.js';
import type { installSchedule as installScheduleJob, removeSchedule as removeScheduleJob, ScheduleStatus } from '../../jobs/schedule.js';
import { createSnapshot, deleteSnapshot, revertSnapshot } from '../../jobs/snapshot.js';
import type { CopyRecord, CopyTarget } from '../../model/copyTarget.js';
import type { DrillResult } from '../../model/drill.js';
import type { RetentionPolicy } from '../../model/retention.js';
import type { JobControllerOptions } from '../jobs/jobController.js';
import { type BackupFs, pathsOverFilesystems } from './backupFs.js';

export interface BackupSettings {
  destinations: string[];
  defaultDestination?: string;
  retention?: RetentionPolicy;
  snapshotMaxAgeDays: number;
  /** backup.copyTargets: where O copies a run offsite. */
  copyTargets?: CopyTarget[];
}

export interface BackupsDeps {
  settings(): BackupSettings;
  /** Saves the destination `d` chose as the one a new session starts on; returns the file written. */
  saveDestination?(dir: string): string;
  stateDir(): string;
  readCatalog(host: HostContext, dest: string): Promise<GuestBackups[]>;
  snapshotsOf(host: HostContext, guests: { name: string; uuid: string }[]): Promise<Map<string, SnapshotInfo[]>>;
  runBackup?(host: HostContext, o: { guests: string[]; dest: string; signal: AbortSignal; onEvent: (e: BackupEvent) => void }): Promise<{ guests: { guest: string; ok: boolean; state: string; error?: { sentence: string } }[] }>;
  verify?(host: HostContext, o: { dest: string; guest: string; run: string; signal?: AbortSignal }): Promise<{ run: string; ok: boolean; findings: string[] }[]>;
  prepareRestore?: typeof prepareRestoreJob;
  restore?: typeof restoreJob;
  /** R's third mode: start a copy straight from the run (overlays; nothing copied). */
  prepareInstant?: typeof prepareInstantJob;
  runInstant?: typeof runInstantJob;
  /** The copies started from a backup on this host (`backup instant list`), and F / D on one of them. */
  listInstant?(host: HostContext, o: { stateDir: string }): Promise<InstantListEntry[]>;
  prepareFinish?: typeof prepareFinishJob;
  finishInstant?: typeof finishInstantJob;
  prepareDiscard?: typeof prepareDiscardJob;
  discardInstant?: typeof discardInstantJob;
  /** The recorded restore drills (drills.json), for "restorable, proven 3 days ago". */
  readDrills?(stateDir: string): Promise<DrillResult[]>;
  /** K: a restore drill of the selected guest's newest run. */
  runDrill?: typeof runDrillJob;
  prune?: typeof pruneJob;
  /** O: send a run (and what it builds on) to a copy target, verified there. */
  copyRuns?: typeof copyRunsJob;
  /** Which runs have verified copies on which target (STATE/copies.json). */
  readCopies?(stateDir: string): Record<string, CopyRecord[]>;
  /**
   * One libguestfs session for the whole time the browser is open. With `from`, the run is read from
   * that copy target (restic: through restic mount where FUSE works) and closing releases it.
   */
  openBackupFs?(host: HostContext, o: { dest: string; guest: string; run: string; signal?: AbortSignal; from?: CopyTarget; stateDir?: string }): Promise<BackupFs>;
  /** R from a copy target: the run brought back where restore and instant recovery read it (copyFetch.fetchRun). */
  fetchCopy?(host: HostContext, target: CopyTarget, guest: string, run: string, o: { signal?: AbortSignal; stateDir?: string; onBytes?: (bytes: number) => void }): Promise<FetchedRun>;
  scheduleStatus?(host: HostContext): Promise<ScheduleStatus>;
  installSchedule?(host: HostContext, wanted: Parameters<typeof installScheduleJob>[1], o: { dryRun?: boolean }): ReturnType<typeof installScheduleJob>;
  removeSchedule?(host: HostContext, o: { dryRun?: boolean }): ReturnType<typeof removeScheduleJob>;
  detectRecovery(host: HostContext, o: { stateDir: string; guests: GuestRow[] }): Promise<RecoveryItem[]>;
  resolveRecovery: typeof resolveRecovery;
  createSnapshot: typeof createSnapshot;
  revertSnapshot: typeof revertSnapshot;
  deleteSnapshot: typeof deleteSnapshot;
  /** b on a job run here: a worker takes its journal over (tests stand in for it; default jobs/detached.startWorker). */
  handOver?: JobControllerOptions['handOver'];
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
    saveDestination: (dir) => saveBackupDestination(dir),
    stateDir: () => defaultStateDir(),
    readCatalog: (host, dest) => readCatalog(host.sysExec, dest),
    snapshotsOf: snapshotsOfGuests,
    runBackup: async (host, o) => (await import('../../jobs/backup.js')).runBackup(host, o),
    verify: async (host, o) => (await import('../../jobs/backupVerify.js')).verifyRun(host, { ...o, trust: { stateDir: defaultStateDir(), uri: host.uri } }),
    openBackupFs: async (host, o) => {
      const fr = await import('../../jobs/fileRestore.js');
      const copy = o.from ? await (await import('../../jobs/resticMount.js')).openCopyForFiles(host, o.from, o.guest, o.run, { signal: o.signal, stateDir: o.stateDir }) : null;
      const dest = copy?.dest ?? o.dest;
      const run = copy?.run ?? o.run;
      const release = async () => copy?.cleanup();
      let opened: Awaited<ReturnType<typeof fr.openBackupFs>>;
      try {
        const { runDir } = await fr.runDamage(host, dest, o.guest, run, o.signal);
        opened = await fr.openBackupFs(host, runDir, undefined, o.signal);
      } catch (e) {
        await release();
        throw e;
      }
      try {
        const tree = await pathsOverFilesystems(opened);
        // Nothing is copied out before the run's images were read once and matched their manifest.
        return {
          ...tree,
          ...(copy ? { source: copy.via } : {}),
          extract: async (paths, hostDir) => {
            await fr.checkRunForExtract(host, { dest, guest: o.guest, run, allowDamaged: false });
            return tree.extract(paths, hostDir);
          },
          close: async () => {
            try {
              await tree.close();
            } finally {
              await release();
            }
          },
        };
      } catch (e) {
        await opened.close().catch(() => undefined);
        await release();
        throw e;
      }
    },
    fetchCopy: async (host, target, guest, run, o) => {
      const cf = await import('../../jobs/copyFetch.js');
      return cf.fetchRun(host, target, guest, run, { ...o, stagingRoot: cf.stagingRoot(o.stateDir) });
    },
    prepareRestore: async (...a) => (await import('../../jobs/restore.js')).prepareRestore(...a),
    restore: async (...a) => (await import('../../jobs/restore.js')).restore(...a),
    prepareInstant: async (...a) => (await import('../../jobs/instant.js')).prepareInstant(...a),
    runInstant: async (...a) => (await import('../../jobs/instant.js')).runInstant(...a),
    listInstant: async (host, o) => (await import('../../jobs/instant.js')).listInstant(host, o),
    prepareFinish: async (...a) => (await import('../../jobs/instant.js')).prepareFinish(...a),
    finishInstant: async (...a) => (await import('../../jobs/instant.js')).finishInstant(...a),
    prepareDiscard: async (...a) => (await import('../../jobs/instant.js')).prepareDiscard(...a),
    discardInstant: async (...a) => (await import('../../jobs/instant.js')).discardInstant(...a),
    runDrill: async (...a) => (await import('../../jobs/drill.js')).runDrill(...a),
    readDrills: async (dir) => (await import('../../jobs/drill.js')).readDrills(dir),
    prune: async (...a) => (await import('../../jobs/prune.js')).prune(...a),
    copyRuns: async (...a) => (await import('../../jobs/backupCopy.js')).copyRuns(...a),
    readCopies: (dir) => readCopies(dir),
    scheduleStatus: async (host) => (await import('../../jobs/schedule.js')).scheduleStatus(host, { stateDir: defaultStateDir() }),
    installSchedule: async (host, wanted, o) => (await import('../../jobs/schedule.js')).installSchedule(host, wanted, o),
    removeSchedule: async (host, o) => (await import('../../jobs/schedule.js')).removeSchedule(host, o),
    detectRecovery: (host, o) => detectRecovery(host, o),
    resolveRecovery,
    createSnapshot,
    revertSnapshot,
    deleteSnapshot,
  };
}
