/** The console's panes, in tab order. */
export type PaneId = 'guests' | 'disks' | 'backups' | 'host' | 'jobs';

/** `filter`: whether `/` filters the pane's list (the console's one filter); the others say they have none. */
export const PANES: { id: PaneId; title: string; filter: boolean }[] = [
  { id: 'guests', title: 'Guests', filter: true },
  { id: 'disks', title: 'Disks', filter: true },
  { id: 'backups', title: 'Backups', filter: true },
  { id: 'host', title: 'Host', filter: true },
  { id: 'jobs', title: 'Jobs', filter: false },
];

export const paneFilters = (id: PaneId): boolean => PANES.find((p) => p.id === id)?.filter ?? false;
