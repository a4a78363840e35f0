/**
 * The .vmx side of UEFI, Secure Boot and TPM guests (issue 14 item 3): `firmware = "efi"`,
 * `uefi.secureBoot.enabled` and `vtpm.present` as ESXi 7/8 write them for a Windows 11 VM, read
 * into the guest model and mapped to the domain (OVMF without or with Secure Boot, SMM, swtpm).
 */
import { describe, expect, it } from 'vitest';
import { domainRoot, firstChild, parseDomainXml, type XmlElement } from '../../src/model/domainXml.js';
import { parseVmx, type VmxGuest } from '../../src/model/vmx.js';
import { vmxToDomainXml } from '../../src/model/vmxToDomain.js';
import { readSummary } from '../../src/store/wizards/import/importForm.js';

function vmx(extra: string[]): string {
  return [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    'virtualHW.version = "19"',
    'displayName = "win11"',
    'guestOS = "windows11-64"',
    'memsize = "4096"',
    'numvcpus = "2"',
    'sata0.present = "TRUE"',
    'sata0:0.present = "TRUE"',
    'sata0:0.fileName = "win11.vmdk"',
    'ethernet0.present = "TRUE"',
    'ethernet0.virtualDev = "e1000e"',
    'ethernet0.networkName = "VM Network"',
    'ethernet0.addressType = "static"',
    'ethernet0.address = "00:50:56:11:22:33"',
    ...extra,
    '',
  ].join('\n');
}

const WIN11 = ['firmware = "efi"', 'uefi.secureBoot.enabled = "TRUE"', 'vtpm.present = "TRUE"', 'nvram = "win11.nvram"'];

function domain(g: VmxGuest) {
  const d = vmxToDomainXml(g, { name: 'win11', domainType: 'qemu', disks: [{ key: 'sata0:0', path: '/vm/win11.qcow2', format: 'qcow2' }], bus: 'keep', nics: [{ kind: 'user' }] });
  const root = domainRoot(parseDomainXml(d.xml));
  return { ...d, os: firstChild(root, 'os') as XmlElement, features: firstChild(root, 'features') as XmlElement, devices: firstChild(root, 'devices') as XmlElement };
}

describe('.vmx firmware, Secure Boot and vTPM', () => {
  it('reads a Windows 11 VM: EFI, Secure Boot on, a vTPM; none of the three listed as ignored', () => {
    const g = parseVmx(vmx(WIN11));
    expect(g).toMatchObject({ firmware: 'efi', secureBoot: true, tpm: true });
    expect(g.ignored.join('\n')).not.toMatch(/secureBoot|vtpm|firmware/i);
    const facts = { vmxPath: '/vm/win11.vmx', guest: g, disks: [], locks: [], existingGuests: [], existingDest: [], bridges: [], networks: [], domainType: 'qemu' as const };
    expect(readSummary(facts)[0]).toBe('win11  windows11-64 (x86_64, Windows)  UEFI + Secure Boot, TPM 2.0');
  });

  it('a BIOS VM has neither; vtpm.present = FALSE is listed as switched off', () => {
    expect(parseVmx(vmx([]))).toMatchObject({ firmware: 'bios', secureBoot: false, tpm: false });
    expect(parseVmx(vmx(['vtpm.present = "FALSE"'])).disabled).toContain('vtpm (present = FALSE)');
  });

  it('Secure Boot on a BIOS VM is left off with a warning', () => {
    const g = parseVmx(vmx(['uefi.secureBoot.enabled = "TRUE"']));
    expect(g.secureBoot).toBe(false);
    expect(g.warnings).toContain('uefi.secureBoot.enabled is TRUE but the firmware is BIOS; Secure Boot is left off.');
  });

  it('EFI without Secure Boot: OVMF without Secure Boot on q35, no SMM, no TPM, the fresh NVRAM explained', () => {
    const d = domain(parseVmx(vmx(['firmware = "efi"', 'uefi.secureBoot.enabled = "FALSE"'])));
    expect(d.os.attrs.firmware).toBe('efi');
    expect(d.xml).toContain("<type arch='x86_64' machine='q35'>hvm</type>");
    expect(d.xml).toContain("<feature enabled='no' name='secure-boot'/>");
    expect(d.xml).not.toMatch(/smm|<tpm/);
    expect(d.warnings.some((w) => w.includes('\\EFI\\BOOT\\BOOTX64.EFI'))).toBe(true);
  });

  it('EFI + Secure Boot + vTPM: the enrolled-keys Secure Boot build, SMM, a TPM 2.0 on swtpm, SATA kept', () => {
    const d = domain(parseVmx(vmx(WIN11)));
    expect(d.xml).toContain("<feature enabled='yes' name='enrolled-keys'/>\n      <feature enabled='yes' name='secure-boot'/>");
    expect(firstChild(d.features, 'smm')?.attrs.state).toBe('on');
    expect(firstChild(d.devices, 'tpm')?.attrs.model).toBe('tpm-crb');
    expect(d.xml).toContain("<backend type='emulator' version='2.0'/>");
    expect(d.xml).toContain("<target dev='sda' bus='sata'/>");
    expect(d.warnings.some((w) => /virtual TPM.*BitLocker recovery key/.test(w))).toBe(true);
  });

  it('the OVF reader sets the same two optional fields on the guest it builds', () => {
    const fromOvf: VmxGuest = { ...parseVmx(vmx(['firmware = "efi"'])), secureBoot: true, tpm: true };
    const d = domain(fromOvf);
    expect(d.xml).toContain("<feature enabled='yes' name='secure-boot'/>");
    expect(firstChild(d.devices, 'tpm')).toBeDefined();
    const { secureBoot: _s, tpm: _t, ...without } = fromOvf;
    expect(domain(without).xml).not.toMatch(/smm|<tpm|enabled='yes'/);
  });
});
