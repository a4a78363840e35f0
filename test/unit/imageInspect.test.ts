/**
 * The untrusted-image gate on real files, through both readers: Node's fs (LocalExecutor) and the
 * bounded `head | od` script a remote host runs (any other executor; here a CountingExecutor over
 * the local one, so the very same script runs in a real shell).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingExecutor, type Executor, LocalExecutor } from '../../src/host/exec.js';
import { inspectUntrustedImage, parseHeadAnswer } from '../../src/host/imageInspect.js';
import { UserError } from '../../src/model/userError.js';

const dir = mkdtempSync(join(tmpdir(), 'vdsec-im-unit-'));
const img = join(dir, 'img');
const outside = join(dir, 'outside');
const qemuImg = (...args: string[]) => execFileSync('qemu-img', args, { stdio: 'ignore' });

beforeAll(() => {
  mkdirSync(img);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'secret\n'.repeat(1000));
  qemuImg('create', '-q', '-f', 'raw', join(img, 'base.raw'), '1M');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', join(img, 'mid.qcow2'));
  qemuImg('create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F', 'qcow2', join(img, 'top.qcow2'));
  qemuImg('create', '-q', '-f', 'qcow2', '-b', join(outside, 'secret'), '-F', 'raw', join(img, 'abs.qcow2'));
  symlinkSync(join(outside, 'secret'), join(img, 'link.raw'));
  qemuImg('create', '-q', '-f', 'qcow2', '-u', '-b', 'link.raw', '-F', 'raw', join(img, 'vialink.qcow2'), '1M');
  qemuImg('create', '-q', '-f', 'qcow2', '-u', '-b', 'gone.raw', '-F', 'raw', join(img, 'missing.qcow2'), '1M');
  qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse', join(img, 'split.vmdk'), '3G');
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const readers: [string, Executor][] = [
  ['fs', new LocalExecutor()],
  ['head | od script', new CountingExecutor(new LocalExecutor())],
];

describe.each(readers)('inspectUntrustedImage (%s)', (_name, exec) => {
  it('follows a relative chain beside the image and gives each format', async () => {
    const r = await inspectUntrustedImage(exec, join(img, 'top.qcow2'));
    expect(r.format).toBe('qcow2');
    expect(r.backingChain).toEqual([join(img, 'mid.qcow2'), join(img, 'base.raw')]);
  });

  it('accepts a split vmdk whose extents are beside it', async () => {
    const r = await inspectUntrustedImage(exec, join(img, 'split.vmdk'));
    expect(r.format).toBe('vmdk');
    expect(r.files.length).toBe(3);
  });

  it('refuses a backing file outside the directory, also through a symlink inside it', async () => {
    await expect(inspectUntrustedImage(exec, join(img, 'abs.qcow2'))).rejects.toThrow(/outside its directory/);
    await expect(inspectUntrustedImage(exec, join(img, 'vialink.qcow2'))).rejects.toThrow(/outside its directory/);
    // A restore trusts the whole guest directory of a destination: still not a file beside it.
    await expect(inspectUntrustedImage(exec, join(img, 'abs.qcow2'), { roots: [img] })).rejects.toThrow(UserError);
  });

  it('refuses a missing backing file, unless asked to leave that to qemu-img', async () => {
    await expect(inspectUntrustedImage(exec, join(img, 'missing.qcow2'))).rejects.toThrow(/does not exist/);
    expect((await inspectUntrustedImage(exec, join(img, 'missing.qcow2'), { allowMissing: true })).missing).toEqual([join(img, 'gone.raw')]);
  });

  it('refuses a directory and a character device, and a format other than the one expected', async () => {
    await expect(inspectUntrustedImage(exec, img)).rejects.toThrow(/is a directory/);
    await expect(inspectUntrustedImage(exec, '/dev/null')).rejects.toThrow(/character device/);
    await expect(inspectUntrustedImage(exec, join(img, 'top.qcow2'), { expectFormat: 'raw' })).rejects.toThrow(/is a qcow2 image, not raw/);
  });
});

describe('parseHeadAnswer', () => {
  it('reads the kind, real path, size and bytes; nothing means missing', () => {
    expect(parseHeadAnswer('regular file\t3\n/a/b\n 51 46 49\n')).toEqual({ kind: 'regular', realPath: '/a/b', size: 3, head: Uint8Array.from([0x51, 0x46, 0x49]) });
    expect(parseHeadAnswer('fifo\t0\n/p\n').kind).toBe('fifo');
    expect(parseHeadAnswer('').kind).toBe('missing');
  });
});
