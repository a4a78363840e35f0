/**
 * The view of each pane beyond Guests, by id: it fills the area between the tabs and the footer (its own
 * detail strip included) and reads its controller from the app store (`useApp(s => s.panes.x)`).
 */
import { type ComponentType, lazy } from 'react';
import type { PaneId } from '../../store/paneIds.js';
import type { PaneViewProps } from './paneViewProps.js';

// Each view is loaded the first time its pane is shown (App.tsx draws a line meanwhile): a console
// that stays on the Guests pane does not carry them (store/onFirstUse.ts says why).
export const PANE_VIEWS: Record<Exclude<PaneId, 'guests'>, ComponentType<PaneViewProps>> = {
  disks: lazy(() => import('./DisksPane.js').then((m) => ({ default: m.DisksPane }))),
  backups: lazy(() => import('./BackupsPane.js').then((m) => ({ default: m.BackupsPane }))),
  host: lazy(() => import('./HostPane.js').then((m) => ({ default: m.HostPane }))),
  jobs: lazy(() => import('./JobsPane.js').then((m) => ({ default: m.JobsPane }))),
};
