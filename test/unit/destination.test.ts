import { describe, expect, it } from 'vitest';
import { assessDestination, checkSpace, type DestinationFacts, parseDestinationProbe } from '../../src/jobs/destination.js';
import { UserError } from '../../src/model/userError.js';

const GOOD = 'exists=1\ndir=1\nwritable=1\nprobe=1\nmount=/mnt/backup\ndevice=2065\navail=500000000000\nimage=2049\t/var/lib/libvirt/images/web.qcow2\n';

function facts(text: string): DestinationFacts {
  return parseDestinationProbe('/mnt/backup', text);
}

describe('destination checks', () => {
  it('parses the probe', () => {
    expect(facts(GOOD)).toEqual({
      dest: '/mnt/backup',
      exists: true,
      isDir: true,
      writable: true,
      probeOk: true,
      mountTarget: '/mnt/backup',
      device: '2065',
      imageDevices: [{ device: '2049', path: '/var/lib/libvirt/images/web.qcow2' }],
      availBytes: 500000000000,
    });
  });

  it('a separate mounted disk gives no warning', () => {
    expect(assessDestination(facts(GOOD)).warnings).toEqual([]);
  });

  it('refuses missing, non-directory and read-only destinations with a fix', () => {
    expect(() => assessDestination(facts('exists=0\n'))).toThrow(/does not exist/);
    expect(() => assessDestination(facts('exists=1\ndir=0\n'))).toThrow(/not a directory/);
    const ro = () => assessDestination(facts(GOOD.replace('probe=1', 'probe=0')));
    expect(ro).toThrow(UserError);
    expect(ro).toThrow(/cannot be written/);
    expect(() => assessDestination(facts(GOOD.replace('writable=1', 'writable=0')))).toThrow(/read-write/);
  });

  it('warns when not a mount point and when on the images’ filesystem', () => {
    const w = assessDestination(facts(GOOD.replace('mount=/mnt/backup', 'mount=/').replace('device=2065', 'device=2049'))).warnings;
    expect(w).toHaveLength(2);
    expect(w[0]).toMatch(/not a mount point/);
    expect(w[1]).toMatch(/same filesystem as \/var\/lib\/libvirt\/images\/web.qcow2/);
  });

  it('free space: refuses what does not fit, with the basis of the estimate', () => {
    expect(() => checkSpace('/mnt/backup', { bytes: 2 * 2 ** 30, basis: 'qemu-img measure' }, 1 << 30, 'web')).toThrow(/needs about 2.0G \(qemu-img measure\).*only 1.0G/);
    expect(() => checkSpace('/mnt/backup', { bytes: 1 << 20, basis: 'x' }, 1 << 30, 'web')).not.toThrow();
    expect(() => checkSpace('/mnt/backup', { bytes: 2 ** 40, basis: 'x' }, null, 'web')).not.toThrow();
  });
});
