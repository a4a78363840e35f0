/**
 * The two ends of a new qcow2 that a stream is written into front to back (host/imageStream.ts,
 * model/qcow2Layout.ts): the size checked and the place of the first data cluster before, the
 * refcounts, the L1 table and the header after. The header goes last: until it is there the file
 * is no qcow2 at all. The result is only a temp file until `qemu-img check` has read it
 * (jobs/importEsxi.ts, esxi.verify).
 */
import { writev } from 'node:fs';
import { promisify } from 'node:util';
import { CLUSTER, clustersFor, l1Entries, MAX_VIRTUAL_SIZE, qcow2Header, refcountClusters, refcountLayout } from '../model/qcow2Layout.js';
import { UserError } from '../model/userError.js';

const writevAt = promisify(writev);

export interface Qcow2Start {
  virtualSize: number;
  l1Bytes: number;
  l1Offset: number;
  /** The first cluster after the header and the L1 table: the stream's clusters and L2 tables go from here on. */
  firstFree: number;
}

/** Where a qcow2 of `virtualSize` bytes keeps its L1 table and its data; a size no qcow2 holds is refused. */
export function startQcow2(virtualSize: number): Qcow2Start {
  // The size comes from the host's descriptor: checked before it sizes the L1 table in memory.
  if (!Number.isSafeInteger(virtualSize) || virtualSize <= 0 || virtualSize > MAX_VIRTUAL_SIZE) {
    throw new UserError(`The disk's descriptor gives it ${virtualSize} bytes, which no qcow2 can hold (up to 2 PiB).`, 'Check the .vmdk descriptor on the host, or import the disk as raw (--convert raw).');
  }
  const l1Bytes = l1Entries(virtualSize) * 8;
  // Cluster 0 is the header, the L1 table follows.
  return { virtualSize, l1Bytes, l1Offset: CLUSTER, firstFree: 1 + clustersFor(l1Bytes) };
}

async function writeAll(fd: number, buf: Buffer, offset: number): Promise<void> {
  // A short write (a full disk says why on the next call): the rest goes again from where it stopped.
  for (let done = 0; done < buf.length; ) done += (await writevAt(fd, [buf.subarray(done)], offset + done)).bytesWritten;
}

/** Ends the qcow2 on `fd` whose clusters up to `used` are taken and whose L1 table is `l1`: refcounts, L1, header. */
export async function finishQcow2(fd: number, s: Qcow2Start, o: { l1: Buffer; used: number }): Promise<void> {
  const r = refcountLayout(o.used);
  await writeAll(fd, refcountClusters(r), r.tableCluster * CLUSTER);
  await writeAll(fd, o.l1, s.l1Offset);
  await writeAll(fd, qcow2Header({ virtualSize: s.virtualSize, l1Entries: s.l1Bytes / 8, l1Offset: s.l1Offset, refcountTableOffset: r.tableCluster * CLUSTER, refcountTableClusters: r.tableClusters }), 0);
}
