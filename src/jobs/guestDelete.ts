/**
 * "Delete a guest and its disks", the same from the Guests pane and `virtdeck guest undefine
 * --remove-disks`. virsh's --remove-all-storage removes only storage-pool volumes (for a plain
 * file it prints an error and still exits 0), so virtdeck removes the files itself: only the
 * files the guest's definition names (and a vmdk's extents inside its own directory), only
 * regular files, never one another guest uses, and it reports each file it could not remove.
 */
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import { readFileHead } from '../host/imageInspect.js';
import * as virsh from '../host/virsh.js';
import { isActive } from '../model/guest.js';
import { UserError } from '../model/userError.js';
import { deleteTargets } from './diskActions.js';
import { lookUpImages } from './diskUsers.js';

/** The image files a guest's definition names: the sources of its disks (not CD-ROMs), once each. */
export function guestDiskSources(guest: Pick<virsh.GuestRow, 'disks'>): string[] {
  return [...new Set(guest.disks.filter((d) => d.device === 'disk' && d.source).map((d) => d.source as string))];
}

export interface NotDeleted {
  path: string;
  why: string;
}

export interface GuestDeleteResult {
  /** Every file removed. */
  deleted: string[];
  /** Every file of the guest left in place, with the reason. */
  notDeleted: NotDeleted[];
}

export interface GuestDeleteOptions {
  withDisks: boolean;
  /** The disk sources the admin was shown; a definition that names others since removes nothing. */
  confirmed?: string[];
  signal?: AbortSignal;
}

/** One sentence naming what was removed and, exactly, what was not. */
export function guestDeleteSummary(name: string, withDisks: boolean, r: GuestDeleteResult): string {
  if (!withDisks) return `${name} is deleted; its disk images are kept.`;
  const kept = r.notDeleted.map((n) => `${n.path} (${n.why})`).join(', ');
  if (r.deleted.length === 0 && !kept) return `${name} is deleted; it had no disk image files.`;
  if (!kept) return `${name} and its disks are deleted: ${r.deleted.join(', ')}.`;
  return `${name} is deleted${r.deleted.length ? `, with ${r.deleted.join(', ')}` : ''}; NOT deleted: ${kept}.`;
}

/** The failure of a delete that left some of the guest's files: exit 1 in the CLI, an error dialog in the console. */
export function notDeletedError(name: string, r: GuestDeleteResult): HostError {
  return new HostError({
    sentence: guestDeleteSummary(name, true, r),
    fix: 'Check what those files are, then remove them by hand (rm) or attach them to another guest.',
    command: ['rm', '-f', '--', ...r.notDeleted.map((n) => n.path)],
    stderr: r.notDeleted.map((n) => `${n.path}: ${n.why}`).join('\n'),
    exitCode: 1,
    code: 'disks-not-deleted',
  });
}

/**
 * Undefines `name` and, with `withDisks`, removes its disk files. Every refusal comes before
 * anything changes: a running guest, a disk another guest uses, a definition that changed since
 * the confirmation.
 */
export async function deleteGuest(host: HostContext, name: string, opts: GuestDeleteOptions): Promise<GuestDeleteResult> {
  const guests = await virsh.listGuests(host);
  const guest = guests.find((g) => g.name === name);
  if (!guest) throw new UserError(`There is no guest named "${name}".`, 'Run `virtdeck guest list` to see the names (they are case-sensitive).');
  if (!opts.withDisks) {
    await virsh.undefine(host, name, { nvram: true });
    return { deleted: [], notDeleted: [] };
  }
  if (isActive(guest.state)) {
    throw new UserError(`${name} is ${guest.state}, so its disks are in use and nothing was deleted.`, `Shut ${name} down first (S, or virtdeck guest shutdown ${name}), then delete it with its disks.`);
  }
  const sources = guestDiskSources(guest);
  if (opts.confirmed && [...opts.confirmed].sort().join('\0') !== [...sources].sort().join('\0')) {
    throw new UserError(`${name} now names other disks (${sources.join(', ') || 'none'}) than the ones confirmed; nothing was deleted.`, 'Refresh the list (r) and delete it again.');
  }
  const notDeleted: NotDeleted[] = [];
  const files: string[] = [];
  for (const source of sources) {
    const head = await readFileHead(host.sysExec, source, 0, opts.signal);
    if (head.kind === 'missing') notDeleted.push({ path: source, why: 'it does not exist' });
    else if (head.kind !== 'regular') notDeleted.push({ path: source, why: `it is a ${head.kind === 'block' ? 'block device' : head.kind}, not an image file; virtdeck removes only files` });
    else files.push(...(await deleteTargets(host, { path: source, facts: null }, opts.signal)));
  }
  const { byPath } = await lookUpImages(host, files, { guests, signal: opts.signal });
  const shared = [...byPath].flatMap(([path, users]) => users.filter((u) => u.guest !== name).map((u) => ({ path, u })));
  const first = shared[0];
  if (first) {
    const who = shared.map(({ path, u }) => `${path} is also ${u.guest}'s disk ${u.target}`).join('; ');
    throw new UserError(
      `${who}, so ${name} was not deleted and no file was removed.`,
      `Detach it from ${first.u.guest} first (virtdeck disk detach ${first.u.guest} ${first.u.target}), or delete ${name} keeping its disks.`,
    );
  }
  await virsh.undefine(host, name, { nvram: true });
  const deleted: string[] = [];
  for (const file of files) {
    try {
      await host.sysExec.run(['rm', '-f', '--', file], { signal: opts.signal });
    } catch (e) {
      notDeleted.push({ path: file, why: e instanceof Error ? e.message : String(e) });
      continue;
    }
    deleted.push(file);
  }
  // rm -f says nothing about a file it could not see; ask the host what is still there.
  const left = new Set<string>();
  for (const file of deleted) if ((await readFileHead(host.sysExec, file, 0, opts.signal)).kind !== 'missing') left.add(file);
  for (const file of left) notDeleted.push({ path: file, why: 'it is still there after rm' });
  return { deleted: deleted.filter((f) => !left.has(f)), notDeleted };
}
