/**
 * Which file a path is, the pure half: a path string says nothing about identity (a symlink, a
 * hard link, a bind mount and /dev/disk/by-id/… are all other names for one disk), so "is this
 * image a guest's disk?" compares what the host said each name is: device and inode for files,
 * major:minor for block devices (two device nodes of one disk share it, not their inode).
 * host/fileIdentity.ts reads these; this module only compares and parses.
 */
import { type GuestRow, type GuestState, isActive } from './guest.js';

export type FileKind = 'file' | 'dir' | 'block' | 'other';

export interface FileIdentity {
  kind: FileKind;
  /** `blk MAJ:MIN` for a block device, `DEV:INO` (decimal) for everything else. */
  key: string;
  /** The path with every symlink resolved, for messages; null when the host did not say. */
  realPath: string | null;
}

/** What a path was found to be, by the path as asked; a path absent from the map does not exist. */
export type IdentityMap = Map<string, FileIdentity>;

export function identityKey(kind: FileKind, dev: bigint, ino: bigint, rdevMajor: bigint, rdevMinor: bigint): string {
  return kind === 'block' ? `blk ${rdevMajor}:${rdevMinor}` : `${dev}:${ino}`;
}

/** glibc's gnu_dev_major/minor: Linux packs a 12-bit major and a 20-bit minor into dev_t this way. */
export function splitDev(rdev: bigint): { major: bigint; minor: bigint } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major, minor };
}

/** Whether two names are one file: the same identity, or (when the host knows neither) the same string. */
export function sameFile(a: string, b: string, ids: IdentityMap): boolean {
  if (a === b) return true;
  const x = ids.get(a);
  const y = ids.get(b);
  return x !== undefined && y !== undefined && x.key === y.key;
}

/**
 * The answer of the remote probe (host/fileIdentity.ts identityArgv): per path one
 * NUL-terminated record `TYPE\tDEV\tINO\tMAJHEX\tMINHEX\tREALPATH\tPATH`. Records that do not parse
 * are dropped: a path the host did not describe is treated as missing, never as some other file.
 */
export function parseIdentityRecords(stdout: string): IdentityMap {
  const found: IdentityMap = new Map();
  for (const record of stdout.split('\0')) {
    const parts = record.replace(/^\n/, '').split('\t');
    if (parts.length < 7) continue;
    const [type = '', dev = '', ino = '', maj = '', min = '', real = ''] = parts;
    const path = parts.slice(6).join('\t');
    if (!path.startsWith('/') || !/^\d+$/.test(dev) || !/^\d+$/.test(ino) || !/^[0-9a-f]+$/i.test(maj) || !/^[0-9a-f]+$/i.test(min)) continue;
    const kind: FileKind = /^regular/.test(type) ? 'file' : type === 'directory' ? 'dir' : type === 'block special file' ? 'block' : 'other';
    found.set(path, {
      kind,
      key: identityKey(kind, BigInt(dev), BigInt(ino), BigInt(`0x${maj}`), BigInt(`0x${min}`)),
      realPath: real.startsWith('/') ? real : null,
    });
  }
  return found;
}

/** A guest whose definition names the file, under whatever name. */
export interface ImageUser {
  guest: string;
  state: GuestState;
  /** QEMU may have the file open: anything but shut off (crashed, paused and unknown included). */
  running: boolean;
  target: string;
  device: GuestRow['disks'][number]['device'];
  bus: string;
  format: string | null;
  /** The guest's own name for the file (its disk's source), which may differ from the path asked about. */
  source: string;
}

/** Absolute disk sources of every guest: the names the identity probe must look at. */
export function guestSources(guests: GuestRow[]): string[] {
  return [...new Set(guests.flatMap((g) => g.disks.map((d) => d.source ?? '')).filter((s) => s.startsWith('/')))];
}

/** Every guest disk that is `path`, by name or by identity. */
export function usersOf(path: string, guests: GuestRow[], ids: IdentityMap): ImageUser[] {
  const users: ImageUser[] = [];
  for (const g of guests) {
    for (const d of g.disks) {
      if (!d.source || !sameFile(path, d.source, ids)) continue;
      users.push({ guest: g.name, state: g.state, running: isActive(g.state), target: d.target, device: d.device, bus: d.bus, format: d.format, source: d.source });
    }
  }
  return users;
}

/** "web (vda, as /srv/vm/link.qcow2)": the guest, its disk, and its name for the file when it differs. */
export function userText(u: ImageUser, path: string): string {
  return `${u.guest} (${u.target}${u.source !== path ? `, as ${u.source}` : ''})`;
}
