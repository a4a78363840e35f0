/**
 * File-level restore from a restic copy target: through `restic mount` (FUSE) where it works, so
 * the admin browses within seconds instead of waiting for the whole chain to be restored; else the
 * run is restored into a private staging directory first. Pure: the decision from what the host
 * has, and the journaled plan of a mount session (so `virtdeck recover` unmounts a leftover).
 */
import type { Plan } from './plan.js';

export const RESTIC_MOUNT_KIND = 'restic-mount';
/** The step a recovery "finish" runs: the session is over, only the cleanup is left. */
export const MOUNT_ACTION = 'resticMountStarted';
export const UNMOUNT_ACTION = 'resticMountRemove';

/** What the host offers for FUSE, as `probeFuse` reads it. */
export interface FuseProbe {
  /** /dev/fuse exists and is a character device. */
  devFuse: boolean;
  /** fusermount3 or fusermount on PATH (null: neither). */
  fusermount: string | null;
}

export type FilesMethod = { method: 'mount'; why: string } | { method: 'restore'; why: string };

/** Pure: mount when the host has both halves of FUSE; otherwise say which half is missing. */
export function filesMethod(p: FuseProbe): FilesMethod {
  if (!p.devFuse) return { method: 'restore', why: 'this host has no /dev/fuse, so restic mount cannot work' };
  if (!p.fusermount) return { method: 'restore', why: 'this host has no fusermount (Debian package fuse3), so restic mount cannot work' };
  return { method: 'mount', why: `FUSE works here (/dev/fuse, ${p.fusermount})` };
}

/** How the files of a run were reached, for the console's message and `--json`. */
export function filesMethodText(target: string, m: FilesMethod['method'], why?: string): string {
  return m === 'mount'
    ? `read through restic mount of ${target} (nothing restored first)`
    : `restored from ${target} into a private temp dir${why ? ` (${why})` : ''}`;
}

/**
 * The journal of a mount session: step 1 mounts (its undo unmounts, safe when cut midway), step 2
 * unmounts and removes the staging directory, and stays pending while the admin browses. A kill
 * leaves a journal whose finish (step 2) and roll back (undo of step 1) both unmount and remove.
 */
export function mountSessionPlan(o: { target: string; repository: string; guest: string; run: string; staging: string; mountpoint: string }): Plan {
  const remove = { name: UNMOUNT_ACTION, args: { staging: o.staging } };
  const title = `unmount everything under ${o.staging} and remove it`;
  return {
    kind: RESTIC_MOUNT_KIND,
    title: `Browse ${o.guest} ${o.run} through restic mount of ${o.target}`,
    targets: { guests: [], images: [] },
    steps: [
      {
        id: 'mount',
        title: `restic mount ${o.repository} at ${o.mountpoint} (read-only) and bind the run's chain under ${o.staging}`,
        command: { runsOn: 'sys', argv: ['restic', `--repo=${o.repository}`, 'mount', '--', o.mountpoint] },
        action: { name: MOUNT_ACTION },
        undo: { title, action: remove, partial: true },
      },
      {
        id: 'unmount',
        title,
        command: { runsOn: 'sys', argv: ['umount', '--', o.mountpoint] },
        action: remove,
      },
    ],
  };
}

/** Pure: `findmnt -rn -o TARGET` escapes space, tab, newline and backslash as \xNN. */
export function unescapeFindmnt(line: string): string {
  return line.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/** Pure: the mount points at or below `dir`, deepest first (the order they must go in). */
export function mountsUnder(findmntOut: string, dir: string): string[] {
  const base = dir.replace(/\/+$/, '');
  return findmntOut
    .split('\n')
    .filter(Boolean)
    .map(unescapeFindmnt)
    .filter((m) => m === base || m.startsWith(`${base}/`))
    .sort((a, b) => b.length - a.length || b.localeCompare(a));
}
