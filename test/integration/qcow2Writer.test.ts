/**
 * The qcow2 a stream is written into as it arrives (host/qcow2Writer.ts), read back by qemu-img:
 * `check` finds no error and no leak, `compare` finds the bytes of a raw file written alongside,
 * and `map` shows that clusters of zeros took no space. The data crosses a 512 MiB L2 boundary,
 * starts and ends inside clusters, arrives in pieces cut anywhere, and the disk's size is not a
 * whole number of clusters. A few MiB of data in a sparse 1.5 GiB disk.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openQcow2Writer } from '../../src/host/qcow2Writer.js';
import { scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-qcow2writer-');
afterAll(() => scratch.remove());

const MIB = 1 << 20;
const V = 1536 * MIB + 512 * 3;

/** Bytes that are never zero, different at every offset. */
function data(offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = ((offset + i) % 251) + 1;
  return b;
}

/** `b` cut into pieces of uneven sizes, as a pipe hands them over. */
function pieces(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, n = 1; at < b.length; n = (n * 7 + 13) % 90_000) {
    out.push(b.subarray(at, at + n + 1));
    at += n + 1;
  }
  return out;
}

const qemuImg = (args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });

describe('openQcow2Writer', () => {
  it('writes a qcow2 that qemu-img checks clean and reads as the data, zeros taking no space', async () => {
    const raw = join(scratch.dir, 'ref.raw');
    const out = join(scratch.dir, 'out.qcow2');
    const fd = openSync(raw, 'w');
    ftruncateSync(fd, V);
    const w = await openQcow2Writer(out, V);
    const writes: [number, Buffer][] = [
      [0, data(0, 100)],
      [100, data(100, 70_000)],
      // A whole cluster of zeros amid data: not allocated.
      [3 * 65536, Buffer.concat([data(3 * 65536, 65536), Buffer.alloc(65536), data(5 * 65536, 5000)])],
      // Across the first L2 table's end (512 MiB).
      [512 * MIB - 1000, data(512 * MIB - 1000, 3 * MIB)],
      [1024 * MIB + 17, data(1024 * MIB + 17, 2 * MIB)],
      // The last bytes of a disk that ends inside a cluster.
      [V - 700, data(V - 700, 700)],
    ];
    for (const [offset, b] of writes) {
      await w.write(pieces(b), offset, b.length);
      writeSync(fd, b, 0, b.length, offset);
    }
    closeSync(fd);
    await w.end(V);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const check = JSON.parse(qemuImg(['check', '--output=json', '-f', 'qcow2', out]));
    expect(check).toMatchObject({ 'check-errors': 0, format: 'qcow2' });
    expect(check.corruptions ?? 0).toBe(0);
    expect(check.leaks ?? 0).toBe(0);
    qemuImg(['compare', '-f', 'raw', '-F', 'qcow2', raw, out]);
    const info = JSON.parse(qemuImg(['info', '--output=json', out]));
    expect(info).toMatchObject({ 'virtual-size': V, 'cluster-size': 65536, 'format-specific': { data: { compat: '1.1', 'refcount-bits': 16 } } });
    const allocated = (JSON.parse(qemuImg(['map', '--output=json', '-f', 'qcow2', out])) as { length: number; data: boolean }[])
      .filter((m) => m.data)
      .reduce((n, m) => n + m.length, 0);
    // Clusters with data: 0-1 (the first 70,100 bytes), 3 and 5, 8191-8239 around 512 MiB, 16384-16416, and the
    // last one, which the map cuts where the disk ends.
    expect(allocated).toBe((2 + 2 + 49 + 33) * 65536 + (V % 65536));
  });

  it('refuses a write before what it already has, and a stream longer than the disk', async () => {
    const w = await openQcow2Writer(join(scratch.dir, 'order.qcow2'), 4 * MIB);
    await w.write([data(0, MIB)], MIB, MIB);
    await expect(w.write([data(0, 10)], 0, 10)).rejects.toThrow(/not after/);
    await expect(w.write([data(0, MIB)], 3.5 * MIB, MIB)).rejects.toThrow(/not after/);
    await w.abort();
    expect(existsSync(join(scratch.dir, 'order.qcow2'))).toBe(true);
  });

  it("refuses a size no qcow2 holds (a hostile descriptor's) before it makes anything", async () => {
    await expect(openQcow2Writer(join(scratch.dir, 'huge.qcow2'), 2 ** 60)).rejects.toThrow(/no qcow2 can hold/);
    expect(existsSync(join(scratch.dir, 'huge.qcow2'))).toBe(false);
  });
});
