/**
 * Gathers the disk inventory: guests (2 virsh processes), pool volumes (2), one `find` over every
 * directory scanned (model/imageDirs.ts: however many), one `stat` for guest and pool paths outside
 * them, which file each path is (no process here, one `stat` on a remote host), and qemu-img only
 * for files that are new or changed since the last look. qemu-img facts are cached by (path, size, mtime) in memory and in
 * stateDir()/disk-info-cache.json, so a refresh of 200 unchanged images runs no qemu-img at all.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, dirname as localDirname, posix } from 'node:path';
import { stateDir } from '../config/paths.js';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import { HostError, toHostError } from '../host/errors.js';
import type { Executor } from '../host/exec.js';
import { fileIdentities } from '../host/fileIdentity.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import * as qemuImg from '../host/qemuImg.js';
import { type GuestRow, listGuests, virshArgv } from '../host/virsh.js';
import { readVmdkDescriptor } from '../host/vmdk.js';
import {
  type CheckFacts,
  type DiskRow,
  descriptorForExtent,
  dirname,
  type FileStat,
  IMAGE_SUFFIXES,
  type ImageFacts,
  KEPT_COPY_GLOBS,
  mergeInventory,
  type PoolVolume,
  type VmdkFacts,
} from '../model/diskInventory.js';
import { guestSources, type IdentityMap } from '../model/fileIdentity.js';
import { scanDirs as dirsToScan } from '../model/imageDirs.js';
import { UserError } from '../model/userError.js';
import { diskCacheSchema, parseStateJson } from './stateSchemas.js';
import { readWrittenDirs, writtenDirsFile } from './writtenDirs.js';

export const CACHE_FILE_NAME = 'disk-info-cache.json';

export function defaultCacheFile(): string {
  return join(stateDir(), CACHE_FILE_NAME);
}

export function defaultWrittenDirsFile(): string {
  return writtenDirsFile(stateDir());
}

// ---------------------------------------------------------------------------------------------
// Listing what exists

const MARK = '@@virtdeck-disks@@';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `vol-list --details` columns are aligned under their titles; names and paths may hold spaces. */
export function parseVolList(pool: string, text: string): PoolVolume[] {
  const lines = text.split('\n');
  const headerAt = lines.findIndex((l) => /^\s*Name\s+Path\s+Type/.test(l));
  if (headerAt < 0) return [];
  const header = lines[headerAt] as string;
  const pathCol = header.indexOf('Path');
  const typeCol = header.indexOf('Type');
  const capCol = header.indexOf('Capacity');
  const volumes: PoolVolume[] = [];
  for (const line of lines.slice(headerAt + 2)) {
    if (!line.trim()) continue;
    const name = line.slice(0, pathCol).trim();
    const path = line.slice(pathCol, typeCol).trim();
    const type = line.slice(typeCol, capCol > 0 ? capCol : undefined).trim().split(/\s+/)[0] ?? '';
    if (path.startsWith('/') && type !== 'dir') volumes.push({ pool, name, path, type });
  }
  return volumes;
}

/** Volumes of every active pool, in two virsh processes whatever the number of pools. */
export async function listPoolVolumes(host: HostContext, signal?: AbortSignal): Promise<PoolVolume[]> {
  const uuids = (await host.virshExec.run(virshArgv(host, ['pool-list', '--all', '--uuid']), { signal })).stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => UUID_RE.test(l));
  if (uuids.length === 0) return [];
  // Only UUIDs go into the command string: a pool name could carry its own `;`.
  const script = [...uuids.map((u) => `echo ${MARK}; pool-name ${u}; vol-list --pool ${u} --details`), `echo ${MARK}`].join('; ');
  const r = await host.virshExec.run(virshArgv(host, [script]), { signal, okExitCodes: [1], virshErrorsAreAnswers: true });
  return r.stdout
    .split(new RegExp(`^${MARK}$`, 'm'))
    .slice(1)
    .flatMap((chunk) => {
      const body = chunk.replace(/^\n/, '');
      const pool = body.split('\n')[0]?.trim() ?? '';
      return pool ? parseVolList(pool, body.slice(body.indexOf('\n') + 1)) : [];
    });
}

function mtimeMs(text: string): number {
  return Math.round(Number(text) * 1000);
}

/**
 * Image files in the directories and their subdirectories, with size and mtime, in one `find`
 * whatever the number of directories (each is a start point; all are absolute, so none is read as
 * an expression). A file reached from two overlapping start points is listed once.
 */
export async function scanDirs(exec: Executor, dirs: string[], signal?: AbortSignal): Promise<FileStat[]> {
  const roots = [...new Set(dirs.filter((d) => d.startsWith('/')).map((d) => (d.length > 1 ? d.replace(/\/+$/, '') : d)))];
  if (roots.length === 0) return [];
  const names = [...IMAGE_SUFFIXES.flatMap((s) => ['-iname', `*.${s}`]), ...KEPT_COPY_GLOBS.flatMap((g) => ['-name', g])].flatMap((w, i) => (i > 0 && w.startsWith('-') ? ['-o', w] : [w]));
  // A missing directory is not an error (find says so and goes on with the others, exit 1): the
  // default /var/lib/libvirt/images may not exist yet, a written-to directory may be gone.
  const r = await exec.run(['find', ...roots, '-maxdepth', '2', '-type', 'f', '(', ...names, ')', '-printf', '%p\\t%s\\t%T@\\n'], { signal, okExitCodes: [1] });
  const seen = new Map<string, FileStat>();
  for (const p of r.stdout.split('\n').map((l) => l.split('\t'))) {
    if (p.length !== 3 || !p[0]?.startsWith('/')) continue;
    const path = posix.normalize(p[0]);
    if (!seen.has(path)) seen.set(path, { path, size: Number(p[1]), mtimeMs: mtimeMs(p[2] as string) });
  }
  return [...seen.values()];
}

/** Size and mtime of many paths in one `stat`; missing paths are simply absent from the answer. */
export async function statFiles(exec: Executor, paths: string[], signal?: AbortSignal): Promise<FileStat[]> {
  const unique = [...new Set(paths.filter((p) => p.startsWith('/')))];
  if (unique.length === 0) return [];
  const r = await exec.run(['stat', '-L', '--printf', '%F\\t%s\\t%.9Y\\t%n\\0', '--', ...unique], { signal, okExitCodes: [1] });
  const found: FileStat[] = [];
  for (const record of r.stdout.split('\0')) {
    const [type, size, mtime, ...rest] = record.split('\t');
    const path = rest.join('\t');
    if (!path || !type || !/regular|block/.test(type)) continue;
    found.push({ path, size: Number(size), mtimeMs: mtimeMs(mtime ?? '0') });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// qemu-img facts of one file

const MISSING_RE = /Could not open '([^']+)': No such file or directory/g;

/** The last file qemu-img says it could not find: the deepest missing link of the chain. */
export function missingBacking(stderr: string, self: string): string | null {
  const all = [...stderr.matchAll(MISSING_RE)].map((m) => m[1] as string).filter((p) => p !== self);
  return all.length ? (all[all.length - 1] as string) : null;
}

function resolveFrom(dir: string, file: string): string {
  return file.startsWith('/') ? file : `${dir}/${file}`;
}

async function vmdkFacts(exec: Executor, path: string, info: qemuImg.ImageInfo): Promise<VmdkFacts> {
  const fs = info.formatSpecific?.type === 'vmdk' ? info.formatSpecific : null;
  try {
    const d = await readVmdkDescriptor(exec, path);
    return {
      createType: d.createType,
      adapterType: d.ddb.adapterType ?? null,
      hwVersion: d.ddb.virtualHWVersion ?? null,
      extentFiles: d.extents.filter((e) => e.file).map((e) => resolveFrom(dirname(path), e.file as string)),
    };
  } catch {
    // The descriptor reader refuses odd files; qemu-img's view is still worth showing.
    return { createType: fs?.createType ?? 'unknown', adapterType: null, hwVersion: null, extentFiles: (fs?.extents ?? []).map((e) => e.filename) };
  }
}

function factsFrom(info: qemuImg.ImageInfo, chain: qemuImg.ImageInfo[], backingMissing: string | null, vmdk: VmdkFacts | null): ImageFacts {
  const fs = info.formatSpecific;
  return {
    format: info.format,
    virtualSize: info.virtualSize,
    actualSize: info.actualSize,
    clusterSize: info.clusterSize,
    backingChain: chain.length > 1 ? chain.slice(1).map((c) => c.filename) : info.fullBackingFilename ? [info.fullBackingFilename] : [],
    backingMissing,
    snapshots: info.snapshots.map((s) => ({ name: s.name, date: s.date.toISOString(), vmStateSize: s.vmStateSize })),
    dirty: info.dirtyFlag,
    corrupt: fs?.type === 'qcow2' ? fs.corrupt : false,
    compat: fs?.type === 'qcow2' ? fs.compat : null,
    vmdk,
    error: null,
  };
}

/**
 * What qemu-img knows about one image, read-only and with force-share (the image may be in use).
 * A broken backing chain still gives the image's own facts and names the missing file. The file
 * passes the untrusted-image gate first (its references must stay in its own directory or the
 * configured image directories `roots`), and qemu-img gets the format that gate read: it never probes.
 */
export async function readImageFacts(exec: Executor, path: string, roots: string[] = []): Promise<ImageFacts> {
  let format: string;
  try {
    format = (await inspectUntrustedImage(exec, path, { roots: [dirname(path), ...roots], allowBlock: true, allowMissing: true })).format;
  } catch (e) {
    if (e instanceof UserError) return errorFacts(e.sentence);
    throw e;
  }
  let chain: qemuImg.ImageInfo[] = [];
  let backingMissing: string | null = null;
  let info: qemuImg.ImageInfo;
  try {
    chain = await qemuImg.info(exec, path, { format, forceShare: true, backingChain: true });
    info = chain[0] as qemuImg.ImageInfo;
    if (!info) throw new UserError(`qemu-img said nothing about ${path}.`, 'Run qemu-img info on it by hand.');
  } catch (e) {
    const h = e instanceof HostError ? e : toHostError(e);
    backingMissing = missingBacking(h.stderr, path);
    try {
      info = await qemuImg.info(exec, path, { format, forceShare: true });
    } catch (inner) {
      const hi = inner instanceof HostError ? inner : toHostError(inner);
      return errorFacts(`${hi.sentence}`);
    }
    if (!backingMissing) return { ...factsFrom(info, [], null, null), error: h.sentence };
  }
  const vmdk = info.format === 'vmdk' ? await vmdkFacts(exec, path, info) : null;
  return factsFrom(info, chain, backingMissing, vmdk);
}

function errorFacts(error: string): ImageFacts {
  return {
    format: 'unknown',
    virtualSize: 0,
    actualSize: null,
    clusterSize: null,
    backingChain: [],
    backingMissing: null,
    snapshots: [],
    dirty: false,
    corrupt: false,
    compat: null,
    vmdk: null,
    error,
  };
}

/** Runs fn over items with at most `limit` at a time; results in input order. */
export async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// The cache

interface CacheEntry {
  size: number;
  mtimeMs: number;
  facts?: ImageFacts;
  check?: CheckFacts;
}

interface CacheFile {
  version: 1;
  /** By executor label ("local", "root@host1"), then by path. */
  hosts: Record<string, Record<string, CacheEntry>>;
}

/** Pure: the cache file's content, or null when the text is not one. */
export function parseCacheFile(text: string): CacheFile | null {
  return parseStateJson(diskCacheSchema, text) as CacheFile | null;
}

/**
 * Missing or damaged: it is only a cache, start again. One another user owns or can write is
 * refused (UserError): its facts decide which format images are opened with.
 */
function readCacheFile(file: string): CacheFile {
  assertTrustedDir(localDirname(file), 'state directory');
  let text: string | null = null;
  try {
    text = readTrustedFile(file, 'disk facts cache');
  } catch (e) {
    if (e instanceof UserError) throw e;
  }
  return (text === null ? null : parseCacheFile(text)) ?? { version: 1, hosts: {} };
}

function writeCacheFile(file: string, content: CacheFile): void {
  mkdirSync(localDirname(file), { recursive: true, mode: 0o700 });
  assertTrustedDir(localDirname(file), 'state directory');
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, JSON.stringify(content), { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
}

function matches(entry: CacheEntry | undefined, f: FileStat): entry is CacheEntry {
  return entry !== undefined && entry.size === f.size && entry.mtimeMs === f.mtimeMs;
}

// ---------------------------------------------------------------------------------------------
// The inventory

export interface DiskInventoryOptions {
  imageDirs: string[];
  /** Where the facts cache is kept between runs; null: memory only. */
  cacheFile?: string | null;
  /** qemu-img processes at a time for new or changed files. */
  concurrency?: number;
  /** The list of directories virtdeck wrote images to (jobs/writtenDirs.ts); null or absent: none. */
  writtenDirsFile?: string | null;
}

export interface InventorySnapshot {
  rows: DiskRow[];
  guests: GuestRow[];
  /** qemu-img queries this refresh needed (0 when nothing changed). */
  queried: number;
}

export class DiskInventory {
  private entries: Record<string, CacheEntry> | null = null;
  private fileCache: CacheFile | null = null;
  private last: InventorySnapshot | null = null;

  constructor(
    private readonly host: HostContext,
    private readonly opts: DiskInventoryOptions,
  ) {}

  private cache(): Record<string, CacheEntry> {
    if (this.entries) return this.entries;
    this.fileCache = this.opts.cacheFile ? readCacheFile(this.opts.cacheFile) : { version: 1, hosts: {} };
    const label = this.host.sysExec.label;
    this.fileCache.hosts[label] ??= {};
    this.entries = this.fileCache.hosts[label] as Record<string, CacheEntry>;
    return this.entries;
  }

  private save(): void {
    if (!this.opts.cacheFile || !this.fileCache) return;
    try {
      writeCacheFile(this.opts.cacheFile, this.fileCache);
    } catch {
      // A read-only state dir costs speed next time, nothing else.
    }
  }

  /** The configured image directories, every directory holding a guest's disk, and those virtdeck wrote to. */
  scanDirs(guests: GuestRow[]): string[] {
    const written = this.opts.writtenDirsFile ? readWrittenDirs(this.opts.writtenDirsFile, this.host.sysExec.label) : [];
    return dirsToScan({ configured: this.opts.imageDirs, guests, written });
  }

  get snapshot(): InventorySnapshot | null {
    return this.last;
  }

  /** `extra`: paths outside the image directories to include (`disk info /srv/x.raw`). */
  async refresh(signal?: AbortSignal, extra: string[] = []): Promise<InventorySnapshot> {
    const exec = this.host.sysExec;
    const cache = this.cache();
    // The directories holding guests' disks are known once the guests are: one `find` for every
    // directory then runs while the pools are still being listed.
    const volumesRead = listPoolVolumes(this.host, signal);
    const guests = await listGuests(this.host).catch(async (e) => {
      await volumesRead.catch(() => {});
      throw e;
    });
    const dirs = this.scanDirs(guests);
    const [volumes, dirFiles] = await Promise.all([volumesRead, scanDirs(exec, dirs, signal)]);
    const inDirs = new Set(dirFiles.map((f) => f.path));
    const elsewhere = [...guests.flatMap((g) => g.disks.map((d) => d.source ?? '')), ...volumes.map((v) => v.path), ...extra].filter((p) => p && !inDirs.has(p));
    const statted = await statFiles(exec, elsewhere, signal);
    // An extra path is shown like a file found in a directory.
    for (const f of statted) if (extra.includes(f.path) && !inDirs.has(f.path)) dirFiles.push(f);
    const present = [...dirFiles, ...statted];
    const known = new Set(present.map((f) => f.path));
    // Extents of a flat or split vmdk are read through their descriptor, not on their own.
    const stale = present.filter((f) => !matches(cache[f.path], f) || !cache[f.path]?.facts).filter((f) => !known.has(descriptorForExtent(f.path) ?? ''));
    const fresh = await mapLimited(stale, this.opts.concurrency ?? 4, (f) => readImageFacts(exec, f.path, this.opts.imageDirs));
    stale.forEach((f, i) => {
      const previous = cache[f.path];
      // A check result stays valid only while the file is unchanged.
      cache[f.path] = { size: f.size, mtimeMs: f.mtimeMs, facts: fresh[i] as ImageFacts, ...(matches(previous, f) && previous.check ? { check: previous.check } : {}) };
    });
    const gone = Object.keys(cache).filter((path) => !known.has(path));
    for (const path of gone) delete cache[path];
    if (stale.length > 0 || gone.length > 0) this.save();
    const facts = new Map<string, ImageFacts>();
    const checks = new Map<string, CheckFacts>();
    for (const f of present) {
      const e = cache[f.path];
      if (e?.facts) facts.set(f.path, e.facts);
      if (e?.check) checks.set(f.path, e.check);
    }
    await this.markMissingBacking(facts, known, signal);
    const identities = await this.identities([...known, ...guestSources(guests)], signal);
    const rows = mergeInventory({ guests, volumes, dirFiles, statted, facts, checks, identities });
    this.last = { rows, guests, queried: stale.length };
    return this.last;
  }

  /**
   * Which file each path is, so the "used by" column finds a guest that names its disk another way.
   * Only a display: the actions that change an image ask again (jobs/diskUsers.ts), so a host that
   * cannot answer leaves the column comparing names rather than the list empty.
   */
  private async identities(paths: string[], signal?: AbortSignal): Promise<IdentityMap> {
    try {
      return await fileIdentities(this.host.sysExec, paths, signal);
    } catch (e) {
      if (e instanceof HostError && e.code !== 'cancelled') return new Map();
      throw e;
    }
  }

  /**
   * An overlay does not change when its backing file is removed, so its cached facts cannot tell:
   * every backing file is looked up again on each refresh (one `stat`, only when there are chains).
   */
  private async markMissingBacking(facts: Map<string, ImageFacts>, known: Set<string>, signal?: AbortSignal): Promise<void> {
    const chainPaths = [...new Set([...facts.values()].flatMap((f) => f.backingChain))].filter((p) => p.startsWith('/') && !known.has(p));
    const found = new Set((await statFiles(this.host.sysExec, chainPaths, signal)).map((f) => f.path));
    for (const [path, f] of facts) {
      if (f.backingMissing) continue;
      const missing = f.backingChain.find((p) => p.startsWith('/') && !known.has(p) && !found.has(p));
      if (missing) facts.set(path, { ...f, backingMissing: missing });
    }
  }

  /**
   * The untrusted-image gate for a file the admin points at: what it names must stay beside it or in
   * the image directories. Throws a UserError (exit 2) when it does not.
   */
  gate(path: string, signal?: AbortSignal) {
    return inspectUntrustedImage(this.host.sysExec, path, { roots: [dirname(path), ...this.opts.imageDirs], allowBlock: true, allowMissing: true, signal });
  }

  /** Runs `qemu-img check` (force-share when a running guest holds it) and remembers the answer. */
  async check(path: string, opts: { forceShare: boolean; signal?: AbortSignal }): Promise<CheckFacts> {
    const exec = this.host.sysExec;
    const { format } = await this.gate(path, opts.signal);
    const r = await qemuImg.check(exec, path, { format, forceShare: opts.forceShare });
    const facts: CheckFacts = {
      ok: r.ok,
      supported: r.supported,
      corruptions: r.corruptions,
      leaks: r.leaks,
      checkErrors: r.checkErrors,
      message: r.message,
      at: new Date().toISOString(),
    };
    const [stat] = await statFiles(exec, [path], opts.signal);
    if (stat) {
      const cache = this.cache();
      const e = cache[path];
      cache[path] = matches(e, stat) ? { ...e, check: facts } : { size: stat.size, mtimeMs: stat.mtimeMs, check: facts };
      this.save();
    }
    return facts;
  }

  /**
   * qemu-img's own human-readable info with the whole chain, for the details dialog. Always -U,
   * like the facts above: it is a read-only look, and a guest may have started since the last
   * refresh, so "not in use" is never certain here.
   */
  async infoText(path: string): Promise<string> {
    const exec = this.host.sysExec;
    let format: string;
    try {
      format = (await this.gate(path)).format;
    } catch (e) {
      if (e instanceof UserError) return `${e.sentence}\n${e.fix}\n`;
      throw e;
    }
    try {
      return await qemuImg.infoText(exec, path, { format, forceShare: true, backingChain: true });
    } catch (e) {
      const h = e instanceof HostError ? e : toHostError(e);
      // Without the chain qemu-img still describes the image itself.
      const alone = await qemuImg.infoText(exec, path, { format, forceShare: true }).catch(() => '');
      return `${alone}\n(${h.sentence})\n`;
    }
  }
}
