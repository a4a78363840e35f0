import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diskStems, extractDir, factsForRequest, type OvaImportFacts, planOvaImport } from '../../src/model/importOvaPlan.js';
import { checkImport, guestNameFrom, type ImportRequest } from '../../src/model/importVmwarePlan.js';
import { allocationUnitBytes, packageNameProblem, parseOvf, vimGuestIdToVmx } from '../../src/model/ovf.js';
import { describePlan } from '../../src/model/plan.js';
import { vmxToDomainXml } from '../../src/model/vmxToDomain.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/ovf/${name}`, import.meta.url), 'utf8');
const ESXI = fixture('vmware-esxi7-win11.ovf');
const OVF2 = fixture('dmtf-ovf2.ovf');

describe('OVF descriptor → the .vmx guest model', () => {
  const o = parseOvf(ESXI, { source: 'win11.ovf' });
  it('reads the machine: name, OS, CPU topology, memory in its units, EFI, Secure Boot, vTPM', () => {
    expect(o.ovfVersion).toBe(1);
    expect(o.guest).toMatchObject({ name: 'win11 & friends', description: 'Finance desktop', guestOS: 'windows11-64', arch: 'x86_64', windows: true, firmware: 'efi', virtualHW: 19 });
    expect([o.guest.vcpus, o.guest.topology, o.guest.memoryMiB]).toEqual([4, { sockets: 2, cores: 2, threads: 1 }, 8192]);
    expect([o.secureBoot, o.tpm]).toEqual([true, true]);
  });
  it('puts each disk on its controller kind and slot under the name a .vmx gives it (IDE + SCSI + SATA + NVMe)', () => {
    expect(o.guest.disks.map((d) => `${d.key} ${d.device} ${d.bus} ${d.target} ${'path' in d.source ? d.source.path : d.source.kind}`)).toEqual([
      'ide1:0 cdrom ide hdc none',
      'sata0:0 disk sata sda win11-disk1.vmdk',
      'scsi0:1 disk scsi sdb win11-disk2.vmdk',
      'nvme0:0 disk nvme nvme0n1 win11-disk3.vmdk',
      'ide0:1 disk ide hdb win11-disk4.vmdk',
    ]);
    expect(o.guest.controllers).toEqual([
      { bus: 'scsi', index: 0, model: 'lsisas1068' },
      { bus: 'sata', index: 0, model: null },
      { bus: 'nvme', index: 0, model: null },
    ]);
    expect(o.disks.map((d) => [d.key, d.href, d.format, d.capacityBytes])).toEqual([
      ['sata0:0', 'win11-disk1.vmdk', 'streamOptimized', 64 * 2 ** 30],
      ['scsi0:1', 'win11-disk2.vmdk', 'streamOptimized', 10240 * 2 ** 20],
      ['nvme0:0', 'win11-disk3.vmdk', 'streamOptimized', 2 ** 30],
      ['ide0:1', 'win11-disk4.vmdk', 'streamOptimized', 2 * 2 ** 30],
    ]);
  });
  it('keeps the NICs with their MACs, models and networks; a NIC without an address gets a new one, with a warning', () => {
    expect(o.guest.nics.map((n) => [n.index, n.mac, n.model, n.connection, n.networkName])).toEqual([
      [0, '00:50:56:8a:12:34', 'vmxnet3', 'bridged', 'VM Network'],
      [1, '00:0c:29:aa:bb:cc', 'e1000e', 'bridged', 'Backup LAN'],
      [2, null, 'e1000', 'none', null],
    ]);
    expect(o.guest.warnings.join('\n')).toMatch(/ethernet2 has no MAC in the export/);
  });
  it('lists what it does not use', () => {
    expect(o.guest.ignored).toEqual(expect.arrayContaining(['Video card', 'cpuhotaddenabled = false', 'nvram = ovf:/file/file5']));
  });
  it('maps the hardware exactly as the .vmx path does (same vmxToDomain)', () => {
    const d = vmxToDomainXml(o.guest, { name: 'w', domainType: 'qemu', disks: o.disks.map((x) => ({ key: x.key, path: `/i/${x.key}.qcow2`, format: 'qcow2' })), bus: 'keep', nics: o.guest.nics.map(() => ({ kind: 'user' })) });
    expect(d.xml).toContain("<controller type='scsi' index='0' model='lsisas1068'/>");
    expect(d.xml).toContain("<mac address='00:50:56:8a:12:34'/>");
    expect(d.xml).toContain("<model type='vmxnet3'/>");
    expect(d.xml).toMatch(/<os firmware='efi'>/);
    // Secure Boot and the vTPM carry over as they do from a .vmx: the Microsoft-keys OVMF build, SMM, swtpm.
    expect(d.xml).toContain("<feature enabled='yes' name='secure-boot'/>");
    expect(d.xml).toContain("<smm state='on'/>");
    expect(d.xml).toMatch(/<tpm model='tpm-crb'>\s*<backend type='emulator' version='2.0'\/>/);
    expect(d.warnings.join(' ')).toMatch(/nvme0:0 is an NVMe disk/);
    expect(d.warnings.join(' ')).toMatch(/ide0:1 is on IDE, which the q35 machine/);
  });
  it('reads an OVF 2.0 envelope with StorageItem and EthernetPortItem', () => {
    const g = parseOvf(OVF2);
    expect(g.ovfVersion).toBe(2);
    expect(g.guest).toMatchObject({ name: 'appliance', vcpus: 2, memoryMiB: 2048, arch: 'x86_64', firmware: 'bios', virtualHW: 13 });
    expect(g.guest.disks.map((d) => `${d.key} ${d.bus}`)).toEqual(['scsi0:0 scsi']);
    expect(g.guest.controllers).toEqual([{ bus: 'scsi', index: 0, model: 'pvscsi' }]);
    expect(g.guest.nics.map((n) => [n.mac, n.model, n.networkName])).toEqual([['52:54:00:12:34:56', 'vmxnet3', 'lan']]);
  });
});

describe('OVF refusals: one sentence naming the descriptor', () => {
  const with_ = (from: string, to: string) => ESXI.replace(from, to);
  it('refuses a disk format it does not read (qcow2, raw, unknown)', () => {
    const bad = with_('vmdk.html#streamOptimized" ovf:populatedSize="11811160064"', 'vmdk.html#qcow2" ovf:populatedSize="1"');
    expect(() => parseOvf(bad, { source: 'x.ovf' })).toThrow(/^x\.ovf gives the disk vmdisk1 in the format "http:\/\/www\.vmware\.com\/interfaces\/specifications\/vmdk\.html#qcow2", which virtdeck does not read/);
  });
  it('refuses file names that leave the package: .., absolute, directories, URLs', () => {
    for (const href of ['../etc/shadow', '/etc/shadow', 'sub/disk.vmdk', 'http://evil/disk.vmdk', '..']) {
      expect(() => parseOvf(with_('ovf:href="win11-disk1.vmdk"', `ovf:href="${href}"`), { source: 'x.ovf' })).toThrow(/x\.ovf names the file file1 as ".*", which (has a directory part|is an absolute path|is a URL|is a directory name)/);
    }
    expect(packageNameProblem('disk1.vmdk')).toBeNull();
  });
  it('refuses a DOCTYPE (entity expansion), a vApp of several VMs, compressed files', () => {
    expect(() => parseOvf(`<!DOCTYPE x [<!ENTITY a "b">]>${ESXI}`, { source: 'x.ovf' })).toThrow(/x\.ovf/);
    expect(() => parseOvf(with_('ovf:size="4417093120"', 'ovf:size="1" ovf:compression="gzip"'), { source: 'x.ovf' })).toThrow(/compressed/);
    const two = ESXI.replace(/<VirtualSystem [\s\S]*<\/VirtualSystem>/, (m) => `<VirtualSystemCollection ovf:id="vapp">${m}${m}</VirtualSystemCollection>`);
    expect(() => parseOvf(two, { source: 'x.ovf' })).toThrow(/holds 2 virtual machines \(a vApp\)/);
  });
  it('reads DMTF and older units', () => {
    expect([allocationUnitBytes('byte * 2^20'), allocationUnitBytes('byte*2^30'), allocationUnitBytes('MegaBytes'), allocationUnitBytes('byte * 1024^2'), allocationUnitBytes('furlongs')]).toEqual([2 ** 20, 2 ** 30, 2 ** 20, 2 ** 20, null]);
    expect([vimGuestIdToVmx('windows9_64Guest'), vimGuestIdToVmx('ubuntu64Guest'), vimGuestIdToVmx('winNetStandardGuest')]).toEqual(['windows9-64', 'ubuntu-64', 'winNetStandard']);
  });
});

describe('OVA import plan', () => {
  const ovf = parseOvf(ESXI);
  const facts: OvaImportFacts = {
    vmxPath: '/srv/in/win11.ova',
    guest: ovf.guest,
    disks: [],
    locks: [],
    existingGuests: [],
    existingDest: [],
    bridges: ['br0'],
    networks: [],
    domainType: 'qemu',
    ova: {
      kind: 'ova',
      path: '/srv/in/win11.ova',
      descriptorName: 'win11.ovf',
      manifestName: 'win11.mf',
      manifest: ['win11.ovf', ...ovf.files.map((f) => f.href)].map((name, i) => ({ name, algorithm: 'sha256' as const, digest: 'a'.repeat(64), line: i + 1 })),
      files: ['win11.ovf', 'win11.mf', ...ovf.files.map((f) => f.href)].map((name, i) => ({ name, offset: 512 * (2 * i + 1), size: 100, path: null })),
      ovf,
    },
  };
  const req: ImportRequest = { convert: 'qcow2', destDir: '/var/lib/libvirt/images', bus: 'keep', start: true };
  it('reads the archive once (digests + extraction) before converting, then defines, starts and drops the extraction', () => {
    const plan = planOvaImport(facts, req, { uri: 'qemu:///system', xmlFile: '/tmp/x/domain.xml' });
    expect(plan.kind).toBe('import-ova');
    const ids = plan.steps.map((s) => s.id);
    expect(ids[0]).toBe('ova-extract');
    expect(ids.slice(-3)).toEqual(['define', 'start', 'ova-drop']);
    expect(ids.filter((i) => i.endsWith('-convert'))).toHaveLength(4);
    const dir = extractDir(facts, req);
    expect(dir).toBe('/var/lib/libvirt/images/.virtdeck-ova-win11.ova');
    const args = plan.steps[0]?.action?.args as { targets: { name: string; out?: string; algorithm: string }[] };
    expect(args.targets.map((t) => [t.name, t.algorithm, t.out ?? null])).toEqual([
      ['win11.ovf', 'sha256', null],
      ['win11-disk1.vmdk', 'sha256', `${dir}/win11-disk1.vmdk`],
      ['win11-disk2.vmdk', 'sha256', `${dir}/win11-disk2.vmdk`],
      ['win11-disk3.vmdk', 'sha256', `${dir}/win11-disk3.vmdk`],
      ['win11-disk4.vmdk', 'sha256', `${dir}/win11-disk4.vmdk`],
    ]);
    expect(plan.steps[2]?.command?.argv.slice(-2)).toEqual([`${dir}/win11-disk1.vmdk`, '/var/lib/libvirt/images/.win11-disk1.qcow2.virtdeck-tmp/win11-disk1.qcow2']);
    expect(plan.steps[2]?.progress).toEqual({ kind: 'qemu-img', totalBytes: 64 * 2 ** 30 });
    expect(plan.steps[0]?.undo?.action?.name).toBe('ova.removeDir');
    expect(describePlan(plan)[0]).toMatch(/^1 read win11\.ova once: check every file against win11\.mf \(SHA256\), and write its 4 disks into/);
  });
  it('refuses running the streamOptimized vmdk as it is', () => {
    expect(() => planOvaImport(facts, { ...req, convert: 'none' }, { uri: 'qemu:///system', xmlFile: '/x' })).toThrow(/streamOptimized vmdk, which QEMU only reads/);
  });
  it('uses the .vmx refusals on the same facts', () => {
    const f = factsForRequest({ ...facts, existingGuests: ['win11-friends'] }, req);
    expect(checkImport(f, req).refusals.map((r) => r.sentence)).toContain('A guest named win11-friends already exists.');
    expect(guestNameFrom(null, '/srv/in/web01.ova')).toBe('web01');
    expect(diskStems({ ...ovf, disks: ovf.disks.map((d) => ({ ...d, href: '../x y.vmdk' })) })).toEqual(['x-y', 'x-y-1', 'x-y-2', 'x-y-3']);
  });
});
