/**
 * "Is this disk in use?", asked the same way by every action that deletes, replaces or rewrites
 * an image (delete, convert with removal or repoint, restore over a disk, expand), from the CLI
 * and the console alike. Guests' disks come from the definitions of every guest, running or not
 * (two virsh processes whatever their number); the comparison is by file, not by name.
 */
import { fileIdentities } from '../host/fileIdentity.js';
import type { HostContext } from '../host/hostContext.js';
import { type GuestRow, listGuests } from '../host/virsh.js';
import { guestSources, type IdentityMap, type ImageUser, usersOf, userText } from '../model/fileIdentity.js';
import { UserError } from '../model/userError.js';

export type { ImageUser };

export interface UsersOptions {
  /** Guests already read in this look; read afresh when absent. */
  guests?: GuestRow[];
  signal?: AbortSignal;
}

/** The guests using each path, under whatever name they give it (every path asked is a key), and what each path is. */
export async function lookUpImages(host: HostContext, paths: string[], opts: UsersOptions = {}): Promise<{ byPath: Map<string, ImageUser[]>; ids: IdentityMap }> {
  const guests = opts.guests ?? (await listGuests(host));
  const ids = await fileIdentities(host.sysExec, [...paths, ...guestSources(guests)], opts.signal);
  return { byPath: new Map(paths.map((p) => [p, usersOf(p, guests, ids)])), ids };
}

/** Each guest disk that is one of `paths` (a vmdk's descriptor and extents are one image), once. */
export function distinctUsers(byPath: Map<string, ImageUser[]>): ImageUser[] {
  const seen = new Set<string>();
  const all: ImageUser[] = [];
  for (const users of byPath.values()) {
    for (const u of users) {
      const key = `${u.guest}\u0000${u.target}`;
      if (seen.has(key)) continue;
      seen.add(key);
      all.push(u);
    }
  }
  return all;
}

export async function usersOfFiles(host: HostContext, paths: string[], opts: UsersOptions = {}): Promise<ImageUser[]> {
  return distinctUsers((await lookUpImages(host, paths, opts)).byPath);
}

/**
 * The refusal for an action on a file a running guest has open: it names the guest, the disk and
 * the guest's own name for the file, and the two ways out.
 */
export function inUseRefusal(running: ImageUser[], path: string, what: string): UserError | null {
  const first = running[0];
  if (!first) return null;
  const who = running.map((u) => userText(u, path)).join(', ');
  return new UserError(
    `${path} is in use as a disk of ${who}, which ${running.length === 1 ? 'is' : 'are'} ${first.state}, so virtdeck does not ${what} it.`,
    `Shut ${first.guest} down first (virtdeck guest shutdown ${first.guest}), or detach the disk from it (virtdeck disk detach ${first.guest} ${first.target}).`,
  );
}

/**
 * Refuses (UserError) when a running guest uses any of `paths`; returns every user, shut-off ones
 * included, for the confirmation to name.
 */
export async function refuseRunningUsers(host: HostContext, paths: string[], what: string, opts: UsersOptions = {}): Promise<ImageUser[]> {
  const users = await usersOfFiles(host, paths, opts);
  const refusal = inUseRefusal(users.filter((u) => u.running), paths[0] ?? '', what);
  if (refusal) throw refusal;
  return users;
}
