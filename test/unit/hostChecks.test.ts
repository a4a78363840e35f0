import { describe, expect, it } from 'vitest';
import type { GuestProbe, ImageDirProbe } from '../../src/model/hostChecks.js';
import {
  type CheckResult,
  type CheckStatus,
  evaluateChecks,
  fillFix,
  HOST_CHECK_RULES,
  type HostProbes,
  isLinuxOs,
  overallStatus,
  PROBE_KINDS,
  parseRules,
  type SystemProbe,
} from '../../src/model/hostChecks.js';

const GiB = 1024 ** 3;

function dir(over: Partial<ImageDirProbe> = {}): ImageDirProbe {
  return {
    dir: '/var/lib/libvirt/images',
    exists: true,
    mount: { target: '/var', source: '/dev/sda2', fstype: 'ext4', options: ['rw', 'noatime'], sizeBytes: 100 * GiB, availBytes: 60 * GiB },
    images: [{ path: '/var/lib/libvirt/images/a.qcow2', virtualBytes: 20 * GiB, allocatedBytes: 5 * GiB }],
    disks: [{ name: 'sda', rotational: true, scheduler: 'mq-deadline', available: ['none', 'mq-deadline', 'bfq'] }],
    ...over,
  };
}

const OVMF = { path: '/usr/share/qemu/firmware/60-edk2-x86_64.json', features: ['acpi-s3'] };
const OVMF_SECURE = { path: '/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json', features: ['enrolled-keys', 'requires-smm', 'secure-boot'] };

function system(over: Partial<SystemProbe> = {}): SystemProbe {
  return {
    cpu: { virtFlag: 'vmx', hypervisor: false },
    sysctl: { 'vm.swappiness': '10' },
    shm: { fstype: 'tmpfs', sizeBytes: 4 * GiB },
    kernelConfig: { source: '/boot/config-6.1.0', forRunningKernel: true, running: '6.1.0', hz: 250, tick: 'idle' },
    ksmRun: 0,
    thp: 'madvise',
    memTotalKiB: 16 * 1024 * 1024,
    firmware: { uefi: [OVMF, OVMF_SECURE], swtpm: ['/usr/bin/swtpm', '/usr/bin/swtpm_setup'] },
    ...over,
  };
}

function guest(over: Partial<GuestProbe> = {}): GuestProbe {
  return {
    name: 'web',
    state: 'running',
    osType: 'debian12',
    memoryKiB: 1024 * 1024,
    disks: [{ target: 'vda', device: 'disk', bus: 'virtio', source: '/var/lib/libvirt/images/a.qcow2', format: 'qcow2' }],
    nics: [{ mac: '52:54:00:00:00:01', type: 'bridge', source: 'br0', model: 'virtio' }],
    savedMacs: ['52:54:00:00:00:01'],
    ...over,
  };
}

function probes(over: Partial<HostProbes> = {}): HostProbes {
  return {
    system: { value: system() },
    accel: { value: { accel: 'kvm', reason: 'KVM works (vmx flag, /dev/kvm, QEMU started a KVM vCPU).' } },
    libvirt: { value: { libvirt: '9.0.0', hypervisor: 'QEMU 7.2.0' } },
    network: { value: { bridges: ['br0'], networks: [{ name: 'default', active: true, bridge: 'virbr0' }] } },
    guests: { value: [guest()] },
    imageDirs: { value: [dir()] },
    ...over,
  };
}

function result(p: HostProbes, rule: string): CheckResult {
  const r = evaluateChecks(p).find((x) => x.rule === rule);
  if (!r) throw new Error(`no result for ${rule}`);
  return r;
}

type Case = [rule: string, label: string, p: HostProbes, status: CheckStatus, detail: RegExp];

const CASES: Case[] = [
  ['cpu-virt', 'vmx present', probes(), 'ok', /VT-x/],
  ['cpu-virt', 'nested guest without flags', probes({ system: { value: system({ cpu: { virtFlag: null, hypervisor: true } }) } }), 'fail', /nested virtualization off/],
  ['cpu-virt', 'probe failed', probes({ system: { error: 'ssh dropped' } }), 'warn', /Could not check: ssh dropped/],
  ['kvm-usable', 'kvm works', probes(), 'ok', /KVM works/],
  [
    'kvm-usable',
    'tcg because QEMU aborts',
    probes({ accel: { value: { accel: 'tcg', reason: 'KVM is not usable: QEMU could not start with KVM (error: failed to set MSR 0x10a to 0x69); guests run under TCG emulation.' } } }),
    'fail',
    /^Guests run under TCG .*failed to set MSR/,
  ],
  ['libvirtd', 'answers', probes(), 'ok', /libvirt 9\.0\.0 answers, hypervisor QEMU 7\.2\.0/],
  ['libvirtd', 'down', probes({ libvirt: { error: 'libvirtd is not running.' } }), 'fail', /does not answer/],
  ['bridges', 'all present', probes(), 'ok', /br0: web/],
  ['bridges', 'missing bridge', probes({ guests: { value: [guest({ nics: [{ mac: '52:54:00:00:00:02', type: 'bridge', source: 'vdtest-hc-br0', model: null }] })] } }), 'fail', /web on the missing bridge vdtest-hc-br0/],
  ['bridges', 'inactive network', probes({ guests: { value: [guest({ nics: [{ mac: '52:54:00:00:00:02', type: 'network', source: 'lan', model: null }] })] }, network: { value: { bridges: [], networks: [{ name: 'lan', active: false, bridge: 'virbr1' }] } } }), 'fail', /network lan \(not started\)/],
  ['image-dir-space', 'plenty', probes(), 'ok', /60\.0 GiB free of 100\.0 GiB \(60 %\)/],
  ['image-dir-space', 'low', probes({ imageDirs: { value: [dir({ mount: { ...dir().mount!, availBytes: 10 * GiB } })] } }), 'warn', /10 %/],
  ['image-dir-space', 'almost full', probes({ imageDirs: { value: [dir({ mount: { ...dir().mount!, availBytes: 1 * GiB } })] } }), 'fail', /1\.0 GiB free/],
  ['image-dir-space', 'missing dir', probes({ imageDirs: { value: [dir({ exists: false, mount: null })] } }), 'fail', /does not exist/],
  ['image-dir-fs', 'ext4', probes(), 'ok', /on ext4/],
  ['image-dir-fs', 'btrfs', probes({ imageDirs: { value: [dir({ mount: { ...dir().mount!, fstype: 'btrfs' } })] } }), 'warn', /copy-on-write/],
  ['image-dir-noatime', 'noatime', probes(), 'ok', /mounted noatime/],
  ['image-dir-noatime', 'relatime', probes({ imageDirs: { value: [dir({ mount: { ...dir().mount!, options: ['rw', 'relatime'] } })] } }), 'warn', /mounted relatime, not noatime/],
  ['image-overcommit', 'fits', probes(), 'ok', /may still grow by 15\.0 GiB: 25 %/],
  [
    'image-overcommit',
    'sparse images exceed free space',
    probes({ imageDirs: { value: [dir({ images: [{ path: '/x/big.raw', virtualBytes: 200 * GiB, allocatedBytes: 1 * GiB }] })] } }),
    'warn',
    /199\.0 GiB: 332 %/,
  ],
  ['io-scheduler', 'spinning with mq-deadline', probes(), 'ok', /sda \(spinning\) uses mq-deadline/],
  [
    'io-scheduler',
    'spinning with none',
    probes({ imageDirs: { value: [dir({ disks: [{ name: 'sdb', rotational: true, scheduler: 'none', available: ['none', 'mq-deadline'] }] })] } }),
    'warn',
    /sdb \(spinning\) uses none/,
  ],
  ['io-scheduler', 'not a block device', probes({ imageDirs: { value: [dir({ disks: [] })] } }), 'ok', /not on a local block device/],
  ['swappiness', '10', probes(), 'ok', /vm\.swappiness is 10\./],
  ['swappiness', '60', probes({ system: { value: system({ sysctl: { 'vm.swappiness': '60' } }) } }), 'warn', /is 60; 10 or less/],
  ['swappiness', 'unreadable', probes({ system: { value: system({ sysctl: {} }) } }), 'warn', /could not be read/],
  ['dev-shm', 'tmpfs 4G', probes(), 'ok', /tmpfs of 4\.0 GiB/],
  ['dev-shm', 'tiny', probes({ system: { value: system({ shm: { fstype: 'tmpfs', sizeBytes: 64 * 1024 * 1024 } }) } }), 'warn', /only 64/],
  ['dev-shm', 'not mounted', probes({ system: { value: system({ shm: null }) } }), 'fail', /not mounted/],
  ['dev-shm', 'not tmpfs', probes({ system: { value: system({ shm: { fstype: 'ext4', sizeBytes: GiB } }) } }), 'fail', /not tmpfs/],
  ['kernel-hz', 'tickless', probes(), 'ok', /HZ=250, tickless when idle/],
  ['kernel-hz', 'periodic', probes({ system: { value: system({ kernelConfig: { source: '/boot/config-x', forRunningKernel: true, running: 'x', hz: 1000, tick: 'periodic' } }) } }), 'warn', /HZ=1000, a periodic tick/],
  ['kernel-hz', 'other kernel', probes({ system: { value: system({ kernelConfig: { source: '/boot/config-6.1', forRunningKernel: false, running: '6.18', hz: 250, tick: 'full' } }) } }), 'warn', /running kernel 6\.18 has no readable config/],
  ['kernel-hz', 'no config', probes({ system: { value: system({ kernelConfig: null }) } }), 'warn', /unknown/],
  ['ksm', 'off, little committed', probes(), 'ok', /KSM is off\. Guests are given 1\.0 GiB of 16\.0 GiB/],
  ['ksm', 'off, overcommitted', probes({ guests: { value: [guest({ memoryKiB: 15 * 1024 * 1024 })] } }), 'warn', /merging identical pages/],
  ['thp', 'madvise', probes(), 'ok', /madvise/],
  ['thp', 'never', probes({ system: { value: system({ thp: 'never' }) } }), 'warn', /never/],
  ['guest-cdrom', 'none inserted', probes(), 'ok', /No guest/],
  [
    'guest-cdrom',
    'ISO inserted',
    probes({ guests: { value: [guest({ disks: [{ target: 'hdc', device: 'cdrom', bus: 'ide', source: '/iso/debian.iso', format: 'raw' }] })] } }),
    'warn',
    /web \(hdc: debian\.iso\)/,
  ],
  ['guest-ide', 'virtio', probes(), 'ok', /No Linux guest/],
  ['guest-ide', 'linux on ide', probes({ guests: { value: [guest({ disks: [{ target: 'hda', device: 'disk', bus: 'ide', source: '/a', format: 'raw' }] })] } }), 'warn', /IDE disks: web/],
  ['guest-ide', 'windows on ide is fine', probes({ guests: { value: [guest({ osType: 'win2k3', disks: [{ target: 'hda', device: 'disk', bus: 'ide', source: '/a', format: 'raw' }] })] } }), 'ok', /No Linux guest/],
  ['guest-mac', 'fixed', probes(), 'ok', /Every NIC of 1 guest has a fixed MAC/],
  ['guest-mac', 'no saved mac', probes({ guests: { value: [guest({ savedMacs: [null] })] } }), 'warn', /without a saved MAC: web/],
  ['guest-mac', 'duplicate', probes({ guests: { value: [guest(), guest({ name: 'db' })] } }), 'fail', /52:54:00:00:00:01 is used by web and db/],
  ['uefi-firmware', 'both OVMF builds', probes(), 'ok', /with and without Secure Boot/],
  ['uefi-firmware', 'no OVMF', probes({ system: { value: system({ firmware: { uefi: [], swtpm: [] } }) } }), 'warn', /No UEFI firmware/],
  ['swtpm', 'installed', probes(), 'ok', /guests can have a TPM 2\.0/],
  ['swtpm', 'missing', probes({ system: { value: system({ firmware: { uefi: [OVMF], swtpm: [] } }) } }), 'warn', /swtpm and swtpm_setup are not installed/],
  ['swtpm-ca', 'not created yet', probes(), 'ok', /No local TPM certificate authority yet/],
  ['swtpm-ca', 'files left by root', probes({ system: { value: system({ firmware: { uefi: [OVMF], swtpm: [], localCa: { owner: 'tss', foreign: [{ name: 'certserial', owner: 'root' }] } } }) } }), 'warn', /1 file in \/var\/lib\/swtpm-localca belongs to another user than tss/],
];

describe('host check rules', () => {
  it('loads every rule from assets/host-checks.json, one evaluator per probe kind', () => {
    expect(HOST_CHECK_RULES.length).toBeGreaterThanOrEqual(17);
    for (const r of HOST_CHECK_RULES) expect(PROBE_KINDS).toContain(r.probe);
    expect(() => parseRules([{ id: 'x' }])).toThrow();
  });

  it.each(CASES.map(([rule, label, p, status, detail]) => [rule, label, status, p, detail] as const))('%s: %s → %s', (rule, _label, status, p, detail) => {
    const r = result(p, rule);
    expect(r.status).toBe(status);
    expect(r.detail).toMatch(detail);
    expect(r.why.length).toBeGreaterThan(20);
    if (status === 'ok') expect(r.fix).toEqual([]);
    else expect(r.fix.length).toBeGreaterThan(0);
  });

  it('every rule has an ok case and a not-ok case in the table', () => {
    for (const rule of HOST_CHECK_RULES) {
      const statuses = CASES.filter((c) => c[0] === rule.id).map((c) => c[3]);
      expect(statuses, rule.id).toContain('ok');
      expect(statuses.some((s) => s !== 'ok'), rule.id).toBe(true);
    }
  });

  it('fills fixes with what was found', () => {
    const p = probes({
      guests: { value: [guest({ state: 'shut off', disks: [{ target: 'hdc', device: 'cdrom', bus: 'ide', source: '/iso/a.iso', format: 'raw' }], nics: [{ mac: 'x', type: 'bridge', source: 'vdtest-hc-br0', model: null }] })] },
      imageDirs: { value: [dir({ mount: { ...dir().mount!, options: ['relatime'] } })] },
      system: { value: system({ sysctl: { 'vm.swappiness': '60' } }) },
    });
    expect(result(p, 'guest-cdrom').fix).toEqual(['virsh change-media web hdc --eject --config']);
    expect(result(p, 'bridges').fix[0]).toBe('ip link add vdtest-hc-br0 type bridge && ip link set vdtest-hc-br0 up   # and make it permanent in /etc/network/interfaces');
    expect(result(p, 'image-dir-noatime').fix[0]).toBe('mount -o remount,noatime /var');
    expect(result(p, 'image-dir-noatime').safeFix).toEqual({ kind: 'remount-noatime', mountpoint: '/var' });
    expect(result(p, 'swappiness').safeFix).toEqual({ kind: 'sysctl', key: 'vm.swappiness', value: '10' });
    expect(result(p, 'image-dir-noatime').id).toBe('image-dir-noatime:/var/lib/libvirt/images');
  });

  it('repeats per-item fix lines and keeps the rest once', () => {
    expect(fillFix(['a {guest}', 'b {dir}'], { dir: '/d' }, [{ guest: 'x' }, { guest: 'y' }])).toEqual(['a x', 'a y', 'b /d']);
  });

  it("names a guest's missing network once, and fixes a libvirt network with virsh, a bridge with ip link", () => {
    const nic = (type: string, source: string) => ({ mac: '52:54:00:00:00:02', type, source, model: null });
    const p = probes({
      guests: { value: [guest({ nics: [nic('network', 'lan'), nic('network', 'lan'), nic('network', 'default'), nic('bridge', 'br9')] })] },
      network: { value: { bridges: [], networks: [{ name: 'default', active: false, bridge: 'virbr0' }] } },
    });
    const r = result(p, 'bridges');
    expect(r.detail.match(/missing network lan/g)).toHaveLength(1);
    expect(r.fix).toEqual([
      'ip link add br9 type bridge && ip link set br9 up   # and make it permanent in /etc/network/interfaces',
      'virsh net-start default && virsh net-autostart default   # the libvirt network is defined but not running',
      'virsh net-define NETWORK.xml && virsh net-start lan && virsh net-autostart lan   # libvirt has no network lan: define it (virsh net-dumpxml lan on a host that has it gives the XML; virsh net-list --all lists the ones here)',
      'or attach the NIC to an existing bridge or network: virsh edit web',
    ]);
  });

  it('says ok only when everything is', () => {
    expect(overallStatus(evaluateChecks(probes()))).toBe('ok');
    expect(overallStatus(evaluateChecks(probes({ system: { value: system({ thp: 'never' }) } })))).toBe('warn');
    expect(overallStatus(evaluateChecks(probes({ libvirt: { error: 'down' } })))).toBe('fail');
  });

  it('recognises Linux guests by their libosinfo id', () => {
    expect(isLinuxOs('debian12', 'debian|ubuntu')).toBe(true);
    expect(isLinuxOs('http://debian.org/debian/12', 'debian|ubuntu')).toBe(true);
    expect(isLinuxOs('win2k3', 'debian|ubuntu')).toBe(false);
    expect(isLinuxOs(null, 'debian')).toBe(false);
  });
});
