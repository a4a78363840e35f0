import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  addDisk,
  attachIso,
  childElements,
  type DomainDoc,
  domainRoot,
  ejectCdrom,
  firstChild,
  getSettings,
  parseDomainXml,
  removeDisk,
  serializeDomainXml,
  setBootOrder,
  setDiskBus,
  setDomainType,
  setEmulator,
  setMac,
  setMemory,
  setName,
  setUuid,
  setVcpus,
  setVnc,
  type XmlElement,
} from '../../src/model/domainXml.js';
import { UserError } from '../../src/model/userError.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/domains');
const fixtureFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.xml')).sort();
const read = (file: string) => readFileSync(join(FIXTURES, file), 'utf8');
const load = (file: string) => parseDomainXml(read(file));

/** Runs fn and returns the UserError it throws, failing the test if it does not. */
function userError(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    const err = e as UserError;
    expect(err.sentence).toMatch(/\.$|\)$/);
    expect(err.fix.length).toBeGreaterThan(5);
    return err;
  }
  throw new Error('expected a UserError');
}

/** Tag names, attributes and comments in document order, read with a regex independent of the parser. */
function markupInventory(xml: string): string[] {
  const items: string[] = [];
  for (const m of xml.matchAll(/<!--([\s\S]*?)-->|<([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:'[^']*'|"[^"]*"))*)\s*\/?>/g)) {
    if (m[1] !== undefined) items.push(`comment:${m[1]}`);
    else {
      items.push(`element:${m[2]}`);
      for (const a of (m[3] ?? '').matchAll(/([\w:.-]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g)) items.push(`@${a[1]}=${a[2] ?? a[3]}`);
    }
  }
  return items.map((s) => s.replace(/&apos;/g, "'").replace(/&quot;/g, '"'));
}

function devices(doc: DomainDoc): XmlElement {
  return firstChild(domainRoot(doc), 'devices') as XmlElement;
}

describe('round trip', () => {
  it('has at least 20 fixtures', () => {
    expect(fixtureFiles.length).toBeGreaterThanOrEqual(20);
  });

  it.each(fixtureFiles)('%s keeps every element, attribute, comment and the device order', (file) => {
    const xml = read(file);
    const doc = parseDomainXml(xml);
    const out = serializeDomainXml(doc);
    expect(parseDomainXml(out)).toEqual(doc);
    expect(markupInventory(out)).toEqual(markupInventory(xml));
    expect(serializeDomainXml(parseDomainXml(out))).toBe(out);
    // Fixtures in libvirt's own layout (and the real dumpxml captures) come back byte for byte.
    if (!xml.includes('\t')) expect(out).toBe(xml);
  });

  it('keeps the declaration, comments and entities of a hand-written file', () => {
    const out = serializeDomainXml(load('14-comments-and-style.xml'));
    expect(out.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<!-- Hand-written')).toBe(true);
    expect(out).toContain('<!-- PXE first -->');
    expect(out).toContain('<!-- trailing comment -->');
    expect(out).toContain("file='/srv/vm/hand written &amp; spaced.img'");
  });

  it('decodes entities and character references and re-escapes them', () => {
    const doc = parseDomainXml("<domain type='kvm'><name>a&amp;b</name><description>&lt;x&gt; &#65;&#x42; &apos;q&quot;</description></domain>");
    const root = domainRoot(doc);
    const description = firstChild(root, 'description');
    expect(description?.children[0]).toEqual({ kind: 'text', text: `<x> AB 'q"` });
    expect(serializeDomainXml(doc)).toContain('<description>&lt;x&gt; AB &apos;q&quot;</description>');
  });

  it('keeps foreign namespaces in metadata with libxml2 quoting', () => {
    const out = serializeDomainXml(load('13-metadata-namespaces.xml'));
    expect(out).toContain('<libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">');
    expect(out).toContain('<app1:note>weekly full on "Sunday"</app1:note>');
  });

  it('keeps CDATA and mixed text verbatim', () => {
    const xml = "<domain type='kvm'>\n  <name>x</name>\n  <description><![CDATA[a <b> c]]></description>\n</domain>\n";
    expect(serializeDomainXml(parseDomainXml(xml))).toBe(xml);
  });
});

describe('parseDomainXml rejects', () => {
  it.each([
    ['', /empty/],
    ['   \n', /empty/],
    ["<domain type='kvm'><name>x</domain>", /not well-formed at line 1/],
    ['<domain><name>x</name>', /not well-formed/],
    ["<domain a='1' a='2'/>", /not well-formed/],
    ['just text', /not well-formed|not a libvirt/],
    ["<network><name>default</name></network>", /<network> at its root/],
  ])('%j', (xml, why) => {
    expect(userError(() => parseDomainXml(xml)).sentence).toMatch(why);
  });
});

describe('getSettings', () => {
  it('reads the Windows 2003 guest imported from VMware', () => {
    expect(getSettings(load('21-win2003-from-vmware.xml'))).toEqual({
      name: 'w2k3-fileserver',
      uuid: '564d1a2b-3c4d-5e6f-7081-92a3b4c5d6e7',
      type: 'kvm',
      memoryKiB: 786432,
      vcpus: 1,
      nics: [
        { index: 0, mac: '00:50:56:3a:7f:01', type: 'bridge', source: 'br0', model: 'e1000' },
        { index: 1, mac: '00:0c:29:5b:c1:9e', type: 'bridge', source: 'br-dmz', model: 'rtl8139' },
      ],
      vnc: { port: 5903, listen: '127.0.0.1' },
      bootOrder: ['hd', 'cdrom'],
      disks: [
        { target: 'hda', device: 'disk', bus: 'ide', source: '/srv/import/w2k3-fileserver/w2k3-fileserver.vmdk', format: 'vmdk' },
        { target: 'hdb', device: 'disk', bus: 'ide', source: '/srv/import/w2k3-fileserver/w2k3-fileserver_1.vmdk', format: 'vmdk' },
        { target: 'hdc', device: 'cdrom', bus: 'ide', source: null, format: 'raw' },
      ],
    });
  });

  it('converts memory units and reads NIC kinds', () => {
    expect(getSettings(load('02-ide-disk-empty-cdrom.xml')).memoryKiB).toBe(262144);
    expect(getSettings(load('03-q35-efi-sata.xml')).memoryKiB).toBe(1048576);
    expect(getSettings(load('07-multi-nic.xml')).nics.map((n) => [n.type, n.source, n.model])).toEqual([
      ['bridge', 'br-lan', 'virtio'],
      ['network', 'isolated', 'e1000'],
      ['direct', 'eth9', 'virtio'],
      ['user', null, 'rtl8139'],
    ]);
  });

  it('reads per-device boot order, vnc autoport, no vnc, and non-file disks', () => {
    const perDevice = getSettings(load('08-vnc-fixed-port.xml'));
    expect(perDevice.bootOrder).toEqual(['hd', 'network']);
    expect(perDevice.vnc).toEqual({ port: 5905, listen: '0.0.0.0' });
    expect(getSettings(load('01-minimal-virtio.xml')).vnc).toEqual({ port: 'auto', listen: null });
    expect(getSettings(load('05-usb-disk.xml')).vnc).toEqual({ port: 'auto', listen: null });
    expect(getSettings(load('09-spice-qxl.xml')).vnc).toBeNull();
    expect(getSettings(load('23-disk-kinds.xml')).disks.map((d) => d.source)).toEqual([
      '/srv/vm/kinds-root.qcow2',
      '/dev/vg0/kinds-data',
      'default/kinds-extra.qcow2',
      '/srv/iso/tools.iso',
      '/srv/vm/kinds-shared.img',
    ]);
  });
});

describe('edits return a new document and leave the input alone', () => {
  const edits: [string, (d: DomainDoc) => DomainDoc][] = [
    ['setMemory', (d) => setMemory(d, 1048576)],
    ['setVcpus', (d) => setVcpus(d, 3)],
    ['setMac', (d) => setMac(d, 0, '52:54:00:00:00:01')],
    ['setVnc', (d) => setVnc(d, { port: 5999 })],
    ['setBootOrder', (d) => setBootOrder(d, ['cdrom'])],
    ['attachIso', (d) => attachIso(d, '/iso/a.iso')],
    ['ejectCdrom', (d) => ejectCdrom(d, 'hdc')],
    ['setDiskBus', (d) => setDiskBus(d, 'hda', 'sata')],
    ['addDisk', (d) => addDisk(d, { source: '/a.qcow2', format: 'qcow2', bus: 'virtio' })],
    ['removeDisk', (d) => removeDisk(d, 'hdb')],
    ['setName', (d) => setName(d, 'other')],
    ['setUuid', (d) => setUuid(d, null)],
    ['setDomainType', (d) => setDomainType(d, 'qemu')],
    ['setEmulator', (d) => setEmulator(d, '/usr/bin/qemu-system-i386')],
  ];
  it.each(edits)('%s', (name, edit) => {
    // The VMware import has an empty CD-ROM; the disk-kinds guest has media to eject.
    const doc = load(name === 'ejectCdrom' ? '23-disk-kinds.xml' : '21-win2003-from-vmware.xml');
    const before = structuredClone(doc);
    const after = edit(doc);
    expect(doc).toEqual(before);
    expect(after).not.toBe(doc);
    expect(serializeDomainXml(after)).not.toBe(serializeDomainXml(doc));
  });
});

describe('setMemory', () => {
  it('sets memory and currentMemory in KiB', () => {
    const s = serializeDomainXml(setMemory(load('02-ide-disk-empty-cdrom.xml'), 524288));
    expect(s).toContain("<memory unit='KiB'>524288</memory>\n  <currentMemory unit='KiB'>524288</currentMemory>");
    expect(getSettings(setMemory(load('05-usb-disk.xml'), 65536)).memoryKiB).toBe(65536);
  });
  it.each([0, -1, 1.5, Number.NaN, 512, 2 ** 45])('rejects %d', (kib) => {
    userError(() => setMemory(load('01-minimal-virtio.xml'), kib));
  });
  it('explains that the size is KiB', () => {
    expect(userError(() => setMemory(load('01-minimal-virtio.xml'), 512)).sentence).toMatch(/KiB, not MiB/);
  });
});

describe('setVcpus', () => {
  it('drops a lower current and keeps placement', () => {
    const doc = setVcpus(load('17-cpu-model-numa.xml'), 2);
    const vcpu = firstChild(domainRoot(doc), 'vcpu') as XmlElement;
    expect(vcpu.attrs).toEqual({ placement: 'static' });
    expect(getSettings(doc).vcpus).toBe(2);
  });
  it('keeps the CPU topology consistent and drops pins beyond the count', () => {
    const s = serializeDomainXml(setVcpus(load('17-cpu-model-numa.xml'), 2));
    expect(s).toContain("<topology sockets='1' dies='1' cores='2' threads='1'/>");
    expect(s).toContain("<vcpupin vcpu='0' cpuset='0'/>");
    expect(s).not.toContain("vcpu='3'");
    const odd = serializeDomainXml(setVcpus(load('15-windows10-hyperv.xml'), 3));
    expect(odd).toContain("<topology sockets='3' dies='1' cores='1' threads='1'/>");
  });
  it.each([0, -2, 1025, 2.5])('rejects %d', (n) => {
    userError(() => setVcpus(load('01-minimal-virtio.xml'), n));
  });
});

describe('setMac', () => {
  it('normalises and sets, creating <mac> when missing', () => {
    expect(getSettings(setMac(load('07-multi-nic.xml'), 2, '52-54-00-AA-BB-CC')).nics[2]?.mac).toBe('52:54:00:aa:bb:cc');
    const doc = setMac(load('02-ide-disk-empty-cdrom.xml'), 0, '00:50:56:00:00:01');
    const nic = childElements(devices(doc), 'interface')[0] as XmlElement;
    expect(nic.children[0]).toMatchObject({ name: 'mac', attrs: { address: '00:50:56:00:00:01' } });
  });
  it.each([
    ['01:00:5e:00:00:01', /multicast/],
    ['00:00:00:00:00:00', /all-zero/],
    ['52:54:00:zz:00:01', /not a MAC/],
  ])('rejects %s', (mac, why) => {
    expect(userError(() => setMac(load('01-minimal-virtio.xml'), 0, mac)).sentence).toMatch(why);
  });
  it('rejects an unknown NIC index', () => {
    expect(userError(() => setMac(load('01-minimal-virtio.xml'), 1, '52:54:00:00:00:01')).fix).toMatch(/from 0 to 0/);
  });
});

describe('setVnc', () => {
  it('sets a fixed port and listen address', () => {
    const doc = setVnc(load('01-minimal-virtio.xml'), { port: 5901, listen: '127.0.0.1' });
    expect(serializeDomainXml(doc)).toContain(
      "<graphics type='vnc' port='5901' autoport='no' listen='127.0.0.1'>\n      <listen type='address' address='127.0.0.1'/>\n    </graphics>",
    );
  });
  it('switches to autoport and keeps other attributes', () => {
    const s = serializeDomainXml(setVnc(load('08-vnc-fixed-port.xml'), { port: 'auto' }));
    expect(s).toContain("<graphics type='vnc' port='-1' autoport='yes' listen='0.0.0.0' keymap='de' passwd='s3cret'>");
    expect(getSettings(parseDomainXml(s)).vnc).toEqual({ port: 'auto', listen: '0.0.0.0' });
  });
  it('creates <graphics type="vnc"> when missing, beside SPICE', () => {
    const doc = setVnc(load('10-filesystem-9p.xml'), { port: 'auto', listen: '::1' });
    expect(getSettings(doc).vnc).toEqual({ port: 'auto', listen: '::1' });
    expect(getSettings(setVnc(load('09-spice-qxl.xml'), { port: 5900 })).vnc).toEqual({ port: 5900, listen: null });
  });
  it('accepts host names and IPv6', () => {
    for (const listen of ['0.0.0.0', '::', 'fe80::1', 'vmhost.example.org', 'localhost']) {
      expect(getSettings(setVnc(load('01-minimal-virtio.xml'), { port: 'auto', listen })).vnc?.listen).toBe(listen);
    }
  });
  it('rejects a port below 5900 and says why', () => {
    const err = userError(() => setVnc(load('01-minimal-virtio.xml'), { port: 5800 }));
    expect(err.sentence).toMatch(/5900\+N/);
    expect(err.fix).toMatch(/5900 to 65535/);
  });
  it.each([[{ port: 65536 }], [{ port: 5900.5 }], [{ port: 'auto' as const, listen: '300.1.1.1' }], [{ port: 'auto' as const, listen: 'a b' }], [{ port: 'auto' as const, listen: '' }]])(
    'rejects %j',
    (opts) => {
      userError(() => setVnc(load('01-minimal-virtio.xml'), opts));
    },
  );
});

describe('setBootOrder', () => {
  it('replaces os/boot in place', () => {
    const s = serializeDomainXml(setBootOrder(load('02-ide-disk-empty-cdrom.xml'), ['hd', 'network']));
    expect(s).toContain("<type arch='i686' machine='pc'>hvm</type>\n    <boot dev='hd'/>\n    <boot dev='network'/>\n    <bootmenu");
  });
  it('removes per-device <boot order> that libvirt refuses beside os/boot', () => {
    const doc = setBootOrder(load('08-vnc-fixed-port.xml'), ['network', 'hd']);
    const s = serializeDomainXml(doc);
    expect(s).not.toContain('<boot order');
    expect(s).toContain("<type arch='x86_64' machine='pc'>hvm</type>\n    <boot dev='network'/>\n    <boot dev='hd'/>\n  </os>");
    expect(getSettings(doc).bootOrder).toEqual(['network', 'hd']);
  });
  it('goes after loader and nvram', () => {
    const s = serializeDomainXml(setBootOrder(load('16-efi-loader-nvram.xml'), ['cdrom', 'hd']));
    expect(s).toMatch(/<\/nvram>\n {4}<boot dev='cdrom'\/>\n {4}<boot dev='hd'\/>\n {2}<\/os>/);
  });
  it.each([[[]], [['usb']], [['hd', 'hd']]])('rejects %j', (order) => {
    userError(() => setBootOrder(load('01-minimal-virtio.xml'), order));
  });
});

describe('attachIso / ejectCdrom', () => {
  it('fills an empty drive', () => {
    const doc = attachIso(load('02-ide-disk-empty-cdrom.xml'), '/srv/iso/win.iso');
    const cdroms = getSettings(doc).disks.filter((d) => d.device === 'cdrom');
    expect(cdroms).toEqual([{ target: 'hdc', device: 'cdrom', bus: 'ide', source: '/srv/iso/win.iso', format: 'raw' }]);
    expect(serializeDomainXml(doc)).toContain(
      "<driver name='qemu' type='raw'/>\n      <source file='/srv/iso/win.iso'/>\n      <target dev='hdc' bus='ide'/>",
    );
  });
  it('adds a drive when none is empty: hdc on ide (i440fx), sata on q35, scsi with a controller', () => {
    const ide = getSettings(attachIso(load('01-minimal-virtio.xml'), '/a.iso')).disks.at(-1);
    expect(ide).toMatchObject({ target: 'hdc', bus: 'ide', device: 'cdrom', source: '/a.iso' });
    const q35 = getSettings(attachIso(load('03-q35-efi-sata.xml'), '/a.iso')).disks.at(-1);
    expect(q35).toMatchObject({ target: 'sdc', bus: 'sata', device: 'cdrom' });
    const scsiDoc = attachIso(load('01-minimal-virtio.xml'), '/a.iso', { bus: 'scsi' });
    expect(getSettings(scsiDoc).disks.at(-1)).toMatchObject({ target: 'sda', bus: 'scsi' });
    expect(serializeDomainXml(scsiDoc)).toContain("<controller type='scsi' index='0' model='virtio-scsi'/>");
    expect(serializeDomainXml(scsiDoc)).toMatch(/<target dev='sda' bus='scsi'\/>\n {6}<readonly\/>/);
  });
  it('picks hdd when hdc is taken, and refuses a fifth IDE device', () => {
    const doc = attachIso(load('23-disk-kinds.xml'), '/b.iso', { bus: 'sata' });
    expect(getSettings(doc).disks.at(-1)).toMatchObject({ target: 'sda', bus: 'sata' });
    const full = attachIso(attachIso(load('21-win2003-from-vmware.xml'), '/a.iso'), '/b.iso');
    expect(getSettings(full).disks.map((d) => d.target)).toEqual(['hda', 'hdb', 'hdc', 'hdd']);
    expect(userError(() => attachIso(full, '/c.iso', { bus: 'ide' })).sentence).toMatch(/IDE/);
  });
  it('rejects a relative path, an unknown bus and IDE on q35', () => {
    userError(() => attachIso(load('01-minimal-virtio.xml'), 'win.iso'));
    userError(() => attachIso(load('01-minimal-virtio.xml'), '/a.iso', { bus: 'virtio' as 'ide' }));
    expect(userError(() => attachIso(load('16-efi-loader-nvram.xml'), '/a.iso', { bus: 'ide' })).fix).toMatch(/sata/);
  });
  it('ejects media but keeps the drive', () => {
    const doc = ejectCdrom(load('03-q35-efi-sata.xml'), 'sdb');
    expect(getSettings(doc).disks[1]).toEqual({ target: 'sdb', device: 'cdrom', bus: 'sata', source: null, format: 'raw' });
  });
  it('rejects ejecting a hard disk or an unknown target', () => {
    expect(userError(() => ejectCdrom(load('03-q35-efi-sata.xml'), 'sda')).sentence).toMatch(/not a CD-ROM/);
    expect(userError(() => ejectCdrom(load('03-q35-efi-sata.xml'), 'hdz')).fix).toMatch(/sda, sdb/);
  });
});

describe('setDiskBus', () => {
  it('renames the target, drops the stale address and adds a SCSI controller', () => {
    const doc = setDiskBus(load('02-ide-disk-empty-cdrom.xml'), 'hda', 'scsi');
    const disk = childElements(devices(doc), 'disk')[0] as XmlElement;
    expect(firstChild(disk, 'target')?.attrs).toEqual({ dev: 'sda', bus: 'scsi' });
    expect(firstChild(disk, 'address')).toBeUndefined();
    expect(childElements(devices(doc), 'controller').map((c) => c.attrs)).toContainEqual({ type: 'scsi', index: '0', model: 'virtio-scsi' });
  });
  it('picks a free name of the new prefix', () => {
    const doc = setDiskBus(load('21-win2003-from-vmware.xml'), 'hdb', 'virtio');
    expect(getSettings(doc).disks.map((d) => `${d.target}:${d.bus}`)).toEqual(['hda:ide', 'vda:virtio', 'hdc:ide']);
    const sata = setDiskBus(load('03-q35-efi-sata.xml'), 'sda', 'virtio');
    expect(getSettings(sata).disks[0]).toMatchObject({ target: 'vda', bus: 'virtio' });
    const scsiToSata = setDiskBus(load('04-scsi-controller.xml'), 'sdb', 'sata');
    expect(getSettings(scsiToSata).disks[1]).toMatchObject({ target: 'sdb', bus: 'sata' });
  });
  it('does not add a second SCSI controller', () => {
    const doc = setDiskBus(load('04-scsi-controller.xml'), 'sda', 'virtio');
    const back = setDiskBus(doc, 'vda', 'scsi');
    expect(childElements(devices(back), 'controller').filter((c) => c.attrs.type === 'scsi')).toHaveLength(1);
  });
  it('rejects an unknown bus with the valid ones, an unknown disk, a virtio CD-ROM and IDE on q35', () => {
    expect(userError(() => setDiskBus(load('01-minimal-virtio.xml'), 'vda', 'nvme')).fix).toBe('Use one of ide, sata, scsi, virtio.');
    userError(() => setDiskBus(load('01-minimal-virtio.xml'), 'vdz', 'ide'));
    userError(() => setDiskBus(load('02-ide-disk-empty-cdrom.xml'), 'hdc', 'virtio'));
    userError(() => setDiskBus(load('03-q35-efi-sata.xml'), 'sda', 'ide'));
  });
});

describe('addDisk / removeDisk', () => {
  it('adds after the last disk with a free target', () => {
    const doc = addDisk(load('13-metadata-namespaces.xml'), { source: '/srv/vm/new.qcow2', format: 'qcow2', bus: 'virtio' });
    const disks = childElements(devices(doc), 'disk');
    expect(getSettings(doc).disks.at(-1)).toEqual({ target: 'vdc', device: 'disk', bus: 'virtio', source: '/srv/vm/new.qcow2', format: 'qcow2' });
    expect(devices(doc).children.indexOf(disks[2] as XmlElement)).toBe(2);
  });
  it('uses type=block for /dev paths, honours target and device', () => {
    const doc = addDisk(load('01-minimal-virtio.xml'), { source: '/dev/vg0/data', format: 'raw', bus: 'sata', target: 'sdc' });
    expect(serializeDomainXml(doc)).toContain("<disk type='block' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <source dev='/dev/vg0/data'/>");
    const cd = addDisk(load('01-minimal-virtio.xml'), { source: '/a.iso', format: 'raw', bus: 'ide', device: 'cdrom' });
    expect(getSettings(cd).disks.at(-1)).toMatchObject({ target: 'hda', device: 'cdrom' });
    const fd = addDisk(load('06-floppy.xml'), { source: '/b.img', format: 'raw', bus: 'fdc', device: 'floppy' });
    expect(getSettings(fd).disks.at(-1)).toMatchObject({ target: 'fdb', bus: 'fdc' });
  });
  it.each([
    [{ source: 'rel.qcow2', format: 'qcow2', bus: 'virtio' }, /absolute/],
    [{ source: '/a', format: 'iso', bus: 'virtio' }, /format/],
    [{ source: '/a', format: 'raw', bus: 'nvme' }, /bus/],
    [{ source: '/a', format: 'raw', bus: 'virtio', target: 'vda' }, /already/],
    [{ source: '/a', format: 'raw', bus: 'virtio', target: 'sdb' }, /does not fit/],
    [{ source: '/a', format: 'raw', bus: 'virtio', device: 'cdrom' as const }, /virtio/],
  ])('rejects %j', (disk, why) => {
    expect(userError(() => addDisk(load('01-minimal-virtio.xml'), disk)).sentence).toMatch(why);
  });
  it('removes a disk and rejects an unknown target', () => {
    expect(getSettings(removeDisk(load('21-win2003-from-vmware.xml'), 'hdb')).disks.map((d) => d.target)).toEqual(['hda', 'hdc']);
    expect(userError(() => removeDisk(load('01-minimal-virtio.xml'), 'sdq')).fix).toBe('Pick one of vda.');
  });
});

describe('identity edits', () => {
  it('setName and setUuid', () => {
    const doc = setUuid(setName(load('01-minimal-virtio.xml'), 'web01-restored'), 'ABCDEF01234567890123456789ABCDEF');
    expect(getSettings(doc)).toMatchObject({ name: 'web01-restored', uuid: 'abcdef01-2345-6789-0123-456789abcdef' });
    expect(getSettings(setUuid(doc, null)).uuid).toBeNull();
    const added = setUuid(setUuid(doc, null), '6f1c3a4e-2b7d-4c1e-9a3f-0d5e8b7a6c21');
    expect(serializeDomainXml(added)).toMatch(/<name>web01-restored<\/name>\n {2}<uuid>6f1c3a4e/);
  });
  it.each(['', 'a/b', 'with space', '-lead', 'x'.repeat(65)])('rejects name %j', (name) => {
    userError(() => setName(load('01-minimal-virtio.xml'), name));
  });
  it.each(['nope', '6f1c3a4e-2b7d-4c1e-9a3f', 'g'.repeat(32)])('rejects uuid %j', (uuid) => {
    userError(() => setUuid(load('01-minimal-virtio.xml'), uuid));
  });
  it('setDomainType and setEmulator', () => {
    expect(getSettings(setDomainType(load('01-minimal-virtio.xml'), 'qemu')).type).toBe('qemu');
    expect(serializeDomainXml(setEmulator(load('01-minimal-virtio.xml'), null))).not.toContain('<emulator>');
    expect(serializeDomainXml(setEmulator(load('02-ide-disk-empty-cdrom.xml'), '/usr/bin/qemu-system-i386'))).toContain(
      '<devices>\n    <emulator>/usr/bin/qemu-system-i386</emulator>',
    );
    userError(() => setEmulator(load('01-minimal-virtio.xml'), 'qemu'));
  });
});

describe('what the fuzz tests found (test/security/fuzzDomainXml.test.ts)', () => {
  it('a processing instruction the validator passes but the parser cannot read is a UserError', () => {
    const e = userError(() => parseDomainXml(`<?'xml version="1.0"?>\n<domain type="kvm"><name>x</name></domain>\n`));
    expect(e.sentence).toMatch(/not well-formed/);
  });
  it('a character reference outside the characters XML allows is a UserError, not a RangeError', () => {
    for (const ref of ['&#x110000;', '&#99999999;', '&#0;', '&#xD800;']) {
      const e = userError(() => parseDomainXml(`<domain><domain><domain>${ref}</domain></domain></domain>`));
      expect(e.sentence).toContain(ref);
    }
    expect(getSettings(parseDomainXml("<domain><name>&#x41;&#66;&#x1F600;</name></domain>")).name).toBe('AB\u{1F600}');
  });
});

describe('edits libvirt would reject or silently undo (issue 12, items 17–21)', () => {
  const numaXml = (extra = '', cells = "<cell id='0' cpus='0-1' memory='524288' unit='KiB'/><cell id='1' cpus='2-3' memory='512' unit='MiB'/>") =>
    parseDomainXml(
      `<domain type='qemu'><name>n</name><memory unit='KiB'>1048576</memory><vcpu placement='static'>4</vcpu>${extra}<os><type arch='x86_64' machine='pc'>hvm</type></os><cpu><numa>${cells}</numa></cpu><devices/></domain>`,
    );
  const cellKiB = (doc: DomainDoc) =>
    childElements(firstChild(firstChild(domainRoot(doc), 'cpu') as XmlElement, 'numa') as XmlElement, 'cell').map((c) => `${c.attrs.memory} ${c.attrs.unit}`);

  it('setMemory scales the NUMA cells so libvirt keeps the new size', () => {
    const doc = setMemory(numaXml(), 2097152);
    expect(cellKiB(doc)).toEqual(['1048576 KiB', '1048576 KiB']);
    expect(getSettings(doc).memoryKiB).toBe(2097152);
    const uneven = setMemory(numaXml('', "<cell id='0' cpus='0' memory='256' unit='MiB'/><cell id='1' cpus='1-3' memory='768' unit='MiB'/>"), 1536 * 1024);
    expect(cellKiB(uneven)).toEqual(['393216 KiB', '1179648 KiB']);
  });
  it('setMemory leaves hotplugged memory devices outside the cells, and refuses what cannot be split', () => {
    const dimm = parseDomainXml(
      serializeDomainXml(numaXml("<maxMemory slots='4' unit='KiB'>8388608</maxMemory>")).replace(
        '<devices/>',
        "<devices><memory model='dimm'><target><size unit='MiB'>512</size><node>0</node></target></memory></devices>",
      ),
    );
    expect(cellKiB(setMemory(dimm, 2097152))).toEqual(['786432 KiB', '786432 KiB']);
    expect(userError(() => setMemory(dimm, 524288)).sentence).toMatch(/NUMA cells/);
    expect(userError(() => setMemory(numaXml(), 1048576 + 4)).fix).toMatch(/multiple of 1024 KiB/);
    const huge = numaXml("<memoryBacking><hugepages><page size='1' unit='GiB'/></hugepages></memoryBacking>");
    expect(userError(() => setMemory(huge, 2.5 * 1024 * 1024)).sentence).toMatch(/1024 MiB huge pages/);
    expect(cellKiB(setMemory(huge, 4 * 1024 * 1024))).toEqual(['2097152 KiB', '2097152 KiB']);
  });
  it('setVcpus refuses fewer vCPUs than the NUMA cells name, before define', () => {
    expect(userError(() => setVcpus(numaXml(), 2)).sentence).toMatch(/NUMA cells name 4 CPUs/);
    expect(userError(() => setVcpus(numaXml('', "<cell id='0' cpus='0,6-7,^7' memory='1048576'/>"), 4)).fix).toMatch(/at least 7/);
    expect(getSettings(setVcpus(numaXml(), 6)).vcpus).toBe(6);
  });
  it('setVnc on a socket display drops the socket form for the TCP port', () => {
    const socket = parseDomainXml(
      "<domain type='qemu'><name>s</name><devices><graphics type='vnc' socket='/run/x.sock'><listen type='socket' socket='/run/x.sock'/></graphics></devices></domain>",
    );
    for (const port of [5977, 'auto'] as const) {
      const xml = serializeDomainXml(setVnc(socket, { port }));
      expect(xml).not.toContain('socket');
      expect(xml).toMatch(/<graphics type='vnc' port='(5977|-1)' autoport='(no|yes)'\/>/);
    }
  });
  it('setDiskBus drops what only the old bus has (virtio driver options, model, wwn, vendor)', () => {
    const doc = parseDomainXml(
      "<domain type='qemu'><name>b</name><iothreads>1</iothreads><devices><disk type='file' device='disk' model='virtio-non-transitional'><driver name='qemu' type='qcow2' cache='none' iothread='1' queues='2' queue_size='256' ioeventfd='on' event_idx='on' packed='on'/><source file='/x'/><target dev='vda' bus='virtio'/></disk></devices></domain>",
    );
    const sata = serializeDomainXml(setDiskBus(doc, 'vda', 'sata'));
    expect(sata).toContain("<disk type='file' device='disk'>");
    expect(sata).toContain("<driver name='qemu' type='qcow2' cache='none'/>");
    const scsi = setDiskBus(
      parseDomainXml(
        "<domain type='qemu'><name>b</name><devices><disk type='file' device='disk'><source file='/x'/><target dev='sda' bus='scsi' rotation_rate='1'/><wwn>0x5000c50015ea71ac</wwn><vendor>V</vendor><product>P</product></disk></devices></domain>",
      ),
      'sda',
      'virtio',
    );
    expect(serializeDomainXml(scsi)).not.toMatch(/rotation_rate|wwn|vendor|product/);
  });
  it('attachIso uses SATA when hda–hdd are taken and no bus was asked for; an explicit ide still refuses', () => {
    const full = attachIso(attachIso(load('21-win2003-from-vmware.xml'), '/a.iso'), '/b.iso');
    expect(getSettings(attachIso(full, '/c.iso')).disks.at(-1)).toMatchObject({ target: 'sda', bus: 'sata', device: 'cdrom', source: '/c.iso' });
    expect(userError(() => attachIso(full, '/c.iso', { bus: 'ide' })).sentence).toMatch(/IDE/);
  });
  it('reads CRLF, a BOM, character references and line ends in attributes the way libvirt does', () => {
    const doc = parseDomainXml(
      "\uFEFF<domain type='qemu'>\r\n  <name>c</name>\r\n  <description>caf&#233; 1\r\n2&#13;</description>\r\n  <devices><disk type='file' device='disk'><source file='/a\r\nb&#10;c'/><target dev='vda'/></disk></devices>\r\n</domain>\r\n",
    );
    const xml = serializeDomainXml(doc);
    expect(xml.startsWith('<domain')).toBe(true);
    expect(xml).toContain('<description>café 1\n2\r</description>');
    expect(getSettings(doc).disks[0]?.source).toBe('/a b\nc');
  });
});
