/**
 * Whole-file writes that a crash cannot leave half done: the text goes to a temp file beside the
 * target, is fsynced, then renamed over it, so a reader sees the old file or the new one, never a mix.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  // The pid in the temp name keeps two processes writing the same file from sharing one temp file.
  const tmp = `${path}.${process.pid}.tmp`;
  // Opened exclusively, with its mode from the start: whatever sits at that name (a leftover of a
  // crashed process with our pid, or a planted symlink) is removed, never written through.
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
