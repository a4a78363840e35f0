/**
 * New guest: the firmware choice (BIOS / UEFI / UEFI + Secure Boot), the TPM, and the Windows 11
 * preset (UEFI + Secure Boot + TPM 2.0 on a SATA disk) — the model's XML, refusals and undo, and
 * the form that carries the admin's choices into the spec (issue 14 item 3).
 */
import { describe, expect, it } from 'vitest';
import { buildDomainXml, type NewGuestFacts, type NewGuestSpec, osDefaults, planNewGuest, validateSpec } from '../../src/model/newGuest.js';
import { applyOsDefaults, formToSpec, initialForm } from '../../src/store/wizards/newGuest/newGuestForm.js';
import { fieldsFor } from '../../src/store/wizards/newGuest/stepFields.js';

function spec(over: Partial<NewGuestSpec> = {}): NewGuestSpec {
  return {
    name: 'win11a',
    osType: 'windows',
    variant: 'win11',
    memoryMiB: 4096,
    vcpus: 2,
    install: { kind: 'iso', isoPath: '/iso/win11.iso' },
    newDisk: { path: '/var/lib/libvirt/images/win11a.qcow2', format: 'qcow2', sizeBytes: 64 * 1024 ** 3 },
    network: { kind: 'user', mac: '52:54:00:12:34:56' },
    graphics: { vnc: 'auto', listen: '127.0.0.1' },
    serial: false,
    domainType: 'qemu',
    ...over,
  };
}

const facts: NewGuestFacts = {
  existingNames: [],
  guestDiskUsers: new Map(),
  pathKind: (p) => (p === '/iso/win11.iso' ? 'file' : p === '/var/lib/libvirt/images' ? 'dir' : null),
  hostMemoryMiB: 8192,
  bridges: [],
  networks: [],
};

const rng = () => 0.5;

describe('the Windows 11 preset', () => {
  it('osDefaults: UEFI + Secure Boot and a TPM for Windows 11 only; its disk on SATA', () => {
    expect(osDefaults('windows', 'win11')).toMatchObject({ machine: 'q35', diskBus: 'sata', firmware: 'uefi-secure', tpm: true });
    for (const [os, variant] of [['windows', 'win10'], ['windows', 'winxp'], ['linux', 'debian12'], ['other', undefined]] as const) {
      expect(osDefaults(os, variant)).toMatchObject({ firmware: 'bios', tpm: false });
    }
  });

  it('picking Windows 11 in the form brings the firmware and TPM; another OS takes them back', () => {
    const win = applyOsDefaults(initialForm(null, rng), 'win11');
    expect(win).toMatchObject({ firmware: 'uefi-secure', tpm: 'yes', memory: '2048' });
    expect(fieldsFor('resources', win, null).map((f) => [f.id, f.value])).toEqual([
      ['memory', '2048'],
      ['vcpus', '2'],
      ['firmware', 'uefi-secure'],
      ['tpm', 'yes'],
    ]);
    const s = formToSpec({ ...win, name: 'win11a', isoPath: '/iso/win11.iso' }, 'qemu').spec;
    expect(s).toMatchObject({ firmware: 'uefi-secure', tpm: true });
    expect(applyOsDefaults(win, 'debian12')).toMatchObject({ firmware: 'bios', tpm: 'no' });
  });

  it('the domain: q35, OVMF with Secure Boot and enrolled keys, SMM, TPM 2.0 on swtpm, the disk and CD-ROM on SATA', () => {
    const xml = buildDomainXml(spec({ firmware: 'uefi-secure', tpm: true }));
    expect(xml).toContain("<os firmware='efi'>");
    expect(xml).toContain("machine='q35'");
    expect(xml).toContain("<feature enabled='yes' name='enrolled-keys'/>");
    expect(xml).toContain("<feature enabled='yes' name='secure-boot'/>");
    expect(xml).toContain("<smm state='on'/>");
    expect(xml).toContain("<tpm model='tpm-crb'>\n      <backend type='emulator' version='2.0'/>");
    expect(xml).toContain("<target dev='sda' bus='sata'/>");
    expect(xml).toContain("<target dev='sdb' bus='sata'/>");
    expect(xml).not.toContain("bus='virtio'/>\n    </disk>");
  });
});

describe('firmware choices of a new guest', () => {
  it('BIOS by default: the XML has no firmware, SMM or TPM, and the undo is a plain undefine', () => {
    const s = spec({ variant: 'win10' });
    expect(buildDomainXml(s)).not.toMatch(/firmware|smm|<tpm/);
    const define = planNewGuest(s, { uri: 'qemu:///system', start: true, xmlFile: '/tmp/x.xml' }).steps.find((st) => st.id === 'define');
    expect(define?.undo?.command?.argv).toEqual(['virsh', '-c', 'qemu:///system', 'undefine', '--domain', 'win11a']);
  });

  it('UEFI alone asks for OVMF without Secure Boot; a TPM can go with any firmware', () => {
    expect(buildDomainXml(spec({ firmware: 'uefi' }))).toContain("<feature enabled='no' name='secure-boot'/>");
    expect(buildDomainXml(spec({ variant: 'win10', tpm: true }))).toMatch(/<tpm model='tpm-crb'>/);
  });

  it('a UEFI guest is undone with its NVRAM file (libvirt refuses to undefine it otherwise)', () => {
    const define = planNewGuest(spec({ firmware: 'uefi' }), { uri: 'qemu:///system', start: true, xmlFile: '/tmp/x.xml' }).steps.find((st) => st.id === 'define');
    expect(define?.undo?.command?.argv).toEqual(['virsh', '-c', 'qemu:///system', 'undefine', '--domain', 'win11a', '--nvram']);
  });

  it('refuses UEFI for Windows XP/2003 and Secure Boot on an i440fx OS choice, on the resources step', () => {
    const xp = validateSpec(spec({ variant: 'winxp', firmware: 'uefi' }), facts);
    expect(xp.map((p) => [p.field, p.sentence])).toEqual([['resources', 'Windows 2000, XP and Server 2003 start only from a BIOS, not from UEFI.']]);
    const other = validateSpec(spec({ osType: 'other', variant: undefined, firmware: 'uefi-secure' }), facts);
    expect(other.map((p) => p.field)).toEqual(['resources']);
    expect(other[0]?.sentence).toMatch(/^Secure Boot needs the q35 machine type/);
    expect(validateSpec(spec({ osType: 'other', variant: undefined, firmware: 'uefi' }), facts)).toEqual([]);
    expect(validateSpec(spec({ firmware: 'uefi-secure', tpm: true }), facts)).toEqual([]);
  });
});
