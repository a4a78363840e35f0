import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import { LocalExecutor } from '../../src/host/exec.js';
import * as qi from '../../src/host/qemuImg.js';
import { readVmdkDescriptor } from '../../src/host/vmdk.js';
import type { Progress } from '../../src/model/progress.js';
import { UserError } from '../../src/model/userError.js';
import { convertOptionsFromDescriptor, vmdkOptionRecord } from '../../src/model/vmdkDescriptor.js';

const exec = new LocalExecutor();
const dir = mkdtempSync(join(tmpdir(), 'vdtest-qi-'));
const p = (name: string) => join(dir, name);
const MiB = 1024 * 1024;

function qemuIo(image: string, format: string, command: string): void {
  execFileSync('qemu-io', ['-f', format, '-c', command, image], { stdio: 'ignore' });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const e = await promise.then(
    () => null,
    (x: unknown) => x,
  );
  if (!(e instanceof Error)) throw new Error('expected a failure');
  return e;
}

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('qemuImg.ts on the real qemu-img', () => {
  it('creates qcow2 and raw images and reads info, check, map and measure', async () => {
    await qi.create(exec, p('a.qcow2'), { format: 'qcow2', sizeBytes: 16 * MiB });
    await qi.create(exec, p('a.raw'), { format: 'raw', sizeBytes: 16 * MiB });
    qemuIo(p('a.qcow2'), 'qcow2', 'write -P 0xab 1M 64k');
    qemuIo(p('a.raw'), 'raw', 'write -P 0xab 1M 64k');
    execFileSync('qemu-img', ['bitmap', '--add', p('a.qcow2'), 'b0']);
    execFileSync('qemu-img', ['snapshot', '-c', 'snap1', p('a.qcow2')]);

    const info = await qi.info(exec, p('a.qcow2'), { format: 'qcow2' });
    expect(info).toMatchObject({ format: 'qcow2', virtualSize: 16 * MiB, clusterSize: 65536, backingFilename: null });
    expect(info.formatSpecific).toMatchObject({ type: 'qcow2', compat: '1.1', corrupt: false });
    expect(await qi.bitmaps(exec, p('a.qcow2'))).toEqual([{ name: 'b0', flags: ['auto'], granularity: 65536 }]);
    expect((await qi.snapshotList(exec, p('a.qcow2'))).map((s) => s.name)).toEqual(['snap1']);
    expect(await qi.bitmaps(exec, p('a.raw'), { format: 'raw' })).toEqual([]);

    expect(await qi.check(exec, p('a.qcow2'))).toMatchObject({ ok: true, supported: true, corruptions: 0, leaks: 0 });
    expect(await qi.check(exec, p('a.raw'), { format: 'raw' })).toMatchObject({ ok: true, supported: false, exitCode: 63 });

    const map = await qi.map(exec, p('a.qcow2'), { format: 'qcow2' });
    expect(map.filter((e) => e.data)).toMatchObject([{ start: MiB, length: 65536, depth: 0 }]);
    expect(qi.allocatedDataBytes(map)).toBe(65536);

    const m = await qi.measure(exec, { source: p('a.qcow2'), sourceFormat: 'qcow2', outputFormat: 'raw' });
    expect(m).toEqual({ required: 16 * MiB, fullyAllocated: 16 * MiB });
    const n = await qi.measure(exec, { size: 1024 * MiB, outputFormat: 'qcow2' });
    expect(n.fullyAllocated).toBeGreaterThan(1024 * MiB);
    expect(n.required).toBeLessThan(MiB);
  });

  it('makes a backing chain, reads it, and rebases it', async () => {
    await qi.create(exec, p('ov.qcow2'), { format: 'qcow2', backing: p('a.qcow2'), backingFormat: 'qcow2' });
    const chain = await qi.info(exec, p('ov.qcow2'), { backingChain: true });
    expect(chain.map((i) => i.filename)).toEqual([p('ov.qcow2'), p('a.qcow2')]);
    expect(chain[0]).toMatchObject({ virtualSize: 16 * MiB, backingFilenameFormat: 'qcow2' });
    expect(qi.allocatedDataBytes(await qi.map(exec, p('ov.qcow2')))).toBe(65536); // the data lives in the base

    execFileSync('qemu-img', ['convert', '-O', 'qcow2', p('a.qcow2'), p('copy.qcow2')]);
    await qi.rebase(exec, p('ov.qcow2'), { backing: p('copy.qcow2'), backingFormat: 'qcow2', unsafe: true, format: 'qcow2' });
    expect((await qi.info(exec, p('ov.qcow2'))).backingFilename).toBe(p('copy.qcow2'));
  });

  it('refuses to create over an existing file and explains qemu-img errors', async () => {
    const e = await failure(qi.create(exec, p('a.raw'), { format: 'raw', sizeBytes: MiB }));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toContain('never overwrites');
    const missing = await failure(qi.info(exec, p('nope.qcow2')));
    expect(missing).toMatchObject({ code: 'qemu-img-missing' });
    const wrong = await failure(qi.info(exec, p('a.raw'), { format: 'qcow2' }));
    expect(wrong).toMatchObject({ code: 'qemu-img-wrong-format' });
  });

  it('reports a held image as in use, and still reads it with force-share', async () => {
    // qemu-io keeps the image open (and locked) while its stdin stays open.
    const holder = spawn('qemu-io', ['-f', 'qcow2', p('copy.qcow2')], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      let locked: Error | null = null;
      for (let i = 0; i < 50 && !locked; i++) {
        locked = await failure(qi.info(exec, p('copy.qcow2'))).catch(() => null);
        if (!locked) await new Promise((r) => setTimeout(r, 50));
      }
      expect(locked).toBeInstanceOf(HostError);
      expect((locked as HostError).code).toBe('qemu-img-locked');
      expect((await qi.info(exec, p('copy.qcow2'), { forceShare: true })).virtualSize).toBe(16 * MiB);
    } finally {
      holder.stdin.end();
      holder.kill();
    }
  });

  it('converts raw → vmdk → raw with progress, and compare says identical (and different after a write)', async () => {
    await qi.create(exec, p('big.raw'), { format: 'raw', sizeBytes: 64 * MiB });
    qemuIo(p('big.raw'), 'raw', 'write -P 0xab 0 60M');
    const events: Progress[] = [];
    const argv = await qi.convert(
      exec,
      { source: p('big.raw'), sourceFormat: 'raw', dest: p('big.vmdk'), destFormat: 'vmdk', options: { subformat: 'monolithicSparse', adapter_type: 'lsilogic' } },
      { onProgress: (e) => events.push(e) },
    );
    expect(argv.slice(0, 3)).toEqual(['qemu-img', 'convert', '-p']);
    expect(events.length).toBeGreaterThan(3);
    expect(events.at(-1)).toMatchObject({ percent: 100, bytesDone: 64 * MiB, bytesTotal: 64 * MiB });
    expect(events.map((e) => e.percent)).toEqual([...events.map((e) => e.percent)].sort((a, b) => a - b));

    await qi.convert(exec, { source: p('big.vmdk'), sourceFormat: 'vmdk', dest: p('back.raw'), destFormat: 'raw' });
    const compared: Progress[] = [];
    expect(await qi.compare(exec, p('big.raw'), p('back.raw'), { formatA: 'raw', formatB: 'raw', onProgress: (e) => compared.push(e) })).toMatchObject({
      identical: true,
    });
    expect(compared.length).toBeGreaterThan(0);
    expect(await qi.compare(exec, p('big.raw'), p('big.vmdk'), { formatA: 'raw', formatB: 'vmdk' })).toMatchObject({ identical: true });
    // Strict mode also compares allocation: the raw's zero tail is allocated, the vmdk's is not.
    expect(await qi.compare(exec, p('big.raw'), p('big.vmdk'), { formatA: 'raw', formatB: 'vmdk', strict: true })).toEqual({
      identical: false,
      message: `Strict mode: Offset ${60 * MiB} block status mismatch!`,
      mismatchOffset: 60 * MiB,
    });

    qemuIo(p('back.raw'), 'raw', 'write -P 0xcd 2M 4k');
    expect(await qi.compare(exec, p('big.raw'), p('back.raw'), { formatA: 'raw', formatB: 'raw' })).toEqual({
      identical: false,
      message: `Content mismatch at offset ${2 * MiB}!`,
      mismatchOffset: 2 * MiB,
    });
  });

  it('refuses an existing destination, including a flat vmdk extent, without touching it', async () => {
    const before = readdirSync(dir).sort();
    const e = await failure(qi.convert(exec, { source: p('a.raw'), sourceFormat: 'raw', dest: p('back.raw'), destFormat: 'raw' }));
    expect(e).toBeInstanceOf(UserError);
    execFileSync('touch', [p('f-flat.vmdk')]);
    const flat = await failure(
      qi.convert(exec, { source: p('a.raw'), sourceFormat: 'raw', dest: p('f.vmdk'), destFormat: 'vmdk', options: { subformat: 'monolithicFlat' } }),
    );
    expect(flat.message).toContain('f-flat.vmdk already exists');
    expect(existsSync(p('f.vmdk'))).toBe(false);
    rmSync(p('f-flat.vmdk'));
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it('cancels a copy after its first progress update and removes the partial output', async () => {
    await qi.create(exec, p('huge.raw'), { format: 'raw', sizeBytes: 1024 * MiB });
    // Data spread over the image so the copy has real work to do.
    for (let off = 0; off < 1024; off += 128) qemuIo(p('huge.raw'), 'raw', `write -P 0x5a ${off}M 8M`);
    const controller = new AbortController();
    const events: Progress[] = [];
    const e = await failure(
      qi.convert(
        exec,
        { source: p('huge.raw'), sourceFormat: 'raw', dest: p('huge.qcow2'), destFormat: 'qcow2', sparse: false },
        {
          signal: controller.signal,
          onProgress: (ev) => {
            events.push(ev);
            controller.abort();
          },
        },
      ),
    );
    expect(e).toMatchObject({ code: 'cancelled' });
    expect(events.length).toBeGreaterThan(0);
    expect(events.at(-1)?.percent ?? 100).toBeLessThan(100);
    expect(existsSync(p('huge.qcow2'))).toBe(false);
    rmSync(p('huge.raw'));
  });

  it('grows raw and qcow2, refuses shrinking and vmdk', async () => {
    expect(await qi.resize(exec, p('a.raw'), '+16M', { format: 'raw' })).toMatchObject({ fromBytes: 16 * MiB, toBytes: 32 * MiB });
    expect((await qi.info(exec, p('a.raw'), { format: 'raw' })).virtualSize).toBe(32 * MiB);
    // qcow2 with an internal snapshot grows too (qemu 7.2 allows it).
    await qi.resize(exec, p('copy.qcow2'), 48 * MiB, { format: 'qcow2' });
    expect((await qi.info(exec, p('copy.qcow2'))).virtualSize).toBe(48 * MiB);

    const shrink = await failure(qi.resize(exec, p('a.raw'), '8M', { format: 'raw' }));
    expect(shrink).toBeInstanceOf(UserError);
    expect((await qi.info(exec, p('a.raw'), { format: 'raw' })).virtualSize).toBe(32 * MiB);
    const vmdk = await failure(qi.resize(exec, p('big.vmdk'), '+16M', { format: 'vmdk' }));
    expect(vmdk).toBeInstanceOf(UserError);
    expect(vmdk.message).toContain('convert it back to vmdk');
  });

  it('reads descriptors from real sparse and flat vmdks, and their options round-trip through qemu-img', async () => {
    await qi.create(exec, p('s6.vmdk'), { format: 'vmdk', sizeBytes: 16 * MiB, options: { compat6: true, adapter_type: 'lsilogic' } });
    await qi.create(exec, p('flat.vmdk'), { format: 'vmdk', sizeBytes: 8 * MiB, options: { subformat: 'monolithicFlat' } });
    expect(existsSync(p('flat-flat.vmdk'))).toBe(true);

    const sparse = await readVmdkDescriptor(exec, p('s6.vmdk'));
    expect(sparse).toMatchObject({ createType: 'monolithicSparse', extents: [{ type: 'SPARSE', sectors: 32768, file: 's6.vmdk' }] });
    expect(sparse.ddb).toMatchObject({ adapterType: 'lsilogic', virtualHWVersion: '6' });
    expect(sparse.cid).toBe(((await qi.info(exec, p('s6.vmdk'))).formatSpecific as { cid: number }).cid);

    const flat = await readVmdkDescriptor(exec, p('flat.vmdk'));
    expect(flat).toMatchObject({ createType: 'monolithicFlat', extents: [{ type: 'FLAT', file: 'flat-flat.vmdk', offset: 0 }] });
    await expect(readVmdkDescriptor(exec, p('flat-flat.vmdk'))).rejects.toThrow(UserError);

    const cases: [string, Record<string, string | boolean>][] = [
      ['rt1.vmdk', { subformat: 'monolithicSparse', adapter_type: 'lsilogic', hwversion: '6' }],
      ['rt2.vmdk', { subformat: 'monolithicFlat', adapter_type: 'buslogic', hwversion: '7' }],
      ['rt3.vmdk', { subformat: 'streamOptimized', adapter_type: 'ide', hwversion: '4' }],
      ['rt4.vmdk', { subformat: 'twoGbMaxExtentSparse', adapter_type: 'legacyESX', hwversion: '11' }],
    ];
    for (const [name, options] of cases) {
      await qi.create(exec, p(name), { format: 'vmdk', sizeBytes: 4 * MiB, options });
      expect(vmdkOptionRecord(convertOptionsFromDescriptor(await readVmdkDescriptor(exec, p(name))))).toEqual(options);
    }
    // compat6 and hwversion=6 are the same disk: the options read from the compat6 one recreate it.
    const again = vmdkOptionRecord(convertOptionsFromDescriptor(sparse));
    await qi.convert(exec, { source: p('s6.vmdk'), sourceFormat: 'vmdk', dest: p('s6b.vmdk'), destFormat: 'vmdk', options: again });
    const copy = await readVmdkDescriptor(exec, p('s6b.vmdk'));
    expect({ ...copy, cid: 0, extents: [] }).toEqual({ ...sparse, cid: 0, extents: [] });
  });
});
