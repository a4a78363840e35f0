import { describe, expect, it } from 'vitest';
import { getSettings, parseDomainXml, setMac, setMemory, setVcpus } from '../../src/model/domainXml.js';
import { unappliedChanges } from '../../src/model/editReadBack.js';

const xml = (memory: number, extra = '') =>
  `<domain type='qemu'><name>g</name><memory unit='KiB'>${memory}</memory><vcpu>1</vcpu><devices><interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/></interface>${extra}</devices></domain>`;
const settings = (text: string) => getSettings(parseDomainXml(text));

describe('unappliedChanges: what an edit asked for that libvirt did not keep', () => {
  it('names a changed setting libvirt kept at its old value, and nothing it kept as asked', () => {
    const before = parseDomainXml(xml(1048576));
    const wanted = getSettings(setVcpus(setMemory(before, 2097152), 2));
    expect(unappliedChanges(getSettings(before), wanted, settings(xml(1048576).replace('<vcpu>1', '<vcpu>2')))).toEqual([
      'memory 2097152 KiB (it has 1048576 KiB)',
    ]);
    expect(unappliedChanges(getSettings(before), wanted, { ...wanted })).toEqual([]);
  });
  it('ignores what the edit did not touch and the case libvirt writes a MAC in', () => {
    const before = parseDomainXml(xml(1048576));
    const wanted = getSettings(setMac(before, 0, '52:54:00:AB:CD:EF'));
    const got = settings(xml(999424).replace('52:54:00:00:00:01', '52:54:00:ab:cd:ef'));
    expect(unappliedChanges(getSettings(before), wanted, got)).toEqual([]);
  });
});
