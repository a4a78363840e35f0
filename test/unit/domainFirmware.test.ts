/**
 * UEFI, Secure Boot and TPM in new domain XML (issue 14 item 3): what libvirt 9's firmware
 * autoselection matches against the host's /usr/share/qemu/firmware descriptors, SMM for the
 * Secure Boot build, the swtpm-backed TPM in libvirt's device order; and libvirt's own schema
 * accepts each (virt-xml-validate, where installed).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DomainSpec, diskDevice, renderDomain, serialConsole, tabletInput, tpmDevice, videoDevice, vncGraphics } from '../../src/model/domainBuild.js';
import { domainRoot, parseDomainXml } from '../../src/model/domainXml.js';

const base: DomainSpec = {
  type: 'qemu',
  name: 'fw',
  memoryMiB: 256,
  vcpus: 1,
  machine: 'q35',
  boot: ['hd'],
  clock: 'utc',
  devices: [diskDevice({ path: '/img/fw.qcow2', format: 'qcow2', target: 'sda', bus: 'sata' }), ...serialConsole(), tabletInput('usb'), vncGraphics('auto', '127.0.0.1'), videoDevice('vga')],
};

const names = (xml: string, parent: string) => {
  const root = domainRoot(parseDomainXml(xml));
  const el = root.children.find((c) => c.kind === 'element' && c.name === parent);
  return el && el.kind === 'element' ? el.children.flatMap((c) => (c.kind === 'element' ? [c.name] : [])) : [];
};

/** virt-xml-validate is a shell script around xmllint (libxml2-utils); setup-host.sh installs both. */
const VALIDATOR = existsSync('/usr/bin/xmllint') ? ['/usr/bin/virt-xml-validate', '/usr/local/bin/virt-xml-validate'].find((p) => existsSync(p)) : undefined;

/** What virt-xml-validate says, with its exit status (0: valid). */
function validate(xml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vd-fwxml-'));
  try {
    writeFileSync(join(dir, 'd.xml'), xml);
    const r = spawnSync(VALIDATOR as string, [join(dir, 'd.xml'), 'domain'], { encoding: 'utf8' });
    return `${r.status} ${r.stdout}${r.stderr}`.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('firmware in the domain XML', () => {
  it('BIOS: no firmware attribute, no <firmware>, no SMM, no TPM', () => {
    const xml = renderDomain(base);
    expect(xml).not.toMatch(/firmware|smm|tpm/);
  });

  it('UEFI asks for the build without Secure Boot by name', () => {
    const xml = renderDomain({ ...base, firmware: 'efi' });
    expect(xml).toContain(["<os firmware='efi'>", "    <type arch='x86_64' machine='q35'>hvm</type>", '    <firmware>', "      <feature enabled='no' name='secure-boot'/>", '    </firmware>', "    <boot dev='hd'/>", '  </os>'].join('\n'));
    expect(xml).not.toContain('smm');
  });

  it('UEFI + Secure Boot: the build with Microsoft keys enrolled, and SMM on', () => {
    const xml = renderDomain({ ...base, firmware: 'efi', secureBoot: true });
    expect(xml).toContain(
      ['    <firmware>', "      <feature enabled='yes' name='enrolled-keys'/>", "      <feature enabled='yes' name='secure-boot'/>", '    </firmware>'].join('\n'),
    );
    expect(names(xml, 'features')).toEqual(['acpi', 'apic', 'smm']);
    expect(xml).toContain("<smm state='on'/>");
  });

  it('Secure Boot without UEFI or on i440fx is a programming error, not XML libvirt would refuse later', () => {
    expect(() => renderDomain({ ...base, secureBoot: true })).toThrow(/UEFI/);
    expect(() => renderDomain({ ...base, machine: 'pc', firmware: 'efi', secureBoot: true })).toThrow(/q35/);
  });

  it('TPM 2.0 on swtpm, placed after the inputs and before the graphics as libvirt writes it', () => {
    const xml = renderDomain({ ...base, firmware: 'efi', secureBoot: true, tpm: true });
    expect(names(xml, 'devices')).toEqual(['disk', 'serial', 'console', 'input', 'tpm', 'graphics', 'video']);
    expect(xml).toContain("<tpm model='tpm-crb'>\n      <backend type='emulator' version='2.0'/>\n    </tpm>");
    expect(renderDomain({ ...base, machine: 'pc', tpm: true })).toContain("<tpm model='tpm-tis'>");
    // No graphics at all: the TPM goes last.
    expect(names(renderDomain({ ...base, devices: [], tpm: true }), 'devices')).toEqual(['tpm']);
    expect(tpmDevice('q35').attrs.model).toBe('tpm-crb');
  });

  it.skipIf(!VALIDATOR)("libvirt's schema accepts BIOS, UEFI, UEFI + Secure Boot + TPM", () => {
    for (const spec of [base, { ...base, firmware: 'efi' as const }, { ...base, firmware: 'efi' as const, secureBoot: true, tpm: true }, { ...base, machine: 'pc' as const, firmware: 'efi' as const, tpm: true }]) {
      expect(validate(renderDomain(spec))).toMatch(/^0 .*validates$/);
    }
  });
});
