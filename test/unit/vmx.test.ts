import { describe, expect, it } from 'vitest';
import { checkImport, type ImportFacts, planImport } from '../../src/model/importVmwarePlan.js';
import { UserError } from '../../src/model/userError.js';
import { decodeVmxEscapes, isWindowsGuestOS, parseVmx, parseVmxText, vmwareUuidToCanonical } from '../../src/model/vmx.js';
import { vmxToDomainXml } from '../../src/model/vmxToDomain.js';

const W2K3 = `.encoding = "windows-1252"
config.version = "8"
virtualHW.version = "4"
# Converter wrote this
displayName = "W2K3 |22file|22 server"
guestOS = "winNetStandard"
memsize = "512"
numvcpus = "2"
cpuid.coresPerSocket = "2"
uuid.bios = "56 4d b5 06 a2 bd fb eb-ae 86 f7 d8 49 27 d0 c4"
SCSI0.PRESENT = "TRUE"
scsi0.virtualDev = "lsilogic"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "w2k3-000002.vmdk"
scsi0:1.present = "FALSE"
scsi0:1.fileName = "old.vmdk"
ide1:0.present = "TRUE"
ide1:0.deviceType = "cdrom-image"
ide1:0.fileName = "/isos/w2k3.iso"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet"
ethernet0.addressType = "static"
ethernet0.address = "00:50:56:3F:00:01"
ethernet0.networkName = "VM Network"
ethernet1.present = "TRUE"
ethernet1.addressType = "generated"
ethernet1.generatedAddress = "00:0C:29:AB:CD:EF"
floppy0.present = "FALSE"
floppy0.fileName = "A:"
serial0.present = "TRUE"
serial0.fileName = "/dev/ttyS0"
tools.syncTime = "FALSE"   # trailing comment
`;

describe('vmx syntax', () => {
  it('decodes |XX escapes as UTF-8 bytes and leaves lone pipes', () => {
    expect(decodeVmxEscapes('a |7C b |22c|22 |C3|A9 |zz')).toBe('a | b "c" é |zz');
  });
  it('keys are case-insensitive; comments and trailing comments are skipped', () => {
    const f = parseVmxText('# c\nDisplayName = "x"  # note\n\nMEMSIZE = "64"\n');
    expect(f.entries.get('displayname')?.value).toBe('x');
    expect(f.entries.get('memsize')?.line).toBe(4);
  });
  it('refuses an unterminated quote with the line number', () => {
    expect(() => parseVmxText('a = "1"\nmemsize = "64\nb = "2"\n')).toThrow(/line 2: the value of memsize has no closing quote/);
  });
  it('refuses a bare value, as libvirt does (numbers not allowed in VMX format)', () => {
    expect(() => parseVmxText('memsize = 64\n')).toThrow(/line 1: the value of memsize is not in quotes/);
  });
  it('refuses duplicate keys with different values (libvirt takes the first, VMware the last); same value warns', () => {
    const e = (() => {
      try {
        parseVmxText('memsize = "64"\nMemSize = "128"\n');
      } catch (err) {
        return err as UserError;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(UserError);
    expect(e?.sentence).toMatch(/line 2: MemSize is set again \(first on line 1\)/);
    expect(parseVmxText('a = "1"\nA = "1"\n').warnings[0]).toMatch(/set twice with the same value \(lines 1 and 2\)/);
  });
  it('converts VMware UUIDs', () => {
    expect(vmwareUuidToCanonical('56 4d b5 06 a2 bd fb eb-ae 86 f7 d8 49 27 d0 c4')).toBe('564db506-a2bd-fbeb-ae86-f7d84927d0c4');
    expect(vmwareUuidToCanonical('56 4d')).toBeNull();
  });
});

describe('vmx → guest model', () => {
  const g = parseVmx(W2K3, { resolveFile: (n) => (n.startsWith('/') ? n : `/vm/w2k3/${n}`) });
  it('maps the machine', () => {
    expect(g.name).toBe('W2K3 "file" server');
    expect(g.biosUuid).toBe('564db506-a2bd-fbeb-ae86-f7d84927d0c4');
    expect([g.memoryMiB, g.vcpus, g.topology]).toEqual([512, 2, { sockets: 1, cores: 2, threads: 1 }]);
    expect([g.arch, g.windows, g.firmware]).toEqual(['i686', true, 'bios']);
  });
  it('maps disks, CD-ROMs, NICs and serial ports; present=FALSE disables', () => {
    expect(g.disks.map((d) => `${d.key} ${d.device} ${d.target} ${'path' in d.source ? d.source.path : d.source.kind}`)).toEqual([
      'scsi0:0 disk sda /vm/w2k3/w2k3-000002.vmdk',
      'ide1:0 cdrom hdc /isos/w2k3.iso',
    ]);
    expect(g.controllers).toEqual([{ bus: 'scsi', index: 0, model: 'lsilogic' }]);
    expect(g.nics.map((n) => [n.mac, n.macType, n.model, n.connection])).toEqual([
      ['00:50:56:3f:00:01', 'static', 'vmxnet', 'bridged'],
      ['00:0c:29:ab:cd:ef', 'generated', null, 'none'],
    ]);
    expect(g.serials).toEqual([{ port: 0, kind: 'dev', path: '/dev/ttyS0' }]);
    expect(g.disabled).toEqual(['scsi0:1 (present = FALSE)', 'floppy0 (present = FALSE)']);
  });
  it('lists what it did not use instead of dropping it', () => {
    expect(g.ignored).toEqual(['.encoding = windows-1252', 'config.version = 8', 'tools.syncTime = FALSE']);
  });
  it('knows Windows families and 64-bit guests', () => {
    expect(['winXPPro', 'windows9-64', 'longhorn', 'winNetEnterprise'].every(isWindowsGuestOS)).toBe(true);
    expect(isWindowsGuestOS('otherlinux-64')).toBe(false);
    expect(parseVmx('guestOS = "windows9-64"\nfirmware = "efi"\n')).toMatchObject({ arch: 'x86_64', firmware: 'efi', windows: true });
  });
  it('refuses a bad MAC, a bad uuid, a topology that does not divide, an unknown controller — each with its line', () => {
    expect(() => parseVmx('ethernet0.present = "TRUE"\nethernet0.addressType = "static"\nethernet0.address = "00:50:56:zz:00:01"\n')).toThrow(/line 3: ethernet0.address = "00:50:56:zz:00:01" is not a MAC address/);
    expect(() => parseVmx('uuid.bios = "56 4d"\n')).toThrow(/line 1: uuid.bios/);
    expect(() => parseVmx('numvcpus = "3"\ncpuid.coresPerSocket = "2"\n')).toThrow(/line 2: cpuid.coresPerSocket = 2 does not divide numvcpus = 3/);
    expect(() => parseVmx('scsi0.present = "TRUE"\nscsi0.virtualDev = "megaraid"\n')).toThrow(/line 2: scsi0.virtualDev = "megaraid"/);
  });
  it('refuses a hard disk whose file is missing, keeps a CD-ROM empty instead', () => {
    const none = () => null;
    expect(() => parseVmx('ide0:0.present = "TRUE"\nide0:0.fileName = "a.vmdk"\n', { resolveFile: none })).toThrow(/line 2: the hard disk ide0:0 is a.vmdk, which does not exist/);
    const cd = parseVmx('ide0:0.present = "TRUE"\nide0:0.deviceType = "cdrom-image"\nide0:0.fileName = "x.iso"\n', { resolveFile: none });
    expect(cd.disks[0]?.source).toEqual({ kind: 'none' });
  });
});

describe('guest model → KVM domain', () => {
  const g = parseVmx(W2K3, { resolveFile: (n) => (n.startsWith('/') ? n : `/vm/w2k3/${n}`) });
  const nics = [{ kind: 'bridge' as const, source: 'br0' }, { kind: 'user' as const }];
  it('keeps slots, MACs and the SMBIOS UUID; Windows gets localtime', () => {
    const d = vmxToDomainXml(g, { name: 'w2k3', domainType: 'qemu', disks: [{ key: 'scsi0:0', path: '/vm/w2k3/w2k3-000002.vmdk', format: 'vmdk' }], bus: 'keep', nics });
    expect(d.xml).toContain("<domain type='qemu'>");
    expect(d.xml).toContain('<uuid>564db506-a2bd-fbeb-ae86-f7d84927d0c4</uuid>');
    expect(d.xml).toContain("<target dev='sda' bus='scsi'/>");
    expect(d.xml).toContain("<controller type='scsi' index='0' model='lsilogic'/>");
    expect(d.xml).toContain("<target dev='hdc' bus='ide'/>");
    expect(d.xml).toContain("<mac address='00:50:56:3f:00:01'/>");
    expect(d.xml).toContain("<source bridge='br0'/>");
    expect(d.xml).toContain("<clock offset='localtime'>");
    expect(d.xml).not.toContain('<hyperv'); // Windows 2003 and TCG: no enlightenments
    expect(d.warnings.join(' ')).toMatch(/vmxnet, which QEMU does not have; it becomes e1000/);
  });
  it('moves disks to virtio but leaves the CD-ROM on IDE', () => {
    const d = vmxToDomainXml(g, { name: 'w2k3', domainType: 'kvm', disks: [{ key: 'scsi0:0', path: '/x.qcow2', format: 'qcow2' }], bus: 'virtio', nics });
    expect(d.placements).toEqual([
      { key: 'scsi0:0', device: 'disk', bus: 'virtio', target: 'vda' },
      { key: 'ide1:0', device: 'cdrom', bus: 'ide', target: 'hdc' },
    ]);
    expect(d.xml).not.toContain("<controller type='scsi'");
  });
});

describe('import plan', () => {
  const guest = parseVmx(W2K3, { resolveFile: (n) => (n.startsWith('/') ? n : `/vm/w2k3/${n}`) });
  const desc = (cid: number, parentCid: number, hint: string | null) => ({ version: 1, cid, parentCid, createType: 'monolithicSparse', extents: [], ddb: {}, parentFileNameHint: hint });
  const facts: ImportFacts = {
    vmxPath: '/vm/w2k3/w2k3.vmx',
    guest,
    disks: [
      {
        key: 'scsi0:0',
        chain: {
          active: '/vm/w2k3/w2k3-000002.vmdk',
          links: [
            { path: '/vm/w2k3/w2k3-000002.vmdk', descriptor: desc(3, 2, 'w2k3-000001.vmdk') },
            { path: '/vm/w2k3/w2k3-000001.vmdk', descriptor: desc(2, 1, 'w2k3.vmdk') },
            { path: '/vm/w2k3/w2k3.vmdk', descriptor: desc(1, 0xffffffff, null) },
          ],
          snapshot: true,
          warnings: [],
        },
        virtualSize: 8 << 20,
        unused: [],
      },
    ],
    locks: [],
    existingGuests: ['other'],
    existingDest: [],
    bridges: ['br0'],
    networks: [],
    domainType: 'qemu',
  };
  it('converts from the active snapshot into BASE.qcow2, then defines and starts', () => {
    const plan = planImport(facts, { convert: 'qcow2', bus: 'keep', nics: [{ kind: 'bridge', source: 'br0' }, { kind: 'user' }], start: true }, { uri: 'qemu:///system', xmlFile: '/tmp/x/domain.xml' });
    expect(plan.steps.map((s) => s.id)).toEqual(['disk0-tempdir', 'disk0-convert', 'disk0-compare', 'disk0-place', 'disk0-droptemp', 'define', 'start']);
    expect(plan.steps[1]?.command?.argv.slice(-2)).toEqual(['/vm/w2k3/w2k3-000002.vmdk', '/vm/w2k3/.w2k3.qcow2.virtdeck-tmp/w2k3.qcow2']);
    expect(plan.targets).toEqual({ guests: ['W2K3-file-server'], images: ['/vm/w2k3/w2k3.qcow2'] });
  });
  it('warns about snapshots (flattened when converting) and refuses locks, taken names and unknown bridges', () => {
    const ok = checkImport(facts, { convert: 'qcow2', bus: 'keep', start: false });
    expect(ok.warnings.join('\n')).toMatch(/active one, w2k3-000002.vmdk, is used and the older snapshots are flattened/);
    const bad = checkImport({ ...facts, locks: ['/vm/w2k3/w2k3.vmx.lck'] }, { convert: 'none', bus: 'keep', name: 'other', nics: [{ kind: 'bridge', source: 'br9' }, { kind: 'user' }], start: false });
    expect(bad.refusals.map((r) => r.sentence)).toEqual([
      'VMware has this VM open: w2k3.vmx.lck exists; its disks may change while they are read.',
      'A guest named other already exists.',
      'The bridge br9 (for ethernet0) does not exist on this host.',
    ]);
  });
});

describe('vmx files as ESXi and Workstation write them (issue 14 item 5)', () => {
  const head = 'config.version = "8"\nvirtualHW.version = "19"\n';
  it('reads a key with * (the hardening guide) instead of refusing the file, and records it as switched off', () => {
    const g = parseVmx(`${head}pciPassthru*.present = "FALSE"\nisolation.device.*.disable = "TRUE"\nmemsize = "64"\n`);
    expect(g.memoryMiB).toBe(64);
    expect(g.disabled).toEqual(['pciPassthru* (present = FALSE)']);
    expect(g.ignored).toContain('isolation.device.*.disable = TRUE');
  });
  it('names the character a key cannot hold instead of asking for a "="', () => {
    expect(() => parseVmxText('pciPassthru$.present = "FALSE"\n')).toThrow(/line 1: the key pciPassthru\$.present has the character "\$", which a \.vmx key cannot hold/);
  });
  it('leaves out a floppy that is the VMware client machine\'s drive, as for CD-ROMs', () => {
    const g = parseVmx(`${head}floppy0.present = "TRUE"\nfloppy0.clientDevice = "TRUE"\nfloppy0.fileName = "/dev/fd0"\nfloppy0.fileType = "device"\n`);
    expect(g.disks).toEqual([]);
    expect(g.warnings).toContain("floppy0 is the floppy drive of the VMware client's machine; it is left out.");
    expect(g.ignored).toEqual(['config.version = 8']);
  });
  it('reads a bridged NIC with no networkName as libvirt reads a NIC with no network: not connected, with a warning', () => {
    const g = parseVmx(`${head}ethernet0.present = "TRUE"\nethernet0.connectionType = "bridged"\nethernet0.addressType = "generated"\nethernet0.generatedAddress = "00:0c:29:01:02:03"\n`);
    expect(g.nics.map((n) => [n.connection, n.networkName, n.mac])).toEqual([['none', null, '00:0c:29:01:02:03']]);
    expect(g.warnings.join(' ')).toMatch(/ethernet0 is bridged but names no network \(networkName\); it is read as not connected/);
    const named = parseVmx(`${head}ethernet0.present = "TRUE"\nethernet0.connectionType = "bridged"\nethernet0.networkName = "VM Network"\n`);
    expect(named.nics[0]?.connection).toBe('bridged');
  });
  it('names every missing hard disk, not only the first', () => {
    const vmx = `${head}scsi0.present = "TRUE"\nscsi0:0.present = "TRUE"\nscsi0:0.fileName = "a.vmdk"\nscsi0:1.present = "TRUE"\nscsi0:1.fileName = "b.vmdk"\nsata0.present = "TRUE"\nsata0:0.present = "TRUE"\nsata0:0.fileName = "c.vmdk"\n`;
    const err = (() => {
      try {
        parseVmx(vmx, { source: '/vm/x.vmx', resolveFile: (n) => (n === 'b.vmdk' ? `/vm/${n}` : null) });
      } catch (e) {
        return e as UserError;
      }
      return null;
    })();
    expect(err?.sentence).toBe('/vm/x.vmx: 2 hard disks do not exist: scsi0:0 a.vmdk (line 5), sata0:0 c.vmdk (line 10).');
  });
  it('gives a placeholder MAC 00:00:00:00:00:00 a generated address, with a warning', () => {
    const g = parseVmx(`${head}ethernet0.present = "TRUE"\nethernet0.addressType = "static"\nethernet0.address = "00:00:00:00:00:00"\nethernet0.networkName = "VM Network"\n`);
    expect(g.nics[0]?.mac).toBeNull();
    expect(g.warnings.join(' ')).toMatch(/ethernet0.address is the placeholder 00:00:00:00:00:00; ethernet0 gets a generated MAC/);
    const d = vmxToDomainXml(g, { name: 'z', domainType: 'qemu', disks: [], bus: 'keep', nics: [{ kind: 'user' }] });
    expect(d.xml).not.toContain('00:00:00:00:00:00');
  });
});
