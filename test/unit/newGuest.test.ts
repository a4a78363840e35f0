import { describe, expect, it } from 'vitest';
import {
  buildDomainXml,
  type NewGuestFacts,
  type NewGuestSpec,
  osDefaults,
  type PathKind,
  planNewGuest,
  qemuImgSize,
  type SpecField,
  validateSpec,
} from '../../src/model/newGuest.js';

function spec(over: Partial<NewGuestSpec> = {}): NewGuestSpec {
  return {
    name: 'web1',
    osType: 'linux',
    variant: 'debian12',
    memoryMiB: 1024,
    vcpus: 2,
    install: { kind: 'iso', isoPath: '/iso/debian.iso' },
    newDisk: { path: '/var/lib/libvirt/images/web1.qcow2', format: 'qcow2', sizeBytes: 20 * 1024 ** 3 },
    network: { kind: 'bridge', source: 'br0', mac: '52:54:00:12:34:56' },
    graphics: { vnc: 'auto', listen: '127.0.0.1' },
    serial: true,
    domainType: 'kvm',
    ...over,
  };
}

const PATHS: Record<string, PathKind> = {
  '/iso/debian.iso': 'file',
  '/iso': 'dir',
  '/var/lib/libvirt/images': 'dir',
  '/var/lib/libvirt/images/old.qcow2': 'file',
  '/var/lib/libvirt/images/taken.qcow2': 'file',
  '/var/lib/libvirt/images/web1-old.qcow2': 'file',
  '/dev/vg0/files': 'block',
};

function facts(over: Partial<NewGuestFacts> = {}): NewGuestFacts {
  return {
    existingNames: ['db1', 'trinity-server'],
    guestDiskUsers: new Map([['/var/lib/libvirt/images/taken.qcow2', 'trinity-server']]),
    pathKind: (p) => PATHS[p] ?? null,
    hostMemoryMiB: 4096,
    bridges: ['br0'],
    networks: [{ name: 'lan', active: true }, { name: 'lab', active: false }],
    ...over,
  };
}

describe('osDefaults', () => {
  it.each([
    ['linux', undefined, 'q35', 'virtio', 'virtio', 'utc'],
    ['windows', 'win10', 'q35', 'sata', 'e1000', 'localtime'],
    ['windows', 'win2k3', 'pc', 'ide', 'rtl8139', 'localtime'],
    ['windows', 'winxp', 'pc', 'ide', 'rtl8139', 'localtime'],
    ['other', undefined, 'pc', 'ide', 'e1000', 'utc'],
  ] as const)('%s %s → %s, %s disk, %s NIC, %s clock', (os, variant, machine, bus, nic, clock) => {
    const d = osDefaults(os, variant);
    expect([d.machine, d.diskBus, d.nicModel, d.clock]).toEqual([machine, bus, nic, clock]);
  });

  it('adds Hyper-V enlightenments for Windows only with KVM', () => {
    expect(osDefaults('windows', 'win10', 'kvm').hyperv).toBe(true);
    expect(osDefaults('windows', 'win10', 'qemu').hyperv).toBe(false);
    expect(osDefaults('linux', undefined, 'kvm').hyperv).toBe(false);
  });
});

describe('buildDomainXml', () => {
  it('linux: virtio disk and NIC, q35, utc, cdrom boots first, serial console', () => {
    const xml = buildDomainXml(spec());
    expect(xml).toContain(`<domain type='kvm'>`);
    expect(xml).toContain(`machine='q35'`);
    expect(xml.indexOf(`<boot dev='cdrom'/>`)).toBeLessThan(xml.indexOf(`<boot dev='hd'/>`));
    expect(xml).toContain(`<driver name='qemu' type='qcow2' discard='unmap'/>`);
    expect(xml).toContain(`<target dev='vda' bus='virtio'/>`);
    expect(xml).toContain(`<target dev='sda' bus='sata'/>`);
    expect(xml).toContain(`<source bridge='br0'/>`);
    expect(xml).toContain(`<mac address='52:54:00:12:34:56'/>`);
    expect(xml).toContain(`<model type='virtio'/>`);
    expect(xml).toContain(`<clock offset='utc'>`);
    expect(xml).toContain(`<console type='pty'>`);
    expect(xml).toContain(`<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>`);
    expect(xml).toContain(`<input type='tablet' bus='virtio'/>`);
    expect(xml).toContain(`http://debian.org/debian/12`);
  });

  it('windows 10 on KVM: sata, e1000, localtime, hyperv, usb tablet, host-model CPU', () => {
    const xml = buildDomainXml(spec({ osType: 'windows', variant: 'win10', serial: false }));
    expect(xml).toContain(`<target dev='sda' bus='sata'/>`);
    expect(xml).toContain(`<target dev='sdb' bus='sata'/>`); // the CD-ROM after the disk
    expect(xml).toContain(`<model type='e1000'/>`);
    expect(xml).toContain(`<clock offset='localtime'>`);
    expect(xml).toContain(`<hyperv mode='custom'>`);
    expect(xml).toContain(`<input type='tablet' bus='usb'/>`);
    expect(xml).toContain(`<cpu mode='host-model'`);
    expect(xml).not.toContain('<serial');
  });

  it('windows 2003 under TCG: i440fx, IDE disk hda and CD-ROM hdc, rtl8139, no hyperv, no host CPU', () => {
    const xml = buildDomainXml(spec({ osType: 'windows', variant: 'win2k3', domainType: 'qemu' }));
    expect(xml).toContain(`<domain type='qemu'>`);
    expect(xml).toContain(`machine='pc'`);
    expect(xml).toContain(`<target dev='hda' bus='ide'/>`);
    expect(xml).toContain(`<target dev='hdc' bus='ide'/>`);
    expect(xml).toContain(`<model type='rtl8139'/>`);
    expect(xml).not.toContain('hyperv');
    expect(xml).not.toContain('<cpu');
  });

  it('other: IDE and e1000 on i440fx', () => {
    const xml = buildDomainXml(spec({ osType: 'other', variant: undefined }));
    expect(xml).toContain(`machine='pc'`);
    expect(xml).toContain(`bus='ide'`);
    expect(xml).toContain(`<model type='e1000'/>`);
    expect(xml).not.toContain('<metadata>');
  });

  it('existing images: formats from qemu-img, boots from disk, no CD-ROM, block devices as dev', () => {
    const xml = buildDomainXml(spec({
      install: { kind: 'existing', diskPaths: ['/var/lib/libvirt/images/old.qcow2', '/dev/vg0/files'], formats: { '/var/lib/libvirt/images/old.qcow2': 'qcow2', '/dev/vg0/files': 'raw' } },
      newDisk: undefined,
      network: { kind: 'user', mac: '00:50:56:01:02:03', model: 'e1000' },
      graphics: { vnc: 5905, listen: '0.0.0.0' },
    }));
    expect(xml).not.toContain('cdrom');
    expect(xml).toContain(`<source file='/var/lib/libvirt/images/old.qcow2'/>`);
    expect(xml).toContain(`<disk type='block' device='disk'>`);
    expect(xml).toContain(`<source dev='/dev/vg0/files'/>`);
    expect(xml).toContain(`<target dev='vdb' bus='virtio'/>`);
    expect(xml).toContain(`<interface type='user'>`);
    expect(xml).toContain(`<model type='e1000'/>`);
    expect(xml).toContain(`port='5905' autoport='no' listen='0.0.0.0'`);
  });

  it('refuses to guess the format of an existing image', () => {
    expect(() => buildDomainXml(spec({ install: { kind: 'existing', diskPaths: ['/x.img'] } }))).toThrow(/format of \/x.img is not known/);
  });

  it('escapes every value', () => {
    const xml = buildDomainXml(spec({ install: { kind: 'iso', isoPath: `/iso/a'b<&>".iso` }, network: { kind: 'network', source: `x'y`, mac: '52:54:00:00:00:01' } }));
    expect(xml).toContain(`<source file='/iso/a&apos;b&lt;&amp;&gt;&quot;.iso'/>`);
    expect(xml).toContain(`<source network='x&apos;y'/>`);
  });

  it('without VNC there is no graphics or video, and install none boots from disk only', () => {
    const xml = buildDomainXml(spec({ graphics: { vnc: 'none', listen: '127.0.0.1' }, install: { kind: 'none' } }));
    expect(xml).not.toContain('<graphics');
    expect(xml).not.toContain('<video>');
    expect(xml).not.toContain(`dev='cdrom'`);
  });
});

describe('validateSpec', () => {
  it('accepts a good spec', () => {
    expect(validateSpec(spec(), facts())).toEqual([]);
  });

  const table: [string, Partial<NewGuestSpec>, Partial<NewGuestFacts>, SpecField, RegExp][] = [
    ['name in use', { name: 'db1' }, {}, 'name', /A guest called db1 already exists/],
    ['empty name', { name: '' }, {}, 'name', /no name/],
    ['invalid name chars', { name: 'web 1/x' }, {}, 'name', /characters a guest name cannot use/],
    ['RAM over host total', { memoryMiB: 8192 }, {}, 'resources', /more than this host has \(4096 MiB/],
    ['too little RAM', { memoryMiB: 4 }, {}, 'resources', /at least 16 MiB/],
    ['zero vCPUs', { vcpus: 0 }, {}, 'resources', /virtual CPUs/],
    ['missing ISO', { install: { kind: 'iso', isoPath: '/iso/nope.iso' } }, {}, 'install', /ISO image \/iso\/nope.iso does not exist/],
    ['ISO is a folder', { install: { kind: 'iso', isoPath: '/iso' } }, {}, 'install', /is not a file/],
    ['missing disk image', { install: { kind: 'existing', diskPaths: ['/nope.qcow2'] }, newDisk: undefined }, {}, 'install', /disk image \/nope.qcow2 does not exist/],
    ['image used by another guest', { install: { kind: 'existing', diskPaths: ['/var/lib/libvirt/images/taken.qcow2'] }, newDisk: undefined }, {}, 'install', /already used by the guest trinity-server/],
    ['new disk path exists', { newDisk: { path: '/var/lib/libvirt/images/old.qcow2', format: 'qcow2', sizeBytes: 1024 ** 3 } }, {}, 'storage', /already exists; virtdeck never overwrites/],
    ['new disk folder missing', { newDisk: { path: '/nowhere/x.qcow2', format: 'qcow2', sizeBytes: 1024 ** 3 } }, {}, 'storage', /folder \/nowhere does not exist/],
    ['tiny new disk', { newDisk: { path: '/var/lib/libvirt/images/web1.qcow2', format: 'raw', sizeBytes: 10 } }, {}, 'storage', /at least 1 MiB/],
    ['bridge missing', { network: { kind: 'bridge', source: 'br9', mac: '52:54:00:12:34:56' } }, {}, 'network', /no bridge br9.*/],
    ['network missing', { network: { kind: 'network', source: 'nat', mac: '52:54:00:12:34:56' } }, {}, 'network', /no libvirt network nat/],
    ['network inactive', { network: { kind: 'network', source: 'lab', mac: '52:54:00:12:34:56' } }, {}, 'network', /lab is not running/],
    ['bad MAC', { network: { kind: 'user', mac: '52:54:00:12:34' } }, {}, 'network', /is not a MAC address/],
    ['multicast MAC', { network: { kind: 'user', mac: '01:00:5e:00:00:01' } }, {}, 'network', /multicast/],
    ['VNC port too low', { graphics: { vnc: 80, listen: '127.0.0.1' } }, {}, 'display', /outside 5900/],
    ['bad listen address', { graphics: { vnc: 'auto', listen: 'everywhere' } }, {}, 'display', /not an IP address/],
    ['no screen and no console', { graphics: { vnc: 'none', listen: '127.0.0.1' }, serial: false }, {}, 'display', /neither a screen nor a serial console/],
  ];
  it.each(table)('refuses: %s', (_label, over, factOver, field, pattern) => {
    const problems = validateSpec(spec(over), facts(factOver));
    expect(problems.length).toBeGreaterThan(0);
    const p = problems.find((x) => pattern.test(x.sentence));
    expect(p, problems.map((x) => x.sentence).join(' | ')).toBeDefined();
    expect(p?.field).toBe(field);
    expect(p?.fix.length).toBeGreaterThan(5);
  });

  it('IDE guests hold at most four drives', () => {
    const paths = ['/a', '/b', '/c', '/d'];
    const problems = validateSpec(
      spec({ osType: 'other', variant: undefined, install: { kind: 'existing', diskPaths: paths } }),
      facts({ pathKind: (p) => (paths.includes(p) ? 'file' : PATHS[p] ?? null) }),
    );
    expect(problems.map((p) => p.sentence)).toContain('An IDE guest holds at most 4 drives, and this one would have 5.');
  });
});

describe('planNewGuest', () => {
  it('creates the disk, defines from the XML file and starts, each with its undo', () => {
    const plan = planNewGuest(spec(), { uri: 'qemu:///system', start: true, xmlFile: '/tmp/web1.xml' });
    expect(plan.kind).toBe('new-guest');
    expect(plan.targets).toEqual({ guests: ['web1'], images: ['/var/lib/libvirt/images/web1.qcow2'] });
    const steps = plan.steps;
    expect(steps.map((s) => s.id)).toEqual(['create-disk', 'define', 'start']);
    expect(steps.map((s) => s.command?.runsOn)).toEqual(['sys', 'virsh', 'virsh']);
    expect(steps.map((s) => s.command?.argv)).toEqual([
      ['qemu-img', 'create', '-q', '-f', 'qcow2', '/var/lib/libvirt/images/web1.qcow2', '20G'],
      ['virsh', '-c', 'qemu:///system', 'define', '--file', '/tmp/web1.xml'],
      ['virsh', '-c', 'qemu:///system', 'start', '--domain', 'web1'],
    ]);
    expect(steps.map((s) => s.undo?.command?.argv)).toEqual([
      ['rm', '-f', '--', '/var/lib/libvirt/images/web1.qcow2'],
      ['virsh', '-c', 'qemu:///system', 'undefine', '--domain', 'web1'],
      ['virsh', '-c', 'qemu:///system', 'destroy', '--domain', 'web1'],
    ]);
    expect(steps[1]?.writesFile).toEqual({ path: '/tmp/web1.xml', content: buildDomainXml(spec()) });
    // A failed qemu-img create may have met a file that appeared meanwhile; only a finished create is undone.
    expect(steps.some((s) => s.undo?.partial)).toBe(false);
  });

  it('without a new disk and without start it only defines', () => {
    const plan = planNewGuest(spec({ install: { kind: 'none' }, newDisk: undefined }), { uri: 'qemu:///system', start: false, xmlFile: '/tmp/web1.xml' });
    expect(plan.steps.map((s) => s.id)).toEqual(['define']);
    expect(plan.targets).toEqual({ guests: ['web1'], images: [] });
  });

  it('writes sizes the way qemu-img reads them', () => {
    expect(qemuImgSize(20 * 1024 ** 3)).toBe('20G');
    expect(qemuImgSize(1536 * 1024 ** 2)).toBe('1536M');
    expect(qemuImgSize(1000)).toBe('1000');
  });
});
