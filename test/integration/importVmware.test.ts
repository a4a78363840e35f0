/**
 * VMware import end to end on the real stack: a VMware-style directory made here (a vmdk from
 * qemu-img with hwversion 6 and the lsilogic adapter, a written .vmx with a static 00:50:56 and a
 * generated 00:0c:29 MAC, scsi0 lsilogic disk, ide CD-ROM) → import as is and converted to qcow2 →
 * virsh define accepts → the guests start under TCG with the .vmx MACs and the SCSI bus. Also the
 * refusals that need a real directory: a VMware lock, a missing disk, a snapshot chain.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFailure, inspectImport, prepareImport, runImport } from '../../src/jobs/importVmware.js';
import type { ImportRequest } from '../../src/model/importVmwarePlan.js';
import { UserError } from '../../src/model/userError.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-im-');
const dir = join(scratch.dir, 'vmware');
const vmx = join(dir, 'vdtest-im-vm.vmx');
const GUESTS = ['vdtest-im-asis', 'vdtest-im-qcow2'];
const savedHome = process.env.VIRTDECK_HOME;
const STATIC_MAC = '00:50:56:01:02:03';
const GENERATED_MAC = '00:0c:29:aa:bb:cc';

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const virsh = (...args: string[]) => sh('virsh', '-c', host.uri, ...args);

function vmxText(disk = 'vdtest-im-vm.vmdk'): string {
  return [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    'virtualHW.version = "6"',
    'displayName = "vdtest-im-vm"',
    '# a comment VMware never writes but admins do',
    'guestOS = "otherlinux"',
    'memsize = "64"',
    'numvcpus = "1"',
    'uuid.bios = "56 4d 11 22 33 44 55 66-77 88 99 aa bb cc dd ee"',
    'scsi0.present = "TRUE"',
    'scsi0.virtualDev = "lsilogic"',
    'scsi0:0.present = "TRUE"',
    `scsi0:0.fileName = "${disk}"`,
    'ide1:0.present = "TRUE"',
    'ide1:0.deviceType = "cdrom-image"',
    'ide1:0.fileName = "missing.iso"',
    'floppy0.present = "FALSE"',
    'ethernet0.present = "TRUE"',
    'ethernet0.virtualDev = "e1000"',
    'ethernet0.connectionType = "bridged"',
    'ethernet0.addressType = "static"',
    `ethernet0.address = "${STATIC_MAC.toUpperCase()}"`,
    'ethernet1.present = "TRUE"',
    'ethernet1.virtualDev = "e1000"',
    'ethernet1.addressType = "generated"',
    `ethernet1.generatedAddress = "${GENERATED_MAC}"`,
    'tools.syncTime = "FALSE"',
    '',
  ].join('\n');
}

const asIs: ImportRequest = { convert: 'none', bus: 'keep', name: 'vdtest-im-asis', start: true };
const toQcow2: ImportRequest = { convert: 'qcow2', bus: 'keep', name: 'vdtest-im-qcow2', start: true };

beforeAll(() => {
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  mkdirSync(dir, { recursive: true });
  sh('qemu-img', 'create', '-q', '-f', 'vmdk', '-o', 'adapter_type=lsilogic,hwversion=6', join(dir, 'vdtest-im-vm.vmdk'), '8M');
  writeFileSync(vmx, vmxText());
});

afterAll(async () => {
  for (const g of GUESTS) await removeGuest(host, g).catch(() => {});
  scratch.remove();
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
});

function dumpxml(name: string): string {
  return virsh('dumpxml', name);
}

function expectVmxHardware(xml: string): void {
  expect(xml).toContain(`<mac address='${STATIC_MAC}'/>`);
  expect(xml).toContain(`<mac address='${GENERATED_MAC}'/>`);
  expect(xml).toMatch(/<target dev='sda' bus='scsi'\/>/);
  expect(xml).toMatch(/<controller type='scsi' index='0' model='lsilogic'>/);
  expect(xml).toMatch(/<target dev='hdc' bus='ide'\/>/);
  expect(xml).toContain('<uuid>564d1122-3344-5566-7788-99aabbccddee</uuid>');
  expect(xml).toMatch(/<domain type='(qemu|kvm)'/);
}

describe('import a VMware VM', () => {
  it('reads the directory: one disk, the CD-ROM empty, ignored keys listed', async () => {
    const facts = await inspectImport(host, vmx);
    expect(facts.disks.map((d) => d.key)).toEqual(['scsi0:0']);
    expect(facts.disks[0]?.chain.snapshot).toBe(false);
    expect(facts.guest.ignored).toContain('tools.syncTime = FALSE');
    expect(facts.guest.disabled).toEqual(['floppy0 (present = FALSE)']);
    expect(facts.guest.warnings.some((w) => /missing\.iso is not on this host; the CD-ROM drive starts empty/.test(w))).toBe(true);
  });

  it('runs the vmdk as it is: defined, started under TCG with the .vmx MACs and SCSI bus', async () => {
    const prepared = await prepareImport(host, vmx, asIs);
    expect(prepared.check.refusals).toEqual([]);
    const r = await runImport(host, prepared);
    if (r.state !== 'done') throw importFailure(r);
    const xml = dumpxml('vdtest-im-asis');
    expectVmxHardware(xml);
    expect(xml).toContain(`<driver name='qemu' type='vmdk'/>`);
    expect(xml).toContain(`<source file='${join(dir, 'vdtest-im-vm.vmdk')}'`);
    expect(virsh('domstate', 'vdtest-im-asis').trim()).toBe('running');
    await removeGuest(host, 'vdtest-im-asis');
  });

  it('converts to qcow2 beside the .vmx and leaves the vmdk alone', async () => {
    const before = sh('sha256sum', join(dir, 'vdtest-im-vm.vmdk'));
    const prepared = await prepareImport(host, vmx, toQcow2);
    expect(prepared.plan?.steps.map((s) => s.id)).toEqual(['disk0-tempdir', 'disk0-convert', 'disk0-compare', 'disk0-place', 'disk0-droptemp', 'define', 'start']);
    const r = await runImport(host, prepared);
    if (r.state !== 'done') throw importFailure(r);
    const xml = dumpxml('vdtest-im-qcow2');
    expectVmxHardware(xml);
    expect(xml).toContain(`<driver name='qemu' type='qcow2'/>`);
    expect(xml).toContain(`<source file='${join(dir, 'vdtest-im-vm.qcow2')}'`);
    expect(JSON.parse(sh('qemu-img', 'info', '-U', '--output=json', join(dir, 'vdtest-im-vm.qcow2'))).format).toBe('qcow2');
    expect(sh('sha256sum', join(dir, 'vdtest-im-vm.vmdk'))).toBe(before);
    expect(virsh('domstate', 'vdtest-im-qcow2').trim()).toBe('running');
    // A second import to the same file is refused: virtdeck never overwrites an image.
    const again = await prepareImport(host, vmx, { ...toQcow2, name: 'vdtest-im-other' });
    expect(again.check.refusals[0]?.sentence).toMatch(/already exists/);
  });

  it('refuses while VMware holds a lock next to the .vmx', async () => {
    const lck = join(dir, 'vdtest-im-vm.vmdk.lck');
    mkdirSync(lck);
    try {
      const prepared = await prepareImport(host, vmx, { ...asIs, name: 'vdtest-im-locked', start: false });
      expect(prepared.plan).toBeUndefined();
      expect(prepared.check.refusals[0]?.sentence).toMatch(/VMware has this VM open/);
      expect(prepared.check.refusals[0]?.fix).toMatch(/delete the \.lck/);
    } finally {
      execFileSync('rmdir', [lck]);
    }
  });

  it('refuses a missing disk, and uses the active snapshot of a chain', async () => {
    const other = join(scratch.dir, 'snap');
    mkdirSync(other);
    const missingVmx = join(other, 'missing.vmx');
    writeFileSync(missingVmx, vmxText('gone.vmdk'));
    await expect(inspectImport(host, missingVmx)).rejects.toThrow(UserError);

    sh('qemu-img', 'create', '-q', '-f', 'vmdk', join(other, 'disk.vmdk'), '4M');
    sh('qemu-img', 'create', '-q', '-f', 'vmdk', '-b', 'disk.vmdk', '-F', 'vmdk', join(other, 'disk-000001.vmdk'));
    const snapVmx = join(other, 'snap.vmx');
    writeFileSync(snapVmx, vmxText('disk-000001.vmdk'));
    const facts = await inspectImport(host, snapVmx);
    expect(facts.disks[0]?.chain.links.map((l) => l.path)).toEqual([join(other, 'disk-000001.vmdk'), join(other, 'disk.vmdk')]);
    const prepared = await prepareImport(host, snapVmx, { ...toQcow2, name: 'vdtest-im-snap', start: false });
    expect(prepared.check.warnings.some((w) => /active one, disk-000001\.vmdk, is used and the older snapshots are flattened/.test(w))).toBe(true);
    expect(prepared.plan?.targets.images).toEqual([join(other, 'disk.qcow2')]);

    // The parent gone: refused, naming the file to copy.
    execFileSync('rm', [join(other, 'disk.vmdk')]);
    await expect(inspectImport(host, snapVmx)).rejects.toThrow(/disk-000001\.vmdk is a snapshot of disk\.vmdk, which is missing/);
  });
});
