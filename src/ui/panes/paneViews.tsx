/**
 * The view of each pane beyond Guests, by id: it fills the area between the tabs and the footer (its own
 * detail strip included) and reads its controller from the app store (`useApp(s => s.panes.x)`).
 */
import type { ComponentType } from 'react';
import type { PaneId } from '../../store/paneIds.js';
import { BackupsPane } from './BackupsPane.js';
import { DisksPane } from './DisksPane.js';
import { HostPane } from './HostPane.js';
import { JobsPane } from './JobsPane.js';
import type { PaneViewProps } from './paneViewProps.js';

export const PANE_VIEWS: Record<Exclude<PaneId, 'guests'>, ComponentType<PaneViewProps>> = {
  disks: DisksPane,
  backups: BackupsPane,
  host: HostPane,
  jobs: JobsPane,
};
