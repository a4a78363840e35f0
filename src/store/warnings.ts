import type { GuestRow } from '../host/virsh.js';

/** Sentences other panes know about a guest (the Backups pane: snapshots kept too long), by name. */
export type GuestNotes = (guest: string) => string[];
let guestNotes: GuestNotes = () => [];
let notesVersion = 0;
const notesListeners = new Set<() => void>();

/** Set by the pane that knows (one console per process). */
export function setGuestNotes(notes: GuestNotes): void {
  guestNotes = notes;
  notesVersion++;
  for (const l of notesListeners) l();
}

/**
 * For a view that shows the notes: they change apart from the guest list (the Backups pane reads
 * the snapshots after the first refresh), and the detail strip is drawn only when its guest changed.
 */
export function subscribeGuestNotes(onChange: () => void): () => void {
  notesListeners.add(onChange);
  return () => notesListeners.delete(onChange);
}

export function guestNotesVersion(): number {
  return notesVersion;
}

/** Things an admin should know about a guest, as sentences. */
export function guestWarnings(g: GuestRow, all: GuestRow[]): string[] {
  const w: string[] = [];
  if (!g.persistent) w.push(`${g.name} is transient: it disappears when it stops.`);
  if (!g.disks.some((d) => d.device === 'disk')) w.push('No disk is attached, so it can only boot from CD-ROM or network.');
  for (const d of g.disks) {
    if (d.device === 'disk' && !d.source) w.push(`Disk ${d.target} has no image behind it.`);
  }
  for (const n of g.nics) {
    const twin = all.find((o) => o.name !== g.name && o.nics.some((m) => m.mac.toLowerCase() === n.mac.toLowerCase()));
    if (twin) w.push(`MAC ${n.mac} is also used by ${twin.name}; both on one network will fight over it.`);
  }
  if (g.nics.length === 0) w.push('No network interface.');
  if (g.state === 'crashed') w.push(`${g.name} crashed; its QEMU log (L) says why.`);
  // What another pane knows (a snapshot kept for weeks) matters more than the hardware notes.
  return [...guestNotes(g.name), ...w];
}
