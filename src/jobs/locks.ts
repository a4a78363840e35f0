/**
 * Locks on what a job changes (its plan's guests and images), so two virtdeck instances — two SSH
 * logins, the console and a cron job — never convert, expand or back up the same guest or image at
 * once. One file per target in stateDir()/locks, created with O_EXCL; a lock whose process is gone
 * (killed, host rebooted) is stale and taken over.
 */

import { createHash } from 'node:crypto';
import { closeSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join, posix } from 'node:path';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import { UserError } from '../model/userError.js';
import { writeFileAtomic } from './atomicFile.js';
import { processAlive, processStart } from './processes.js';
import { lockSchema, parseStateJson } from './stateSchemas.js';

export interface LockTarget {
  kind: 'guest' | 'image';
  name: string;
}

export interface LockOwner {
  jobId: string;
  kind: string;
  title: string;
  pid: number;
  /** ISO time the job started. */
  startedAt: string;
}

interface LockFile extends LockOwner {
  target: LockTarget;
  uri: string;
  /** /proc/PID/stat start time: tells a live owner from a new process that reused its pid. */
  pidStart: string | null;
}

export function locksDir(stateDir: string): string {
  return join(stateDir, 'locks');
}

/** The machine a URI reaches: guests of two hosts with the same name are different guests. */
function machineOf(uri: string): string {
  const m = uri.match(/^[a-z0-9+]+:\/\/(?:[^@/]*@)?([^/:?]*)/i);
  return m?.[1] || 'local';
}

/** Pure: the targets of a plan, image paths normalised (`/a/./b` and `/a//b` are one file), without duplicates. */
export function lockTargets(targets: { guests: string[]; images: string[] }): LockTarget[] {
  const seen = new Set<string>();
  const out: LockTarget[] = [];
  const add = (t: LockTarget) => {
    const key = `${t.kind}:${t.name}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(t);
    }
  };
  for (const g of targets.guests) if (g) add({ kind: 'guest', name: g });
  for (const i of targets.images) if (i) add({ kind: 'image', name: posix.normalize(i).replace(/(.)\/$/, '$1') });
  return out;
}

/** Pure: the lock file's name; readable when short, hashed when a long path would not fit a file name. */
export function lockFileName(uri: string, t: LockTarget): string {
  const readable = `${t.kind}-${machineOf(uri)}-${t.name}`.replace(/[^A-Za-z0-9._-]/g, '_');
  const hash = createHash('sha256').update(`${machineOf(uri)}\0${t.kind}\0${t.name}`).digest('hex').slice(0, 16);
  return `${readable.slice(0, 120)}-${hash}.lock`;
}

function ownerAlive(l: LockFile): boolean {
  if (!processAlive(l.pid)) return false;
  const start = processStart(l.pid);
  return !(l.pidStart && start && l.pidStart !== start);
}

function hhmm(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Pure: the refusal an admin sees when another job holds the target. */
export function busyError(target: LockTarget, holder: LockOwner): UserError {
  const what = target.kind === 'guest' ? target.name : `The image ${target.name}`;
  return new UserError(
    `${what} is busy: job ${holder.jobId} (${holder.kind}, started ${hhmm(holder.startedAt)} by pid ${holder.pid}) is working on it.`,
    `Wait for it or cancel it (virtdeck job cancel ${holder.jobId}).`,
  );
}

/** Pure: a lock file's record, or null when the text is not one. */
export function parseLock(text: string): LockFile | null {
  return parseStateJson(lockSchema, text);
}

/** A lock another user could have written is refused (throws); a missing or damaged one reads as null. */
function readLock(path: string): LockFile | null {
  const text = readTrustedFile(path, 'lock file');
  return text === null ? null : parseLock(text);
}

function assertTrustedLocksDir(stateDir: string): void {
  assertTrustedDir(stateDir, 'state directory');
  assertTrustedDir(locksDir(stateDir), 'locks directory');
}

function writeExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

export interface HeldLocks {
  readonly paths: string[];
  /** Records a new owner pid (the launcher hands its locks to the detached worker). */
  handTo(pid: number): void;
  release(): void;
}

/**
 * Who may take over a lock besides a dead owner: this very process, and a worker taking its own
 * job's locks from the virtdeck that launched it (its parent, or under systemd-run the pid it was
 * told in VIRTDECK_LAUNCHER_PID).
 */
function mayTakeOver(l: LockFile, owner: LockOwner): boolean {
  if (!ownerAlive(l)) return true;
  if (l.pid === owner.pid) return true;
  return l.jobId === owner.jobId && (l.pid === process.ppid || String(l.pid) === process.env.VIRTDECK_LAUNCHER_PID);
}

/**
 * Takes every lock or none: on a conflict the ones taken so far are released and the refusal names
 * the job that holds the target.
 */
export function acquireLocks(stateDir: string, uri: string, targets: { guests: string[]; images: string[] }, owner: LockOwner): HeldLocks {
  const dir = locksDir(stateDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  assertTrustedLocksDir(stateDir);
  const held: { path: string; file: LockFile }[] = [];
  const release = () => {
    for (const h of held.splice(0)) {
      // Only our own lock: after a takeover by another job the file is no longer ours to remove.
      let mine = false;
      try {
        // The same job's worker that took the lock over (a hand-over) holds it now: its pid says so.
        const now = readLock(h.path);
        mine = now?.jobId === h.file.jobId && now.pid === h.file.pid;
      } catch {
        // refused: not ours to remove
      }
      if (mine) {
        try {
          unlinkSync(h.path);
        } catch {
          // already gone
        }
      }
    }
  };
  try {
    for (const target of lockTargets(targets)) {
      const path = join(dir, lockFileName(uri, target));
      const file: LockFile = { ...owner, target, uri, pidStart: processStart(owner.pid) };
      const text = `${JSON.stringify(file)}\n`;
      for (let attempt = 0; ; attempt++) {
        if (writeExclusive(path, text)) break;
        const current = readLock(path);
        if (current && !mayTakeOver(current, owner)) throw busyError(target, current);
        if (attempt > 3) throw busyError(target, current ?? { ...owner, jobId: '?' });
        // Stale (or ours): move it aside under a unique name first, so two takers cannot both win.
        const aside = `${path}.stale-${process.pid}`;
        try {
          renameSync(path, aside);
        } catch {
          continue; // someone else moved it; look again
        }
        // Between reading and moving, another taker may have put its fresh lock there: give it back.
        const moved = readLock(aside);
        if (moved && !mayTakeOver(moved, owner)) {
          try {
            linkSync(aside, path);
          } catch {
            // a third lock is there now; the next round reads it
          }
        }
        unlinkSync(aside);
      }
      held.push({ path, file });
    }
  } catch (e) {
    release();
    throw e;
  }
  return {
    get paths() {
      return held.map((h) => h.path);
    },
    handTo(pid) {
      for (const h of held) {
        h.file = { ...h.file, pid, pidStart: processStart(pid) };
        writeFileAtomic(h.path, `${JSON.stringify(h.file)}\n`);
      }
    },
    release,
  };
}

/** Every lock file with its holder, for `job list` and tests. */
export function readLocks(stateDir: string): (LockOwner & { target: LockTarget; uri: string; stale: boolean })[] {
  let names: string[] = [];
  assertTrustedLocksDir(stateDir);
  try {
    names = readdirSync(locksDir(stateDir));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.lock'))
    .flatMap((n) => {
      const l = readLock(join(locksDir(stateDir), n));
      return l ? [{ jobId: l.jobId, kind: l.kind, title: l.title, pid: l.pid, startedAt: l.startedAt, target: l.target, uri: l.uri, stale: !ownerAlive(l) }] : [];
    });
}
