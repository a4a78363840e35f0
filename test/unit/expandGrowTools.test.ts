import { describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { Executor } from '../../src/host/exec.js';
import { growGuest, inspectScript, parseInspection } from '../../src/host/guestfs.js';
import { type DiskLayout, type ExpandFacts, GF_MARK, assessExpand, decideGrow, growCommands, partitionEndByte, partitionEndSector } from '../../src/model/expandPlan.js';

const G = 1024 ** 3;
const M = 1024 ** 2;

function layout(over: Partial<DiskLayout> = {}): DiskLayout {
  return {
    partitionTable: 'msdos',
    diskBytes: 20 * G,
    partitions: [{ num: 1, start: M, end: 20 * G - 1, size: 20 * G - M, fsType: 'ext4' }],
    filesystems: { '/dev/sda1': 'ext4' },
    pvs: [],
    vgs: [],
    lvs: [],
    os: null,
    ...over,
  };
}

function facts(l: DiskLayout): ExpandFacts {
  return {
    uri: 'qemu:///system',
    requestedPath: '/srv/vm/web.raw',
    image: { path: '/srv/vm/web.raw', format: 'raw', virtualSize: 20 * G, dataBytes: G, backingFile: null, snapshots: [], vmdk: null, freeBytes: 100 * G },
    guest: null,
    layout: l,
    guestfsEnv: {},
    existingLeftovers: [],
  };
}

function op(l: DiskLayout) {
  const d = decideGrow(l);
  if (!('op' in d)) throw new Error(d.reason);
  return d.op;
}

describe('where the grown partition ends', () => {
  it('MBR: the disk’s last sector (-1)', () => {
    expect(partitionEndSector(op(layout()), 30 * G)).toBe(-1);
  });

  it('GPT: the last usable sector before the 33-sector backup table at the new end', () => {
    const gpt = op(layout({ partitionTable: 'gpt' }));
    expect(partitionEndSector(gpt, 128 * M)).toBe(128 * 2048 - 34);
    expect(growCommands(gpt, 128 * M).map((c) => c.join(' '))).toEqual(
      expect.arrayContaining(['part-expand-gpt /dev/sda', `part-resize /dev/sda 1 ${128 * 2048 - 34}`]),
    );
    expect(() => growCommands(gpt)).toThrow(/GPT disk needs its new size/);
  });

  it('the plan’s grow step places the GPT end from the target size', () => {
    const a = assessExpand(facts(layout({ partitionTable: 'gpt' })), { size: '30G', growFs: true });
    const argv = a.decision?.plan.steps.find((s) => s.id === 'grow-fs')?.command?.argv ?? [];
    expect(argv.join(' ')).toContain(`part-resize /dev/sda 1 ${30 * 1024 * 2048 - 34}`);
  });
});

describe('checking the grown partition reaches the end', () => {
  it('the expected last byte: the disk’s last for MBR, the last usable sector’s for GPT', () => {
    expect(partitionEndByte(op(layout()), 128 * M)).toBe(128 * M - 1);
    expect(partitionEndByte(op(layout({ partitionTable: 'gpt' })), 128 * M)).toBe(128 * M - 33 * 512 - 1);
  });

  it('a filesystem that grew inside a partition short of the end is not taken as done', async () => {
    const out = [
      GF_MARK.before, 'blocks: 100', 'frsize: 4096', GF_MARK.disk, String(128 * M), GF_MARK.part, String(64 * M),
      GF_MARK.after, 'blocks: 200', 'frsize: 4096',
    ].join('\n');
    const exec: Executor = {
      label: 'local',
      run: async (argv) => ({ argv, exitCode: 0, stdout: out, stderr: '' }),
      interactive: async () => 0,
    };
    const e = await growGuest(exec, ['guestfish'], op(layout())).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).sentence).toBe(
      `The guest side was not grown as planned: partition 1 ends at byte ${65 * M - 1}, not at ${128 * M - 1} (the end of the disk).`,
    );
  });
});

describe('a grow the appliance has no tools for', () => {
  it('ntfs without ntfsprogs: refused before anything changes, with the package and the by-hand way', () => {
    const l = layout({ filesystems: { '/dev/sda1': 'ntfs' }, features: { ntfsprogs: false, xfs: true, gdisk: true, lvm2: true } });
    const a = assessExpand(facts(l), { size: '+10G', growFs: true });
    expect(a.decision).toBeNull();
    expect(a.refusal?.sentence).toBe(
      'The libguestfs appliance on this host has no ntfsprogs tools, so it cannot grow partition 1 and its ntfs (that part resizes ntfs (ntfsresize)).',
    );
    expect(a.refusal?.fix).toMatch(/^Install ntfs-3g on the host \(apt-get install ntfs-3g\) and expand again; or expand with --no-grow-fs/);
  });

  it('xfs on GPT with neither tool: both named; with --no-grow-fs the disk alone is planned', () => {
    const l = layout({ partitionTable: 'gpt', filesystems: { '/dev/sda1': 'xfs' }, features: { xfs: false, gdisk: false } });
    const a = assessExpand(facts(l), { size: '+10G', growFs: true });
    expect(a.refusal?.sentence).toMatch(/has no gdisk or xfs tools/);
    expect(a.refusal?.fix).toMatch(/apt-get install gdisk libguestfs-xfs/);
    expect(assessExpand(facts(l), { size: '+10G', growFs: false }).decision?.plan.steps.map((s) => s.id)).toEqual(['resize', 'verify']);
  });

  it('tools present, or not asked about (older inspection): planned as before', () => {
    const xfs = layout({ filesystems: { '/dev/sda1': 'xfs' } });
    expect(assessExpand(facts({ ...xfs, features: { xfs: true } }), { size: '+1G', growFs: true }).decision?.guestSide.kind).toBe('offline');
    expect(assessExpand(facts(xfs), { size: '+1G', growFs: true }).decision?.guestSide.kind).toBe('offline');
  });

  it('the inspection asks for every group and reads the answers in order', () => {
    const script = inspectScript('/tmp/x.gf');
    expect(script).toContain('feature-available xfs\nfeature-available ntfsprogs\nfeature-available gdisk\nfeature-available lvm2\n');
    const l = parseInspection(['@@virtdeck@@ parttype', 'gpt', '@@virtdeck@@ features', 'false', 'true', 'true', 'true', '@@virtdeck@@ end'].join('\n'));
    expect(l.features).toEqual({ xfs: false, ntfsprogs: true, gdisk: true, lvm2: true });
  });
});
