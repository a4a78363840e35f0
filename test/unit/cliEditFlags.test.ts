import { describe, expect, it } from 'vitest';
import { applyEdits, describeEdit, parseEditFlags, parseMacFlag, parseVncFlag } from '../../src/cli/commands/editFlags.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { UserError } from '../../src/model/userError.js';

const fixedRng = () => 0.5;

describe('parseEditFlags', () => {
  it.each([
    [{ memory: '1G' }, [{ kind: 'memory', kib: 1048576 }]],
    [{ memory: '512M' }, [{ kind: 'memory', kib: 524288 }]],
    [{ vcpus: '2' }, [{ kind: 'vcpus', count: 2 }]],
    [{ mac: ['52:54:00:AA:bb:01'] }, [{ kind: 'mac', index: 0, mac: '52:54:00:aa:bb:01' }]],
    [{ mac: ['1=00-50-56-01-02-03'] }, [{ kind: 'mac', index: 1, mac: '00:50:56:01:02:03' }]],
    [{ mac: ['generate'] }, [{ kind: 'mac', index: 0, mac: '52:54:00:80:80:80' }]],
    [{ mac: ['2=generate:vmware'] }, [{ kind: 'mac', index: 2, mac: '00:50:56:20:80:80' }]],
    [{ vnc: 'auto' }, [{ kind: 'vnc', port: 'auto' }]],
    [{ vnc: '5901', listen: '127.0.0.1' }, [{ kind: 'vnc', port: 5901, listen: '127.0.0.1' }]],
    [{ listen: '0.0.0.0' }, [{ kind: 'vnc', listen: '0.0.0.0' }]],
    [{ boot: 'cdrom, hd' }, [{ kind: 'boot', devices: ['cdrom', 'hd'] }]],
    [{ attachIso: '/srv/x.iso' }, [{ kind: 'attachIso', path: '/srv/x.iso' }]],
    [{ eject: ['hdc'] }, [{ kind: 'eject', target: 'hdc' }]],
    [{ diskBus: ['hda=sata', 'vdb=scsi'] }, [{ kind: 'diskBus', target: 'hda', bus: 'sata' }, { kind: 'diskBus', target: 'vdb', bus: 'scsi' }]],
  ])('%j → %j', (flags, edits) => {
    expect(parseEditFlags(flags, fixedRng)).toEqual(edits);
  });

  it.each([
    [{}, /nothing to change/],
    [{ memory: '+1G' }, /relative/],
    [{ memory: '1024' }, /no unit/],
    [{ memory: 'lots' }, /not a size/],
    [{ vcpus: 'two' }, /not a whole number/],
    [{ vcpus: '1.5' }, /not a whole number/],
    [{ mac: ['52:54:00:zz:00:01'] }, /not a MAC address/],
    [{ mac: ['01:00:5e:00:00:01'] }, /multicast/],
    [{ mac: ['generate:hyperv'] }, /not a way to generate/],
    [{ vnc: 'five' }, /not a whole number/],
    [{ diskBus: ['hda'] }, /not TARGET=BUS/],
  ])('%j is refused with one sentence', (flags, message) => {
    let caught: unknown;
    try {
      parseEditFlags(flags);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UserError);
    expect((caught as UserError).sentence).toMatch(message);
    expect((caught as UserError).fix.length).toBeGreaterThan(0);
  });

  it('generates MACs with the right prefixes', () => {
    expect(parseMacFlag('generate')).toMatchObject({ mac: expect.stringMatching(/^52:54:00:[0-9a-f:]{8}$/) });
    expect(parseMacFlag('generate:vmware')).toMatchObject({ mac: expect.stringMatching(/^00:50:56:[0-3][0-9a-f]:/) });
    expect(parseVncFlag('auto')).toBe('auto');
  });
});

const XML = `<domain type='qemu'>
  <name>vm</name>
  <memory unit='KiB'>131072</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/x.qcow2'/><target dev='hda' bus='ide'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/srv/old.iso'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <interface type='user'><mac address='52:54:00:00:00:01'/><model type='e1000'/></interface>
    <graphics type='vnc' port='5905' autoport='no' listen='127.0.0.1'/>
  </devices>
</domain>
`;

describe('applyEdits', () => {
  it('applies every kind of edit to the domain', () => {
    const edits = parseEditFlags(
      { memory: '256M', vcpus: '2', mac: ['00:50:56:01:02:03'], vnc: 'auto', boot: 'cdrom,hd', eject: ['hdc'], diskBus: ['hda=sata'] },
      fixedRng,
    );
    const s = getSettings(applyEdits(parseDomainXml(XML), edits));
    expect(s.memoryKiB).toBe(262144);
    expect(s.vcpus).toBe(2);
    expect(s.nics[0]?.mac).toBe('00:50:56:01:02:03');
    expect(s.vnc).toEqual({ port: 'auto', listen: '127.0.0.1' });
    expect(s.bootOrder).toEqual(['cdrom', 'hd']);
    expect(s.disks.find((d) => d.device === 'cdrom')?.source).toBeNull();
    expect(s.disks.find((d) => d.device === 'disk')).toMatchObject({ bus: 'sata', target: 'sda' });
  });

  it('--listen alone keeps the VNC port', () => {
    const s = getSettings(applyEdits(parseDomainXml(XML), parseEditFlags({ listen: '0.0.0.0' })));
    expect(s.vnc).toEqual({ port: 5905, listen: '0.0.0.0' });
  });

  it('passes the model\'s refusal through (port below 5900, no such NIC)', () => {
    expect(() => applyEdits(parseDomainXml(XML), parseEditFlags({ vnc: '80' }))).toThrow(UserError);
    expect(() => applyEdits(parseDomainXml(XML), parseEditFlags({ mac: ['3=52:54:00:00:00:09'] }))).toThrow(/no network interface number 3/);
  });

  it('describes each edit in one line', () => {
    expect(parseEditFlags({ memory: '1G', vnc: '5901', listen: '::1', diskBus: ['hda=sata'] }).map(describeEdit)).toEqual([
      'memory 1048576 KiB',
      'vnc port 5901 listen ::1',
      'disk hda bus sata',
    ]);
  });
});
