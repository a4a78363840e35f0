/**
 * The shape of what every Backups flow receives (built by context.ts). Apart from its builder so
 * the flows the builder wires in (loading.ts) can name it without importing the builder.
 */
import type { HostContext } from '../../host/hostContext.js';
import type { AppStore } from '../appState.js';
import type { BackupsDeps } from './deps.js';
import type { GuestLine, RunLine } from './selectors.js';
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
