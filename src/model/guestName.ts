/**
 * The one rule for the name of a guest virtdeck creates or renames (new guest, import, P2V,
 * restore as a new guest, the settings form). A name becomes a word on virsh's command line, a
 * file name (`NAME.qcow2`, `.NAME.qcow2.virtdeck-part`, `NAME-vda.qcow2`) and a line in the
 * console: so no leading `-` (an option to virsh), no `/` (a path), no control characters (the
 * terminal), and short enough that the longest derived file name stays far below NAME_MAX (255
 * bytes). Pure.
 */
import { hasControlCharacters, shown } from './shown.js';
import { UserError } from './userError.js';

export const GUEST_NAME_MAX = 64;
const GUEST_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const FIX = `Use up to ${GUEST_NAME_MAX} letters, digits, dots, dashes, underscores or plus signs, starting with a letter or digit.`;

/** Why `name` cannot name a new guest, or null when it can. */
export function guestNameProblem(name: string): UserError | null {
  if (name === '') return new UserError('The guest has no name.', 'Type a name such as web1.');
  const q = `"${shown(name.length > 80 ? `${name.slice(0, 80)}…` : name)}" cannot be a guest name`;
  const chars = 'it has characters a guest name cannot use';
  if (name.startsWith('-')) return new UserError(`${q}: it begins with "-", which virsh would read as an option.`, FIX);
  if (hasControlCharacters(name)) return new UserError(`${q}: ${chars} (control characters).`, FIX);
  if (name.includes('/')) return new UserError(`${q}: ${chars} ("/" would make its file names paths).`, FIX);
  const bytes = new TextEncoder().encode(name).length;
  if (bytes > GUEST_NAME_MAX) return new UserError(`${q}: it is ${bytes} bytes long, and at most ${GUEST_NAME_MAX} are allowed.`, FIX);
  if (!GUEST_NAME.test(name)) return new UserError(`${q}: ${chars}.`, FIX);
  return null;
}

/** Throws the UserError that says why `name` cannot name a new guest. */
export function checkGuestName(name: string): void {
  const problem = guestNameProblem(name);
  if (problem) throw problem;
}
