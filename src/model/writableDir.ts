/**
 * A directory a job writes its result into (convert, import, P2V, backup), as the job found it.
 * One rule for all of them: a missing directory is refused with the mkdir that makes it (virtdeck
 * never creates one by itself, so a typo or an unmounted backup disk does not quietly fill `/`),
 * and one that takes no writes (a read-only mount, where `test -w` still says yes to root) is
 * refused before the first step, not as a failed `qemu-img` halfway through. Pure.
 */
import { shown } from './shown.js';
import { UserError } from './userError.js';

export type DirState = 'ok' | 'missing' | 'not-dir' | 'read-only';

/** Why a job cannot write into `dir`, or null; `what` names it for the admin ("the destination"). */
export function writableDirProblem(dir: string, state: DirState | undefined, what: string): UserError | null {
  const d = shown(dir);
  switch (state) {
    case 'missing':
      return new UserError(`${capital(what)} ${d} does not exist; virtdeck does not create it.`, `Create it first (mkdir -p -m 0700 ${d}), or choose another directory.`);
    case 'not-dir':
      return new UserError(`${capital(what)} ${d} is not a directory.`, 'Give a directory.');
    case 'read-only':
      return new UserError(
        `${capital(what)} ${d} cannot be written to (a test file could not be created there).`,
        'Check that its filesystem is mounted read-write (mount -o remount,rw, or fsck it if the kernel remounted it read-only), or choose another directory.',
      );
    default:
      return null;
  }
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
