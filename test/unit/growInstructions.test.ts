import { describe, expect, it } from 'vitest';
import type { DiskLayout } from '../../src/model/expandPlan.js';
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
    expect(t).toContain("web's disk vda is now 35.0 GiB");
    expect(t).toContain('growpart /dev/vda 1');
    expect(t).toContain('resize2fs /dev/vda1');
    expect(t).not.toContain('diskpart');
  });
  it('Linux xfs and LVM', () => {
    expect(growInstructions({ ...base, layout: layout({ filesystems: { '/dev/sda1': 'xfs' } }) })).toContain('xfs_growfs /');
    const lvm = growInstructions({ ...base, layout: layout({ filesystems: {}, pvs: ['/dev/sda1'], partitions: [{ num: 1, start: 1, end: 2, size: 1, fsType: null }] }) });
    expect(lvm).toContain('pvresize /dev/vda1');
    expect(lvm).toContain('lvextend -r -l +100%FREE');
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
