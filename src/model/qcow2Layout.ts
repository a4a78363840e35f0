/**
 * The on-disk layout of a qcow2 (version 3, 64 KiB clusters, 16-bit refcounts: what `qemu-img
 * create -f qcow2 -o compat=1.1` makes) written front to back as a stream arrives: cluster 0 the
 * header, then the L1 table, then each L2 table and data cluster in the order the data comes, and
 * the refcount table and blocks after the last of them. Every cluster of such a file is used
 * exactly once, so every refcount is 1 and every L1/L2 entry carries the COPIED flag. Pure: the
 * writer (host/qcow2Writer.ts) does the I/O; `qemu-img check` reads the result afterwards.
 */

export const CLUSTER_BITS = 16;
export const CLUSTER = 1 << CLUSTER_BITS;
/** Entries of one L2 table (one cluster of 8-byte entries): each covers 512 MiB of the disk. */
export const L2_ENTRIES = CLUSTER / 8;
/** Entries of one refcount block (one cluster of 16-bit counts): each covers 2 GiB of the file. */
export const REFCOUNTS_PER_BLOCK = CLUSTER / 2;
const HEADER_LENGTH = 104;
/** "Refcount is exactly one": qemu writes in place only where this is set, and check wants it set. */
const COPIED = 1n << 63n;

/** qemu's own limit for 64 KiB clusters (a 32 MiB L1 table): a larger size is a descriptor's lie. */
export const MAX_VIRTUAL_SIZE = 2 ** 51;

export const clustersFor = (bytes: number): number => Math.ceil(bytes / CLUSTER);

export function l1Entries(virtualSize: number): number {
  return Math.max(1, Math.ceil(virtualSize / (CLUSTER * L2_ENTRIES)));
}

/** An L1 or L2 entry pointing at the cluster at `offset` (cluster-aligned), refcount one. */
export function tableEntry(offset: number): bigint {
  if (offset % CLUSTER !== 0 || offset <= 0) throw new Error(`qcow2 table entry for an unaligned offset ${offset}`);
  return BigInt(offset) | COPIED;
}

export interface RefcountLayout {
  /** First cluster of the refcount table; its blocks follow it. */
  tableCluster: number;
  tableClusters: number;
  blocks: number;
  /** Clusters in the whole file: the ones before, the table and the blocks. */
  totalClusters: number;
}

/**
 * The refcount table and blocks for a file whose clusters 0..used-1 are taken, placed at its end:
 * the blocks must count themselves and the table too, so their number is a fixed point.
 */
export function refcountLayout(used: number): RefcountLayout {
  let blocks = 1;
  let tableClusters = 1;
  for (;;) {
    const total = used + tableClusters + blocks;
    const needBlocks = Math.ceil(total / REFCOUNTS_PER_BLOCK);
    const needTable = Math.ceil((needBlocks * 8) / CLUSTER);
    if (needBlocks === blocks && needTable === tableClusters) return { tableCluster: used, tableClusters, blocks, totalClusters: total };
    blocks = Math.max(blocks, needBlocks);
    tableClusters = Math.max(tableClusters, needTable);
  }
}

/** The refcount table (tableClusters clusters) followed by its blocks, every cluster of the file counted once. */
export function refcountClusters(r: RefcountLayout): Buffer {
  const out = Buffer.alloc((r.tableClusters + r.blocks) * CLUSTER);
  for (let i = 0; i < r.blocks; i++) out.writeBigUInt64BE(BigInt((r.tableCluster + r.tableClusters + i) * CLUSTER), i * 8);
  const counts = out.subarray(r.tableClusters * CLUSTER);
  for (let c = 0; c < r.totalClusters; c++) counts.writeUInt16BE(1, c * 2);
  return out;
}

export interface Qcow2Header {
  virtualSize: number;
  l1Entries: number;
  l1Offset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
}

/** The version 3 header, no backing file, no extensions (the zeros after it end the extension list). */
export function qcow2Header(h: Qcow2Header): Buffer {
  const b = Buffer.alloc(HEADER_LENGTH + 8);
  b.write('QFI\xfb', 0, 'latin1');
  b.writeUInt32BE(3, 4);
  b.writeUInt32BE(CLUSTER_BITS, 20);
  b.writeBigUInt64BE(BigInt(h.virtualSize), 24);
  b.writeUInt32BE(h.l1Entries, 36);
  b.writeBigUInt64BE(BigInt(h.l1Offset), 40);
  b.writeBigUInt64BE(BigInt(h.refcountTableOffset), 48);
  b.writeUInt32BE(h.refcountTableClusters, 56);
  // 72-95: incompatible, compatible and autoclear features, none.
  b.writeUInt32BE(4, 96);
  b.writeUInt32BE(HEADER_LENGTH, 100);
  return b;
}
