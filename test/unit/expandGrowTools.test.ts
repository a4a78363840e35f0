import { describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { Executor } from '../../src/host/exec.js';
import { growGuest, inspectCommands, parseInspection } from '../../src/host/guestfs.js';
import {
  assessExpand,
  type DiskLayout,
  decideGrow,
  GF_MARK,
  type GrowMeasures,
  growCommands,
  growProblems,
  guestfishArgv,
  partitionEndByte,
  partitionEndSector,
} from '../../src/model/expandPlan.js';
import { facts, G, layout, M } from '../helpers/expandFixtures.js';


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
    const cmds = inspectCommands('@@virtdeck@@');
    expect(cmds.filter((c) => c[0] === 'feature-available')).toEqual([
      ['feature-available', 'xfs'],
      ['feature-available', 'ntfsprogs'],
      ['feature-available', 'gdisk'],
      ['feature-available', 'lvm2'],
    ]);
    const l = parseInspection(['@@virtdeck@@ parttype', 'gpt', '@@virtdeck@@ features', 'false', 'true', 'true', 'true', '@@virtdeck@@ end'].join('\n'));
    expect(l.features).toEqual({ xfs: false, ntfsprogs: true, gdisk: true, lvm2: true });
  });
});

/** An LVM disk: a 32 MiB partition 1, the PV on partition 2 to the end, root and swap LVs. */
function lvmLayout(): DiskLayout {
  return layout({
    partitions: [
      { num: 1, start: M, end: 33 * M - 1, size: 32 * M, fsType: 'ext4' },
      { num: 2, start: 33 * M, end: 128 * M - 1, size: 95 * M, fsType: null },
    ],
    filesystems: { '/dev/sda1': 'ext4', '/dev/vg/root': 'ext4', '/dev/vg/swap': 'swap' },
    pvs: ['/dev/sda2'],
    vgs: ['vg'],
    lvs: ['/dev/vg/root', '/dev/vg/swap'],
  });
}

const DISK = 192 * M;

/** What a grow launch measured: partition 1 from 1 MiB, at the end of DISK (MBR) when `atEnd`. */
function measures(over: Partial<GrowMeasures> & { atEndBefore: boolean }): GrowMeasures {
  const { atEndBefore, ...rest } = over;
  return {
    fsBytesBefore: 60 * M,
    fsBytesAfter: 120 * M,
    diskBytes: DISK,
    partitionBytes: DISK - M,
    partitionBytesBefore: atEndBefore ? DISK - M : 64 * M - M,
    vgFreeBefore: null,
    vgFreeAfter: null,
    ...rest,
  };
}

describe('the grow launch measures before anything moves', () => {
  it('first run: disk and partition sizes come before part-resize; LVM free space before lvresize-free', () => {
    const cmds = growCommands(op(lvmLayout())).map((c) => c.join(' '));
    const at = (c: string) => cmds.indexOf(c);
    expect(at('echo @@virtdeck-part-before')).toBeGreaterThan(0);
    expect(at('blockdev-getsize64 /dev/sda2')).toBeLessThan(at('part-resize /dev/sda 2 -1'));
    expect(at('echo @@virtdeck-disk')).toBeLessThan(at('part-resize /dev/sda 2 -1'));
    expect(cmds.slice(at('pvresize /dev/sda2'), at('pvresize /dev/sda2') + 4)).toEqual(['pvresize /dev/sda2', 'echo @@virtdeck-vgfree', 'vgs-full', 'lvresize-free /dev/vg/root 100']);
    expect(cmds).toContain('echo @@virtdeck-vgfree-after');
  });

  it('run again: no partition move, lvresize-free only while the VG has free space, ntfsresize forced', () => {
    const lvm = op(lvmLayout());
    const full = growCommands(lvm, DISK, { vgHasFree: false }).map((c) => c.join(' '));
    expect(full.filter((c) => /^part-|^lvresize/.test(c))).toEqual([]);
    expect(full).toEqual(expect.arrayContaining(['pvresize /dev/sda2', 'e2fsck-f /dev/vg/root', 'resize2fs /dev/vg/root']));
    expect(growCommands(lvm, DISK, { vgHasFree: true }).map((c) => c.join(' '))).toContain('lvresize-free /dev/vg/root 100');
    const ntfs = op(layout({ filesystems: { '/dev/sda1': 'ntfs' } }));
    expect(growCommands(ntfs).map((c) => c.join(' '))).toContain('ntfsresize /dev/sda1');
    expect(growCommands(ntfs, DISK, { vgHasFree: false }).map((c) => c.join(' '))).toContain('ntfsresize /dev/sda1 force:true');
    const gpt = growCommands(op(layout({ partitionTable: 'gpt' })), DISK, { vgHasFree: false }).map((c) => c[0]);
    expect(gpt).not.toContain('part-expand-gpt');
  });
});

describe('checking a first run and a run again', () => {
  const ext = op(layout({ partitions: [{ num: 1, start: M, end: 64 * M - 1, size: 63 * M, fsType: 'ext4' }] }));

  it('first run (the partition started short of the end): the filesystem must grow in this launch', () => {
    expect(growProblems(ext, measures({ atEndBefore: false }))).toEqual({ resumed: false, problems: [] });
    expect(growProblems(ext, measures({ atEndBefore: false, fsBytesAfter: 60 * M })).problems).toEqual([
      `the ext4 filesystem did not grow (${60 * M} → ${60 * M} bytes)`,
    ]);
  });

  it('run again (the partition was at the end before this launch): an unchanged filesystem is the expected result', () => {
    expect(growProblems(ext, measures({ atEndBefore: true, fsBytesBefore: 120 * M }))).toEqual({ resumed: true, problems: [] });
    expect(growProblems(ext, measures({ atEndBefore: true, fsBytesBefore: 120 * M, fsBytesAfter: Number.NaN })).problems).toEqual([
      `the ext4 filesystem shrank or was not measured (${120 * M} → NaN bytes)`,
    ]);
  });

  it('either way the partition must end at the end, and an LV must have taken all the free space', () => {
    const short = measures({ atEndBefore: true, fsBytesBefore: 120 * M, partitionBytes: 100 * M });
    expect(growProblems(ext, short).problems).toEqual([`partition 1 ends at byte ${101 * M - 1}, not at ${DISK - 1} (the end of the disk)`]);
    const lvm = op(lvmLayout());
    const left = measures({ atEndBefore: false, partitionBytes: DISK - 33 * M, partitionBytesBefore: 95 * M, vgFreeAfter: 4 * M });
    expect(growProblems(lvm, left).problems).toEqual([`volume group vg still has ${4 * M} bytes free, so /dev/vg/root did not take them`]);
  });

  it('output of a launch planned before the partition was measured first (an older journal) is checked as a first run', () => {
    expect(growProblems(ext, { ...measures({ atEndBefore: false, fsBytesAfter: 60 * M }), partitionBytesBefore: Number.NaN }).resumed).toBe(false);
  });
});

/** The words of one gfScript line: the command, then each double-quoted argument unescaped. */
function scriptWords(line: string): string[] {
  const [cmd, ...rest] = line.split(' ');
  const args = [...rest.join(' ').matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] as string).replace(/\\(.)/g, '$1'));
  return [cmd as string, ...args];
}

interface DiskState {
  fs: number;
  part: number;
  vgFree?: number;
  /** What the grow commands change: the partition's and the filesystem's size, and the VG's free space. */
  grown?: { fs: number; part: number; vgFree?: number };
  /** A command (with its arguments) that fails: guestfish prints the error and ends with 1. */
  fails?: { command: string; stderr: string };
}

/**
 * A guestfish stand-in reading the conversation's script line by line and answering from a small
 * model of the disk: the measures print the current sizes, part-resize, lvresize-free and the
 * filesystem's grow change them, and a command set to fail ends the run as guestfish does. Every
 * launch and every command it ran are recorded.
 */
function fakeGuestfish(states: DiskState[]) {
  const launches: { argv: string[]; commands: string[] }[] = [];
  const exec: Executor = {
    label: 'local',
    async run(argv, o = {}) {
      const st = states.shift();
      if (!st) throw new Error('one launch too many');
      const commands: string[] = [];
      launches.push({ argv, commands });
      let stdout = '';
      const print = (t: string) => {
        stdout += `${t}\n`;
        o.onStdout?.(`${t}\n`);
      };
      const cur = { fs: st.fs, part: st.part, vgFree: st.vgFree ?? 0 };
      const fsBlocks = () => [`blocks: ${cur.fs / 4096}`, 'frsize: 4096'].forEach(print);
      let buf = '';
      for await (const chunk of o.inputStream as AsyncIterable<Buffer | string>) {
        buf += String(chunk);
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const [cmd, ...args] = scriptWords(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          commands.push([cmd, ...args].join(' '));
          if (st.fails && [cmd, ...args].join(' ') === st.fails.command) return { argv, exitCode: 1, stdout, stderr: st.fails.stderr };
          if (cmd === 'echo') print(args.join(' '));
          else if (cmd === 'blockdev-getsize64') print(String(args[0] === '/dev/sda' ? DISK : cur.part));
          else if (cmd === 'statvfs') fsBlocks();
          else if (cmd === 'vgs-full') ['[0] = {', 'vg_name: vg', 'vg_size: 167772160', `vg_free: ${cur.vgFree}`, '}'].forEach(print);
          else if (cmd === 'part-resize' && st.grown) cur.part = st.grown.part;
          else if (cmd === 'lvresize-free') cur.vgFree = 0;
          else if (/^(resize2fs|ntfsresize|xfs-growfs)$/.test(cmd as string) && st.grown) cur.fs = st.grown.fs;
          else if (cmd === 'pvresize' && st.grown?.vgFree !== undefined) cur.vgFree = st.grown.vgFree;
        }
      }
      return { argv, exitCode: 0, stdout, stderr: '' };
    },
    interactive: async () => 0,
  };
  return { exec, launches };
}

describe('growGuest: one launch, first run or run again', () => {
  const lvm = op(lvmLayout());
  const argv = guestfishArgv({ LIBGUESTFS_BACKEND: 'direct' }, '/srv/vm/db.raw', 'raw', growCommands(lvm, DISK));
  const atEnd = DISK - 33 * M;

  it('first run: exactly the plan’s commands, in one launch of the plan’s guestfish', async () => {
    const { exec, launches } = fakeGuestfish([{ fs: 46 * M, part: 95 * M, vgFree: 0, grown: { fs: 110 * M, part: atEnd, vgFree: 64 * M } }]);
    const g = await growGuest(exec, argv, lvm);
    expect(g).toMatchObject({ resumed: false, fsBytesBefore: 46 * M, fsBytesAfter: 110 * M, partitionBytes: atEnd, vgFreeAfter: 0 });
    expect(launches).toHaveLength(1);
    expect(launches[0]?.argv).toEqual(argv.slice(0, argv.indexOf('--')));
    const planned = argv.slice(argv.indexOf('--') + 1).join(' ').split(' : ');
    expect(launches[0]?.commands.filter((c) => !c.startsWith('echo @@virtdeck-round-'))).toEqual(planned);
  });

  it('LVM whose LV already took the space: one launch without part-resize and lvresize-free checks the same result', async () => {
    const { exec, launches } = fakeGuestfish([{ fs: 150 * M, part: atEnd, vgFree: 0 }]);
    const g = await growGuest(exec, argv, lvm);
    expect(g).toMatchObject({ resumed: true, fsBytesBefore: 150 * M, fsBytesAfter: 150 * M, partitionBytes: atEnd, vgFreeAfter: 0 });
    expect(launches).toHaveLength(1);
    const ran = launches[0]?.commands.join(' : ') ?? '';
    expect(ran).not.toMatch(/part-resize|part-expand|lvresize-free/);
    expect(ran).toContain('pvresize /dev/sda2 : echo @@virtdeck-vgfree : vgs-full : ');
    expect(ran).toMatch(/vgs-full : echo @@virtdeck-round-\S+ 1 : e2fsck-f \/dev\/vg\/root : resize2fs \/dev\/vg\/root/);
  });

  it('killed after pvresize: the VG still has free space, so the one launch grows the LV and the filesystem', async () => {
    const { exec, launches } = fakeGuestfish([{ fs: 46 * M, part: atEnd, vgFree: 64 * M, grown: { fs: 110 * M, part: atEnd } }]);
    expect(await growGuest(exec, argv, lvm)).toMatchObject({ resumed: true, fsBytesBefore: 46 * M, fsBytesAfter: 110 * M, vgFreeAfter: 0 });
    expect(launches).toHaveLength(1);
    expect(launches[0]?.commands).toContain('lvresize-free /dev/vg/root 100');
    expect(launches[0]?.commands.join(' ')).not.toContain('part-resize');
  });

  it('ntfs already resized (marked for chkdsk): the one launch forces ntfsresize', async () => {
    const ntfs = op(layout({ partitions: [{ num: 1, start: M, end: 64 * M - 1, size: 63 * M, fsType: 'ntfs' }], filesystems: { '/dev/sda1': 'ntfs' } }));
    const nargv = guestfishArgv({}, '/srv/vm/win.raw', 'raw', growCommands(ntfs, DISK));
    // The unforced ntfsresize refuses the volume the earlier run marked, as the real one does.
    const { exec, launches } = fakeGuestfish([{ fs: 190 * M, part: DISK - M, fails: { command: 'ntfsresize /dev/sda1', stderr: 'ntfsresize: The NTFS journal file is unclean…' } }]);
    expect(await growGuest(exec, nargv, ntfs)).toMatchObject({ resumed: true, fsBytesAfter: 190 * M });
    expect(launches).toHaveLength(1);
    expect(launches[0]?.commands).toContain('ntfsresize /dev/sda1 force:true');
    expect(launches[0]?.commands).not.toContain('ntfsresize /dev/sda1');
    expect(launches[0]?.commands.join(' ')).not.toContain('part-resize');
  });

  it('a first run that fails is not retried: guestfish’s error, one launch', async () => {
    const { exec, launches } = fakeGuestfish([{ fs: 46 * M, part: 95 * M, vgFree: 0, grown: { fs: 46 * M, part: atEnd }, fails: { command: 'lvresize-free /dev/vg/root 100', stderr: 'libguestfs: error: lvresize_free: Insufficient free space' } }]);
    const e = await growGuest(exec, argv, lvm).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HostError);
    expect((e as HostError).stderr).toMatch(/Insufficient free space/);
    expect(launches).toHaveLength(1);
  });
});
