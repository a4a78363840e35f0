import { describe, expect, it } from 'vitest';
import { addNoatime, backupStamp, setSysctl, withNoatime } from '../../src/model/fstab.js';
import { UserError } from '../../src/model/userError.js';

const FSTAB = `# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=1111-aaaa /               ext4    errors=remount-ro 0       1
UUID=2222-bbbb /var/lib/libvirt/images xfs defaults 0 2
/dev/sdb1	/srv/vm\\040images	ext4	relatime,nofail	0	2
tmpfs /tmp tmpfs
# /dev/sdc1 /backup ext4 defaults 0 2
`;

describe('fstab noatime edit', () => {
  it.each([
    ['/', 4, 'UUID=1111-aaaa /               ext4    errors=remount-ro,noatime 0       1'],
    ['/var/lib/libvirt/images', 5, 'UUID=2222-bbbb /var/lib/libvirt/images xfs defaults,noatime 0 2'],
    ['/var/lib/libvirt/images/', 5, 'UUID=2222-bbbb /var/lib/libvirt/images xfs defaults,noatime 0 2'],
    ['/srv/vm images', 6, '/dev/sdb1\t/srv/vm\\040images\text4\tnofail,noatime\t0\t2'],
    ['/tmp', 7, 'tmpfs /tmp tmpfs\tdefaults,noatime'],
  ])('%s: line %d becomes %s', (mp, lineNumber, after) => {
    const e = addNoatime(FSTAB, mp);
    expect(e.lineNumber).toBe(lineNumber);
    expect(e.after).toBe(after);
    expect(e.changed).toBe(true);
    const old = FSTAB.split('\n');
    const now = e.text.split('\n');
    expect(now.length).toBe(old.length);
    now.forEach((l, i) => {
      if (i !== lineNumber - 1) expect(l).toBe(old[i]);
    });
  });

  it('leaves a line that already has noatime alone', () => {
    const once = addNoatime(FSTAB, '/');
    const twice = addNoatime(once.text, '/');
    expect(twice.changed).toBe(false);
    expect(twice.text).toBe(once.text);
  });

  it('ignores commented lines and says so when there is no line', () => {
    expect(() => addNoatime(FSTAB, '/backup')).toThrow(UserError);
    expect(() => addNoatime('# UNCONFIGURED FSTAB FOR BASE SYSTEM\n', '/')).toThrow(/has no line for \//);
  });

  it('replaces every other atime choice', () => {
    expect(withNoatime('rw,relatime,discard')).toBe('rw,discard,noatime');
    expect(withNoatime('strictatime')).toBe('noatime');
  });
});

describe('sysctl.d edit', () => {
  it('appends to an empty file with a header', () => {
    const e = setSysctl('', 'vm.swappiness', '10');
    expect(e.text).toBe('# Written by virtdeck (Host pane safe fixes).\nvm.swappiness = 10\n');
    expect(e.lineNumber).toBe(2);
    expect(e.before).toBeNull();
  });
  it('replaces the existing key, whatever its spacing or slash form', () => {
    const e = setSysctl('a = 1\nvm/swappiness=60\nb = 2\n', 'vm.swappiness', '10');
    expect(e.text).toBe('a = 1\nvm.swappiness = 10\nb = 2\n');
    expect(e.lineNumber).toBe(2);
    expect(e.before).toBe('vm/swappiness=60');
    expect(setSysctl(e.text, 'vm.swappiness', '10').changed).toBe(false);
  });
  it('stamps backups sortably', () => {
    expect(backupStamp(new Date(2026, 0, 5, 4, 3, 2))).toBe('20260105T040302');
  });
});
