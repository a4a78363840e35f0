/**
 * A new qcow2 written by this process as a stream arrives, front to back (model/qcow2Layout.ts):
 * each 64 KiB cluster that holds data goes to the next free cluster of the file in one pwritev
 * per run, an L2 table is written once the stream has passed the 512 MiB it covers, and the
 * refcounts, the L1 table and the header last. The bytes are written once, from the buffers they
 * arrived in; through qemu-nbd they crossed a socket and a second process first, which on a
 * two-core host was CPU the ssh stream was waiting for. A cluster of zeros is not written (a new
 * qcow2 reads zeros there), so the image is as thin as `qemu-img convert` makes it. The result is
 * only a temp file until `qemu-img check` has read it (jobs/importEsxi.ts, esxi.verify).
 */
import { open } from 'node:fs/promises';
import { CLUSTER, clustersFor, L2_ENTRIES, l1Entries, MAX_VIRTUAL_SIZE, qcow2Header, refcountClusters, refcountLayout, tableEntry } from '../model/qcow2Layout.js';
import { UserError } from '../model/userError.js';
import type { ImageSink } from './imageSink.js';

const ZERO = Buffer.alloc(CLUSTER);

function allZero(parts: Buffer[]): boolean {
  for (const p of parts) if (!p.equals(ZERO.subarray(0, p.length))) return false;
  return true;
}

/** `path` made 0600 as a qcow2 of `virtualSize` bytes whose data is written in order, at rising offsets. */
export async function openQcow2Writer(path: string, virtualSize: number): Promise<ImageSink> {
  // The size comes from the host's descriptor: checked before it sizes the L1 table in memory.
  if (!Number.isSafeInteger(virtualSize) || virtualSize <= 0 || virtualSize > MAX_VIRTUAL_SIZE) {
    throw new UserError(`The disk's descriptor gives it ${virtualSize} bytes, which no qcow2 can hold (up to 2 PiB).`, 'Check the .vmdk descriptor on the host, or import the disk as raw (--convert raw).');
  }
  const fh = await open(path, 'w', 0o600);
  const l1 = Buffer.alloc(l1Entries(virtualSize) * 8);
  const l1Offset = CLUSTER;
  // Cluster 0 is the header, the L1 table follows; data and L2 tables from there on.
  let next = 1 + clustersFor(l1.length);
  let l2: { index: number; table: Buffer; offset: number } | null = null;
  /** The cluster being filled: its index and the pieces that arrived for it. */
  let tail: { cluster: number; parts: Buffer[]; filled: number } | null = null;
  let pos = 0;
  /** Contiguous runs of the file to write, in order. */
  let runs: { offset: number; bufs: Buffer[]; length: number }[] = [];
  let closed = false;

  const queue = (offset: number, bufs: Buffer[], length: number) => {
    const last = runs.at(-1);
    if (last && last.offset + last.length === offset) {
      last.bufs.push(...bufs);
      last.length += length;
    } else runs.push({ offset, bufs, length });
  };

  const writeAll = async (offset: number, bufs: Buffer[], length: number) => {
    let done = 0;
    let rest = bufs;
    while (done < length) {
      done += (await fh.writev(rest, offset + done)).bytesWritten;
      // A short write (a full disk says why on the next call): the rest goes again from where it stopped.
      if (done < length) rest = [Buffer.concat(bufs, length).subarray(done)];
    }
  };

  const flushRuns = async () => {
    const todo = runs;
    runs = [];
    for (const r of todo) await writeAll(r.offset, r.bufs, r.length);
  };

  const emit = (cluster: number, parts: Buffer[]) => {
    if (allZero(parts)) return;
    const index = Math.floor(cluster / L2_ENTRIES);
    if (l2?.index !== index) {
      if (l2) queue(l2.offset, [l2.table], CLUSTER);
      l2 = { index, table: Buffer.alloc(CLUSTER), offset: next++ * CLUSTER };
      l1.writeBigUInt64BE(tableEntry(l2.offset), index * 8);
    }
    const at = next++ * CLUSTER;
    l2.table.writeBigUInt64BE(tableEntry(at), (cluster % L2_ENTRIES) * 8);
    queue(at, parts, CLUSTER);
  };

  /** Takes `b` into the clusters from `pos` on (`b` null: that many zeros). */
  const take = (b: Buffer | null, length: number) => {
    let left = length;
    let from = 0;
    while (left > 0) {
      if (!tail) {
        const inCluster = pos % CLUSTER;
        if (b === null && inCluster === 0 && left >= CLUSTER) {
          // Whole clusters of zeros: nothing to hold, nothing to write.
          const skip = left - (left % CLUSTER);
          pos += skip;
          left -= skip;
          continue;
        }
        tail = { cluster: Math.floor(pos / CLUSTER), parts: inCluster ? [ZERO.subarray(0, inCluster)] : [], filled: inCluster };
      }
      const n = Math.min(CLUSTER - tail.filled, left);
      tail.parts.push(b ? b.subarray(from, from + n) : ZERO.subarray(0, n));
      tail.filled += n;
      from += n;
      left -= n;
      pos += n;
      if (tail.filled === CLUSTER) {
        emit(tail.cluster, tail.parts);
        tail = null;
      }
    }
  };

  const close = async () => {
    if (closed) return;
    closed = true;
    await fh.close();
  };

  return {
    async write(bufs, offset, length) {
      if (offset < pos || offset + length > virtualSize) throw new Error(`a write at ${offset} (${length} bytes) is not after ${pos} within the image's ${virtualSize} bytes`);
      take(null, offset - pos);
      for (const b of bufs) take(b, b.length);
      await flushRuns();
    },
    async end(size) {
      try {
        if (size < pos || size > virtualSize) throw new Error(`the stream ended at ${size} bytes, after ${pos} were written, in an image of ${virtualSize}`);
        take(null, size - pos);
        // The last cluster's rest is zeros: the disk ends there, or the stream did.
        if (tail) take(null, CLUSTER - tail.filled);
        if (l2) queue(l2.offset, [l2.table], CLUSTER);
        const r = refcountLayout(next);
        queue(r.tableCluster * CLUSTER, [refcountClusters(r)], (r.tableClusters + r.blocks) * CLUSTER);
        queue(l1Offset, [l1], l1.length);
        await flushRuns();
        // The header last: until it is there the file is no qcow2 at all.
        await writeAll(0, [qcow2Header({ virtualSize, l1Entries: l1.length / 8, l1Offset, refcountTableOffset: r.tableCluster * CLUSTER, refcountTableClusters: r.tableClusters })], 112);
      } finally {
        await close();
      }
    },
    abort: close,
  };
}
