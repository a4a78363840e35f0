/**
 * `esxi.verify`, what stands after a convert of a sha256-proven source where a `qemu-img compare`
 * stood (model/importEsxiPlan.ts says why): real qemu-img on tiny images. A sound image of the
 * disk's size passes; one of another size, or a qcow2 whose tables point nowhere, stops the import
 * in one sentence.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { esxiActions } from '../../src/jobs/importEsxi.js';
import type { Action } from '../../src/jobs/runner.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-esxiverify-');
afterAll(() => scratch.remove());

const verify = (args: Record<string, unknown>) => (esxiActions(localHost())['esxi.verify'] as Action)(args, { signal: new AbortController().signal, progress: () => {}, log: () => {} } as unknown as Parameters<Action>[1]);

function qcow2(name: string): string {
  const path = join(scratch.dir, name);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', path, '4M']);
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 7 0 1M', path], { stdio: 'ignore' });
  return path;
}

describe('esxi.verify', () => {
  it('passes a sound qcow2 and a raw file of the disk size', async () => {
    await verify({ path: qcow2('ok.qcow2'), format: 'qcow2', virtualSize: 4 << 20 });
    const raw = join(scratch.dir, 'ok.raw');
    execFileSync('truncate', ['-s', '4M', raw]);
    await verify({ path: raw, format: 'raw', virtualSize: 4 << 20 });
  });

  it('stops at an image of another size', async () => {
    await expect(verify({ path: qcow2('small.qcow2'), format: 'qcow2', virtualSize: 8 << 20 })).rejects.toMatchObject({
      sentence: 'The new image small.qcow2 holds 4194304 bytes, but the disk has 8388608: nothing was put in place.',
    });
  });

  it('stops at a qcow2 whose L1 table points past its end', async () => {
    const path = qcow2('bad.qcow2');
    const l1 = readFileSync(path).readBigUInt64BE(40);
    const entry = Buffer.alloc(8);
    entry.writeBigUInt64BE(0x8000000000000000n | (1n << 40n));
    const fd = openSync(path, 'r+');
    writeSync(fd, entry, 0, 8, Number(l1));
    closeSync(fd);
    await expect(verify({ path, format: 'qcow2', virtualSize: 4 << 20 })).rejects.toMatchObject({ sentence: expect.stringMatching(/^The new image bad\.qcow2 failed qemu-img check \(\d+ corrupt/) });
  });
});
