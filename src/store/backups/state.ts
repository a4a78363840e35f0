/** The Backups pane's own store: what its list and screens (job, browser, form, review) show. */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { SnapshotInfo } from '../../host/snapshots.js';
import type { GuestBackups } from '../../jobs/backupCatalog.js';
import type { ScheduleStatus } from '../../jobs/schedule.js';
import type { Progress } from '../../model/progress.js';
import type { ToneLine } from '../backupsText.js';
import type { BackupFsEntry } from './backupFs.js';

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
    job: null,
    browser: null,
    form: null,
    review: null,
  }));
}
