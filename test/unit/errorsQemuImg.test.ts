import { describe, expect, it } from 'vitest';
import { explain, HostError } from '../../src/host/errors.js';
import { KNOWN_ERROR_CATALOG } from '../../src/model/knownErrors.js';

/** Real stderr of qemu-img 7.2 on this project's Debian 12 host, each produced on purpose. */
const SAMPLES: { code: string; command: string[]; stderr: string; mentions: string[] }[] = [
  {
    code: 'qemu-img-locked',
    command: ['qemu-img', 'info', '--output=json', 'a.qcow2'],
    stderr: 'qemu-img: Could not open \'a.qcow2\': Failed to get shared "write" lock\nIs another process using the image [a.qcow2]?',
    mentions: ['a.qcow2', 'running guest', '-U'],
  },
  {
    code: 'qemu-img-locked',
    command: ['qemu-img', 'resize', 'a.qcow2', '+1M'],
    stderr: 'qemu-img: Could not open \'a.qcow2\': Failed to get "write" lock\nIs another process using the image [a.qcow2]?',
    mentions: ['a.qcow2'],
  },
  {
    code: 'qemu-img-backing-missing',
    command: ['qemu-img', 'convert', '-O', 'raw', 'x.qcow2', 'xx.raw'],
    stderr: "qemu-img: Could not open 'x.qcow2': Could not open backing file: Could not open 'gone.qcow2': No such file or directory",
    mentions: ['gone.qcow2', 'x.qcow2', 'rebase'],
  },
  {
    code: 'qemu-img-missing',
    command: ['qemu-img', 'info', 'nope.qcow2'],
    stderr: "qemu-img: Could not open 'nope.qcow2': Could not open 'nope.qcow2': No such file or directory",
    mentions: ['nope.qcow2'],
  },
  {
    code: 'qemu-img-missing',
    command: ['qemu-img', 'create', '-f', 'qcow2', '-b', 'nope.qcow2', '-F', 'qcow2', 'x.qcow2', '1M'],
    stderr: "qemu-img: x.qcow2: Could not open 'nope.qcow2': No such file or directory\nCould not open backing image.",
    mentions: ['nope.qcow2'],
  },
  {
    code: 'qemu-img-folder-missing',
    command: ['qemu-img', 'convert', '-O', 'qcow2', 'a.qcow2', '/nonexistentdir/x.qcow2'],
    stderr: "qemu-img: /nonexistentdir/x.qcow2: error while converting qcow2: Could not create '/nonexistentdir/x.qcow2': No such file or directory",
    mentions: ['/nonexistentdir/x.qcow2', 'mkdir'],
  },
  {
    code: 'qemu-img-folder-missing',
    command: ['qemu-img', 'create', '-f', 'qcow2', '/dev/full/x', '1M'],
    stderr: "qemu-img: /dev/full/x: Could not create '/dev/full/x': Not a directory",
    mentions: ['/dev/full/x'],
  },
  {
    code: 'qemu-img-permission',
    command: ['qemu-img', 'info', 'a.raw'],
    stderr: "qemu-img: Could not open 'a.raw': Could not open 'a.raw': Permission denied",
    mentions: ['a.raw', 'root'],
  },
  {
    code: 'qemu-img-permission',
    command: ['qemu-img', 'create', '-f', 'raw', '/root/zz.raw', '1M'],
    stderr: "qemu-img: /root/zz.raw: Could not create '/root/zz.raw': Permission denied",
    mentions: ['/root/zz.raw'],
  },
  {
    code: 'qemu-img-wrong-format',
    command: ['qemu-img', 'info', '-f', 'qcow2', 'r.raw'],
    stderr: "qemu-img: Could not open 'r.raw': Image is not in qcow2 format",
    mentions: ['r.raw is not a qcow2 image'],
  },
  {
    code: 'qemu-img-bad-vmdk',
    command: ['qemu-img', 'info', '-f', 'vmdk', 'txt'],
    stderr: "qemu-img: Could not open 'txt': invalid VMDK image descriptor",
    mentions: ['txt', '-flat'],
  },
  {
    code: 'qemu-img-no-resize',
    command: ['qemu-img', 'resize', '-f', 'vmdk', 's.vmdk', '+8M'],
    stderr: 'qemu-img: Image format driver does not support resize',
    mentions: ['convert', 'resize the copy'],
  },
  {
    code: 'qemu-img-shrink',
    command: ['qemu-img', 'resize', '-f', 'raw', 'r.raw', '4M'],
    stderr:
      "qemu-img: Use the --shrink option to perform a shrink operation.\nqemu-img: warning: Shrinking an image will delete all data beyond the shrunken image's end. Before performing such an operation, make sure there is no important data there.",
    mentions: ['smaller'],
  },
  {
    code: 'qemu-img-bad-option',
    command: ['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'foo=bar', 'x.qcow2', '1M'],
    stderr: "qemu-img: x.qcow2: Invalid parameter 'foo'",
    mentions: ['foo', '-o help'],
  },
  {
    code: 'qemu-img-bad-option',
    command: ['qemu-img', 'create', '-f', 'vmdk', '-o', 'adapter_type=pvscsi', 'p.vmdk', '8M'],
    stderr: 'qemu-img: p.vmdk: invalid parameter value: pvscsi',
    mentions: ['pvscsi'],
  },
  {
    code: 'qemu-img-bad-option',
    command: ['qemu-img', 'create', '-f', 'vmdk', '-o', 'compat6,hwversion=7', 'x.vmdk', '8M'],
    stderr: 'qemu-img: x.vmdk: compat6 cannot be enabled with hwversion set',
    mentions: ['compat6 and hwversion'],
  },
  {
    code: 'qemu-img-bad-option',
    command: ['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=3', 'x.qcow2', '1M'],
    stderr: 'qemu-img: x.qcow2: Cluster size must be a power of two between 512 and 2048k',
    mentions: ['power of two'],
  },
  {
    code: 'qemu-img-unknown-format',
    command: ['qemu-img', 'create', '-f', 'bogus', 'x', '1M'],
    stderr: "qemu-img: x: Unknown file format 'bogus'",
    mentions: ['bogus'],
  },
  {
    code: 'qemu-img-no-measure',
    command: ['qemu-img', 'measure', '--output=json', '-O', 'vmdk', '--size', '1G'],
    stderr: "qemu-img: Block driver 'vmdk' does not support size measurement",
    mentions: ['vmdk', 'raw'],
  },
];

describe('explain: qemu-img failures in plain words (the qemu-img-* entries of the one catalog)', () => {
  it.each(SAMPLES.map((s) => [s.code, s] as const))('%s', (_c, s) => {
    const e = explain(s.command, s.stderr, 1);
    expect(e).toBeInstanceOf(HostError);
    expect(e.code).toBe(s.code);
    for (const word of s.mentions) expect(`${e.sentence} ${e.fix}`).toContain(word);
    expect(e.sentence).toMatch(/\.$/);
    expect(e.sentence).not.toMatch(/guest cannot start/);
    expect(e.command).toEqual(s.command);
    expect(e.stderr).toBe(s.stderr.trim());
    expect(e.exitCode).toBe(1);
  });

  it('has a real sample for every qemu-img entry', () => {
    const sampled = new Set(SAMPLES.map((s) => s.code));
    const qemuImgIds = KNOWN_ERROR_CATALOG.map((k) => k.id).filter((id) => id.startsWith('qemu-img-'));
    expect(qemuImgIds.length).toBeGreaterThanOrEqual(12);
    expect(qemuImgIds.filter((c) => !sampled.has(c))).toEqual([]);
  });

  it('words qemu-img messages shared with other programs by the shared entry', () => {
    const full = explain(['qemu-img', 'convert', 'a', 'b'], 'qemu-img: error while writing at byte 2097152: No space left on device', 1);
    expect(full.code).toBe('no-space');
  });

  it('never words virsh output as qemu-img (every qemu-img pattern needs the qemu-img: prefix)', () => {
    const virshLock =
      'error: Failed to start domain \'g\'\nerror: internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: -blockdev {}: Failed to get "write" lock\nIs another process using the image [/i/d.qcow2]?';
    const e = explain(['virsh', 'start', '--domain', 'g'], virshLock, 1);
    expect(e.code).toBe('write-lock');
    expect(e.sentence).toBe('The guest g cannot start: its disk /i/d.qcow2 is in use by another process.');
  });
});
