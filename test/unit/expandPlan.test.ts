import { describe, expect, it } from 'vitest';
import {
  assessExpand,
  type DiskLayout,
  decideGrow,
  type ExpandFacts,
  growCommands,
  type ImageFacts,
  newVmdkFileNames,
  planExpand,
  resolveTargetSize,
  reviewLines,
  vmdkWorkNames,
} from '../../src/model/expandPlan.js';
import { describePlan, planScript } from '../../src/model/plan.js';
import { UserError } from '../../src/model/userError.js';
import { G, layout, M } from '../helpers/expandFixtures.js';

function image(over: Partial<ImageFacts> = {}): ImageFacts {
  return { path: '/srv/vm/web.qcow2', format: 'qcow2', virtualSize: 20 * G, dataBytes: 5 * G, backingFile: null, snapshots: [], vmdk: null, freeBytes: 100 * G, ...over };
}

const ext4Layout: DiskLayout = layout({ os: { root: '/dev/sda1', type: 'linux', distro: 'debian', product: 'Debian GNU/Linux 12' } });

function facts(over: Partial<ExpandFacts> = {}): ExpandFacts {
  return {
    uri: 'qemu:///system',
    requestedPath: '/srv/vm/web.qcow2',
    image: image(),
    guest: { name: 'web', state: 'shut off', target: 'vda' },
    layout: ext4Layout,
    guestfsEnv: { LIBGUESTFS_BACKEND: 'direct' },
    existingLeftovers: [],
    ...over,
  };
}

const vmdkImage = image({
  path: '/srv/vm/trinity.vmdk',
  format: 'vmdk',
  vmdk: { options: { subformat: 'monolithicSparse', adapter_type: 'lsilogic', hwversion: '6' }, files: ['trinity.vmdk'], createType: 'monolithicSparse', hasParent: false, warnings: [] },
});

function refusal(f: ExpandFacts, size: string): UserError {
  const a = assessExpand(f, { size, growFs: true });
  expect(a.decision).toBeNull();
  expect(a.refusal).toBeInstanceOf(UserError);
  return a.refusal as UserError;
}

describe('target size', () => {
  it('takes absolute and relative sizes', () => {
    expect(resolveTargetSize('35G', 20 * G)).toBe(35 * G);
    expect(resolveTargetSize('+15G', 20 * G)).toBe(35 * G);
    expect(resolveTargetSize('+1M', 4 * M)).toBe(5 * M);
  });
  it('refuses a number without a unit, and a grow that rounds to no visible change (issue 12 item 24)', () => {
    expect(() => resolveTargetSize('+100', 256 * M)).toThrow(/"\+100" has no unit/);
    expect(() => resolveTargetSize('+100B', 256 * M)).toThrow(/too little/);
    expect(() => resolveTargetSize('268435968B', 256 * M)).toThrow(/too little/);
    const e = refusal(facts(), '+1M');
    expect(e.sentence).toMatch(/Growing 20\.0 GiB to 20\.0 GiB adds 1048576 bytes/);
    expect(e.fix).toMatch(/at least 103\.0 MiB/);
    expect(resolveTargetSize('+103M', 20 * G)).toBe(20 * G + 103 * M);
  });
  it('refuses a size not above the current one and says shrinking is out of scope', () => {
    expect(() => resolveTargetSize('10G', 20 * G)).toThrow(/shrinking is out of scope/);
    expect(() => resolveTargetSize('20G', 20 * G)).toThrow(UserError);
  });
  it('refuses 12QB with the accepted forms in the fix', () => {
    const e = refusal(facts(), '12QB');
    expect(e.sentence).toContain('12QB');
    expect(e.fix).toMatch(/20G.*\+10G/);
  });
});

describe('plans by format and guest state', () => {
  it('qcow2, guest off: resize, verify, then one guestfish launch growing ext4 on MBR', () => {
    const d = planExpand(facts(), { size: '+15G', growFs: true });
    expect(d.route).toBe('resize');
    expect(d.plan.steps.map((s) => s.id)).toEqual(['resize', 'verify', 'grow-fs']);
    expect(d.plan.steps[0]?.command?.argv).toEqual(['qemu-img', 'resize', '-f', 'qcow2', '/srv/vm/web.qcow2', String(35 * G)]);
    const gf = d.plan.steps[2]?.command?.argv ?? [];
    expect(gf.slice(0, 2)).toEqual(['env', 'LIBGUESTFS_BACKEND=direct']);
    expect(gf.filter((w) => w === 'run')).toHaveLength(1);
    const line = gf.join(' ');
    expect(line).toContain('part-resize /dev/sda 1 -1 : e2fsck-f /dev/sda1 : resize2fs /dev/sda1');
    expect(line).not.toContain('part-expand-gpt');
    expect(d.guestSide.kind).toBe('offline');
  });

  it('raw without growing the filesystem: no libguestfs step', () => {
    const d = planExpand(facts({ image: image({ format: 'raw', path: '/srv/vm/web.raw' }) }), { size: '35G', growFs: false });
    expect(d.plan.steps.map((s) => s.id)).toEqual(['resize', 'verify']);
    expect(d.guestSide.kind).toBe('none');
  });

  it('guest running: virsh blockresize in bytes, verified with domblkinfo; guest side is instructions', () => {
    const d = planExpand(facts({ guest: { name: 'web', state: 'running', target: 'vda' }, layout: null }), { size: '+1G', growFs: true });
    expect(d.route).toBe('blockresize');
    expect(d.plan.steps[0]?.command).toEqual({
      runsOn: 'virsh',
      argv: ['virsh', '-c', 'qemu:///system', 'blockresize', '--domain', 'web', '--path', 'vda', '--size', `${21 * G}B`],
    });
    expect(d.plan.steps[1]?.action?.name).toBe('verifyBlockSize');
    expect(d.guestSide.kind).toBe('instructions');
  });

  it('vmdk: temp raw, resize, convert back with the descriptor options, compare, swap keeping the original', () => {
    const d = planExpand(facts({ image: vmdkImage, requestedPath: vmdkImage.path, layout: null }), { size: '35G', growFs: true });
    expect(d.route).toBe('vmdk');
    expect(d.plan.steps.map((s) => s.id)).toEqual(['workdir', 'to-raw', 'resize', 'to-vmdk', 'compare', 'swap', 'cleanup']);
    const lines = describePlan(d.plan).join('\n');
    expect(lines).toContain('qemu-img convert -p -f vmdk -O raw /srv/vm/trinity.vmdk /srv/vm/.trinity.virtdeck-expand/trinity.raw');
    expect(lines).toContain('-o subformat=monolithicSparse,adapter_type=lsilogic,hwversion=6');
    expect(lines).toContain('qemu-img compare -f raw -F vmdk');
    expect(d.plan.steps[5]?.undo?.action?.name).toBe('swapBack');
    expect(d.plan.steps[0]?.undo?.command?.argv).toEqual(['rm', '-rf', '--', '/srv/vm/.trinity.virtdeck-expand']);
    expect(planScript(d.plan)).toContain('set -e');
    expect(reviewLines(d.plan)[5]).toMatch(/^6 keep trinity.vmdk in trinity.virtdeck-orig/);
  });

  it('vmdk with a simple layout grows the partition on the temporary raw, before the copy back', () => {
    const d = planExpand(facts({ image: vmdkImage, requestedPath: vmdkImage.path }), { size: '35G', growFs: true });
    expect(d.plan.steps.map((s) => s.id)).toEqual(['workdir', 'to-raw', 'resize', 'grow-fs', 'to-vmdk', 'compare', 'swap', 'cleanup']);
    expect(d.plan.steps[3]?.command?.argv).toContain('/srv/vm/.trinity.virtdeck-expand/trinity.raw');
  });

  it('monolithicFlat: the new files include the flat extent, the space check counts it fully', () => {
    expect(newVmdkFileNames('a.vmdk', 'monolithicFlat', G)).toEqual(['a.vmdk', 'a-flat.vmdk']);
    expect(newVmdkFileNames('a.vmdk', 'twoGbMaxExtentSparse', 5 * G)).toHaveLength(4);
    expect(vmdkWorkNames('/srv/vm/a.vmdk').orig).toBe('/srv/vm/a.virtdeck-orig');
  });

  it('warns that only the top layer of an image with a backing file grows', () => {
    const d = planExpand(facts({ image: image({ backingFile: '/srv/base.qcow2' }) }), { size: '+1G', growFs: false });
    expect(d.warnings[0]).toMatch(/Only this top layer grows.*\/srv\/base.qcow2/);
  });
});

describe('refusals', () => {
  it('missing file', () => {
    expect(refusal(facts({ image: null }), '+1G').sentence).toBe('There is no image at /srv/vm/web.qcow2.');
  });
  it('qcow2 with internal snapshots, and how to remove them', () => {
    const e = refusal(facts({ image: image({ snapshots: ['before-upgrade'] }) }), '+1G');
    expect(e.sentence).toMatch(/internal snapshot.*before-upgrade/);
    expect(e.sentence).toContain('The image has 1 internal snapshot (before-upgrade)');
    expect(e.fix).toMatch(/snapshot-delete|qemu-img snapshot -d/);
  });
  it('vmdk while its guest runs', () => {
    expect(refusal(facts({ image: vmdkImage, guest: { name: 'web', state: 'running', target: 'sda' } }), '+1G').sentence).toMatch(/running/);
  });
  it('vmdk without room for the temporary copy, with the ✗ line', () => {
    const a = assessExpand(facts({ image: { ...vmdkImage, freeBytes: 2 * G } }), { size: '+15G', growFs: true });
    expect(a.refusal?.sentence).toMatch(/has 2.0 GiB free, but growing this vmdk needs/);
    expect(a.checks.find((c) => c.text.includes('free'))?.ok).toBe(false);
  });
  it('a guest neither running nor off, and leftovers of an earlier run', () => {
    expect(refusal(facts({ guest: { name: 'web', state: 'in shutdown', target: 'vda' } }), '+1G').sentence).toMatch(/in shutdown/);
    // A finished expansion's kept original is not a job to finish: it says what it is and how to remove it.
    const kept = refusal(facts({ image: vmdkImage, existingLeftovers: ['/srv/vm/trinity.virtdeck-orig'] }), '+1G');
    expect(kept.sentence).toBe('/srv/vm/trinity.virtdeck-orig holds the original vmdk an earlier, finished expansion kept, and a new expansion would keep this one there.');
    expect(kept.fix).toContain('rm -r /srv/vm/trinity.virtdeck-orig');
    expect(kept.fix).not.toMatch(/roll back/);
    const unfinished = refusal(facts({ image: vmdkImage, existingLeftovers: ['/srv/vm/.trinity.virtdeck-expand', '/srv/vm/trinity.virtdeck-orig'] }), '+1G');
    expect(unfinished.sentence).toMatch(/work folder of an earlier expansion of this vmdk that did not finish/);
    expect(unfinished.fix).toMatch(/^Finish or roll back that job/);
  });
});

describe('what can be grown offline', () => {
  it('GPT: the backup table is moved first', () => {
    const r = decideGrow({ ...ext4Layout, partitionTable: 'gpt' });
    expect('op' in r && growCommands(r.op, 20 * G).map((c) => c[0])).toContain('part-expand-gpt');
  });
  it('xfs is grown mounted; ntfs with ntfsresize', () => {
    const xfs = decideGrow({ ...ext4Layout, filesystems: { '/dev/sda1': 'xfs' } });
    expect('op' in xfs && growCommands(xfs.op).map((c) => c.join(' '))).toContain('xfs-growfs /');
    const ntfs = decideGrow({ ...ext4Layout, filesystems: { '/dev/sda1': 'ntfs' }, os: { root: '/dev/sda1', type: 'windows', distro: 'windows', product: 'Windows Server 2003' } });
    expect('op' in ntfs && growCommands(ntfs.op).map((c) => c.join(' '))).toContain('ntfsresize /dev/sda1');
  });
  it('LVM: pvresize, then the root LV takes the free extents, then its filesystem', () => {
    const lvm: DiskLayout = {
      ...ext4Layout,
      partitions: [
        { num: 1, start: M, end: 500 * M, size: 499 * M, fsType: 'ext2' },
        { num: 2, start: 500 * M, end: 20 * G - 1, size: 19 * G, fsType: null },
      ],
      filesystems: { '/dev/sda1': 'ext2', '/dev/vg/root': 'ext4', '/dev/vg/swap': 'swap' },
      pvs: ['/dev/sda2'],
      vgs: ['vg'],
      lvs: ['/dev/vg/root', '/dev/vg/swap'],
      os: { root: '/dev/vg/root', type: 'linux', distro: 'debian', product: 'Debian' },
    };
    const r = decideGrow(lvm);
    if (!('op' in r)) throw new Error(r.reason);
    const cmds = growCommands(r.op).map((c) => c.join(' '));
    expect(cmds).toEqual(expect.arrayContaining(['part-resize /dev/sda 2 -1', 'pvresize /dev/sda2', 'lvresize-free /dev/vg/root 100', 'resize2fs /dev/vg/root']));
    // The review says the LV takes the VG's old free space too (issue 12 item 29).
    const d = planExpand(facts({ layout: lvm }), { size: '+1G', growFs: true });
    expect(d.guestSide.kind).toBe('offline');
    expect(d.warnings).toContain('/dev/vg/root gets all the free space of its volume group vg: what it had free before this grow too, not only the new space.');
  });
  it('ntfs: the review says Windows runs chkdsk at its next boot', () => {
    const win = { ...ext4Layout, filesystems: { '/dev/sda1': 'ntfs' }, os: { root: '/dev/sda1', type: 'windows', distro: 'windows', product: 'Windows Server 2003' } };
    const d = planExpand(facts({ layout: win }), { size: '+1G', growFs: true });
    expect(d.guestSide.kind).toBe('offline');
    expect(d.warnings.join(' ')).toMatch(/Windows runs chkdsk on it at its next boot/);
    expect(planExpand(facts({}), { size: '+1G', growFs: true }).warnings.join(' ')).not.toMatch(/chkdsk|volume group/);
  });
  it('instructions instead for swap last, logical partitions and a recovery partition after C:', () => {
    expect(decideGrow({ ...ext4Layout, filesystems: { '/dev/sda1': 'swap' } })).toEqual({ reason: expect.stringMatching(/swap/) });
    expect(decideGrow({ ...ext4Layout, partitions: [{ num: 5, start: M, end: G, size: G, fsType: 'ext4' }] })).toEqual({ reason: expect.stringMatching(/logical/) });
    const win: DiskLayout = {
      ...ext4Layout,
      partitions: [
        { num: 1, start: M, end: 19 * G, size: 19 * G, fsType: 'ntfs' },
        { num: 2, start: 19 * G, end: 20 * G - 1, size: G, fsType: 'ntfs' },
      ],
      filesystems: { '/dev/sda1': 'ntfs', '/dev/sda2': 'ntfs' },
      os: { root: '/dev/sda1', type: 'windows', distro: 'windows', product: 'Windows 10 Pro' },
    };
    expect(decideGrow(win)).toEqual({ reason: expect.stringMatching(/recovery partition/) });
  });
});

describe('parsing the inspection launch', () => {
  it('reads partitions, filesystems, LVM and the OS roots', async () => {
    const { parseInspection } = await import('../../src/host/guestfs.js');
    const out = [
      '@@virtdeck@@ parttype', 'msdos', '@@virtdeck@@ parts', '[0] = {', 'part_num: 1', 'part_start: 1048576', 'part_end: 524287999', 'part_size: 523239424', '}',
      '[1] = {', 'part_num: 2', 'part_start: 524288000', 'part_end: 21474836479', 'part_size: 20950548480', '}',
      '@@virtdeck@@ fs', '/dev/sda1: ext2', '/dev/vg/root: ext4', '@@virtdeck@@ pvs', '/dev/sda2', '@@virtdeck@@ vgs', 'vg', '@@virtdeck@@ lvs', '/dev/vg/root',
      '@@virtdeck@@ size', '21474836480', '@@virtdeck@@ roots', '/dev/vg/root', '@@virtdeck-round-0a1b2c3d4e5f@@ 0',
      '@@virtdeck@@ root-type 0', 'linux', '@@virtdeck@@ root-distro 0', 'debian', '@@virtdeck@@ root-product 0', 'Debian GNU/Linux 12 (bookworm)', '@@virtdeck@@ end', '',
    ].join('\n');
    const l = parseInspection(out);
    expect(l.partitionTable).toBe('msdos');
    expect(l.partitions.map((p) => [p.num, p.fsType])).toEqual([[1, 'ext2'], [2, null]]);
    expect(l.pvs).toEqual(['/dev/sda2']);
    expect(l.os).toEqual({ root: '/dev/vg/root', type: 'linux', distro: 'debian', product: 'Debian GNU/Linux 12 (bookworm)' });
    const r = decideGrow(l);
    expect('op' in r && r.op.lvm).toEqual({ pv: '/dev/sda2', lv: '/dev/vg/root' });
  });
});

describe('a dry run shows everything that runs (issue 12 item 28)', () => {
  it("qcow2: the verify step's qemu-img check is listed under it", () => {
    const lines = describePlan(planExpand(facts(), { size: '+15G', growFs: false }).plan);
    expect(lines).toEqual([
      `1 qemu-img resize -f qcow2 /srv/vm/web.qcow2 ${35 * G}`,
      '2 qemu-img info --output=json -f qcow2 /srv/vm/web.qcow2',
      '  + qemu-img check --output=json -f qcow2 /srv/vm/web.qcow2',
    ]);
    expect(planScript(planExpand(facts(), { size: '+15G', growFs: false }).plan)).toContain('\nqemu-img check --output=json -f qcow2 /srv/vm/web.qcow2\n');
  });
  it("vmdk: the swap step shows its commands, and the compare step what it reads after", () => {
    const d = planExpand(facts({ image: vmdkImage, requestedPath: vmdkImage.path, layout: null }), { size: '35G', growFs: true });
    const lines = describePlan(d.plan).join('\n');
    expect(lines).toMatch(/\n6 sh -c 'set -e\n[\s\S]*mv -- "\$work\/\$f" "\$dir\/\$f"[\s\S]*' virtdeck-swap \/srv\/vm \/srv\/vm\/\.trinity\.virtdeck-expand /);
    expect(lines).toContain('  + qemu-img info --output=json -f vmdk /srv/vm/.trinity.virtdeck-expand/trinity.vmdk');
    expect(d.plan.steps[5]?.action?.name).toBe('swapIn');
  });
});

describe('a copy of the original before a grow in place (issue 12 item 4)', () => {
  const keepRefusal = (f: ExpandFacts) => {
    const a = assessExpand(f, { size: '+15G', growFs: true, keepCopy: true });
    expect(a.decision).toBeNull();
    return a.refusal as UserError;
  };

  it('copies under a hidden name, compares, places it without replacing a file, then grows', () => {
    const d = planExpand(facts(), { size: '+15G', growFs: true, keepCopy: true });
    expect(d.keepCopy).toEqual({ keep: '/srv/vm/web.qcow2.virtdeck-orig', part: '/srv/vm/.web.qcow2.virtdeck-orig.part' });
    expect(d.plan.steps.map((s) => s.id)).toEqual(['keep-copy', 'compare-copy', 'place-copy', 'resize', 'verify', 'grow-fs']);
    const [copy, compare, place] = d.plan.steps;
    expect(copy?.command?.argv).toEqual(['qemu-img', 'convert', '-p', '-f', 'qcow2', '-O', 'qcow2', '/srv/vm/web.qcow2', '/srv/vm/.web.qcow2.virtdeck-orig.part']);
    expect(copy?.progress).toEqual({ kind: 'qemu-img', totalBytes: 20 * G });
    expect(copy?.undo?.command?.argv).toEqual(['rm', '-f', '--', '/srv/vm/.web.qcow2.virtdeck-orig.part']);
    expect(compare?.command?.argv).toEqual(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'qcow2', '/srv/vm/web.qcow2', '/srv/vm/.web.qcow2.virtdeck-orig.part']);
    // The paths are the script's arguments, never part of its text.
    expect(place?.command?.argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(place?.command?.argv.slice(3)).toEqual(['sh', '/srv/vm/.web.qcow2.virtdeck-orig.part', '/srv/vm/web.qcow2.virtdeck-orig']);
    expect(place?.command?.argv[2]).toContain('ln -- "$part" "$keep"');
    // Room for the data and a qcow2's tables.
    expect(d.needBytes).toBe(5 * G + (20 * G) / 8192 + M);
  });

  it('checks the room for the copy, and refuses without it, naming how much', () => {
    const a = assessExpand(facts(), { size: '+15G', growFs: true, keepCopy: true });
    expect(a.checks.map((c) => c.text)).toContain('/srv/vm has 100.0 GiB free; the copy of the original needs up to 5.0 GiB');
    const e = keepRefusal(facts({ image: image({ freeBytes: 2 * G }) }));
    expect(e.sentence).toBe('/srv/vm has 2.0 GiB free, but a copy of the original needs up to 5.0 GiB.');
    expect(e.fix).toMatch(/^Free 3\.0 GiB there, or back the guest up elsewhere first/);
  });

  it('refuses for a running guest (not a consistent copy), a layer over a backing file, and a copy kept already', () => {
    expect(keepRefusal(facts({ guest: { name: 'web', state: 'running', target: 'vda' }, layout: null })).sentence).toBe(
      'web is running, and a copy of a disk in use would not be a consistent copy of it.',
    );
    expect(keepRefusal(facts({ image: image({ backingFile: '/srv/base.qcow2' }) })).sentence).toBe(
      '/srv/vm/web.qcow2 is a layer over /srv/base.qcow2, and a copy of this layer alone is not a copy of the disk.',
    );
    expect(keepRefusal(facts({ existingLeftovers: ['/srv/vm/web.qcow2.virtdeck-orig'] })).fix).toContain('remove the kept original (rm /srv/vm/web.qcow2.virtdeck-orig)');
    expect(keepRefusal(facts({ existingLeftovers: ['/srv/vm/.web.qcow2.virtdeck-orig.part'] })).sentence).toBe(
      '/srv/vm/.web.qcow2.virtdeck-orig.part is the unfinished copy of an earlier expansion of this image.',
    );
    // Without a copy asked for, a kept one from before is no obstacle.
    expect(planExpand(facts({ existingLeftovers: ['/srv/vm/web.qcow2.virtdeck-orig'] }), { size: '+15G', growFs: true }).keepCopy).toBeNull();
  });

  it('a vmdk keeps its original anyway: the request changes nothing there', () => {
    const d = planExpand(facts({ image: vmdkImage, layout: null }), { size: '+1G', growFs: false, keepCopy: true });
    expect(d.keepCopy).toBeNull();
    expect(d.plan.steps[0]?.id).toBe('workdir');
  });
});
