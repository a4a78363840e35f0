/**
 * Reading an .ova (a tar archive) in Node: the headers are walked with seeks (a 200 GB archive is
 * indexed by reading one 512-byte block per member), small members (the .ovf, the .mf) are read
 * into memory, and the disks are streamed ONCE each: the bytes go through the manifest's digest
 * and into a private file at the same time, so the archive is never unpacked twice and nothing
 * converts a disk whose digest has not been checked. Local files only (the caller refuses a remote host).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, lstat, open, writeFile } from 'node:fs/promises';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { checkMemberFits, checkTarMember, type DigestAlgorithm, isZeroBlock, paddedSize, parsePax, parseTarHeader } from '../model/ovaPackage.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';

export interface OvaMember {
  name: string;
  /** Where its bytes start in the archive. */
  offset: number;
  size: number;
}

export interface OvaIndex {
  path: string;
  size: number;
  /** In archive order. */
  members: OvaMember[];
}

const BLOCK = 512;
const MAX_MEMBERS = 10_000;

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The archive's members; UserError naming the archive on anything an OVA must not hold or on truncation. */
export async function indexOva(path: string): Promise<OvaIndex> {
  const st = await lstat(path).catch(() => null);
  if (!st) throw new UserError(`${shown(path)} does not exist.`, 'Check the path of the .ova.');
  if (!st.isFile()) throw new UserError(`${shown(path)} is not a regular file, so it is not an .ova.`, 'Give the path of the .ova file itself.');
  const fh = await open(path, 'r');
  try {
    const members: OvaMember[] = [];
    let at = 0;
    let pax: { path?: string; size?: number } = {};
    let longName: string | null = null;
    while (true) {
      if (members.length > MAX_MEMBERS) throw new UserError(`${shown(path)} holds more than ${MAX_MEMBERS} files; an OVA holds a descriptor, a manifest and its disks.`, 'Give the .ova of one exported VM.');
      const block = await readAt(fh, at, BLOCK);
      if (block.length === 0) throw new UserError(`${shown(path)} is truncated: the archive ends without its end-of-archive marker after byte ${at}.`, 'Copy the .ova again; the copy is incomplete.');
      if (block.length === BLOCK && isZeroBlock(block)) break;
      const h = parseTarHeader(block, at, shown(path));
      const dataOffset = at + BLOCK;
      const size = pax.size ?? h.size;
      checkMemberFits(pax.path ?? longName ?? h.name, dataOffset, size, st.size, shown(path));
      at = dataOffset + paddedSize(size);
      if (h.kind === 'pax' || h.kind === 'gnu-longname') {
        if (size > 64 * 1024) throw new UserError(`${shown(path)} has an extended tar header of ${size} bytes.`, 'Give an .ova written by VMware or ovftool.');
        const data = await readAt(fh, dataOffset, size);
        if (h.kind === 'pax') pax = parsePax(data);
        else longName = data.toString('utf8').replace(/\0.*$/s, '');
        continue;
      }
      if (h.kind === 'pax-global') continue;
      const name = pax.path ?? longName ?? h.name;
      pax = {};
      longName = null;
      // tar writes the root directory itself as "./"; nothing else may be a directory.
      if (h.kind === 'directory' && (name === './' || name === '.')) continue;
      const clean = checkTarMember({ ...h, name }, shown(path));
      if (members.some((m) => m.name === clean)) throw new UserError(`${shown(path)} holds ${shown(clean)} twice; which one would be used cannot be told.`, 'Give an .ova written by VMware or ovftool.');
      members.push({ name: clean, offset: dataOffset, size });
    }
    return { path, size: st.size, members };
  } finally {
    await fh.close();
  }
}

/** A small member (the descriptor, the manifest) as text. */
export async function readMemberText(index: OvaIndex, member: OvaMember, maxBytes: number): Promise<string> {
  if (member.size > maxBytes) throw new UserError(`${shown(member.name)} in ${shown(index.path)} has ${member.size} bytes; a descriptor or manifest has far less.`, 'Give an .ova written by VMware or ovftool.');
  const fh = await open(index.path, 'r');
  try {
    return (await readAt(fh, member.offset, member.size)).toString('utf8');
  } finally {
    await fh.close();
  }
}

export interface StreamTarget {
  /** Archive member or plain file to read. */
  member: OvaMember;
  algorithm: DigestAlgorithm | null;
  /** Written (created, 0600, never overwritten) with the member's bytes; absent: only hashed. */
  out?: string;
}

export interface StreamOptions {
  signal?: AbortSignal;
  /** Bytes done of all targets together. */
  onBytes?: (done: number, total: number) => void;
}

/**
 * Reads each target's byte range of `file` once, in order, through its digest and into its output
 * file. Returns the hex digest per member name (for targets with an algorithm).
 */
export async function streamMembers(file: string, targets: StreamTarget[], opts: StreamOptions = {}): Promise<Map<string, string>> {
  const total = targets.reduce((n, t) => n + t.member.size, 0);
  let done = 0;
  const digests = new Map<string, string>();
  for (const t of [...targets].sort((a, b) => a.member.offset - b.member.offset)) {
    const hash = t.algorithm ? createHash(t.algorithm) : null;
    let last = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash?.update(chunk);
        done += chunk.length;
        const now = Date.now();
        if (now - last > 200) {
          last = now;
          opts.onBytes?.(done, total);
        }
        cb(null, chunk);
      },
    });
    const before = done;
    if (t.member.size > 0) {
      const read = createReadStream(file, { start: t.member.offset, end: t.member.offset + t.member.size - 1, highWaterMark: 1 << 20 });
      const sink = t.out ? createWriteStream(t.out, { flags: 'wx', mode: 0o600 }) : new Writable({ write: (_c, _e, cb) => cb() });
      await pipeline(read, tap, sink, { signal: opts.signal });
    } else if (t.out) await writeFile(t.out, '', { flag: 'wx', mode: 0o600 });
    if (done - before !== t.member.size) {
      throw new UserError(`${shown(file)} is truncated: ${shown(t.member.name)} ended after ${done - before} of its ${t.member.size} bytes.`, 'Copy the package again; the copy is incomplete.');
    }
    if (hash) digests.set(t.member.name, hash.digest('hex'));
  }
  opts.onBytes?.(done, total);
  return digests;
}
