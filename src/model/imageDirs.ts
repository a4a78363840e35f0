/**
 * Which directories the Disks pane scans. An image virtdeck made or left (a new disk, the original a
 * convert kept, a detached disk, a copy a restore moved aside) must stay in sight, or nothing can
 * attach or delete it: so besides the configured image directories, every directory that holds a
 * guest's disk and every directory virtdeck wrote an image to is scanned. Pure; jobs/ keeps the
 * list of written directories and runs the scan.
 */
import { posix } from 'node:path';
import type { GuestRow } from './guest.js';

/** At most this many written directories are remembered per host, newest first. */
export const MAX_WRITTEN_DIRS = 64;

/** Longer than any real image directory; a longer "directory" in the list is not one virtdeck wrote. */
const MAX_DIR_LENGTH = 1024;

/** Pseudo file systems and device nodes: a guest's block device lives there, but no image file does. */
const NOT_SCANNED = ['/dev', '/proc', '/sys', '/run/user'];

/**
 * An absolute, normalised directory worth scanning, or null. The text may come from a state file
 * (hostile if tampered with): control characters, relative paths and pseudo file systems are dropped.
 */
export function cleanDir(text: unknown): string | null {
  if (typeof text !== 'string' || !text.startsWith('/') || text.length > MAX_DIR_LENGTH) return null;
  if (/[\u0000-\u001f\u007f]/.test(text)) return null;
  const dir = posix.normalize(text).replace(/(.)\/+$/, '$1');
  if (NOT_SCANNED.some((p) => dir === p || dir.startsWith(`${p}/`))) return null;
  return dir;
}

/** The directory of an image path, cleaned; null for one that is not scanned. */
export function dirOfImage(path: string): string | null {
  if (!path.startsWith('/')) return null;
  const i = path.lastIndexOf('/');
  return cleanDir(i <= 0 ? '/' : path.slice(0, i));
}

export interface ScanDirsInput {
  /** config.json imageDirs. */
  configured: string[];
  guests: Pick<GuestRow, 'disks'>[];
  /** Directories virtdeck wrote images to on this host (jobs/writtenDirs.ts). */
  written: string[];
}

/**
 * Every directory to scan, once each: the configured ones, those holding a guest's disk (CD-ROM and
 * floppy images are not disks: their folder of installers is not scanned), and the written ones.
 */
export function scanDirs(input: ScanDirsInput): string[] {
  const out = new Set<string>();
  const add = (d: string | null) => {
    if (d) out.add(d);
  };
  for (const d of input.configured) add(cleanDir(d));
  for (const g of input.guests) for (const disk of g.disks) if (disk.source && (disk.device === 'disk' || disk.device === 'lun')) add(dirOfImage(disk.source));
  for (const d of input.written) add(cleanDir(d));
  return [...out];
}

/** The written-directories list after `dirs` were written to: newest first, each once, capped. */
export function withWrittenDirs(previous: string[], dirs: string[]): string[] {
  const fresh = dirs.map(cleanDir).filter((d): d is string => d !== null);
  return [...new Set([...fresh, ...previous.map(cleanDir).filter((d): d is string => d !== null)])].slice(0, MAX_WRITTEN_DIRS);
}
