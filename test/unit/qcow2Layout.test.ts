import { describe, expect, it } from 'vitest';
import { CLUSTER, l1Entries, qcow2Header, REFCOUNTS_PER_BLOCK, refcountClusters, refcountLayout, tableEntry } from '../../src/model/qcow2Layout.js';

describe('qcow2Layout', () => {
  it('counts the refcount table and blocks among the clusters they count', () => {
    expect(refcountLayout(10)).toEqual({ tableCluster: 10, tableClusters: 1, blocks: 1, totalClusters: 12 });
    // One block counts 32768 clusters: the two it adds push a full file into a second block.
    expect(refcountLayout(REFCOUNTS_PER_BLOCK - 2)).toMatchObject({ blocks: 1, totalClusters: REFCOUNTS_PER_BLOCK });
    expect(refcountLayout(REFCOUNTS_PER_BLOCK - 1)).toMatchObject({ blocks: 2, totalClusters: REFCOUNTS_PER_BLOCK + 2 });
    // A table cluster holds 8192 block offsets (16 TiB of file); past that it takes a second one.
    const big = refcountLayout(8192 * REFCOUNTS_PER_BLOCK);
    expect(big.tableClusters).toBe(2);
    expect(big.blocks).toBe(Math.ceil(big.totalClusters / REFCOUNTS_PER_BLOCK));
  });

  it('writes one table entry per block and a count of one for every cluster of the file', () => {
    const r = refcountLayout(5);
    const b = refcountClusters(r);
    expect(b.length).toBe(2 * CLUSTER);
    expect(b.readBigUInt64BE(0)).toBe(BigInt(6 * CLUSTER));
    expect(b.readBigUInt64BE(8)).toBe(0n);
    const counts = b.subarray(CLUSTER);
    expect([...Array(7).keys()].map((c) => counts.readUInt16BE(c * 2))).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(counts.readUInt16BE(14)).toBe(0);
  });

  it('sizes L1 by 512 MiB per entry and marks entries as copied', () => {
    expect(l1Entries(1)).toBe(1);
    expect(l1Entries(512 << 20)).toBe(1);
    expect(l1Entries((512 << 20) + 512)).toBe(2);
    expect(tableEntry(3 * CLUSTER)).toBe((1n << 63n) | BigInt(3 * CLUSTER));
    expect(() => tableEntry(100)).toThrow(/unaligned/);
  });

  it('writes a version 3 header with 16-bit refcounts and no extensions', () => {
    const h = qcow2Header({ virtualSize: 1 << 30, l1Entries: 2, l1Offset: CLUSTER, refcountTableOffset: 9 * CLUSTER, refcountTableClusters: 1 });
    expect(h.subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    expect([h.readUInt32BE(4), h.readUInt32BE(20), h.readUInt32BE(36), h.readUInt32BE(96), h.readUInt32BE(100)]).toEqual([3, 16, 2, 4, 104]);
    expect(h.readBigUInt64BE(24)).toBe(1n << 30n);
    expect(h.subarray(104).equals(Buffer.alloc(8))).toBe(true);
  });
});
