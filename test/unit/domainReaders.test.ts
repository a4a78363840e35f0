import { describe, expect, it } from 'vitest';
import { readDiskBus, readMemoryKiB, readVcpus } from '../../src/model/domainReaders.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { getSettings, parseDomainXml, vcpuCount } from '../../src/model/domainXml.js';

const guest = (vcpu: string, memory: string, target: string) => `<domain type='kvm'>
  <name>g</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  ${memory}
  ${vcpu}
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/i/g.raw'/>${target}</disk>
  </devices>
</domain>`;

/** What the guest list shows and what the edit form starts from, for one XML. */
function both(xml: string) {
  const list = summarizeDomainXml(xml);
  const form = getSettings(parseDomainXml(xml));
  return {
    list: { vcpus: list.vcpus, memoryKiB: list.memoryKiB, bus: list.disks[0]?.bus },
    form: { vcpus: form.vcpus, memoryKiB: form.memoryKiB, bus: form.disks[0]?.bus },
  };
}

describe('the guest list and the edit form read a guest the same way', () => {
  it.each([
    ["<vcpu placement='static' current='2'>4</vcpu>", "<memory unit='GiB'>2</memory>", "<target dev='vda' bus='virtio'/>", { vcpus: 2, memoryKiB: 2097152, bus: 'virtio' }],
    ['<vcpu>3</vcpu>', "<memory unit='KiB'>524288</memory><currentMemory unit='KiB'>262144</currentMemory>", "<target dev='hda'/>", { vcpus: 3, memoryKiB: 524288, bus: 'ide' }],
    ["<vcpu current='8'>4</vcpu>", "<currentMemory unit='MB'>1000</currentMemory>", "<target dev='sdb'/>", { vcpus: 4, memoryKiB: 976563, bus: 'scsi' }],
    ['', "<memory unit='furlong'>3</memory>", "<target dev='xvda'/>", { vcpus: 1, memoryKiB: 0, bus: 'unknown' }],
  ])('%s %s %s', (vcpu, memory, target, want) => {
    expect(both(guest(vcpu, memory, target))).toEqual({ list: want, form: want });
  });

  it('<vcpu current=2>4</vcpu>: both show 2 online, and the form can say of 4', () => {
    const xml = guest("<vcpu placement='static' current='2'>4</vcpu>", "<memory unit='KiB'>1048576</memory>", "<target dev='vda' bus='virtio'/>");
    expect(summarizeDomainXml(xml).vcpus).toBe(2);
    expect(getSettings(parseDomainXml(xml)).vcpus).toBe(2);
    expect(vcpuCount(parseDomainXml(xml))).toEqual({ current: 2, maximum: 4 });
  });
});

describe('the readers', () => {
  it('read what libvirt writes and survive what it does not', () => {
    expect(readVcpus('4', '2')).toEqual({ current: 2, maximum: 4 });
    expect(readVcpus(' 4 ', null)).toEqual({ current: 4, maximum: 4 });
    expect(readVcpus('x', '0')).toEqual({ current: 1, maximum: 1 });
    expect(readMemoryKiB('1', 'GiB')).toBe(1048576);
    expect(readMemoryKiB('1048576', undefined)).toBe(1048576);
    expect(readMemoryKiB('2048', 'b')).toBe(2);
    expect(readMemoryKiB('lots', 'KiB')).toBe(0);
    expect(readMemoryKiB(null, 'KiB')).toBe(0);
    expect([readDiskBus('sata', 'hda'), readDiskBus(null, 'vdc'), readDiskBus(undefined, 'fda'), readDiskBus('', 'sda')]).toEqual(['sata', 'virtio', 'fdc', 'scsi']);
  });
});
