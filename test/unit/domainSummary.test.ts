import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { osShortId, summarizeDomainXml } from '../../src/model/domainSummary.js';
import { UserError } from '../../src/model/userError.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/domains/${name}`, import.meta.url), 'utf8');

describe('summarizeDomainXml on real domain XML', () => {
  it('reads a libvirt 9 dumpxml of an imported Windows 2003 guest', () => {
    const s = summarizeDomainXml(fixture('24-libvirt9-dumpxml-w2k3.xml'));
    expect(s).toMatchObject({
      name: 'w2k3-fileserver',
      uuid: '564d1a2b-3c4d-5e6f-7081-92a3b4c5d6e7',
      id: null,
      vcpus: 1,
      memoryKiB: 786432,
      osType: 'win2k3',
      hasSerial: false,
      vnc: { port: 5903, listen: '127.0.0.1' },
    });
    expect(s.disks).toEqual([
      { target: 'hda', device: 'disk', bus: 'ide', source: '/srv/import/w2k3-fileserver/w2k3-fileserver.vmdk', format: 'vmdk' },
      { target: 'hdb', device: 'disk', bus: 'ide', source: '/srv/import/w2k3-fileserver/w2k3-fileserver_1.vmdk', format: 'vmdk' },
      { target: 'hdc', device: 'cdrom', bus: 'ide', source: null, format: 'raw' },
    ]);
    expect(s.nics).toEqual([
      { mac: '00:50:56:3a:7f:01', type: 'bridge', source: 'br0', model: 'e1000' },
      { mac: '00:0c:29:5b:c1:9e', type: 'bridge', source: 'br-dmz', model: 'rtl8139' },
    ]);
  });

  it('names the source of every kind of disk', () => {
    const s = summarizeDomainXml(fixture('23-disk-kinds.xml'));
    expect(s.disks.map((d) => [d.target, d.device, d.source, d.format])).toEqual([
      ['vda', 'disk', '/srv/vm/kinds-root.qcow2', 'qcow2'],
      ['vdb', 'disk', '/dev/vg0/kinds-data', 'raw'],
      ['vdc', 'disk', 'default/kinds-extra.qcow2', 'qcow2'],
      ['hdc', 'cdrom', '/srv/iso/tools.iso', 'raw'],
      ['hdd', 'disk', '/srv/vm/kinds-shared.img', 'raw'],
    ]);
    expect(s.nics).toEqual([{ mac: '', type: 'user', source: null, model: 'virtio' }]);
    expect(s.vnc).toBeNull();
  });

  it('reads every kind of NIC and the serial console', () => {
    const s = summarizeDomainXml(fixture('07-multi-nic.xml'));
    expect(s.nics.map((n) => [n.type, n.source, n.mac])).toEqual([
      ['bridge', 'br-lan', '52:54:00:aa:00:01'],
      ['network', 'isolated', '52:54:00:aa:00:02'],
      ['direct', 'eth9', '52:54:00:aa:00:03'],
      ['user', null, '52:54:00:aa:00:04'],
    ]);
    expect(s.hasSerial).toBe(true);
  });

  it.each([
    ['01-minimal-virtio.xml', { port: 'auto', listen: null }],
    ['08-vnc-fixed-port.xml', { port: 5905, listen: '0.0.0.0' }],
    ['09-spice-qxl.xml', null],
    ['25-libvirt9-dumpxml-q35-efi.xml', { port: 'auto', listen: null }],
  ])('VNC of %s', (file, vnc) => {
    expect(summarizeDomainXml(fixture(file)).vnc).toEqual(vnc);
  });

  it('finds the libosinfo id among other metadata namespaces', () => {
    expect(summarizeDomainXml(fixture('13-metadata-namespaces.xml')).osType).toBe('debian12');
  });
});

describe('summarizeDomainXml on live and unusual XML', () => {
  const live = `<domain type='qemu' id='7'>
  <name>web &amp; mail</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <metadata><os:libosinfo xmlns:os="http://libosinfo.org/xmlns/libvirt/domain/1.0"><os:os id="http://ubuntu.com/ubuntu/22.04"/></os:libosinfo></metadata>
  <memory unit='GiB'>2</memory>
  <vcpu placement='static' current='2'>4</vcpu>
  <devices>
    <console type='pty'><target type='virtio' port='0'/></console>
    <graphics type='spice' port='5930'/>
    <graphics type='vnc' port='5901' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>
  </devices>
</domain>`;

  it('takes the id, the live VNC port, units and current vCPUs', () => {
    expect(summarizeDomainXml(live)).toEqual({
      name: 'web & mail',
      uuid: '11111111-2222-3333-4444-555555555555',
      id: 7,
      vcpus: 2,
      memoryKiB: 2 * 1024 * 1024,
      disks: [],
      nics: [],
      vnc: { port: 5901, listen: '127.0.0.1' },
      osType: 'ubuntu22.04',
      hasSerial: false, // a virtio console is not a serial port
    });
  });

  it('refuses XML that is not a domain', () => {
    expect(() => summarizeDomainXml('<network><name>x</name></network>')).toThrow(/not a libvirt domain XML/);
  });

  it.each([
    ['http://microsoft.com/win/2k3', 'win2k3'],
    ['http://microsoft.com/win/10', 'win10'],
    ['http://debian.org/debian/12', 'debian12'],
    ['http://centos.org/centos/7.0', 'centos7.0'],
    ['http://example.org/', null],
  ])('short id of %s', (id, short) => {
    expect(osShortId(id)).toBe(short);
  });
});

describe('refusals are UserErrors (found by test/security/fuzzDomainXml.test.ts)', () => {
  it('an empty document, a lone "<" and a <domain> without name and uuid', () => {
    for (const xml of ['', '<', '<domain/>', '<domain><name>x</name></domain>']) {
      expect(() => summarizeDomainXml(xml)).toThrow(UserError);
    }
  });
});
