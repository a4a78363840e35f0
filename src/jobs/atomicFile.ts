/**
 * Whole-file writes that a crash cannot leave half done: the text goes to a temp file beside the
 * target, is fsynced, then renamed over it, so a reader sees the old file or the new one, never a mix.
 */
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

export function writeFileAtomic(path: string, text: string, mode = 0o600): void {
  // The pid in the temp name keeps two processes writing the same file from sharing one temp file.
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
