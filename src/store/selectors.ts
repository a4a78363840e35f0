import type { AppData, Dialog, ListedGuest, Mode } from './types.js';

/** What the guest selectors read: the all-hosts fields are absent where only one host is listed. */
export type GuestListView = Pick<AppData, 'guests' | 'filter'> & Partial<Pick<AppData, 'allHosts' | 'allGuests' | 'selectedHost'>>;

/** Rows shown under the current filter: a case-insensitive match on name, state, a MAC or (all hosts) the host. */
export function filterGuests<G extends ListedGuest>(guests: G[], filter: string): G[] {
  const f = filter.trim().toLowerCase();
  if (!f) return guests;
  return guests.filter((g) => g.name.toLowerCase().includes(f) || g.state.includes(f) || g.nics.some((n) => n.mac.toLowerCase().includes(f)) || Boolean(g.host?.toLowerCase().includes(f)));
}

/** The rows the Guests pane lists: every host's in the all-hosts view, else this host's. */
export function listedGuests(s: Pick<GuestListView, 'guests' | 'allHosts' | 'allGuests'>): ListedGuest[] {
  return s.allHosts && s.allGuests ? s.allGuests : s.guests;
}

/** The key a row is known by across refreshes: its name, and in the all-hosts view its host too. */
export function rowKey(host: string | undefined | null, name: string): string {
  return host ? `${host}\u0000${name}` : name;
}

/** Is `g` the row of guest `name` on `host` (null: any host)? */
export function isRow(g: ListedGuest, name: string | null, host: string | null | undefined): boolean {
  return g.name === name && (!host || g.host === undefined || g.host === host);
}

export function visibleGuests(s: GuestListView): ListedGuest[] {
  return filterGuests(listedGuests(s), s.filter);
}

export function selectedGuest(s: GuestListView & Pick<AppData, 'selected'>): ListedGuest | null {
  const rows = visibleGuests(s);
  return rows.find((g) => isRow(g, s.selected, s.selectedHost)) ?? rows[0] ?? null;
}

export function modeFor(dialogs: Dialog[], inputMode: AppData['inputMode']): Mode {
  const top = dialogs[dialogs.length - 1];
  if (!top) return inputMode;
  if (top.kind === 'confirm' || top.kind === 'typeName') return 'confirm';
  if (top.kind === 'settings' || top.kind === 'wizard') return 'form';
  return 'dialog';
}

/**
 * The guest a guest action is for: the one named, else the selected one; or why there is none.
 * In the all-hosts view a name on two hosts is the selected row's, and refused when neither
 * selected row has it: the action would otherwise pick a host for the admin.
 */
export function guestForAction(s: GuestListView & Pick<AppData, 'selected'>, name: string | null | undefined): { name: string; host?: string } | { problem: string } {
  const picked = selectedGuest(s);
  const chosen = name ?? picked?.name ?? null;
  if (!chosen) return { problem: 'No guest is selected.' };
  const rows = listedGuests(s).filter((g) => g.name === chosen);
  if (rows.length === 0) return { problem: `There is no guest called "${chosen}".` };
  if (rows.length === 1) return { name: chosen, ...(rows[0]?.host ? { host: rows[0].host } : {}) };
  if (picked?.name === chosen && picked.host) return { name: chosen, host: picked.host };
  return { problem: `${chosen} is on ${rows.length} hosts (${rows.map((g) => g.host).join(', ')}); select its row and press the key, or narrow to one host with H.` };
}
