import { parseSize } from './units.js';
import { UserError } from './userError.js';

/**
 * qemu-img's argv, pure: plans show exactly what will run (and model code builds them) without
 * pulling in a process runner. host/qemuImg.ts runs them and parses the answers.
 */

export type ImageFormat = 'raw' | 'qcow2' | 'vmdk' | 'vdi' | 'vhdx' | 'vpc' | 'qed' | 'luks' | (string & {});

export const QEMU_IMG = 'qemu-img';

/**
 * qemu reads "nbd:x" or "json:{…}" in a file name as a protocol and "-x" as an option; "./" in
 * front makes any relative name plain again.
 */
export function safeImagePath(path: string): string {
  if (path === '') throw new UserError('The image path is empty.', 'Give the path of the image file.');
  const colon = path.indexOf(':');
  const slash = path.indexOf('/');
  const protocolLike = colon >= 0 && (slash < 0 || colon < slash);
  return path.startsWith('-') || protocolLike ? `./${path}` : path;
}

/** `-o` value: keys checked, commas in values doubled (qemu's escape), booleans as on/off. */
export function optionString(options: Record<string, string | boolean | number>): string {
  return Object.entries(options)
    .map(([k, v]) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(k)) {
        throw new UserError(`"${k}" is not a qemu-img option name.`, 'Option names are letters, digits, _ and -, e.g. cluster_size or subformat.');
      }
      const value = typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);
      return `${k}=${value.replace(/,/g, ',,')}`;
    })
    .join(',');
}

function fmtFlag(flag: string, format: string | undefined): string[] {
  return format ? [flag, format] : [];
}

export interface ReadOptions {
  /** Format to open as; without it qemu-img probes (and warns about raw). */
  format?: ImageFormat;
  /** -U: look at an image a running guest holds open. */
  forceShare?: boolean;
}

export interface InfoOptions extends ReadOptions {
  backingChain?: boolean;
}

function infoOptionArgs(path: string, o: InfoOptions): string[] {
  return [...fmtFlag('-f', o.format), ...(o.forceShare ? ['-U'] : []), ...(o.backingChain ? ['--backing-chain'] : []), safeImagePath(path)];
}

export function infoArgv(path: string, o: InfoOptions = {}): string[] {
  return [QEMU_IMG, 'info', '--output=json', ...infoOptionArgs(path, o)];
}

/** `qemu-img info` in qemu-img's own human-readable words: for a person to read, never to parse. */
export function infoTextArgv(path: string, o: InfoOptions = {}): string[] {
  return [QEMU_IMG, 'info', ...infoOptionArgs(path, o)];
}

export function checkArgv(path: string, o: ReadOptions = {}): string[] {
  return [QEMU_IMG, 'check', '--output=json', ...fmtFlag('-f', o.format), ...(o.forceShare ? ['-U'] : []), safeImagePath(path)];
}

export interface CompareOptions {
  /** -s: a size difference or allocation difference counts as different too. */
  strict?: boolean;
  formatA?: ImageFormat;
  formatB?: ImageFormat;
  forceShare?: boolean;
}

export function compareArgv(a: string, b: string, o: CompareOptions = {}): string[] {
  return [
    QEMU_IMG,
    'compare',
    '-p',
    ...fmtFlag('-f', o.formatA),
    ...fmtFlag('-F', o.formatB),
    ...(o.strict ? ['-s'] : []),
    ...(o.forceShare ? ['-U'] : []),
    safeImagePath(a),
    safeImagePath(b),
  ];
}

export interface MeasureOptions {
  /** An existing image to measure… */
  source?: string;
  sourceFormat?: ImageFormat;
  /** …or a new empty image of this many bytes. */
  size?: number;
  outputFormat: ImageFormat;
  options?: Record<string, string | boolean | number>;
  forceShare?: boolean;
}

export function measureArgv(o: MeasureOptions): string[] {
  if ((o.source === undefined) === (o.size === undefined)) {
    throw new UserError('Measuring needs either a source image or a size, not both.', 'Pass source (an existing image) or size (bytes of a new one).');
  }
  const argv = [QEMU_IMG, 'measure', '--output=json', '-O', o.outputFormat];
  if (o.options && Object.keys(o.options).length > 0) argv.push('-o', optionString(o.options));
  if (o.size !== undefined) return [...argv, '--size', String(o.size)];
  return [...argv, ...fmtFlag('-f', o.sourceFormat), ...(o.forceShare ? ['-U'] : []), safeImagePath(o.source as string)];
}

export function mapArgv(path: string, o: ReadOptions = {}): string[] {
  return [QEMU_IMG, 'map', '--output=json', ...fmtFlag('-f', o.format), ...(o.forceShare ? ['-U'] : []), safeImagePath(path)];
}

export interface CreateOptions {
  format: ImageFormat;
  /** Optional only with a backing file (the new image then takes its size). */
  sizeBytes?: number;
  options?: Record<string, string | boolean | number>;
  backing?: string;
  backingFormat?: ImageFormat;
  preallocation?: 'off' | 'metadata' | 'falloc' | 'full';
}

export function createArgv(path: string, o: CreateOptions): string[] {
  if (o.backing !== undefined && !o.backingFormat) {
    throw new UserError('A backing file needs its format.', 'Give backingFormat (qcow2, raw…): qemu refuses to guess it, because probing a raw backing file is unsafe.');
  }
  if (o.sizeBytes === undefined && o.backing === undefined) {
    throw new UserError('A new image needs a size.', 'Give the size, e.g. 20G.');
  }
  if (o.sizeBytes !== undefined && (!Number.isSafeInteger(o.sizeBytes) || o.sizeBytes < 0)) {
    throw new UserError(`${o.sizeBytes} is not a size in bytes.`, 'Give a whole number of bytes (or use parseSize on "20G").');
  }
  const opts = { ...(o.options ?? {}), ...(o.preallocation ? { preallocation: o.preallocation } : {}) };
  return [
    QEMU_IMG,
    'create',
    '-q',
    '-f',
    o.format,
    ...(Object.keys(opts).length > 0 ? ['-o', optionString(opts)] : []),
    ...(o.backing !== undefined ? ['-b', o.backing, '-F', o.backingFormat as string] : []),
    safeImagePath(path),
    ...(o.sizeBytes !== undefined ? [String(o.sizeBytes)] : []),
  ];
}

export interface ConvertOptions {
  source: string;
  sourceFormat?: ImageFormat;
  dest: string;
  destFormat: ImageFormat;
  options?: Record<string, string | boolean | number>;
  /** -c: compressed clusters (qcow2, vmdk streamOptimized). */
  compress?: boolean;
  /** false: write every block, zeros too (-S 0); default sparse. */
  sparse?: boolean;
  forceShare?: boolean;
  /** Write into an existing, freshly created all-zero image (-n --target-is-zero). */
  targetIsZero?: boolean;
}

export function convertArgv(o: ConvertOptions): string[] {
  return [
    QEMU_IMG,
    'convert',
    '-p',
    ...fmtFlag('-f', o.sourceFormat),
    ...(o.forceShare ? ['-U'] : []),
    '-O',
    o.destFormat,
    ...(o.options && Object.keys(o.options).length > 0 ? ['-o', optionString(o.options)] : []),
    ...(o.compress ? ['-c'] : []),
    ...(o.sparse === false ? ['-S', '0'] : []),
    ...(o.targetIsZero ? ['-n', '--target-is-zero'] : []),
    safeImagePath(o.source),
    safeImagePath(o.dest),
  ];
}

export interface ResizeOptions {
  format: ImageFormat;
  /** Shrinking is never done here: it destroys whatever lies past the new end. */
  shrink?: false;
  preallocation?: 'off' | 'metadata' | 'falloc' | 'full';
}

/** The convert → resize → convert-back route, for formats qemu-img cannot resize in place. */
function noResize(format: string): UserError {
  return new UserError(
    `qemu-img cannot resize ${format} images in place.`,
    `Grow it by copying: convert it to raw or qcow2, resize that copy, convert it back to ${format} with the original's options (for vmdk: subformat, adapter_type and hwversion from its descriptor), compare, then swap the files — the disk-expansion wizard does this.`,
  );
}

const NOT_RESIZABLE = ['vmdk', 'vdi', 'vhdx', 'vpc'];

/** `size`: bytes, or text like "20G" (new size) or "+5G" (grow by). */
export function resizeArgv(path: string, size: number | string, o: ResizeOptions): string[] {
  if (NOT_RESIZABLE.includes(o.format)) throw noResize(o.format);
  let arg: string;
  if (typeof size === 'number') {
    if (!Number.isSafeInteger(size) || size <= 0) throw new UserError(`${size} is not a size in bytes.`, 'Give the new size, e.g. 20G, or +5G to grow by 5 GiB.');
    arg = String(size);
  } else {
    const parsed = parseSize(size);
    if (parsed.relative && parsed.bytes === 0) throw new UserError('Growing by 0 bytes changes nothing.', 'Give how much to add, e.g. +5G.');
    arg = parsed.relative ? `+${parsed.bytes}` : String(parsed.bytes);
  }
  return [QEMU_IMG, 'resize', '-f', o.format, ...(o.preallocation ? [`--preallocation=${o.preallocation}`] : []), safeImagePath(path), arg];
}

export interface RebaseOptions {
  /** New backing file; '' makes the image stand alone (safe mode copies the data in). */
  backing: string;
  backingFormat?: ImageFormat;
  /** -u: only rewrite the header (the new backing file must hold the same data). */
  unsafe?: boolean;
  format?: ImageFormat;
}

export function rebaseArgv(path: string, o: RebaseOptions): string[] {
  if (o.backing !== '' && !o.backingFormat) {
    throw new UserError('A backing file needs its format.', 'Give backingFormat (qcow2, raw…).');
  }
  return [
    QEMU_IMG,
    'rebase',
    ...fmtFlag('-f', o.format),
    ...(o.unsafe ? ['-u'] : []),
    ...(o.backing !== '' ? ['-F', o.backingFormat as string] : []),
    '-b',
    o.backing,
    safeImagePath(path),
  ];
}
