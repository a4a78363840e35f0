/**
 * virtdeck runs as root and acts on what its state and config directories say: a journal's argv is
 * run by `recover --finish`, a lock decides who may touch a disk. So, like OpenSSH's StrictModes, a
 * directory or file there is believed only when it belongs to the running user (or root) and no one
 * else can write it; anything else is refused with the chmod/chown that fixes it.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, type Stats, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { UserError } from '../model/userError.js';

const euid = (): number => process.geteuid?.() ?? -1;

function ownerName(): string {
  try {
    return userInfo().username;
  } catch {
    return String(euid());
  }
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** Pure: why these stats make a path untrustworthy for a process running as `uid`, or null. */
export function distrust(st: Pick<Stats, 'uid' | 'mode'>, uid: number, opts: { sticky?: boolean } = {}): 'owner' | 'writable' | null {
  if (st.uid !== uid && st.uid !== 0) return 'owner';
  // A sticky world-writable ancestor (/tmp) lets no one else rename or remove what is ours in it.
  if ((st.mode & 0o022) !== 0 && !(opts.sticky && (st.mode & 0o1000) !== 0)) return 'writable';
  return null;
}

function refusal(path: string, what: string, why: 'owner' | 'writable' | 'symlink' | 'type', st: Stats): UserError {
  if (why === 'owner') {
    return new UserError(
      `The ${what} ${path} belongs to uid ${st.uid}, not to ${ownerName()}, so virtdeck will not trust what is in it.`,
      `If it is yours, take it back: chown ${ownerName()} ${path}`,
    );
  }
  if (why === 'writable') {
    return new UserError(
      `The ${what} ${path} can be written by group or others (mode ${octal(st.mode)}), so virtdeck will not trust what is in it.`,
      `Make it private: chmod go-w ${path}`,
    );
  }
  if (why === 'symlink') {
    return new UserError(`The ${what} ${path} is a symbolic link, so virtdeck will not trust it.`, `Remove it (rm ${path}) if you did not put it there.`);
  }
  return new UserError(`The ${what} ${path} is not a ${what.includes('directory') ? 'directory' : 'regular file'}.`, `Remove it (rm ${path}) if you did not put it there.`);
}

/**
 * Refuses a directory that is not ours or is writable by others, and any ancestor another user could
 * use to swap it (not ours and not root's, or writable without the sticky bit). A missing directory
 * is fine: it holds nothing yet, and virtdeck creates it 0700.
 */
export function assertTrustedDir(dir: string, what: string): boolean {
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (!st.isDirectory()) throw refusal(dir, what, 'type', st);
  const why = distrust(st, euid());
  if (why) throw refusal(dir, what, why, st);
  for (let up = dirname(dir), prev = dir; up !== prev; prev = up, up = dirname(up)) {
    const a = statSync(up);
    const w = distrust(a, euid(), { sticky: true });
    if (w) throw refusal(up, `parent directory of the ${what}`, w, a);
  }
  return true;
}

/** Refuses a file in a trusted directory that is a symlink, not regular, not ours or writable by others. */
export function assertTrustedFile(path: string, what: string): boolean {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (st.isSymbolicLink()) throw refusal(path, what, 'symlink', st);
  if (!st.isFile()) throw refusal(path, what, 'type', st);
  const why = distrust(st, euid());
  if (why) throw refusal(path, what, why, st);
  return true;
}

/**
 * Reads a file that must pass assertTrustedFile; null when it does not exist. Opened with
 * O_NOFOLLOW and checked again on the descriptor, so a swap between the check and the read is caught.
 */
export function readTrustedFile(path: string, what: string): string | null {
  if (!assertTrustedFile(path, what)) return null;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw refusal(path, what, 'symlink', lstatSync(path));
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refusal(path, what, 'type', st);
    const why = distrust(st, euid());
    if (why) throw refusal(path, what, why, st);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
