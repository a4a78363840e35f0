/**
 * A command's stdout written into a new image by host/imageStream.ts, read back by qemu-img: the
 * qcow2 `check`s clean with no leak, `compare`s equal to the raw file the stream came from, and
 * clusters of zeros took no space (`map`); the data crosses a 512 MiB L2 boundary, starts and ends
 * inside clusters, and the disk's size is not a whole number of clusters. The sha256 is the
 * stream's. A raw image keeps zeros as holes. A stream longer than allowed, a command that fails
 * and a cancel each leave an unfinished file for the caller, and nothing of the FIFO behind.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, ftruncateSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { streamIntoImage } from '../../src/host/imageStream.js';
import { scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-imagestream-');
afterAll(() => scratch.remove());

const MIB = 1 << 20;
const V = 640 * MIB + 512 * 3;

/** Bytes that are never zero, different at every offset. */
function data(offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = ((offset + i) % 251) + 1;
  return b;
}

const qemuImg = (args: string[]) => execFileSync('qemu-img', args, { encoding: 'utf8' });
const fifosLeft = () => readdirSync(tmpdir()).filter((f) => f.startsWith('virtdeck-stream-'));
const sha256 = (path: string) => execFileSync('sha256sum', ['--', path], { encoding: 'utf8' }).slice(0, 64);
const opts = (image: Parameters<typeof streamIntoImage>[2]['image'], limit: number, signal = new AbortController().signal) => ({ signal, onBytes: () => {}, image, limit });

describe('streamIntoImage', () => {
  it('writes a qcow2 that qemu-img checks clean and reads as the stream, zeros taking no space, hashed', async () => {
    const raw = join(scratch.dir, 'ref.raw');
    const out = join(scratch.dir, 'out.qcow2');
    const fd = openSync(raw, 'w');
    ftruncateSync(fd, V);
    const writes: [number, Buffer][] = [
      [0, data(0, 100)],
      [100, data(100, 70_000)],
      // A whole cluster of zeros amid data: not allocated.
      [3 * 65536, Buffer.concat([data(3 * 65536, 65536), Buffer.alloc(65536), data(5 * 65536, 5000)])],
      // Across the first L2 table's end (512 MiB).
      [512 * MIB - 1000, data(512 * MIB - 1000, 3 * MIB)],
      [600 * MIB + 17, data(600 * MIB + 17, 2 * MIB)],
      // The last bytes of a disk that ends inside a cluster.
      [V - 700, data(V - 700, 700)],
    ];
    for (const [offset, b] of writes) writeSync(fd, b, 0, b.length, offset);
    closeSync(fd);
    const r = await streamIntoImage(['cat', '--', raw], out, opts({ format: 'qcow2', virtualSize: V }, V));
    expect(r).toMatchObject({ bytes: V, exitCode: 0, sha256: sha256(raw) });
    expect(r.failed).toBeUndefined();
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
    // Clusters with data: 0-1 (the first 70,100 bytes), 3 and 5, 8191-8239 around 512 MiB, 9600-9632, and the
    // last one, which the map cuts where the disk ends.
    expect(allocated).toBe((2 + 2 + 49 + 33) * 65536 + (V % 65536));
    expect(fifosLeft()).toEqual([]);
  });

  it('a stream shorter than the disk leaves the rest unallocated, reading as zeros', async () => {
    const out = join(scratch.dir, 'short.qcow2');
    const r = await streamIntoImage(['head', '-c', String(3 * MIB + 5), '/dev/urandom'], out, opts({ format: 'qcow2', virtualSize: 64 * MIB }, 64 * MIB));
    expect(r).toMatchObject({ bytes: 3 * MIB + 5, exitCode: 0 });
    expect(JSON.parse(qemuImg(['check', '--output=json', '-f', 'qcow2', out])).leaks ?? 0).toBe(0);
    const copy = join(scratch.dir, 'short.raw');
    qemuImg(['convert', '-f', 'qcow2', '-O', 'raw', out, copy]);
    const back = readFileSync(copy);
    expect(back.length).toBe(64 * MIB);
    expect(createHash('sha256').update(back.subarray(0, 3 * MIB + 5)).digest('hex')).toBe(r.sha256);
    expect(back.subarray(3 * MIB + 5).equals(Buffer.alloc(64 * MIB - 3 * MIB - 5))).toBe(true);
  });

  it('writes a raw image with its zero clusters as holes, at the length of the stream', async () => {
    const src = join(scratch.dir, 'holes.src');
    execFileSync('sh', ['-c', `{ head -c ${MIB} /dev/urandom; head -c ${4 * MIB} /dev/zero; head -c 1000 /dev/urandom; } > '${src}'`]);
    const out = join(scratch.dir, 'holes.raw');
    const r = await streamIntoImage(['cat', '--', src], out, opts({ format: 'raw' }, 5 * MIB + 1000));
    expect(r).toMatchObject({ bytes: 5 * MIB + 1000, sha256: sha256(src), exitCode: 0 });
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(statSync(out).blocks * 512).toBeLessThanOrEqual(2 * MIB);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });

  it('gives the command a 1 MiB pipe (fewer wake-ups for ssh)', async () => {
    const out = join(scratch.dir, 'pipe.raw');
    // F_GETPIPE_SZ of its stdout, printed into the stream itself.
    const r = await streamIntoImage(['perl', '-e', 'print fcntl(STDOUT, 1032, 0)'], out, opts({ format: 'raw' }, 100));
    expect(r.exitCode).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe('1048576');
  });

  it('cuts a stream that outruns its limit, and stops the command', async () => {
    const out = join(scratch.dir, 'long.qcow2');
    const r = await streamIntoImage(['cat', '/dev/urandom'], out, opts({ format: 'qcow2', virtualSize: 4 * MIB }, 8 * MIB));
    expect(r.failed?.why).toBe('too-long');
    expect(r.sha256).toBeNull();
    expect(r.exitCode).not.toBe(0);
    expect(fifosLeft()).toEqual([]);
  });

  it("a command that fails gives its exit code and stderr; the image is left unfinished", async () => {
    const out = join(scratch.dir, 'fail.qcow2');
    const r = await streamIntoImage(['sh', '-c', 'head -c 100000 /dev/urandom; echo gone >&2; exit 3'], out, opts({ format: 'qcow2', virtualSize: 4 * MIB }, 4 * MIB));
    expect(r).toMatchObject({ exitCode: 3, bytes: 100000, stderr: 'gone\n' });
    // No header: not a qcow2 (the caller removes it).
    expect(readFileSync(out).subarray(0, 4).equals(Buffer.from('QFI\xfb', 'latin1'))).toBe(false);
  });

  it('a cancel stops the reading and the command', async () => {
    const out = join(scratch.dir, 'cancel.raw');
    const ac = new AbortController();
    const seen: number[] = [];
    setTimeout(() => ac.abort(), 700);
    const r = await streamIntoImage(['sh', '-c', 'while :; do head -c 65536 /dev/urandom; sleep 0.05; done'], out, { ...opts({ format: 'raw' }, 2 ** 40, ac.signal), onBytes: (n: number) => seen.push(n) });
    expect(r.sha256).toBeNull();
    expect(r.exitCode).not.toBe(0);
    expect(seen.length).toBeGreaterThan(0);
    expect(fifosLeft()).toEqual([]);
  });

  it("refuses a size no qcow2 holds (a hostile descriptor's) before it makes anything", async () => {
    await expect(streamIntoImage(['true'], join(scratch.dir, 'huge.qcow2'), opts({ format: 'qcow2', virtualSize: 2 ** 60 }, 1))).rejects.toThrow(/no qcow2 can hold/);
    expect(readdirSync(scratch.dir)).not.toContain('huge.qcow2');
  });
});
