import { describe, expect, it } from 'vitest';
import { explain, HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import * as qi from '../../src/host/qemuImg.js';
import type { Progress } from '../../src/model/progress.js';
import { UserError } from '../../src/model/userError.js';

// Real outputs of qemu-img 7.2 on this host (Debian 12), trimmed to what the parsers read.
const INFO_QCOW2 = `{
    "snapshots": [
        { "icount": 0, "vm-clock-nsec": 0, "name": "snap1", "date-sec": 1795636651, "date-nsec": 862909000,
          "vm-clock-sec": 0, "id": "1", "vm-state-size": 0 }
    ],
    "virtual-size": 16777216, "filename": "a.qcow2", "cluster-size": 65536, "format": "qcow2", "actual-size": 360448,
    "format-specific": { "type": "qcow2", "data": { "compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false,
        "bitmaps": [ { "flags": [ "auto" ], "name": "b0", "granularity": 65536 } ],
        "refcount-bits": 16, "corrupt": false, "extended-l2": false } },
    "dirty-flag": false
}`;

const INFO_CHAIN = `[
    { "backing-filename-format": "qcow2", "virtual-size": 16777216, "filename": "ov.qcow2", "cluster-size": 65536,
      "format": "qcow2", "actual-size": 200704,
      "format-specific": { "type": "qcow2", "data": { "compat": "1.1", "compression-type": "zlib", "lazy-refcounts": false,
          "refcount-bits": 16, "corrupt": false, "extended-l2": false } },
      "full-backing-filename": "a.qcow2", "backing-filename": "a.qcow2", "dirty-flag": false },
    ${INFO_QCOW2}
]`;

const INFO_VMDK = `{
    "virtual-size": 16777216, "filename": "s.vmdk", "cluster-size": 65536, "format": "vmdk", "actual-size": 12288,
    "format-specific": { "type": "vmdk", "data": { "cid": 2648929960, "parent-cid": 4294967295, "create-type": "monolithicSparse",
        "extents": [ { "virtual-size": 16777216, "filename": "s.vmdk", "cluster-size": 65536, "format": "" } ] } },
    "dirty-flag": false
}`;

const INFO_RAW = `{ "virtual-size": 8388608, "filename": "r.raw", "format": "raw", "actual-size": 4096, "dirty-flag": false }`;

const CHECK_CLEAN = `{ "image-end-offset": 786432, "total-clusters": 256, "check-errors": 0, "allocated-clusters": 1,
    "filename": "a.qcow2", "format": "qcow2" }`;
const CHECK_LEAK = `{ "image-end-offset": 524288, "total-clusters": 256, "check-errors": 0, "leaks": 1,
    "filename": "leak.qcow2", "format": "qcow2" }`;
const CHECK_CORRUPT = `{ "image-end-offset": 524288, "total-clusters": 256, "corruptions": 1, "check-errors": 0,
    "allocated-clusters": 2, "filename": "corrupt.qcow2", "format": "qcow2", "fragmented-clusters": 1 }`;
const CHECK_VMDK = `{ "check-errors": 0, "filename": "s.vmdk", "format": "vmdk" }`;

const MAP_QCOW2 = `[{ "start": 0, "length": 1048576, "depth": 0, "present": false, "zero": true, "data": false},
{ "start": 1048576, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, "offset": 327680},
{ "start": 1114112, "length": 15663104, "depth": 0, "present": false, "zero": true, "data": false}]
`;
const MAP_RAW = `[{ "start": 0, "length": 4096, "depth": 0, "present": true, "zero": false, "data": true, "offset": 0},
{ "start": 4096, "length": 8384512, "depth": 0, "present": true, "zero": true, "data": false, "offset": 4096}]
`;

describe('parsers', () => {
  it('info: qcow2 with a bitmap and a snapshot', () => {
    const i = qi.parseInfo(INFO_QCOW2) as qi.ImageInfo;
    expect(i).toMatchObject({
      filename: 'a.qcow2',
      format: 'qcow2',
      virtualSize: 16777216,
      actualSize: 360448,
      dirtyFlag: false,
      clusterSize: 65536,
      backingFilename: null,
      formatSpecific: {
        type: 'qcow2',
        compat: '1.1',
        lazyRefcounts: false,
        corrupt: false,
        bitmaps: [{ name: 'b0', flags: ['auto'], granularity: 65536 }],
      },
    });
    expect(i.snapshots).toEqual([{ id: '1', name: 'snap1', vmStateSize: 0, date: new Date(1795636651862), vmClockNsec: 0 }]);
  });

  it('info --backing-chain: an array, overlay first', () => {
    const chain = qi.parseInfo(INFO_CHAIN) as qi.ImageInfo[];
    expect(chain.map((i) => i.filename)).toEqual(['ov.qcow2', 'a.qcow2']);
    expect(chain[0]).toMatchObject({ backingFilename: 'a.qcow2', fullBackingFilename: 'a.qcow2', backingFilenameFormat: 'qcow2' });
  });

  it('info: vmdk extents and raw without format-specific data', () => {
    expect((qi.parseInfo(INFO_VMDK) as qi.ImageInfo).formatSpecific).toEqual({
      type: 'vmdk',
      createType: 'monolithicSparse',
      cid: 2648929960,
      parentCid: 4294967295,
      extents: [{ filename: 's.vmdk', format: '', virtualSize: 16777216, clusterSize: 65536, compressed: false }],
    });
    expect(qi.parseInfo(INFO_RAW)).toMatchObject({ format: 'raw', formatSpecific: null, snapshots: [], clusterSize: null });
  });

  it('info: output that is not what qemu-img prints is a HostError, not a crash', () => {
    expect(() => qi.parseInfo('image: a.qcow2\nfile format: qcow2')).toThrow(HostError);
    expect(() => qi.parseInfo('{"filename": "a"}')).toThrow(/does not understand/);
  });

  it.each([
    [0, CHECK_CLEAN, '', { ok: true, supported: true, corruptions: 0, leaks: 0, checkErrors: 0, imageEndOffset: 786432 }],
    [3, CHECK_LEAK, 'Leaked cluster 5 refcount=1 reference=0', { ok: false, leaks: 1, message: 'Leaked cluster 5 refcount=1 reference=0' }],
    [2, CHECK_CORRUPT, 'ERROR cluster 5 refcount=1 reference=2', { ok: false, corruptions: 1 }],
    [0, CHECK_VMDK, '', { ok: true, supported: true }],
    [63, '', 'qemu-img: This image format does not support checks', { ok: true, supported: false }],
  ])('check exit %d is an answer', (code, stdout, stderr, expected) => {
    expect(qi.parseCheck(code, stdout, stderr)).toMatchObject({ exitCode: code, ...expected });
  });

  it('check exit 1 without a report is a failure (e.g. a lock), not an answer', () => {
    expect(qi.parseCheck(1, '', `qemu-img: Could not open 'a.qcow2': Failed to get "write" lock`)).toBeNull();
  });

  it.each([
    [0, 'Images are identical.\n', { identical: true, message: 'Images are identical.' }],
    [1, 'Content mismatch at offset 1048576!\n', { identical: false, message: 'Content mismatch at offset 1048576!', mismatchOffset: 1048576 }],
    [0, '    (0.00/100%)\r    (50.00/100%)\r    (100.00/100%)\rImages are identical.\n', { identical: true, message: 'Images are identical.' }],
  ])('compare exit %d', (code, stdout, expected) => {
    expect(qi.parseCompare(code, stdout)).toEqual(expected);
  });

  it('measure, with and without bitmaps', () => {
    expect(qi.parseMeasure('{ "bitmaps": 196608, "required": 393216, "fully-allocated": 17104896 }')).toEqual({
      required: 393216,
      fullyAllocated: 17104896,
      bitmaps: 196608,
    });
    expect(qi.parseMeasure('{ "required": 16777216, "fully-allocated": 16777216 }')).toEqual({ required: 16777216, fullyAllocated: 16777216 });
  });

  it('map and the bytes that hold data', () => {
    const m = qi.parseMap(MAP_QCOW2);
    expect(m[1]).toEqual({ start: 1048576, length: 65536, depth: 0, present: true, zero: false, data: true, offset: 327680 });
    expect(qi.allocatedDataBytes(m)).toBe(65536);
    expect(qi.allocatedDataBytes(qi.parseMap(MAP_RAW))).toBe(4096);
  });
});

describe('argv builders', () => {
  it('info and read-only commands add -f and -U only when asked', () => {
    expect(qi.infoArgv('/img/a.qcow2')).toEqual(['qemu-img', 'info', '--output=json', '/img/a.qcow2']);
    expect(qi.infoArgv('/img/a.qcow2', { format: 'qcow2', forceShare: true, backingChain: true })).toEqual([
      'qemu-img',
      'info',
      '--output=json',
      '-f',
      'qcow2',
      '-U',
      '--backing-chain',
      '/img/a.qcow2',
    ]);
    expect(qi.infoTextArgv('-a.qcow2', { forceShare: true, backingChain: true })).toEqual(['qemu-img', 'info', '-U', '--backing-chain', './-a.qcow2']);
    expect(qi.infoTextArgv('/img/a.qcow2')).toEqual(['qemu-img', 'info', '/img/a.qcow2']);
    expect(qi.checkArgv('a.raw', { format: 'raw' })).toEqual(['qemu-img', 'check', '--output=json', '-f', 'raw', 'a.raw']);
    expect(qi.mapArgv('a', { forceShare: true })).toEqual(['qemu-img', 'map', '--output=json', '-U', 'a']);
  });

  it('names qemu would read as an option or a protocol get ./ in front', () => {
    expect(qi.safeImagePath('-rf.qcow2')).toBe('./-rf.qcow2');
    expect(qi.safeImagePath('nbd:host:10809')).toBe('./nbd:host:10809');
    expect(qi.safeImagePath('/img/a:b.qcow2')).toBe('/img/a:b.qcow2');
    expect(() => qi.safeImagePath('')).toThrow(UserError);
  });

  it('-o strings: on/off, commas doubled, bad keys refused', () => {
    expect(qi.optionString({ subformat: 'monolithicFlat', compat6: true, lazy_refcounts: false, x: 'a,b' })).toBe(
      'subformat=monolithicFlat,compat6=on,lazy_refcounts=off,x=a,,b',
    );
    expect(() => qi.optionString({ 'a=b,c': 'x' })).toThrow(UserError);
  });

  it('create: options, backing with its format, size in bytes', () => {
    expect(qi.createArgv('/img/n.vmdk', { format: 'vmdk', sizeBytes: 8388608, options: { subformat: 'monolithicFlat', adapter_type: 'lsilogic' } })).toEqual([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'vmdk',
      '-o',
      'subformat=monolithicFlat,adapter_type=lsilogic',
      '/img/n.vmdk',
      '8388608',
    ]);
    expect(qi.createArgv('/img/ov.qcow2', { format: 'qcow2', backing: '/img/base.qcow2', backingFormat: 'qcow2', preallocation: 'metadata' })).toEqual([
      'qemu-img',
      'create',
      '-q',
      '-f',
      'qcow2',
      '-o',
      'preallocation=metadata',
      '-b',
      '/img/base.qcow2',
      '-F',
      'qcow2',
      '/img/ov.qcow2',
    ]);
    expect(() => qi.createArgv('x', { format: 'qcow2', backing: 'b' })).toThrow(/backing file needs its format/);
    expect(() => qi.createArgv('x', { format: 'qcow2' })).toThrow(/needs a size/);
  });

  it('convert: progress always on, and each option in its place', () => {
    expect(
      qi.convertArgv({
        source: '/img/a.raw',
        sourceFormat: 'raw',
        dest: '/img/a.vmdk',
        destFormat: 'vmdk',
        options: { subformat: 'monolithicSparse', adapter_type: 'lsilogic', hwversion: '6' },
        compress: false,
        sparse: false,
        forceShare: true,
      }),
    ).toEqual([
      'qemu-img',
      'convert',
      '-p',
      '-f',
      'raw',
      '-U',
      '-O',
      'vmdk',
      '-o',
      'subformat=monolithicSparse,adapter_type=lsilogic,hwversion=6',
      '-S',
      '0',
      '/img/a.raw',
      '/img/a.vmdk',
    ]);
    expect(qi.convertArgv({ source: 'a', dest: 'b', destFormat: 'qcow2', compress: true, targetIsZero: true })).toEqual([
      'qemu-img',
      'convert',
      '-p',
      '-O',
      'qcow2',
      '-c',
      '-n',
      '--target-is-zero',
      'a',
      'b',
    ]);
  });

  it('resize: absolute and relative sizes; vmdk refused with the convert route', () => {
    expect(qi.resizeArgv('/img/a.qcow2', '+5G', { format: 'qcow2' })).toEqual(['qemu-img', 'resize', '-f', 'qcow2', '/img/a.qcow2', `+${5 * 1024 ** 3}`]);
    expect(qi.resizeArgv('/img/a.raw', 1048576, { format: 'raw', preallocation: 'falloc' })).toEqual([
      'qemu-img',
      'resize',
      '-f',
      'raw',
      '--preallocation=falloc',
      '/img/a.raw',
      '1048576',
    ]);
    expect(() => qi.resizeArgv('/img/a.vmdk', '+1G', { format: 'vmdk' })).toThrow(/convert it to raw or qcow2, resize that copy, convert it back/);
    expect(() => qi.resizeArgv('a', '-1G', { format: 'raw' })).toThrow(UserError);
    expect(() => qi.resizeArgv('a', '+0', { format: 'raw' })).toThrow(UserError);
  });

  it('compare, measure and rebase', () => {
    expect(qi.compareArgv('a.raw', 'b.vmdk', { formatA: 'raw', formatB: 'vmdk', strict: true })).toEqual([
      'qemu-img',
      'compare',
      '-p',
      '-f',
      'raw',
      '-F',
      'vmdk',
      '-s',
      'a.raw',
      'b.vmdk',
    ]);
    expect(qi.measureArgv({ size: 1073741824, outputFormat: 'qcow2' })).toEqual(['qemu-img', 'measure', '--output=json', '-O', 'qcow2', '--size', '1073741824']);
    expect(qi.measureArgv({ source: 'a.qcow2', sourceFormat: 'qcow2', outputFormat: 'raw', forceShare: true })).toEqual([
      'qemu-img',
      'measure',
      '--output=json',
      '-O',
      'raw',
      '-f',
      'qcow2',
      '-U',
      'a.qcow2',
    ]);
    expect(() => qi.measureArgv({ outputFormat: 'raw' })).toThrow(UserError);
    expect(qi.rebaseArgv('/b/run2/vda.qcow2', { backing: '/b/run1/vda.qcow2', backingFormat: 'qcow2', unsafe: true })).toEqual([
      'qemu-img',
      'rebase',
      '-u',
      '-F',
      'qcow2',
      '-b',
      '/b/run1/vda.qcow2',
      '/b/run2/vda.qcow2',
    ]);
    expect(qi.rebaseArgv('x.qcow2', { backing: '' })).toEqual(['qemu-img', 'rebase', '-b', '', 'x.qcow2']);
  });

  it('imageFiles: the extent files a vmdk subformat adds, named as qemu names them', () => {
    expect(qi.imageFiles('/i/a.qcow2', 'qcow2')).toEqual(['/i/a.qcow2']);
    expect(qi.imageFiles('/i/a.vmdk', 'vmdk', { subformat: 'monolithicFlat' })).toEqual(['/i/a.vmdk', '/i/a-flat.vmdk']);
    expect(qi.imageFiles('/i/t.vmdk', 'vmdk', { subformat: 'twoGbMaxExtentFlat' }, 6 * 1024 ** 3)).toEqual([
      '/i/t.vmdk',
      '/i/t-f001.vmdk',
      '/i/t-f002.vmdk',
      '/i/t-f003.vmdk',
    ]);
    expect(qi.imageFiles('/i.d/nd', 'vmdk', { subformat: 'twoGbMaxExtentSparse' }, 1)).toEqual(['/i.d/nd', '/i.d/nd-s001']);
  });
});

/** An Executor that answers by the first matching rule and records every argv. */
function scripted(rules: [(argv: string[]) => boolean, (argv: string[], opts?: ExecOptions) => Partial<ExecResult> | Promise<Partial<ExecResult>>][]) {
  const calls: string[][] = [];
  const exec: Executor = {
    label: 'scripted',
    async run(argv, opts) {
      calls.push(argv);
      const rule = rules.find(([match]) => match(argv));
      if (!rule) throw new Error(`unexpected ${argv.join(' ')}`);
      const r = { argv, exitCode: 0, stdout: '', stderr: '', ...(await rule[1](argv, opts)) };
      if (r.exitCode !== 0 && !(opts?.okExitCodes ?? []).includes(r.exitCode)) throw explain(argv, r.stderr, r.exitCode);
      return r;
    },
    async interactive() {
      return 0;
    },
  };
  return { exec, calls };
}

const is = (sub: string) => (argv: string[]) => argv[0] === 'qemu-img' && argv[1] === sub;
const existCheck = (argv: string[]) => argv[0] === 'sh';

describe('run functions with a scripted executor', () => {
  it('convert reports progress with bytes from the source size, and returns the argv', async () => {
    const { exec, calls } = scripted([
      [is('info'), () => ({ stdout: INFO_RAW })],
      [existCheck, () => ({ stdout: '' })],
      [
        is('convert'),
        (_a, opts) => {
          for (const c of ['    (0.00/100%)\r', '    (50.00/1', '00%)\r    (100.00/100%)\r']) opts?.onStdout?.(c);
          return {};
        },
      ],
    ]);
    const seen: Progress[] = [];
    const argv = await qi.convert(exec, { source: 'r.raw', sourceFormat: 'raw', dest: 'r.qcow2', destFormat: 'qcow2' }, { onProgress: (p) => seen.push(p) });
    expect(argv).toEqual(['qemu-img', 'convert', '-p', '-f', 'raw', '-O', 'qcow2', 'r.raw', 'r.qcow2']);
    expect(seen.map((p) => [p.percent, p.bytesDone])).toEqual([
      [0, 0],
      [50, 4194304],
      [100, 8388608],
    ]);
    expect(calls.find(existCheck)?.slice(-1)).toEqual(['r.qcow2']);
  });

  it('convert refuses a destination (or one of its extent files) that exists, before copying anything', async () => {
    const { exec, calls } = scripted([
      [is('info'), () => ({ stdout: INFO_RAW })],
      [existCheck, () => ({ stdout: 'f-flat.vmdk\0' })],
    ]);
    await expect(qi.convert(exec, { source: 'r.raw', dest: 'f.vmdk', destFormat: 'vmdk', options: { subformat: 'monolithicFlat' } })).rejects.toThrow(
      /f-flat.vmdk already exists; virtdeck never overwrites/,
    );
    expect(calls.some(is('convert'))).toBe(false);
  });

  it('convert removes what it created when qemu-img fails, and the error is worded for qemu-img', async () => {
    const { exec, calls } = scripted([
      [is('info'), () => ({ stdout: INFO_RAW })],
      [existCheck, () => ({ stdout: '' })],
      [is('convert'), () => ({ exitCode: 1, stderr: 'qemu-img: error while writing at byte 2097152: No space left on device' })],
      [(a) => a[0] === 'rm', () => ({})],
    ]);
    const e = await qi.convert(exec, { source: 'r.raw', dest: 'out/f.vmdk', destFormat: 'vmdk', options: { subformat: 'monolithicFlat' } }).catch((x) => x);
    expect(e).toBeInstanceOf(HostError);
    expect(e.code).toBe('no-space');
    expect(calls.at(-1)).toEqual(['rm', '-f', '--', 'out/f.vmdk', 'out/f-flat.vmdk']);
  });

  it('check turns exits 2, 3 and 63 into answers and a lock into a qemu-img sentence', async () => {
    const { exec } = scripted([
      [(a) => is('check')(a) && a.includes('leak.qcow2'), () => ({ exitCode: 3, stdout: CHECK_LEAK })],
      [(a) => is('check')(a) && a.includes('r.raw'), () => ({ exitCode: 63, stderr: 'qemu-img: This image format does not support checks' })],
      [
        is('check'),
        () => ({ exitCode: 1, stderr: `qemu-img: Could not open 'a.qcow2': Failed to get "write" lock\nIs another process using the image [a.qcow2]?` }),
      ],
    ]);
    expect(await qi.check(exec, 'leak.qcow2')).toMatchObject({ ok: false, leaks: 1 });
    expect(await qi.check(exec, 'r.raw')).toMatchObject({ ok: true, supported: false });
    const e = await qi.check(exec, 'a.qcow2').catch((x) => x);
    expect(e.code).toBe('qemu-img-locked');
    expect(e.sentence).toBe('The image a.qcow2 is in use by a running guest or another QEMU process.');
  });

  it('infoText returns qemu-img\'s human words, and a failure worded like every qemu-img failure', async () => {
    const human = 'image: a.qcow2\nfile format: qcow2\nvirtual size: 16 MiB (16777216 bytes)\n';
    const { exec, calls } = scripted([
      [(a) => is('info')(a) && a.includes('gone.qcow2'), () => ({ exitCode: 1, stderr: "qemu-img: Could not open 'gone.qcow2': Could not open 'gone.qcow2': No such file or directory" })],
      [is('info'), () => ({ stdout: human })],
    ]);
    expect(await qi.infoText(exec, 'a.qcow2', { forceShare: true, backingChain: true })).toBe(human);
    expect(calls[0]).toEqual(['qemu-img', 'info', '-U', '--backing-chain', 'a.qcow2']);
    await expect(qi.infoText(exec, 'gone.qcow2')).rejects.toMatchObject({ code: 'qemu-img-missing', sentence: 'The image gone.qcow2 does not exist.' });
  });

  it('create refuses an existing path without running qemu-img', async () => {
    const { exec, calls } = scripted([[existCheck, () => ({ stdout: '/img/a.qcow2\0' })]]);
    await expect(qi.create(exec, '/img/a.qcow2', { format: 'qcow2', sizeBytes: 1024 })).rejects.toThrow(UserError);
    expect(calls).toHaveLength(1);
  });

  it('resize refuses to shrink after reading the current size', async () => {
    const { exec, calls } = scripted([[is('info'), () => ({ stdout: INFO_RAW })]]);
    await expect(qi.resize(exec, 'r.raw', '4M', { format: 'raw' })).rejects.toThrow(/shrinking would destroy/);
    expect(calls.some(is('resize'))).toBe(false);
  });

  it('compare: exit 1 is "different", exit 2 is an error', async () => {
    const { exec } = scripted([
      [(a) => is('compare')(a) && a.includes('b'), () => ({ exitCode: 1, stdout: 'Content mismatch at offset 0!\n' })],
      [is('compare'), () => ({ exitCode: 2, stderr: "qemu-img: Could not open 'nope.raw': Could not open 'nope.raw': No such file or directory" })],
    ]);
    expect(await qi.compare(exec, 'a', 'b')).toEqual({ identical: false, message: 'Content mismatch at offset 0!', mismatchOffset: 0 });
    await expect(qi.compare(exec, 'a', 'nope.raw')).rejects.toMatchObject({ code: 'qemu-img-missing', sentence: 'The image nope.raw does not exist.' });
  });
});
