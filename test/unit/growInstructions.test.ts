import { describe, expect, it } from 'vitest';
import { type DiskLayout, decideGrow } from '../../src/model/expandPlan.js';
import { growInstructions, instructionsFileName, osFamily } from '../../src/model/growInstructions.js';

const G = 1024 ** 3;

const base = { guest: 'web', image: '/srv/vm/web.qcow2', target: 'vda', newSizeBytes: 35 * G, osHint: null, reason: 'web is running' };

function layout(over: Partial<DiskLayout>): DiskLayout {
  return {
    partitionTable: 'msdos',
    diskBytes: 20 * G,
    partitions: [{ num: 1, start: 1, end: 20 * G - 1, size: 20 * G, fsType: 'ext4' }],
    filesystems: { '/dev/sda1': 'ext4' },
    pvs: [],
    vgs: [],
    lvs: [],
    os: { root: '/dev/sda1', type: 'linux', distro: 'debian', product: 'Debian 12' },
    ...over,
  };
}

describe('guest-side instructions', () => {
  it('Linux ext4: growpart on the guest disk, then resize2fs', () => {
    const t = growInstructions({ ...base, layout: layout({}) });
    expect(t.split('\n')[0]).toBe("web's disk vda is now 35.0 GiB.");
    expect(t).not.toContain("The disk web's");
    expect(t).toContain('growpart /dev/vda 1');
    expect(t).toContain('resize2fs /dev/vda1');
    expect(t).not.toContain('diskpart');
  });
  it('Linux xfs and LVM', () => {
    expect(growInstructions({ ...base, layout: layout({ filesystems: { '/dev/sda1': 'xfs' } }) })).toContain('xfs_growfs /');
    const lvm = growInstructions({ ...base, layout: layout({ filesystems: {}, pvs: ['/dev/sda1'], partitions: [{ num: 1, start: 1, end: 2, size: 1, fsType: null }] }) });
    expect(lvm).toContain('pvresize /dev/vda1');
    expect(lvm).toContain('lvextend -r -l +100%FREE');
    expect(lvm).toContain('what it had free before too');
  });
  it('Windows: diskpart select volume C, extend, and the recovery partition note', () => {
    const win = layout({
      partitions: [
        { num: 1, start: 1, end: 10, size: 10, fsType: 'ntfs' },
        { num: 2, start: 10, end: 20, size: 10, fsType: 'ntfs' },
      ],
      os: { root: '/dev/sda1', type: 'windows', distro: 'windows', product: 'Windows 10' },
    });
    const t = growInstructions({ ...base, layout: win });
    expect(t).toMatch(/diskpart[\s\S]*list volume[\s\S]*select volume C[\s\S]*extend/);
    expect(t).toMatch(/recovery partition right after C: blocks/);
    expect(t).toContain('Here partition 2 lies after the Windows partition');
  });
  it('from the libosinfo hint when not inspected; both when unknown', () => {
    expect(osFamily(null, 'win2k3')).toBe('windows');
    expect(osFamily(null, 'debian12')).toBe('linux');
    const t = growInstructions({ ...base, layout: null });
    expect(t).toContain('growpart');
    expect(t).toContain('diskpart');
  });
  it('file name: guest and date, safe characters', () => {
    expect(instructionsFileName('my guest/1', new Date('2024-05-06T07:08:09Z'))).toBe('1-20240506T070809.txt');
    expect(instructionsFileName('web', new Date('2024-05-06T07:08:09Z'))).toBe('web-20240506T070809.txt');
  });
});

describe('reason and steps come from one reading of the layout (issue 12 item 23)', () => {
  const P = (num: number, start: number, end: number, fsType: string | null) => ({ num, start, end, size: end - start, fsType });
  const text = (l: DiskLayout) => {
    const d = decideGrow(l);
    return { reason: 'reason' in d ? d.reason : d.description, steps: growInstructions({ ...base, layout: l, reason: 'reason' in d ? d.reason : 'x' }) };
  };
  it('swap last: says the swap has to move, never resize2fs on it', () => {
    const { reason, steps } = text(layout({ partitions: [P(1, 1, 10, 'ext4'), P(2, 10, 20, 'swap')], filesystems: { '/dev/sda1': 'ext4', '/dev/sda2': 'swap' } }));
    expect(reason).toMatch(/partition \(2\) is swap/);
    expect(steps).toMatch(/Partition 2 is swap[\s\S]*swapoff \/dev\/vda2/);
    expect(steps).not.toMatch(/resize2fs|growpart \/dev\/vda 2/);
  });
  it('btrfs: btrfs filesystem resize, not resize2fs or xfs_growfs', () => {
    const { steps } = text(layout({ filesystems: { '/dev/sda1': 'btrfs' }, partitions: [P(1, 1, 20, 'btrfs')] }));
    expect(steps).toContain('btrfs filesystem resize max /');
    expect(steps).not.toMatch(/resize2fs|xfs_growfs/);
  });
  it('an unformatted last partition gets growpart and no filesystem tool', () => {
    const { reason, steps } = text(layout({ filesystems: { '/dev/sda1': 'ext4' }, partitions: [P(1, 1, 10, 'ext4'), P(2, 10, 20, null)] }));
    expect(reason).toMatch(/\(2\) holds no filesystem/);
    expect(steps).toContain('growpart /dev/vda 2');
    expect(steps).not.toMatch(/resize2fs|xfs_growfs/);
  });
  it('a logical partition last: the reason and the steps both name p5, and its extended container 2', () => {
    const l = layout({ partitions: [P(1, 1, 10, 'ext4'), P(2, 10, 20, null), P(5, 11, 20, 'ext4')], filesystems: { '/dev/sda1': 'ext4', '/dev/sda5': 'ext4' } });
    const { reason, steps } = text(l);
    expect(reason).toMatch(/last partition \(5\) is a logical partition inside an extended one \(2\)/);
    expect(steps).toContain('parted /dev/vda resizepart 2 100%');
    expect(steps).toContain('parted /dev/vda resizepart 5 100%');
    expect(steps).toContain('resize2fs /dev/vda5');
    expect(steps).not.toMatch(/resize2fs \/dev\/vda2/);
  });
  it('an inspected image with no OS gets no Windows section (and an NTFS one no Linux section)', () => {
    expect(text(layout({ os: null })).steps).not.toContain('diskpart');
    const ntfs = text(layout({ os: null, filesystems: { '/dev/sda1': 'ntfs' }, partitions: [P(1, 1, 20, 'ntfs')] })).steps;
    expect(ntfs).toContain('diskpart');
    expect(ntfs).not.toContain('growpart');
  });
  it('a disk nobody looked into: the steps are said to be a guess, with N to fill in', () => {
    const t = growInstructions({ ...base, layout: null, osHint: 'debian12' });
    expect(t).toMatch(/did not look inside this disk, so these are the usual\nsteps, not a reading of it/);
    expect(t).toContain('growpart /dev/vda N');
    expect(t).not.toMatch(/partition 1 is the last one/);
  });
});
