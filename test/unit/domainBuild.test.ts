import { describe, expect, it } from 'vitest';
import {
  buildDomain,
  controllerDevice,
  diskDevice,
  interfaceDevice,
  libosinfoMetadata,
  node,
  renderDomain,
  serialConsole,
  vncGraphics,
} from '../../src/model/domainBuild.js';
import { domainRoot, firstChild, getSettings, parseDomainXml, serializeDomainXml, setDiskSource, textOf } from '../../src/model/domainXml.js';
import { UserError } from '../../src/model/userError.js';
import { checkXmlText, escapeXml, XML_ESCAPES } from '../../src/model/xmlText.js';

const one = (e: ReturnType<typeof node>) => serializeDomainXml({ nodes: [e] }).trimEnd();

const HOSTILE = `a'b"c<d>e&f]]>g`;

describe('the one XML escaper', () => {
  it('writes every markup character as libvirt does, and ]]> cannot close anything', () => {
    expect(escapeXml(HOSTILE)).toBe('a&apos;b&quot;c&lt;d&gt;e&amp;f]]&gt;g');
    expect(escapeXml(HOSTILE, XML_ESCAPES.libxmlText)).toBe(`a'b"c&lt;d&gt;e&amp;f]]&gt;g`);
    expect(escapeXml('x\ty\n', XML_ESCAPES.libxmlAttr)).toBe('x&#9;y&#10;');
  });

  it('leaves text read from outside as it is, so a document round-trips', () => {
    expect(escapeXml('a\u0001b')).toBe('a\u0001b');
  });

  it('refuses, before new XML is written, characters XML cannot carry', () => {
    for (const bad of ['a\u0001b', 'x\u001b]2;t\u0007', '\u0000', 'a\uffffb', 'lone \ud800 half']) {
      expect(() => checkXmlText(bad), JSON.stringify(bad)).toThrow(UserError);
    }
    expect(() => checkXmlText('a\u0001b')).toThrow(/U\+0001/);
    // The message shows the control character visibly, never raw.
    expect(() => checkXmlText('x\u001b]2;t')).toThrow(/x\\x1b\]2;t/);
    for (const ok of ['tab\there', 'line\nbreak', 'ok \u{1f600}', HOSTILE]) expect(checkXmlText(ok)).toBe(ok);
  });
});

describe('device builders', () => {
  it('a disk on a file, a block device, and an empty CD-ROM in a kept slot', () => {
    expect(one(diskDevice({ path: '/img/a.qcow2', format: 'qcow2', target: 'vda', bus: 'virtio', driver: { discard: 'unmap' } }))).toBe(
      [
        "<disk type='file' device='disk'>",
        "  <driver name='qemu' type='qcow2' discard='unmap'/>",
        "  <source file='/img/a.qcow2'/>",
        "  <target dev='vda' bus='virtio'/>",
        '</disk>',
      ].join('\n'),
    );
    expect(one(diskDevice({ path: '/dev/vg0/files', format: 'raw', target: 'sda', bus: 'sata' }))).toContain("<disk type='block' device='disk'>\n  <driver name='qemu' type='raw'/>\n  <source dev='/dev/vg0/files'/>");
    expect(one(diskDevice({ device: 'cdrom', path: null, format: 'raw', target: 'hdc', bus: 'ide', address: { controller: 0, bus: 1, unit: 0 } }))).toBe(
      [
        "<disk type='file' device='cdrom'>",
        "  <driver name='qemu' type='raw'/>",
        "  <target dev='hdc' bus='ide'/>",
        '  <readonly/>',
        "  <address type='drive' controller='0' bus='1' target='0' unit='0'/>",
        '</disk>',
      ].join('\n'),
    );
  });

  it('interfaces in libvirt order, VNC with its listen child, serial with its console', () => {
    expect(one(interfaceDevice({ kind: 'bridge', source: 'br0' }, 'e1000', '52:54:00:00:00:01'))).toBe(
      "<interface type='bridge'>\n  <mac address='52:54:00:00:00:01'/>\n  <source bridge='br0'/>\n  <model type='e1000'/>\n</interface>",
    );
    expect(one(interfaceDevice({ kind: 'user' }, 'virtio'))).toBe("<interface type='user'>\n  <model type='virtio'/>\n</interface>");
    expect(one(vncGraphics('auto', '127.0.0.1'))).toBe("<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>\n  <listen type='address' address='127.0.0.1'/>\n</graphics>");
    expect(one(vncGraphics(5901, '0.0.0.0'))).toContain("port='5901' autoport='no' listen='0.0.0.0'");
    expect(serialConsole().map(one)).toEqual(["<serial type='pty'>\n  <target port='0'/>\n</serial>", "<console type='pty'>\n  <target type='serial' port='0'/>\n</console>"]);
    expect(one(controllerDevice('scsi', 0, 'lsilogic'))).toBe("<controller type='scsi' index='0' model='lsilogic'/>");
  });

  it('hostile names and paths are escaped once, read back unchanged, and control characters are refused', () => {
    const xml = renderDomain({
      type: 'qemu',
      name: HOSTILE,
      description: HOSTILE,
      metadata: [node('x:y', { 'xmlns:x': 'urn:x', v: HOSTILE }), libosinfoMetadata('http://debian.org/debian/12')],
      memoryMiB: 64,
      vcpus: 1,
      machine: 'pc',
      boot: ['hd'],
      clock: 'utc',
      devices: [diskDevice({ path: `/img/${HOSTILE}`, format: 'raw', target: 'hda', bus: 'ide' }), interfaceDevice({ kind: 'network', source: HOSTILE }, 'e1000')],
    });
    expect(xml).toContain(`<source file='/img/a&apos;b&quot;c&lt;d&gt;e&amp;f]]&gt;g'/>`);
    expect(xml).not.toContain(']]>');
    const doc = parseDomainXml(xml);
    const s = getSettings(doc);
    expect([s.name, s.disks[0]?.source, s.nics[0]?.source]).toEqual([HOSTILE, `/img/${HOSTILE}`, HOSTILE]);
    expect(textOf(firstChild(domainRoot(doc), 'description'))).toBe(HOSTILE);
    expect(serializeDomainXml(doc)).toBe(xml);
    expect(() => diskDevice({ path: '/img/a\u0001.qcow2', format: 'qcow2', target: 'vda', bus: 'virtio' })).toThrow(UserError);
    expect(() => buildDomain({ type: 'kvm', name: 'x\u0007', memoryMiB: 1, vcpus: 1, machine: 'pc', boot: ['hd'], clock: 'utc', devices: [] })).toThrow(/U\+0007/);
  });

  it('the skeleton: libvirt element order, optional parts left out', () => {
    const xml = renderDomain({ type: 'kvm', name: 'g', memoryMiB: 512, vcpus: 2, machine: 'q35', firmware: 'efi', boot: ['cdrom', 'hd'], hyperv: true, cpu: { hostModel: true, topology: { sockets: 1, cores: 2, threads: 1 } }, clock: 'localtime', timers: true, devices: [] });
    const root = domainRoot(parseDomainXml(xml));
    expect(root.children.map((c) => (c.kind === 'element' ? c.name : c.kind))).toEqual([
      'name', 'memory', 'currentMemory', 'vcpu', 'os', 'features', 'cpu', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'devices',
    ]);
    // UEFI without Secure Boot names the build it wants: libvirt's first choice would be the Secure Boot one.
    expect(xml).toContain(
      "<os firmware='efi'>\n    <type arch='x86_64' machine='q35'>hvm</type>\n    <firmware>\n      <feature enabled='no' name='secure-boot'/>\n    </firmware>\n    <boot dev='cdrom'/>\n    <boot dev='hd'/>",
    );
    expect(xml).toContain("<timer name='hypervclock' present='yes'/>");
    expect(xml).toContain("<topology sockets='1' dies='1' cores='2' threads='1'/>");
    const small = renderDomain({ type: 'qemu', name: 'g', memoryMiB: 64, currentMemory: false, vcpus: 1, staticPlacement: false, machine: 'pc', boot: ['hd'], clock: 'utc', devices: [] });
    expect(small).toContain('<vcpu>1</vcpu>');
    expect(small).not.toContain('currentMemory');
    expect(small).toContain("<clock offset='utc'/>");
  });
});

describe('setDiskSource', () => {
  const XML = `<domain type='kvm'><name>w</name><devices>
    <disk type='network' device='disk'><driver name='qemu' type='qcow2' cache='none'/><source protocol='nbd' name='x'><host name='h'/></source><backingStore type='file'><source file='/etc/shadow'/></backingStore><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><target dev='vdb' bus='virtio'/></disk>
  </devices></domain>`;

  it('replaces the source whole, keeps the driver options, drops the stale backing chain', () => {
    const out = serializeDomainXml(setDiskSource(parseDomainXml(XML), 'vda', '/img/n.raw', 'raw'));
    expect(out).toContain("<disk type='file' device='disk'>\n      <driver name='qemu' type='raw' cache='none'/>\n      <source file='/img/n.raw'/>\n      <target dev='vda' bus='virtio'/>");
    expect(out).not.toMatch(/backingStore|shadow|nbd|<host/);
  });

  it('adds a driver and a source where there was none, and a block device is a block disk', () => {
    const doc = setDiskSource(parseDomainXml(XML), 'vdb', '/dev/vg/b', 'raw');
    expect(serializeDomainXml(doc)).toContain("<disk type='block' device='disk'>\n      <driver name='qemu' type='raw'/>\n      <source dev='/dev/vg/b'/>\n      <target dev='vdb' bus='virtio'/>");
    expect(getSettings(doc).disks[1]).toMatchObject({ source: '/dev/vg/b', format: 'raw' });
  });

  it('leaves the input alone and refuses what it cannot do', () => {
    const doc = parseDomainXml(XML);
    const before = serializeDomainXml(doc);
    setDiskSource(doc, 'vda', '/img/n.raw', 'raw');
    expect(serializeDomainXml(doc)).toBe(before);
    expect(() => setDiskSource(doc, 'vdz', '/img/n.raw', 'raw')).toThrow(/no disk "vdz"/);
    expect(() => setDiskSource(doc, 'vda', 'rel.raw', 'raw')).toThrow(/not an absolute path/);
    expect(() => setDiskSource(doc, 'vda', '/img/n', "raw' x='y")).toThrow(/not a disk image format/);
  });
});
