import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineXml, listGuests } from '../../src/host/virsh.js';
import { type HostCheckRun, runHostChecks, savedMacs } from '../../src/jobs/hostChecks.js';
import { applyFix, planFix } from '../../src/jobs/hostFixes.js';
import type { CheckResult } from '../../src/model/hostChecks.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const GUEST = `vdtest-hc-${process.pid}`;
const scratch = scratchDir('vdtest-hc-');
const images = join(scratch.dir, 'images');
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();
const hasVirtFlags = /\b(vmx|svm)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
let run: HostCheckRun;

function check(id: string): CheckResult {
  const r = run.results.find((x) => x.id === id);
  if (!r) throw new Error(`no check ${id}; have ${run.results.map((x) => x.id).join(', ')}`);
  return r;
}

beforeAll(async () => {
  mkdirSync(images);
  sh('truncate', ['-s', '64M', join(images, 'sparse.raw')]);
  sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(images, 'thin.qcow2'), '128M']);
  writeFileSync(join(scratch.dir, 'vdtest-hc.iso'), 'not really an iso');
  // A Linux guest on IDE, an ISO in its CD-ROM, and a NIC on a bridge that does not exist.
  await defineXml(
    host,
    `<domain type='qemu'>
  <name>${GUEST}</name>
  <metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${join(images, 'sparse.raw')}'/><target dev='hda' bus='ide'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='${join(scratch.dir, 'vdtest-hc.iso')}'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='bridge'><source bridge='vdtest-hc-br0'/><model type='virtio'/></interface>
  </devices>
</domain>`,
  );
  run = await runHostChecks(host, { imageDirs: [images, join(scratch.dir, 'missing')] });
}, 60_000);

afterAll(async () => {
  await removeGuest(host, GUEST);
  try {
    execFileSync('umount', [join(scratch.dir, 'mnt')], { stdio: 'ignore' });
  } catch {
    // not mounted: the fix test did not get that far
  }
  scratch.remove();
});

describe('host checks against this machine', () => {
  it('CPU extensions and KVM: says TCG and why', () => {
    if (hasVirtFlags) {
      expect(check('cpu-virt').status).toBe('ok');
      return;
    }
    expect(check('cpu-virt').status).toBe('fail');
    expect(check('cpu-virt').detail).toMatch(/no vmx or svm flag/);
    const kvm = check('kvm-usable');
    expect(kvm.status).toBe('fail');
    expect(kvm.detail).toMatch(/^Guests run under TCG \(software emulation\): /);
    expect(kvm.detail).toMatch(/vmx\/svm/);
    if (existsSync('/dev/kvm')) expect(kvm.detail).toMatch(/QEMU could not start with KVM/);
  });

  it('libvirtd answers with its versions', () => {
    const v = sh('virsh', ['-c', 'qemu:///system', 'version']);
    const lib = v.match(/Using library: libvirt (\S+)/)?.[1];
    expect(check('libvirtd').status).toBe('ok');
    expect(check('libvirtd').detail).toContain(`libvirt ${lib} answers`);
    expect(check('libvirtd').detail).toMatch(/hypervisor QEMU \d+\.\d+/);
  });

  it('names the guest on the missing bridge', () => {
    const b = check('bridges');
    expect(b.status).toBe('fail');
    expect(b.detail).toContain(`${GUEST} on the missing bridge vdtest-hc-br0`);
    expect(b.fix.join('\n')).toContain('ip link add vdtest-hc-br0 type bridge');
  });

  it('image directory: free space, file system, noatime, as df and findmnt say', () => {
    const [fstype, target, options] = sh('findmnt', ['-n', '-o', 'FSTYPE,TARGET,OPTIONS', '-T', images]).split(/\s+/);
    const free = Number(sh('df', ['-B1', '--output=avail', images]).split('\n')[1]);
    const space = check(`image-dir-space:${images}`);
    expect(space.detail).toContain(`(on ${target})`);
    const shown = Number(space.detail.match(/: ([\d.]+) GiB free/)?.[1]);
    expect(Math.abs(shown * 1024 ** 3 - free)).toBeLessThan(1024 ** 3);
    expect(check(`image-dir-fs:${images}`).detail).toBe(`${images} is on ${fstype}.`);
    const noatime = check(`image-dir-noatime:${images}`);
    expect(noatime.status).toBe(options?.split(',').includes('noatime') ? 'ok' : 'warn');
    if (noatime.status !== 'ok') expect(noatime.safeFix).toEqual({ kind: 'remount-noatime', mountpoint: target });
    expect(check(`image-dir-space:${join(scratch.dir, 'missing')}`).status).toBe('fail');
  });

  it('counts what the sparse images may still claim', () => {
    const o = check(`image-overcommit:${images}`);
    expect(o.detail).toMatch(/^2 images in /);
    // 64 MiB raw + 128 MiB qcow2, almost nothing allocated yet
    const grow = Number(o.detail.match(/grow by ([\d.]+) MiB/)?.[1]);
    expect(grow).toBeGreaterThan(180);
    expect(grow).toBeLessThanOrEqual(192);
  });

  it('reads the scheduler of the disk holding the images', () => {
    const source = sh('findmnt', ['-n', '-o', 'SOURCE', '-T', images]).replace(/\[.*\]$/, '');
    const disk = sh('lsblk', ['-nrso', 'NAME,TYPE', source]).split('\n').find((l) => l.endsWith(' disk'))?.split(' ')[0];
    const sched = readFileSync(`/sys/block/${disk}/queue/scheduler`, 'utf8').match(/\[(\S+)\]/)?.[1];
    expect(check('io-scheduler').detail).toContain(`${disk}`);
    expect(check('io-scheduler').detail).toContain(`uses ${sched} for`);
  });

  it('swappiness, /dev/shm, CONFIG_HZ, KSM and THP match /proc and /sys', () => {
    const swappiness = readFileSync('/proc/sys/vm/swappiness', 'utf8').trim();
    expect(check('swappiness').detail).toMatch(new RegExp(`^vm\\.swappiness is ${swappiness}[.;]`));
    expect(check('swappiness').status).toBe(Number(swappiness) <= 10 ? 'ok' : 'warn');
    expect(check('dev-shm').detail).toMatch(/^\/dev\/shm is a tmpfs of [\d.]+ \w+/);
    if (existsSync('/proc/config.gz')) {
      const hz = sh('sh', ['-c', 'zcat /proc/config.gz | grep ^CONFIG_HZ=']).split('=')[1];
      expect(check('kernel-hz').detail).toContain(`HZ=${hz}`);
    }
    const ksm = readFileSync('/sys/kernel/mm/ksm/run', 'utf8').trim();
    expect(check('ksm').detail).toContain(`KSM is ${ksm === '1' ? 'on' : 'off'}`);
    const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').match(/\[(\w+)\]/)?.[1];
    expect(check('thp').detail).toBe(`Transparent hugepages: ${thp}.`);
  });

  it('finds the inserted CD-ROM and the Linux guest on IDE', () => {
    expect(check('guest-cdrom').status).toBe('warn');
    expect(check('guest-cdrom').detail).toContain(`${GUEST} (hdc: vdtest-hc.iso)`);
    expect(check('guest-cdrom').fix).toContain(`virsh change-media ${GUEST} hdc --eject --config`);
    expect(check('guest-ide').status).toBe('warn');
    expect(check('guest-ide').detail).toContain(GUEST);
    expect(check('guest-ide').fix).toContain(`virtdeck guest edit ${GUEST} --disk-bus hda=virtio   # takes effect at the next start`);
  });

  it('reads the MACs of saved definitions in one batch (libvirt wrote one into ours)', async () => {
    const rows = await listGuests(host);
    const macs = await savedMacs(host, rows);
    const ours = macs.get(GUEST);
    expect(ours).toHaveLength(1);
    expect(ours?.[0]).toMatch(/^52:54:00:/);
    expect(check('guest-mac').detail).not.toContain(GUEST);
  });
});

describe('safe fixes on this machine (relocated root)', () => {
  it('remounts a tmpfs with noatime and edits a copy of fstab with a backup', async () => {
    const mnt = join(scratch.dir, 'mnt');
    const root = join(scratch.dir, 'root');
    mkdirSync(mnt);
    mkdirSync(join(root, 'etc'), { recursive: true });
    sh('mount', ['-t', 'tmpfs', '-o', 'size=4m,relatime', 'vdtest-hc', mnt]);
    const fstab = `# test fstab\nvdtest-hc ${mnt} tmpfs size=4m,relatime 0 0\n`;
    writeFileSync(join(root, 'etc/fstab'), fstab);
    const fix = { kind: 'remount-noatime' as const, mountpoint: mnt };
    const plan = await planFix(host.sysExec, fix, { root });
    expect(plan.lines.join('\n')).toContain(`${root}/etc/fstab line 2:`);
    expect(plan.edit?.after).toBe(`vdtest-hc ${mnt} tmpfs size=4m,noatime 0 0`);
    const outcome = await applyFix(host.sysExec, fix, plan, { root, now: () => new Date(2026, 0, 2, 3, 4, 5) });
    expect(sh('findmnt', ['-n', '-o', 'OPTIONS', mnt]).split(',')).toContain('noatime');
    expect(readFileSync(join(root, 'etc/fstab'), 'utf8')).toBe(`# test fstab\nvdtest-hc ${mnt} tmpfs size=4m,noatime 0 0\n`);
    expect(outcome.backup).toBe(`${root}/etc/fstab.virtdeck-20260102T030405`);
    expect(readFileSync(outcome.backup as string, 'utf8')).toBe(fstab);
  });

  it('writes sysctl.d and applies it with sysctl -p (same value, so the host is unchanged)', async () => {
    const root = join(scratch.dir, 'root2');
    const current = readFileSync('/proc/sys/vm/swappiness', 'utf8').trim();
    const fix = { kind: 'sysctl' as const, key: 'vm.swappiness', value: current };
    const plan = await planFix(host.sysExec, fix, { root });
    expect(plan.lines[0]).toBe(`${root}/etc/sysctl.d/90-virtdeck.conf: add line 2: vm.swappiness = ${current}`);
    const outcome = await applyFix(host.sysExec, fix, plan, { root });
    expect(readFileSync(join(root, 'etc/sysctl.d/90-virtdeck.conf'), 'utf8')).toBe(`# Written by virtdeck (Host pane safe fixes).\nvm.swappiness = ${current}\n`);
    expect(outcome.done.join(' ')).toContain('Applied it now (sysctl -p');
    expect(readdirSync(join(root, 'etc/sysctl.d'))).toEqual(['90-virtdeck.conf']);
  });
});
