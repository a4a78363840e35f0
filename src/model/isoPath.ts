/**
 * An ISO put in a guest's CD-ROM drive must be there when the guest starts: libvirt accepts a
 * missing path at define time and only fails at the next start, long after the admin left. A
 * regular file or a block device (a real drive, /dev/sr0) can be read by QEMU; nothing else. Pure.
 */
import type { PathKind } from './newGuest.js';
import { shown } from './shown.js';
import { UserError } from './userError.js';

/** Why the path cannot go into a CD-ROM drive, or null; `kind` is what stat found (null: nothing). */
export function isoPathProblem(path: string, kind: PathKind | null): UserError | null {
  if (!path.startsWith('/')) return new UserError(`The ISO path "${shown(path)}" is not absolute.`, 'Give the full path of the .iso file on the host, starting with /.');
  if (kind === null) return new UserError(`The ISO ${shown(path)} does not exist on this host.`, 'Check the path, or copy the ISO to the host first.');
  if (kind !== 'file' && kind !== 'block') return new UserError(`The ISO ${shown(path)} is a ${kind === 'dir' ? 'directory' : 'special file'}, not an image.`, 'Give the path of the .iso file itself.');
  return null;
}
