import type { GuestRow } from '../host/virsh.js';
import type { AppData, Dialog, Mode } from './types.js';

/** Rows shown under the current filter: a case-insensitive match on name, state or a MAC. */
export function filterGuests(guests: GuestRow[], filter: string): GuestRow[] {
  const f = filter.trim().toLowerCase();
  if (!f) return guests;
  return guests.filter((g) => g.name.toLowerCase().includes(f) || g.state.includes(f) || g.nics.some((n) => n.mac.toLowerCase().includes(f)));
}

export function visibleGuests(s: Pick<AppData, 'guests' | 'filter'>): GuestRow[] {
  return filterGuests(s.guests, s.filter);
}

export function selectedGuest(s: Pick<AppData, 'guests' | 'filter' | 'selected'>): GuestRow | null {
  const rows = visibleGuests(s);
  return rows.find((g) => g.name === s.selected) ?? rows[0] ?? null;
}

export function modeFor(dialogs: Dialog[], inputMode: AppData['inputMode']): Mode {
  const top = dialogs[dialogs.length - 1];
  if (!top) return inputMode;
  if (top.kind === 'confirm' || top.kind === 'typeName') return 'confirm';
  if (top.kind === 'settings' || top.kind === 'wizard') return 'form';
  return 'dialog';
}

/** The guest a guest action is for: the one named, else the selected one; or why there is none. */
export function guestForAction(s: Pick<AppData, 'guests' | 'filter' | 'selected'>, name: string | null | undefined): { name: string } | { problem: string } {
  const chosen = name ?? selectedGuest(s)?.name ?? null;
  if (!chosen) return { problem: 'No guest is selected.' };
  if (!s.guests.some((g) => g.name === chosen)) return { problem: `There is no guest called "${chosen}".` };
  return { name: chosen };
}
