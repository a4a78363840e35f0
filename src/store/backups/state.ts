/** The Backups pane's own store: what its list and screens (job, browser, form, review) show. */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { SnapshotInfo } from '../../host/snapshots.js';
import type { GuestBackups } from '../../jobs/backupCatalog.js';
import type { InstantListEntry } from '../../jobs/instant.js';
import type { ScheduleStatus } from '../../jobs/schedule.js';
import type { CopyRecord } from '../../model/copyTarget.js';
import type { DrillResult } from '../../model/drill.js';
import type { ToneLine } from '../backupsText.js';
import type { Form } from '../form.js';
import type { RunView } from '../jobs/runView.js';
import type { BackupFsEntry } from './backupFs.js';

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
  /** The copy target the run is read from (absent: the destination), and how it was reached. */
  from?: string;
  source?: string;
}

/** A small form of the pane: what it is for, then its fields (the one form model). */
export interface PaneForm {
  title: string;
  lines: string[];
  form: Form;
  /** Values of every field by id (hidden ones too), trimmed. A UserError thrown here keeps the form open behind the error dialog. */
  submit: (values: Record<string, string>) => void;
}

/** A read-through screen before a change: what will run, scrolled with ↑/↓; Enter goes on. */
export interface ReviewState {
  title: string;
  lines: ToneLine[];
  offset: number;
  /** What Enter does here, for its hint; none when Enter is refused (a damaged run). */
  enter: 'confirm' | 'delete' | 'write' | 'close' | null;
  onEnter: () => void;
  /** Esc left the review: gives back what it held (a copy brought back for it). */
  onCancel?: () => void;
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
  /** Guests started from a backup on this host (`backup instant`); null until read. */
  instant: InstantListEntry[] | null;
  /** Recorded restore drills (every host and destination; the selectors pick). */
  drills: DrillResult[];
  /** Verified offsite copies by copy target (the private state file; see jobs/copyState.ts). */
  copies: Record<string, CopyRecord[]>;
  /** The job on screen (the one job controller's view). */
  job: RunView | null;
  browser: BrowserState | null;
  form: PaneForm | null;
  review: ReviewState | null;
}

export type BackupsStore = StoreApi<BackupsPaneState>;

export function createBackupsStore(): BackupsStore {
  return createStore<BackupsPaneState>()(() => ({
    dest: null,
    catalog: [],
    loading: false,
    error: null,
    level: 'guests',
    guestIndex: 0,
    runIndex: 0,
    snapshots: {},
    schedule: null,
    instant: null,
    drills: [],
    copies: {},
    job: null,
    browser: null,
    form: null,
    review: null,
  }));
}
