/** The console's panes, in tab order. */
export type PaneId = 'guests' | 'disks' | 'backups' | 'host' | 'jobs';

export const PANES: { id: PaneId; title: string }[] = [
  { id: 'guests', title: 'Guests' },
  { id: 'disks', title: 'Disks' },
  { id: 'backups', title: 'Backups' },
  { id: 'host', title: 'Host' },
  { id: 'jobs', title: 'Jobs' },
];
