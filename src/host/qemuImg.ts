import { z } from 'zod';
import { type Progress, ProgressTracker, qemuImgProgressStream } from '../model/progress.js';
import {
  type CompareOptions,
  type ConvertOptions,
  type CreateOptions,
  checkArgv,
  compareArgv,
  convertArgv,
  createArgv,
  type ImageFormat,
  type InfoOptions,
  infoArgv,
  infoTextArgv,
  type MeasureOptions,
  mapArgv,
  measureArgv,
  QEMU_IMG,
  type ReadOptions,
  type RebaseOptions,
  type ResizeOptions,
  rebaseArgv,
  resizeArgv,
} from '../model/qemuImgArgv.js';
import { UserError } from '../model/userError.js';
import { explain, HostError } from './errors.js';
import type { ExecOptions, Executor } from './exec.js';

/**
 * Typed qemu-img: every disk and backup job goes through here. Each command has a pure argv
 * builder (model/qemuImgArgv.ts, so plans can show exactly what will run) and a run function that parses qemu-img's
 * JSON into the types below. Read-only looks at an image a running guest holds need forceShare
 * (-U); writes to such an image must fail, and qemu's lock makes them fail. Failures arrive worded
 * already: the executor explains every failed command with the one catalog
 * (assets/known-errors.json), whose qemu-img-* entries speak of images, not of guests.
 */

// The builders are part of this module's API: callers use qemuImg.convertArgv beside qemuImg.convert.
export * from '../model/qemuImgArgv.js';

// ---------------------------------------------------------------------------------------------
// Types of the parsed answers

export interface Qcow2Bitmap {
  name: string;
  /** 'auto' (tracks writes), 'in-use' (not saved cleanly: unusable for incrementals). */
  flags: string[];
  granularity: number;
}

export interface VmdkExtentInfo {
  filename: string;
  /** '' for the extent of a monolithic sparse file, 'FLAT', 'SPARSE'… */
  format: string;
  virtualSize: number;
  clusterSize: number | null;
  compressed: boolean;
}

export type FormatSpecific =
  | {
      type: 'qcow2';
      compat: string;
      lazyRefcounts: boolean;
      bitmaps: Qcow2Bitmap[];
      corrupt: boolean;
      refcountBits: number | null;
      compressionType: string | null;
    }
  | { type: 'vmdk'; createType: string; cid: number; parentCid: number; extents: VmdkExtentInfo[] }
  | { type: 'other'; name: string; data: Record<string, unknown> };

export interface SnapshotInfo {
  id: string;
  name: string;
  vmStateSize: number;
  date: Date;
  vmClockNsec: number;
}

export interface ImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  /** Bytes used on the host; null for remote protocols that cannot tell. */
  actualSize: number | null;
  dirtyFlag: boolean;
  clusterSize: number | null;
  backingFilename: string | null;
  fullBackingFilename: string | null;
  backingFilenameFormat: string | null;
  encrypted: boolean;
  formatSpecific: FormatSpecific | null;
  snapshots: SnapshotInfo[];
}

export interface CheckResult {
  /** No corruption, leak or check error (also true for formats qemu-img cannot check). */
  ok: boolean;
  exitCode: number;
  /** False for formats without a checker (raw: exit 63). */
  supported: boolean;
  corruptions: number;
  leaks: number;
  checkErrors: number;
  imageEndOffset?: number;
  /** qemu-img's own lines ("Leaked cluster 5 refcount=1 reference=0"). */
  message: string;
  raw: Record<string, unknown> | null;
}

export interface CompareResult {
  identical: boolean;
  message: string;
  /** Where the first difference is, when qemu-img says. */
  mismatchOffset?: number;
}

export interface MeasureResult {
  /** Bytes the new image needs for the data there is now. */
  required: number;
  /** Bytes it needs once every block is written. */
  fullyAllocated: number;
  /** Bytes for persistent bitmaps copied along (qcow2 → qcow2 with --bitmaps). */
  bitmaps?: number;
}

export interface MapEntry {
  start: number;
  length: number;
  /** 0 = this image, 1 = its backing file, … */
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  offset?: number;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the parsers

function badOutput(argv: string[], stdout: string, what: string, detail: string): HostError {
  return new HostError({
    sentence: `qemu-img answered in a way virtdeck does not understand (${what}: ${detail}).`,
    fix: 'Run the command by hand to see its output; this qemu-img version may differ from the one virtdeck knows (7.2).',
    command: argv,
    stderr: stdout.slice(0, 2000),
    code: 'bad-output',
  });
}

function parseJson<T>(argv: string[], stdout: string, schema: z.ZodType<T>, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    throw badOutput(argv, stdout, what, 'not JSON');
  }
  const r = schema.safeParse(value);
  if (!r.success) throw badOutput(argv, stdout, what, r.error.issues[0]?.message ?? 'unexpected fields');
  return r.data;
}

/** Copies run for hours; only a cancel or the tool itself ends them (0 = no timeout in execa). */
const NO_TIMEOUT = 0;

// ---------------------------------------------------------------------------------------------
// info

const snapshotSchema = z.object({
  id: z.string(),
  name: z.string(),
  'vm-state-size': z.number(),
  'date-sec': z.number(),
  'date-nsec': z.number(),
  'vm-clock-sec': z.number(),
  'vm-clock-nsec': z.number(),
});

const formatSpecificSchema = z.object({ type: z.string(), data: z.record(z.string(), z.unknown()) });

const infoSchema = z.object({
  filename: z.string(),
  format: z.string(),
  'virtual-size': z.number(),
  'actual-size': z.number().optional(),
  'dirty-flag': z.boolean().optional(),
  'cluster-size': z.number().optional(),
  'backing-filename': z.string().optional(),
  'full-backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  encrypted: z.boolean().optional(),
  'format-specific': formatSpecificSchema.optional(),
  snapshots: z.array(snapshotSchema).optional(),
});

const qcow2DataSchema = z.object({
  compat: z.string(),
  'lazy-refcounts': z.boolean().optional(),
  corrupt: z.boolean().optional(),
  'refcount-bits': z.number().optional(),
  'compression-type': z.string().optional(),
  bitmaps: z.array(z.object({ name: z.string(), flags: z.array(z.string()), granularity: z.number() })).optional(),
});

const vmdkDataSchema = z.object({
  cid: z.number(),
  'parent-cid': z.number(),
  'create-type': z.string(),
  extents: z.array(
    z.object({
      filename: z.string(),
      format: z.string(),
      'virtual-size': z.number(),
      'cluster-size': z.number().optional(),
      compressed: z.boolean().optional(),
    }),
  ),
});

function toFormatSpecific(fs: z.infer<typeof formatSpecificSchema> | undefined): FormatSpecific | null {
  if (!fs) return null;
  if (fs.type === 'qcow2') {
    const d = qcow2DataSchema.safeParse(fs.data);
    if (d.success) {
      return {
        type: 'qcow2',
        compat: d.data.compat,
        lazyRefcounts: d.data['lazy-refcounts'] ?? false,
        bitmaps: d.data.bitmaps ?? [],
        corrupt: d.data.corrupt ?? false,
        refcountBits: d.data['refcount-bits'] ?? null,
        compressionType: d.data['compression-type'] ?? null,
      };
    }
  }
  if (fs.type === 'vmdk') {
    const d = vmdkDataSchema.safeParse(fs.data);
    if (d.success) {
      return {
        type: 'vmdk',
        createType: d.data['create-type'],
        cid: d.data.cid,
        parentCid: d.data['parent-cid'],
        extents: d.data.extents.map((e) => ({
          filename: e.filename,
          format: e.format,
          virtualSize: e['virtual-size'],
          clusterSize: e['cluster-size'] ?? null,
          compressed: e.compressed ?? false,
        })),
      };
    }
  }
  return { type: 'other', name: fs.type, data: fs.data };
}

function toImageInfo(j: z.infer<typeof infoSchema>): ImageInfo {
  return {
    filename: j.filename,
    format: j.format,
    virtualSize: j['virtual-size'],
    actualSize: j['actual-size'] ?? null,
    dirtyFlag: j['dirty-flag'] ?? false,
    clusterSize: j['cluster-size'] ?? null,
    backingFilename: j['backing-filename'] ?? null,
    fullBackingFilename: j['full-backing-filename'] ?? null,
    backingFilenameFormat: j['backing-filename-format'] ?? null,
    encrypted: j.encrypted ?? false,
    formatSpecific: toFormatSpecific(j['format-specific']),
    snapshots: (j.snapshots ?? []).map((s) => ({
      id: s.id,
      name: s.name,
      vmStateSize: s['vm-state-size'],
      date: new Date(s['date-sec'] * 1000 + Math.floor(s['date-nsec'] / 1e6)),
      vmClockNsec: s['vm-clock-sec'] * 1e9 + s['vm-clock-nsec'],
    })),
  };
}

/** Parses `qemu-img info --output=json` (one object, or an array with --backing-chain). */
export function parseInfo(stdout: string, argv: string[] = [QEMU_IMG, 'info']): ImageInfo | ImageInfo[] {
  const trimmed = stdout.trim();
  if (trimmed.startsWith('[')) return parseJson(argv, trimmed, z.array(infoSchema), 'image info').map(toImageInfo);
  return toImageInfo(parseJson(argv, trimmed, infoSchema, 'image info'));
}

export async function info(exec: Executor, path: string, o: InfoOptions & { backingChain: true }): Promise<ImageInfo[]>;
export async function info(exec: Executor, path: string, o?: InfoOptions & { backingChain?: false }): Promise<ImageInfo>;
export async function info(exec: Executor, path: string, o?: InfoOptions): Promise<ImageInfo | ImageInfo[]>;
export async function info(exec: Executor, path: string, o: InfoOptions = {}): Promise<ImageInfo | ImageInfo[]> {
  const argv = infoArgv(path, o);
  const r = await exec.run(argv);
  const parsed = parseInfo(r.stdout, argv);
  if (o.backingChain) return Array.isArray(parsed) ? parsed : [parsed];
  if (Array.isArray(parsed)) {
    const first = parsed[0];
    if (!first) throw badOutput(argv, r.stdout, 'image info', 'empty chain');
    return first;
  }
  return parsed;
}

/** qemu-img's human-readable description of an image (and its chain), e.g. for the disk details dialog. */
export async function infoText(exec: Executor, path: string, o: InfoOptions = {}): Promise<string> {
  return (await exec.run(infoTextArgv(path, o))).stdout;
}

export async function snapshotList(exec: Executor, path: string, o: ReadOptions = {}): Promise<SnapshotInfo[]> {
  return (await info(exec, path, o)).snapshots;
}

/** Persistent dirty bitmaps of a qcow2 image; [] for formats that cannot hold them. */
export async function bitmaps(exec: Executor, path: string, o: ReadOptions = {}): Promise<Qcow2Bitmap[]> {
  const fs = (await info(exec, path, o)).formatSpecific;
  return fs?.type === 'qcow2' ? fs.bitmaps : [];
}

// ---------------------------------------------------------------------------------------------
// check

/** 0 clean, 1 not checked (with JSON) or a failure to open (without), 2 corrupt, 3 leaks, 63 no checker. */
const CHECK_ANSWERS = [1, 2, 3, 63];
const CHECK_UNSUPPORTED = 63;

const checkSchema = z.looseObject({
  'check-errors': z.number(),
  corruptions: z.number().optional(),
  leaks: z.number().optional(),
  'image-end-offset': z.number().optional(),
});

/** Turns check's exit code and output into an answer; null when it is a failure, not an answer. */
export function parseCheck(exitCode: number, stdout: string, stderr: string, argv: string[] = [QEMU_IMG, 'check']): CheckResult | null {
  const message = stderr.trim();
  if (exitCode === CHECK_UNSUPPORTED) {
    return { ok: true, exitCode, supported: false, corruptions: 0, leaks: 0, checkErrors: 0, message, raw: null };
  }
  // A lock or open error also exits 1, but prints no report.
  if (!stdout.trim().startsWith('{')) {
    if (exitCode === 0) throw badOutput(argv, stdout, 'check report', 'no JSON');
    return null;
  }
  const j = parseJson(argv, stdout, checkSchema, 'check report');
  const corruptions = j.corruptions ?? 0;
  const leaks = j.leaks ?? 0;
  const checkErrors = j['check-errors'];
  const result: CheckResult = {
    ok: exitCode === 0 && corruptions === 0 && leaks === 0 && checkErrors === 0,
    exitCode,
    supported: true,
    corruptions,
    leaks,
    checkErrors,
    message,
    raw: j,
  };
  if (j['image-end-offset'] !== undefined) result.imageEndOffset = j['image-end-offset'];
  return result;
}

export async function check(exec: Executor, path: string, o: ReadOptions = {}): Promise<CheckResult> {
  const argv = checkArgv(path, o);
  const r = await exec.run(argv, { okExitCodes: CHECK_ANSWERS, timeoutMs: NO_TIMEOUT });
  const answer = parseCheck(r.exitCode, r.stdout, r.stderr, argv);
  if (answer) return answer;
  throw explain(argv, r.stderr || r.stdout, r.exitCode);
}

// ---------------------------------------------------------------------------------------------
// compare

export interface LongRun {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Default: none; a cancel is the way to stop a copy. */
  timeoutMs?: number;
}

/** The verdict from compare's stdout, with the progress updates taken out. */
export function parseCompare(exitCode: number, stdout: string): CompareResult {
  const message =
    stdout
      .replace(/\s*\(\d+(?:\.\d+)?\/100%\)\r?/g, '\n')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? '';
  const result: CompareResult = { identical: exitCode === 0, message };
  const offset = /offset (\d+)/i.exec(message);
  if (offset) result.mismatchOffset = Number(offset[1]);
  return result;
}

export async function compare(exec: Executor, a: string, b: string, o: CompareOptions & LongRun = {}): Promise<CompareResult> {
  const argv = compareArgv(a, b, o);
  const onStdout = o.onProgress ? await progressFeed(exec, a, { format: o.formatA, forceShare: o.forceShare }, o.onProgress) : undefined;
  const r = await exec.run(argv, { okExitCodes: [1], signal: o.signal, onStdout, timeoutMs: o.timeoutMs ?? NO_TIMEOUT });
  return parseCompare(r.exitCode, r.stdout);
}

/** A stdout listener that turns `-p` percentages into Progress with bytes of the image's size. */
async function progressFeed(exec: Executor, source: string, read: ReadOptions, onProgress: (p: Progress) => void) {
  const size = (await info(exec, source, read)).virtualSize;
  const tracker = new ProgressTracker(size);
  return qemuImgProgressStream((percent) => onProgress(tracker.updatePercent(percent, Date.now())));
}

// ---------------------------------------------------------------------------------------------
// measure

const measureSchema = z.object({ required: z.number(), 'fully-allocated': z.number(), bitmaps: z.number().optional() });

export function parseMeasure(stdout: string, argv: string[] = [QEMU_IMG, 'measure']): MeasureResult {
  const j = parseJson(argv, stdout, measureSchema, 'measure');
  const r: MeasureResult = { required: j.required, fullyAllocated: j['fully-allocated'] };
  if (j.bitmaps !== undefined) r.bitmaps = j.bitmaps;
  return r;
}

export async function measure(exec: Executor, o: MeasureOptions): Promise<MeasureResult> {
  const argv = measureArgv(o);
  const r = await exec.run(argv);
  return parseMeasure(r.stdout, argv);
}

// ---------------------------------------------------------------------------------------------
// map

const mapSchema = z.array(
  z.object({
    start: z.number(),
    length: z.number(),
    depth: z.number(),
    present: z.boolean().optional(),
    zero: z.boolean(),
    data: z.boolean(),
    offset: z.number().optional(),
  }),
);

export function parseMap(stdout: string, argv: string[] = [QEMU_IMG, 'map']): MapEntry[] {
  return parseJson(argv, stdout, mapSchema, 'map').map((e) => {
    const entry: MapEntry = { start: e.start, length: e.length, depth: e.depth, present: e.present ?? e.data, zero: e.zero, data: e.data };
    if (e.offset !== undefined) entry.offset = e.offset;
    return entry;
  });
}

export async function map(exec: Executor, path: string, o: ReadOptions = {}): Promise<MapEntry[]> {
  const argv = mapArgv(path, o);
  const r = await exec.run(argv, { timeoutMs: NO_TIMEOUT });
  return parseMap(r.stdout, argv);
}

/** Bytes that hold data (in this image or its backing chain): what a copy has to move. */
export function allocatedDataBytes(entries: MapEntry[]): number {
  return entries.reduce((sum, e) => sum + (e.data ? e.length : 0), 0);
}

// ---------------------------------------------------------------------------------------------
// Files an image consists of, and never overwriting them

const TWO_GIB = 2 * 1024 ** 3;

/**
 * Every file qemu-img writes for a new image: the image itself, plus the extent files of flat or
 * split vmdks (named like qemu's vmdk driver does: NAME-flat.vmdk, NAME-f001.vmdk, NAME-s001.vmdk).
 */
export function imageFiles(path: string, format: ImageFormat, options: Record<string, string | boolean | number> = {}, sizeBytes = 0): string[] {
  if (format !== 'vmdk') return [path];
  const sub = String(options.subformat ?? 'monolithicSparse');
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  const [prefix, postfix] = dot > slash ? [path.slice(0, dot), path.slice(dot)] : [path, ''];
  if (sub === 'monolithicFlat') return [path, `${prefix}-flat${postfix}`];
  if (sub === 'twoGbMaxExtentFlat' || sub === 'twoGbMaxExtentSparse') {
    const letter = sub === 'twoGbMaxExtentFlat' ? 'f' : 's';
    const count = Math.max(1, Math.ceil(sizeBytes / TWO_GIB));
    return [path, ...Array.from({ length: count }, (_, i) => `${prefix}-${letter}${String(i + 1).padStart(3, '0')}${postfix}`)];
  }
  return [path];
}

/** Which of these paths exist on the executor's host, in one process whatever their number. */
export async function existingPaths(exec: Executor, paths: string[]): Promise<string[]> {
  if (paths.length === 0) return [];
  // Paths travel as arguments, never inside the script, so any name is safe.
  const script = 'for f in "$@"; do if test -e "$f" || test -L "$f"; then printf "%s\\0" "$f"; fi; done';
  const r = await exec.run(['sh', '-c', script, 'sh', ...paths]);
  return r.stdout.split('\0').filter(Boolean);
}

async function refuseExisting(exec: Executor, files: string[]): Promise<void> {
  const existing = await existingPaths(exec, files);
  if (existing.length > 0) {
    throw new UserError(
      `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; virtdeck never overwrites an image.`,
      'Choose another destination name, or move the old file away first if it is really unwanted.',
    );
  }
}

async function removeFiles(exec: Executor, files: string[]): Promise<void> {
  if (files.length > 0) await exec.run(['rm', '-f', '--', ...files]);
}

// ---------------------------------------------------------------------------------------------
// create

export async function create(exec: Executor, path: string, o: CreateOptions): Promise<string[]> {
  const argv = createArgv(path, o);
  await refuseExisting(exec, imageFiles(path, o.format, o.options, o.sizeBytes ?? 0));
  await exec.run(argv, { timeoutMs: o.preallocation === 'full' ? NO_TIMEOUT : undefined });
  return argv;
}

// ---------------------------------------------------------------------------------------------
// convert

/**
 * Copies an image with progress. The destination must not exist (or, with targetIsZero, must be
 * a fresh empty image made for this copy); on cancel or failure the files this copy created are
 * removed, so a half-written image is never left looking like a good one.
 */
export async function convert(exec: Executor, o: ConvertOptions, run: LongRun = {}): Promise<string[]> {
  const argv = convertArgv(o);
  const source = await info(exec, o.source, { format: o.sourceFormat, forceShare: o.forceShare });
  const files = imageFiles(o.dest, o.destFormat, o.options, source.virtualSize);
  if (o.targetIsZero) {
    if ((await existingPaths(exec, [o.dest])).length === 0) {
      throw new UserError(`${o.dest} does not exist, but the copy was asked to write into an existing empty image.`, 'Create the destination first, or copy without targetIsZero.');
    }
  } else {
    await refuseExisting(exec, files);
  }
  const tracker = new ProgressTracker(source.virtualSize);
  const onStdout = run.onProgress
    ? qemuImgProgressStream((percent) => run.onProgress?.(tracker.updatePercent(percent, Date.now())))
    : undefined;
  try {
    await exec.run(argv, { signal: run.signal, onStdout, timeoutMs: run.timeoutMs ?? NO_TIMEOUT });
  } catch (e) {
    if (!o.targetIsZero) await removeFiles(exec, files).catch(() => undefined);
    throw e;
  }
  // qemu-img's last update can be lost in the final write; the copy is complete either way.
  if (run.onProgress && tracker.progress.percent !== 100) run.onProgress(tracker.updatePercent(100, Date.now()));
  return argv;
}

// ---------------------------------------------------------------------------------------------
// resize

export interface ResizeResult {
  argv: string[];
  fromBytes: number;
  toBytes: number;
}

/** Grows an image (never shrinks: that is refused before anything runs). */
export async function resize(exec: Executor, path: string, size: number | string, o: ResizeOptions): Promise<ResizeResult> {
  const argv = resizeArgv(path, size, o);
  const fromBytes = (await info(exec, path, { format: o.format })).virtualSize;
  const target = argv[argv.length - 1] as string;
  const toBytes = target.startsWith('+') ? fromBytes + Number(target.slice(1)) : Number(target);
  if (toBytes < fromBytes) {
    throw new UserError(
      `The new size is smaller than the disk (${toBytes} < ${fromBytes} bytes); shrinking would destroy the data at the end.`,
      'Give a size at least as large as the current one; to shrink, shrink the filesystem inside the guest first and copy to a smaller disk with a partition tool.',
    );
  }
  await exec.run(argv, { timeoutMs: o.preallocation === 'full' || o.preallocation === 'falloc' ? NO_TIMEOUT : undefined });
  return { argv, fromBytes, toBytes };
}

// ---------------------------------------------------------------------------------------------
// rebase

export async function rebase(exec: Executor, path: string, o: RebaseOptions, run: Pick<LongRun, 'signal' | 'timeoutMs'> = {}): Promise<string[]> {
  const argv = rebaseArgv(path, o);
  const opts: ExecOptions = { signal: run.signal, timeoutMs: run.timeoutMs ?? (o.unsafe ? undefined : NO_TIMEOUT) };
  await exec.run(argv, opts);
  return argv;
}
