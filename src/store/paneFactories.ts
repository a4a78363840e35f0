/**
 * The panes, by id. A pane not listed here shows its placeholder. One line per pane,
 * so each pane's code stays in its own files.
 */
import type { HostContext } from '../host/hostContext.js';
import type { AppStore } from './appState.js';
import { createBackupsController } from './backupsPane.js';
import { createDisksPaneController } from './disksPane.js';
import { createGuestsPaneController, type GuestsPaneOptions } from './guestsPane.js';
import { createHostPaneController } from './hostPane.js';
import { createJobsPaneController } from './jobsPane.js';
import type { PaneId } from './paneIds.js';
import type { PaneController } from './panes.js';

/**
 * Each pane is made from the host and the console's store, which it reaches back into for dialogs
 * and messages; `opts` are the console's options a pane may need (the Guests pane's shutdown wait).
 */
export type PaneFactory = (host: HostContext, app: AppStore, opts?: GuestsPaneOptions) => PaneController;
export type PaneFactories = Partial<Record<PaneId, PaneFactory>>;

export const PANE_FACTORIES: PaneFactories = {
  guests: (host, app, opts) => createGuestsPaneController(host, app, opts),
  disks: (host, app) => createDisksPaneController(host, app),
  backups: (host, app) => createBackupsController(host, app),
  host: (host, app) => createHostPaneController(host, app),
  jobs: (host, app) => createJobsPaneController(host, app),
};
