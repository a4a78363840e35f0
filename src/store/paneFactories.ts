/**
 * The panes built so far, by id. A pane not listed here shows its placeholder. One line per pane,
 * so each pane's code stays in its own files.
 */
import { createBackupsController } from './backupsPane.js';
import { createDisksPaneController } from './disksPane.js';
import { createHostPaneController } from './hostPane.js';
import { createJobsPaneController } from './jobsPane.js';
import type { PaneFactories } from './panes.js';

export const PANE_FACTORIES: PaneFactories = {
  disks: (host, app) => createDisksPaneController(host, app),
  backups: (host, app) => createBackupsController(host, app),
  host: (host, app) => createHostPaneController(host, app),
  jobs: (host, app) => createJobsPaneController(host, app),
};
