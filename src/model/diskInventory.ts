/**
 * The disk inventory, pure part: what the host told us (guest disks, pool volumes, files found in
 * image directories, and the cached qemu-img facts per file) merged into one row per image, with
 * the things an admin should know as sentences. No I/O here; jobs/diskInventory.ts gathers.
 */
import type { IdentityMap } from './fileIdentity.js';
import { type GuestRow, isActive } from './guest.js';
import { formatBytesLong } from './units.js';

/** Where virtdeck heard of an image; one image can be known several ways. */
export type ImageOrigin = 'guest' | 'pool' | 'dir';

export interface GuestUse {
  guest: string;
  target: string;
  bus: string;
  device: 'disk' | 'cdrom' | 'floppy' | 'lun';
  /** The format libvirt opens it as (driver type). */
  format: string | null;
  running: boolean;
  /** The guest's own name for the file, when it reaches this path another way (a symlink, a hard link, a bind mount). */
  as?: string;
}

export interface PoolVolume {
  pool: string;
  name: string;
  path: string;
  type: string;
}

/** A file as `find`/`stat` saw it: the cache key is (path, size, mtimeMs). */
export interface FileStat {
  path: string;
  size: number;
  mtimeMs: number;
}

export interface VmdkFacts {
  createType: string;
  adapterType: string | null;
  hwVersion: string | null;
  /** Extent files as absolute paths (the file itself for monolithicSparse). */
  extentFiles: string[];
}

export interface SnapshotFacts {
  name: string;
  /** ISO date. */
  date: string;
  vmStateSize: number;
}

/** What qemu-img (and the vmdk descriptor) said about one file; JSON-safe, it is persisted. */
export interface ImageFacts {
  format: string;
  virtualSize: number;
  actualSize: number | null;
  clusterSize: number | null;
  /** Backing files, nearest first, as absolute paths where qemu-img gave them. */
  backingChain: string[];
  /** The backing file qemu-img could not open, when it could not. */
  backingMissing: string | null;
  snapshots: SnapshotFacts[];
  dirty: boolean;
  corrupt: boolean;
  /** qcow2 compat level ("1.1" = v3). */
  compat: string | null;
  vmdk: VmdkFacts | null;
  /** qemu-img could not read the file at all: its words. */
  error: string | null;
}

/** The result of `qemu-img check`, kept until the file changes. */
export interface CheckFacts {
  ok: boolean;
  supported: boolean;
  corruptions: number;
  leaks: number;
  checkErrors: number;
  message: string;
  /** ISO date of the check. */
  at: string;
}

export interface DiskRow {
  path: string;
  origins: ImageOrigin[];
  pools: string[];
  /** null when the file does not exist (a guest points at a missing file). */
  file: FileStat | null;
  facts: ImageFacts | null;
  check: CheckFacts | null;
  usedBy: GuestUse[];
  /** Only CD-ROM drives use it (an ISO): shown, but not a disk to convert or grow. */
  cdrom: boolean;
  /**
   * A disk image no guest uses, directly or as the backing file of one it uses: left by a job
   * (a kept original, a detached disk, a restore's moved-aside copy) or by hand. Free to attach or
   * delete. An ISO nobody has inserted is not one.
   */
  orphan: boolean;
  format: string | null;
  virtualSize: number | null;
  allocated: number | null;
  /** 'sparse', 'preallocated', or null when unknown. */
  allocation: 'sparse' | 'preallocated' | null;
  warnings: string[];
}

export interface InventoryInput {
  guests: GuestRow[];
  volumes: PoolVolume[];
  /** Image files found in the configured directories. */
  dirFiles: FileStat[];
  /** Guest and pool paths that exist (one stat for all); a path in neither list is missing. */
  statted: FileStat[];
  /** Facts by path (already matched to the current size and mtime by the gatherer). */
  facts: Map<string, ImageFacts>;
  checks: Map<string, CheckFacts>;
  /** Which file each path is: a guest's disk named another way (symlink, hard link, bind mount) is still its disk. */
  identities?: IdentityMap;
}

/** Image file suffixes the directory scan looks for. */
export const IMAGE_SUFFIXES = ['qcow2', 'raw', 'img', 'vmdk', 'vdi', 'vhd', 'vhdx', 'iso'];

/** Names virtdeck gives the images it keeps without an image suffix: a restore's moved-aside disk (jobs/restore.ts). */
export const KEPT_COPY_GLOBS = ['*.virtdeck-before-restore-*'];

/** Names backups and snapshot tools give overlays they mean to remove again. */
const OVERLAY_NAME = /\.virtdeck-overlay|\.vd-overlay/;

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The descriptor that a `-flat`/`-s001` extent belongs to, by VMware's naming. */
export function descriptorForExtent(path: string): string | null {
  const m = /^(.*)-(?:flat|[fs]\d{3})\.vmdk$/.exec(path);
  return m ? `${m[1]}.vmdk` : null;
}

/** Extent files to hide: named like one and their descriptor is known, or a known descriptor lists them. */
export function extentFilesOf(paths: Iterable<string>, facts: Map<string, ImageFacts>): Set<string> {
  const all = new Set(paths);
  const hidden = new Set<string>();
  for (const p of all) {
    const desc = descriptorForExtent(p);
    if (desc && all.has(desc)) hidden.add(p);
  }
  for (const [p, f] of facts) {
    for (const e of f.vmdk?.extentFiles ?? []) if (e !== p) hidden.add(e);
  }
  return hidden;
}

function guestUses(guests: GuestRow[]): Map<string, GuestUse[]> {
  const uses = new Map<string, GuestUse[]>();
  for (const g of guests) {
    for (const d of g.disks) {
      if (!d.source) continue;
      const list = uses.get(d.source) ?? [];
      list.push({ guest: g.name, target: d.target, bus: d.bus, device: d.device, format: d.format, running: isActive(g.state) });
      uses.set(d.source, list);
    }
  }
  return uses;
}

/** The uses of a path: by its own name, then by every other name of the same file. */
function usesByFile(uses: Map<string, GuestUse[]>, ids: IdentityMap | undefined): (path: string) => GuestUse[] {
  const byKey = new Map<string, { source: string; uses: GuestUse[] }[]>();
  for (const [source, list] of uses) {
    const key = ids?.get(source)?.key;
    if (key) byKey.set(key, [...(byKey.get(key) ?? []), { source, uses: list }]);
  }
  return (path) => {
    const own = uses.get(path) ?? [];
    const key = ids?.get(path)?.key;
    const others = key ? (byKey.get(key) ?? []).filter((x) => x.source !== path).flatMap((x) => x.uses.map((u) => ({ ...u, as: x.source }))) : [];
    return [...own, ...others];
  };
}

function allocationOf(facts: ImageFacts | null): DiskRow['allocation'] {
  if (!facts || facts.actualSize === null || facts.virtualSize === 0) return null;
  // Metadata makes a fully written qcow2 a little larger than its virtual size; 98 % leaves room
  // for a raw file whose last blocks were never written.
  return facts.actualSize >= facts.virtualSize * 0.98 ? 'preallocated' : 'sparse';
}

function useText(u: GuestUse): string {
  return `${u.guest} (${u.target})`;
}

/** Everything worth a warning about one image, as sentences an admin can act on. */
export function imageWarnings(row: Omit<DiskRow, 'warnings'>, byPath: Map<string, Omit<DiskRow, 'warnings'>>): string[] {
  const w: string[] = [];
  const name = basename(row.path);
  if (!row.file) {
    const who = row.usedBy.map(useText).join(', ');
    w.push(`${row.path} does not exist${who ? `, but ${who} use${row.usedBy.length === 1 ? 's' : ''} it` : ''}: the guest cannot start with it.`);
    return w;
  }
  const f = row.facts;
  if (f?.error) w.push(`qemu-img cannot read ${name}: ${f.error}`);
  if (f?.backingMissing) {
    w.push(`Its backing file ${f.backingMissing} is missing, so ${name} cannot be opened; restore that file or rebase ${name} onto its copy.`);
  }
  const writers = row.usedBy.filter((u) => u.device !== 'cdrom');
  const guests = [...new Set(writers.map((u) => u.guest))];
  if (guests.length > 1) {
    w.push(`Used by ${guests.length} guests (${writers.map(useText).join(', ')}): two guests writing one image corrupt it.`);
  }
  const running = writers.filter((u) => u.running);
  if (running.length > 0) {
    w.push(`In use by the running guest ${running.map(useText).join(', ')}: it can be looked at and checked (read-only), not converted or grown offline.`);
  }
  if (OVERLAY_NAME.test(name)) {
    w.push(`${name} looks like a snapshot overlay left by an interrupted backup; commit it into its base (virsh blockcommit --active --pivot) or delete it if no guest uses it.`);
  } else if (f && f.backingChain.length > 0 && writers.length > 0) {
    const base = f.backingChain[0] as string;
    if (byPath.get(base)?.usedBy.length === 0 && byPath.has(base)) {
      w.push(`${writers.map(useText).join(', ')} runs on an overlay of ${basename(base)}: if a backup or snapshot left it, commit it (virsh blockcommit ${writers[0]?.guest} ${writers[0]?.target} --active --pivot).`);
    }
  }
  if (f?.corrupt) w.push(`qemu marked ${name} as corrupt: run a check (K) and repair a copy with qemu-img check -r all.`);
  if (f?.dirty) w.push(`${name} was not closed cleanly (dirty flag); a check (K) tells whether it lost data.`);
  const c = row.check;
  if (c && !c.ok) {
    const parts = [
      c.corruptions ? `${c.corruptions} corruption${c.corruptions === 1 ? '' : 's'}` : '',
      c.leaks ? `${c.leaks} leaked cluster${c.leaks === 1 ? '' : 's'}` : '',
      c.checkErrors ? `${c.checkErrors} check error${c.checkErrors === 1 ? '' : 's'}` : '',
    ].filter(Boolean);
    const what = parts.length ? parts.join(', ') : c.message || 'errors';
    w.push(`The last check (${c.at.slice(0, 16).replace('T', ' ')}) found ${what}; ${c.corruptions || c.checkErrors ? 'restore it from a backup or repair a copy (qemu-img check -r all)' : 'qemu-img check -r leaks reclaims the space safely while it is not in use'}.`);
  }
  if (f && f.format === 'qcow2' && f.snapshots.length > 0 && row.usedBy.length > 0) {
    w.push(`${f.snapshots.length} internal snapshot${f.snapshots.length === 1 ? '' : 's'} inside: each keeps old data, so the file only grows.`);
  }
  return w;
}

/** Merges the host's answers into rows sorted by path; extent files of vmdks are folded into their descriptor. */
export function mergeInventory(input: InventoryInput): DiskRow[] {
  const uses = guestUses(input.guests);
  const usedByOf = usesByFile(uses, input.identities);
  const files = new Map([...input.statted, ...input.dirFiles].map((f) => [f.path, f]));
  const origins = new Map<string, Set<ImageOrigin>>();
  const pools = new Map<string, string[]>();
  const note = (path: string, o: ImageOrigin) => {
    const s = origins.get(path) ?? new Set<ImageOrigin>();
    s.add(o);
    origins.set(path, s);
  };
  for (const path of uses.keys()) note(path, 'guest');
  for (const v of input.volumes) {
    note(v.path, 'pool');
    pools.set(v.path, [...(pools.get(v.path) ?? []), v.pool]);
  }
  for (const f of input.dirFiles) note(f.path, 'dir');

  const hidden = extentFilesOf(origins.keys(), input.facts);
  const backing = new Set([...input.facts.values()].flatMap((f) => f.backingChain));
  const bare: Omit<DiskRow, 'warnings'>[] = [];
  for (const [path, from] of origins) {
    const usedBy = usedByOf(path);
    // A guest that uses an extent directly still shows it; otherwise it belongs to its descriptor.
    if (hidden.has(path) && usedBy.length === 0) continue;
    const file = files.get(path) ?? null;
    const facts = file ? (input.facts.get(path) ?? null) : null;
    const format = facts && !facts.error ? facts.format : (usedBy.find((u) => u.format)?.format ?? null);
    bare.push({
      path,
      origins: [...from].sort(),
      pools: pools.get(path) ?? [],
      file,
      facts,
      check: file ? (input.checks.get(path) ?? null) : null,
      usedBy,
      cdrom: usedBy.length > 0 && usedBy.every((u) => u.device === 'cdrom'),
      orphan: file !== null && usedBy.length === 0 && !backing.has(path) && !/\.iso$/i.test(path),
      format,
      virtualSize: facts && !facts.error ? facts.virtualSize : null,
      allocated: facts?.actualSize ?? file?.size ?? null,
      allocation: facts && !facts.error ? allocationOf(facts) : null,
    });
  }
  const byPath = new Map(bare.map((r) => [r.path, r]));
  return bare.map((r) => ({ ...r, warnings: imageWarnings(r, byPath) })).sort((a, b) => a.path.localeCompare(b.path));
}

/** Rows whose path contains the filter text (case-insensitive), as the `/` filter does. */
export function filterRows(rows: DiskRow[], filter: string): DiskRow[] {
  const f = filter.trim().toLowerCase();
  return f ? rows.filter((r) => r.path.toLowerCase().includes(f)) : rows;
}

/**
 * Shortens a path to `width` from the left, keeping the file name whole when it fits and as many
 * trailing directories as room allows: /var/lib/libvirt/images/web.qcow2 → …/images/web.qcow2.
 */
export function shortenPath(path: string, width: number, ellipsis = '…'): string {
  if (path.length <= width) return path;
  const name = basename(path);
  if (name.length + ellipsis.length + 1 > width) {
    return ellipsis + name.slice(name.length - (width - ellipsis.length));
  }
  const parts = dirname(path).split('/').filter(Boolean);
  let tail = `/${name}`;
  while (parts.length > 0) {
    const next = `/${parts[parts.length - 1]}${tail}`;
    if (ellipsis.length + next.length > width) break;
    tail = next;
    parts.pop();
  }
  return ellipsis + tail;
}

export function usedByText(row: Pick<DiskRow, 'usedBy'>): string {
  return row.usedBy.map((u) => `${u.guest}:${u.target}`).join(',');
}

/** "vmdk monolithicSparse · lsilogic · hw 6", "qcow2 v3", "raw". */
export function formatDetail(row: Pick<DiskRow, 'format' | 'facts'>): string {
  const f = row.facts;
  if (!row.format) return 'unknown format';
  if (f?.vmdk) {
    return [`vmdk ${f.vmdk.createType}`, f.vmdk.adapterType, f.vmdk.hwVersion ? `hw ${f.vmdk.hwVersion}` : null].filter(Boolean).join(' · ');
  }
  if (row.format === 'qcow2' && f?.compat) return `qcow2 ${f.compat === '0.10' ? 'v2' : 'v3'}`;
  return row.format;
}

/** The detail lines of one image: the pane's strip shows the first ones, details and `disk info` all. */
export function detailLines(row: DiskRow): string[] {
  const f = row.facts;
  const lines = [`Path      ${row.path}`];
  lines.push(`Format    ${formatDetail(row)}${row.cdrom ? ' (CD-ROM image)' : ''}`);
  if (row.virtualSize !== null || row.allocated !== null) {
    const v = row.virtualSize !== null ? `${formatBytesLong(row.virtualSize)} virtual` : 'virtual size unknown';
    const a = row.allocated !== null ? ` · ${formatBytesLong(row.allocated)} allocated` : '';
    lines.push(`Size      ${v}${a}${row.allocation ? ` · ${row.allocation}` : ''}`);
  }
  const nobody = row.orphan ? 'no guest: an orphan (A attaches it, D deletes it)' : 'no guest';
  lines.push(`Used by   ${row.usedBy.length ? row.usedBy.map((u) => `${u.guest} as ${u.target} (${u.bus}${u.device === 'disk' ? '' : ` ${u.device}`}${u.running ? ', running' : ''})`).join('; ') : nobody}`);
  if (f && f.backingChain.length > 0) lines.push(`Chain     ${[basename(row.path), ...f.backingChain].join(' → ')}`);
  if (f?.backingMissing) lines.push(`Backing   ${f.backingMissing} (missing)`);
  if (f && f.snapshots.length > 0) lines.push(`Snapshots ${f.snapshots.map((s) => `${s.name} (${s.date.slice(0, 10)})`).join(', ')}`);
  if (f?.vmdk?.extentFiles.some((e) => e !== row.path)) lines.push(`Extents   ${f.vmdk.extentFiles.map(basename).join(', ')}`);
  if (row.pools.length > 0) lines.push(`Pool      ${row.pools.join(', ')}`);
  if (row.check) lines.push(`Check     ${row.check.ok ? 'clean' : 'problems found'} (${row.check.at.slice(0, 16).replace('T', ' ')})`);
  return lines;
}
