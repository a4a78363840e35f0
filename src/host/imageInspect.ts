/**
 * The gate every image from outside passes before QEMU opens it: the file itself must be a regular
 * file (a block device where the caller allows one), and every file its header names — backing
 * file, external data file, vmdk extent or snapshot parent — must be a regular file inside the
 * image's own directory (or the roots the caller trusts, e.g. a backup's guest directory for an
 * incremental chain), never a protocol address (nbd:, http:, json:{…}). Backing files are gated in
 * turn, the whole chain. The answer's format is what to pass as `-f`: QEMU never probes.
 *
 * Locally the first bytes are read with Node's fs (opened non-blocking, so a FIFO swapped in cannot
 * hang the read); on another host with one bounded `head | od` through the executor.
 */
import { constants } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type DetectedFormat,
  HEAD_BYTES,
  type ImageHeader,
  inspectImageHeader,
  isInside,
  protocolOf,
  ROLE_WORDS,
  referencePath,
} from '../model/imageHeader.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import type { Executor } from './exec.js';

export type FileKind = 'regular' | 'directory' | 'block' | 'char' | 'fifo' | 'socket' | 'symlink' | 'other' | 'missing';

export interface FileHead {
  kind: FileKind;
  /** The path with every symlink resolved; null when missing. */
  realPath: string | null;
  size: number;
  /** The first bytes (regular files and block devices only). */
  head: Uint8Array;
}

const KIND_WORDS: Record<FileKind, string> = {
  regular: 'a regular file',
  directory: 'a directory',
  block: 'a block device',
  char: 'a character device',
  fifo: 'a FIFO (named pipe)',
  socket: 'a socket',
  symlink: 'a symbolic link',
  other: 'not a regular file',
  missing: 'missing',
};

const STAT_KINDS: Record<string, FileKind> = {
  'regular file': 'regular',
  'regular empty file': 'regular',
  directory: 'directory',
  'block special file': 'block',
  'character special file': 'char',
  fifo: 'fifo',
  socket: 'socket',
  'symbolic link': 'symlink',
};

function kindOf(s: import('node:fs').Stats): FileKind {
  if (s.isFile()) return 'regular';
  if (s.isDirectory()) return 'directory';
  if (s.isBlockDevice()) return 'block';
  if (s.isCharacterDevice()) return 'char';
  if (s.isFIFO()) return 'fifo';
  if (s.isSocket()) return 'socket';
  return 'other';
}

async function localHead(path: string, bytes: number): Promise<FileHead> {
  let st: import('node:fs').Stats;
  try {
    st = await stat(path);
  } catch {
    return { kind: 'missing', realPath: null, size: 0, head: new Uint8Array() };
  }
  const kind = kindOf(st);
  const real = await realpath(path);
  if (kind !== 'regular' && kind !== 'block') return { kind, realPath: real, size: st.size, head: new Uint8Array() };
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    // The file may have been swapped between stat and open: trust what was opened.
    const opened = kindOf(await fh.stat());
    if (opened !== kind) return { kind: opened, realPath: real, size: st.size, head: new Uint8Array() };
    const buf = new Uint8Array(bytes);
    let got = 0;
    while (got < bytes) {
      const { bytesRead } = await fh.read(buf, got, bytes - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return { kind, realPath: real, size: kind === 'block' ? Math.max(st.size, got) : st.size, head: buf.subarray(0, got) };
  } finally {
    await fh.close();
  }
}

/** Named in the argv ($0) so test fakes can answer it. */
export const HEAD_SCRIPT_NAME = 'virtdeck-image-head';
// The path travels as an argument, never inside the script. Only regular files and block devices are read.
const HEAD_SCRIPT =
  't=$(stat -L --printf %F -- "$1" 2>/dev/null) || exit 0; printf "%s\\t%s\\n" "$t" "$(stat -L --printf %s -- "$1")"; realpath -e -- "$1"; ' +
  'case "$t" in "regular file"|"regular empty file"|"block special file") head -c "$2" -- "$1" | od -A n -t x1 -v;; esac';

export function parseHeadAnswer(stdout: string): FileHead {
  const [first, real, ...hex] = stdout.split('\n');
  if (!first) return { kind: 'missing', realPath: null, size: 0, head: new Uint8Array() };
  const [type, size] = first.split('\t');
  const pairs = hex.join(' ').match(/[0-9a-f]{2}/gi) ?? [];
  return {
    kind: STAT_KINDS[type ?? ''] ?? 'other',
    realPath: real || null,
    size: Number(size) || 0,
    head: Uint8Array.from(pairs.map((h) => Number.parseInt(h, 16))),
  };
}

async function remoteHead(exec: Executor, path: string, bytes: number, signal?: AbortSignal): Promise<FileHead> {
  const r = await exec.run(['sh', '-c', HEAD_SCRIPT, HEAD_SCRIPT_NAME, path, String(bytes)], { signal });
  return parseHeadAnswer(r.stdout);
}

/** The kind, real path, size and first `bytes` bytes of a file on the executor's host. */
export async function readFileHead(exec: Executor, path: string, bytes = HEAD_BYTES, signal?: AbortSignal): Promise<FileHead> {
  return exec.local ? localHead(path, bytes) : remoteHead(exec, path, bytes, signal);
}

/** The refusal for a source that is not an image file: a directory, /dev/zero, a FIFO… */
export function notAnImageFile(path: string, kind: FileKind, o: { allowBlock?: boolean; what?: string } = {}): UserError {
  if (kind === 'missing') return new UserError(`${shown(path)} does not exist.`, 'Check the path.');
  const what = o.what ?? 'a disk image file';
  return new UserError(
    `${shown(path)} is ${KIND_WORDS[kind]}, not ${what}.`,
    o.allowBlock ? `Give ${what} or a block device.` : `Give the path of ${what}${o.what ? '' : ' (for a physical disk use P2V --from-device)'}.`,
  );
}

export interface InspectOptions {
  /**
   * Directories the referenced files may be in (after symlinks are resolved). Default: the
   * image's own directory. A backup restore adds the guest's directory of the destination, where
   * an incremental's ../PARENT/ chain lives.
   */
  roots?: string[];
  /** A block device is acceptable as the image itself (P2V from a device, a guest's LVM disk). */
  allowBlock?: boolean;
  /** References to files that do not exist are left to QEMU's own "could not open" (the disk list shows them). */
  allowMissing?: boolean;
  /** The format the caller was told; a file whose header says otherwise is refused. */
  expectFormat?: string;
  signal?: AbortSignal;
}

export interface InspectedImage {
  path: string;
  realPath: string;
  kind: 'regular' | 'block';
  format: DetectedFormat;
  size: number;
  /** The file itself, then every file it names, then the backing chain's, each once (real paths). */
  files: string[];
  /** Backing files, nearest first, as QEMU will find them. */
  backingChain: string[];
  /** References within the roots that do not exist (only with allowMissing). */
  missing: string[];
}

async function headerOf(exec: Executor, path: string, first: FileHead, signal?: AbortSignal): Promise<ImageHeader> {
  let head = first;
  let h = inspectImageHeader(head.head, head.size);
  // At most two more reads: the qcow2 header cluster, a descriptor file or an embedded descriptor.
  for (let i = 0; i < 2 && h.needBytes !== undefined && h.needBytes > head.head.length; i++) {
    head = await readFileHead(exec, path, h.needBytes, signal);
    h = inspectImageHeader(head.head, head.size);
  }
  if (h.needBytes !== undefined && h.needBytes > head.head.length) h.problems.push('its header keeps asking for more of the file');
  return h;
}

/**
 * The format of an image by its own first bytes, for a disk whose definition does not say
 * (qemu-img then gets it as -f instead of probing). Nothing is confined: for a file from outside,
 * use inspectUntrustedImage.
 */
export async function detectImageFormat(exec: Executor, path: string, signal?: AbortSignal): Promise<DetectedFormat> {
  const head = await readFileHead(exec, path, HEAD_BYTES, signal);
  if (head.kind !== 'regular' && head.kind !== 'block') throw notAnImageFile(path, head.kind, { allowBlock: true });
  return (await headerOf(exec, path, head, signal)).format;
}

const MAX_CHAIN = 256;

/**
 * Checks an image from outside and everything it names; throws a UserError (exit 2) naming the
 * file and the reference when QEMU would read anything else.
 */
export async function inspectUntrustedImage(exec: Executor, path: string, o: InspectOptions = {}): Promise<InspectedImage> {
  const top = await readFileHead(exec, path, HEAD_BYTES, o.signal);
  if (top.kind === 'missing' || !top.realPath) throw notAnImageFile(path, 'missing');
  if (!(top.kind === 'regular' || (top.kind === 'block' && o.allowBlock))) throw notAnImageFile(path, top.kind, { allowBlock: o.allowBlock });
  const roots = await Promise.all(
    (o.roots && o.roots.length > 0 ? o.roots : [dirname(path)]).map(async (r) => {
      const resolved = await readFileHead(exec, r, 0, o.signal);
      return resolved.realPath ?? r;
    }),
  );
  const files = [top.realPath];
  const backingChain: string[] = [];
  const missing: string[] = [];
  let topFormat: DetectedFormat | null = null;
  let current: { path: string; head: FileHead; declared: string | null } | null = { path, head: top, declared: null };
  const seen = new Set<string>();
  while (current) {
    const { path: at, head, declared } = current;
    current = null;
    if (seen.has(head.realPath as string) || seen.size >= MAX_CHAIN) {
      throw new UserError(`The backing chain of ${shown(path)} loops or is longer than ${MAX_CHAIN} images.`, 'The image is damaged or hostile; do not use it.');
    }
    seen.add(head.realPath as string);
    const h = await headerOf(exec, at, head, o.signal);
    const refuse = (why: string) =>
      new UserError(`${shown(path)} cannot be used: ${at === path ? 'it' : shown(at)} ${why}.`, 'virtdeck opens only images whose backing files and extents are regular files beside them; flatten the image where it came from (qemu-img convert) and copy it again.');
    if (h.problems.length > 0) throw refuse(h.problems[0] as string);
    // A link opened as raw by its declared format is plain bytes, whatever its first bytes say.
    const format: DetectedFormat = declared === 'raw' ? 'raw' : h.format;
    if (topFormat === null) {
      topFormat = format;
      if (o.expectFormat && o.expectFormat !== format) {
        throw new UserError(
          `${shown(path)} is a ${format} image, not ${o.expectFormat}.`,
          format === 'raw' ? `Give a ${o.expectFormat} image.` : `Convert it first (virtdeck disk convert ${path} --to raw) or use it as the ${format} image it is.`,
        );
      }
    }
    if (format === 'raw') break;
    for (const ref of h.references) {
      const what = `names ${ROLE_WORDS[ref.role]} "${shown(ref.name)}"`;
      const protocol = protocolOf(ref.name);
      if (protocol !== null) throw refuse(`${what}, a "${shown(protocol)}:" address QEMU would open instead of a file`);
      const target = referencePath(at, ref.name);
      const found = await readFileHead(exec, target, HEAD_BYTES, o.signal);
      if (found.kind === 'missing' || !found.realPath) {
        const lexical = target.split('/').includes('..') ? null : target;
        if (o.allowMissing && lexical && roots.some((r) => isInside(r, lexical))) {
          missing.push(target);
          continue;
        }
        throw refuse(`${what}, which does not exist${o.allowMissing ? ' inside its directory' : ''}`);
      }
      if (!roots.some((r) => isInside(r, found.realPath as string))) throw refuse(`${what}, which is outside ${roots.length === 1 ? 'its directory' : 'the directories it may use:'} ${roots.map(shown).join(', ')}`);
      if (found.kind !== 'regular') throw refuse(`${what}, which is ${KIND_WORDS[found.kind]}`);
      if (!files.includes(found.realPath)) files.push(found.realPath);
      if (ref.role === 'backing' || ref.role === 'parent') {
        backingChain.push(target);
        current = { path: target, head: found, declared: ref.format };
      }
    }
  }
  return { path, realPath: top.realPath, kind: top.kind, format: topFormat ?? 'raw', size: top.size, files, backingChain, missing };
}
