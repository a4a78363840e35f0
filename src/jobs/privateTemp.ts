/**
 * Helper files a step writes (a domain XML for `virsh define --file`) live in a private directory
 * under the temp dir, never at a name in /tmp itself: there another user could plant a symlink at a
 * name they can guess and have root write through it. The plan names tmpdir()/virtdeck-TAG-RANDOM/FILE;
 * the runner makes that directory 0700 just before writing and opens the file exclusively.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, normalize } from 'node:path';
import { UserError } from '../model/userError.js';

/** A fresh, unguessable path for a helper file; its directory is made when the step runs. */
export function privateTempFile(tag: string, file: string): string {
  return join(tmpdir(), `virtdeck-${tag}-${randomBytes(6).toString('hex')}`, file);
}

/** Pure (given the temp dir): the path is FILE in a virtdeck-… directory directly under the temp dir. */
export function isPrivateTempPath(path: string, tmp: string = tmpdir()): boolean {
  if (!isAbsolute(path) || normalize(path) !== path) return false;
  const dir = dirname(path);
  return dirname(dir) === tmp && basename(dir).startsWith('virtdeck-') && !basename(path).startsWith('.');
}

/**
 * Writes a step's helper file: in a private temp directory, that directory is created 0700 (or,
 * when mkdtemp already made it, must be ours and 0700); the file is opened with O_EXCL, so nothing
 * already at that name, a symlink least of all, is written through.
 */
export function writeStepFile(path: string, content: string): void {
  if (isPrivateTempPath(path)) {
    const dir = dirname(path);
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = lstatSync(dir);
    if (!st.isDirectory() || st.uid !== (process.geteuid?.() ?? st.uid) || (st.mode & 0o077) !== 0) {
      throw new UserError(`${dir} is not a private directory of virtdeck (someone else made it, or it is open to others).`, `Remove it (rm -r ${dir}) and run the job again.`);
    }
    // Ours alone: what is there is this step's file from an attempt a crash cut short.
    rmSync(path, { force: true });
  }
  writeFileSync(path, content, { mode: 0o600, flag: 'wx' });
}

/** Removes a step's helper file and, when it is in a private temp directory, that directory once empty. */
export function removeStepFile(path: string): void {
  rmSync(path, { force: true });
  if (isPrivateTempPath(path)) {
    try {
      rmdirSync(dirname(path));
    } catch {
      // not empty (mkdtemp'd by a job that still uses it) or already gone
    }
  }
}
