/**
 * The Host pane's checks for UEFI and TPM guests (issue 14 item 3): OVMF's builds, read from the
 * firmware descriptors libvirt chooses from, and swtpm. The probe output is what the system
 * script prints on Debian 12 with ovmf and swtpm installed.
 */
import { describe, expect, it } from 'vitest';
import { parseFirmware, parseLocalCa, parseSystemFacts } from '../../src/host/system.js';
import { evaluateChecks, type FirmwareProbe, type HostProbes } from '../../src/model/hostChecks.js';

const desc = (features: string[], code = '/usr/share/OVMF/OVMF_CODE_4M.fd', arch = 'x86_64') =>
  JSON.stringify({
    'interface-types': ['uefi'],
    mapping: { device: 'flash', executable: { filename: code, format: 'raw' }, 'nvram-template': { filename: '/usr/share/OVMF/OVMF_VARS_4M.fd', format: 'raw' } },
    targets: [{ architecture: arch, machines: ['pc-q35-*'] }],
    features,
  });

const DEBIAN = [
  `descriptor /usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json ${desc(['enrolled-keys', 'requires-smm', 'secure-boot'], '/usr/share/OVMF/OVMF_CODE_4M.ms.fd')}`,
  'present /usr/share/OVMF/OVMF_CODE_4M.ms.fd',
  'present /usr/share/OVMF/OVMF_VARS_4M.ms.fd',
  `descriptor /usr/share/qemu/firmware/60-edk2-x86_64.json ${desc(['acpi-s3'])}`,
  'present /usr/share/OVMF/OVMF_CODE_4M.fd',
].join('\n');

function probes(firmware: FirmwareProbe | undefined): HostProbes {
  const system = { cpu: { virtFlag: null, hypervisor: false }, sysctl: {}, shm: null, kernelConfig: null, ksmRun: null, thp: null, memTotalKiB: null, ...(firmware ? { firmware } : {}) };
  return {
    system: { value: system },
    accel: { error: 'n/a' },
    libvirt: { error: 'n/a' },
    network: { error: 'n/a' },
    guests: { error: 'n/a' },
    imageDirs: { error: 'n/a' },
  };
}

const check = (firmware: FirmwareProbe | undefined, rule: string) => {
  const r = evaluateChecks(probes(firmware)).find((x) => x.rule === rule);
  if (!r) throw new Error(`no ${rule}`);
  return r;
};

describe('firmware probe', () => {
  it('reads the descriptors whose code file exists, and the swtpm programs', () => {
    const f = parseFirmware(DEBIAN, '/usr/bin/swtpm\n/usr/bin/swtpm_setup');
    expect(f?.uefi.map((d) => d.path)).toEqual(['/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json', '/usr/share/qemu/firmware/60-edk2-x86_64.json']);
    expect(f?.swtpm).toEqual(['/usr/bin/swtpm', '/usr/bin/swtpm_setup']);
  });

  it('skips a descriptor whose code file is gone, one for another architecture, and one that is not JSON', () => {
    const text = [
      `descriptor /etc/qemu/firmware/10-gone.json ${desc([], '/opt/gone.fd')}`,
      `descriptor /etc/qemu/firmware/20-arm.json ${desc([], '/usr/share/AAVMF/AAVMF_CODE.fd', 'aarch64')}`,
      'present /usr/share/AAVMF/AAVMF_CODE.fd',
      'descriptor /etc/qemu/firmware/30-bad.json {not json',
    ].join('\n');
    expect(parseFirmware(text, '')).toEqual({ uefi: [], swtpm: [] });
    // No section at all: the host's script is older; the checks say they could not check.
    expect(parseFirmware(undefined, undefined)).toBeUndefined();
  });

  it('comes out of the system script output as system.firmware', () => {
    const out = `\n@@vd uname @@\n6.1.0\n@@vd firmware @@\n${DEBIAN}\n@@vd swtpm @@\n/usr/bin/swtpm\n`;
    expect(parseSystemFacts(out, []).system.firmware?.swtpm).toEqual(['/usr/bin/swtpm']);
  });
});

describe('UEFI firmware and swtpm checks', () => {
  const full = parseFirmware(DEBIAN, '/usr/bin/swtpm\n/usr/bin/swtpm_setup');

  it('ok with both OVMF builds and swtpm', () => {
    expect(check(full, 'uefi-firmware')).toMatchObject({ status: 'ok', fix: [] });
    expect(check(full, 'uefi-firmware').detail).toMatch(/with and without Secure Boot/);
    expect(check(full, 'swtpm').status).toBe('ok');
  });

  it('warns with the install command when OVMF or swtpm is missing, or only one OVMF build is there', () => {
    const none = check({ uefi: [], swtpm: [] }, 'uefi-firmware');
    expect(none.status).toBe('warn');
    expect(none.detail).toMatch(/No UEFI firmware/);
    expect(none.fix[0]).toMatch(/^apt-get install ovmf/);
    const noSecure = check({ uefi: [{ path: '/x.json', features: [] }], swtpm: [] }, 'uefi-firmware');
    expect(noSecure.detail).toMatch(/no build with Secure Boot/);
    const tpm = check({ uefi: [], swtpm: ['/usr/bin/swtpm'] }, 'swtpm');
    expect(tpm.status).toBe('warn');
    expect(tpm.detail).toBe('swtpm_setup is not installed: a guest with a TPM will not start.');
    expect(tpm.fix).toEqual(['apt-get install swtpm swtpm-tools   # or: bash scripts/setup-host.sh']);
  });

  it('says it could not check when the host did not report its firmware', () => {
    expect(check(undefined, 'swtpm')).toMatchObject({ status: 'warn', detail: 'Could not check: the host did not report its firmware files.' });
  });
});

describe("swtpm's local certificate authority", () => {
  // What the probe's `find /var/lib/swtpm-localca -printf '%u %P\n'` printed on this machine after a
  // swtpm_setup run as root: every TPM guest failed with "Need read/write rights on ...lock".
  const ROOT_LEFT = ['tss ', 'root .lock.swtpm-localca', 'root certserial', 'tss signkey.pem', 'root issuercert.pem', 'root swtpm-localca-rootca-cert.pem'].join('\n');

  it('reads the owner and the files another user owns; no directory, no CA', () => {
    expect(parseLocalCa(ROOT_LEFT)).toEqual({
      owner: 'tss',
      foreign: [
        { name: '.lock.swtpm-localca', owner: 'root' },
        { name: 'certserial', owner: 'root' },
        { name: 'issuercert.pem', owner: 'root' },
        { name: 'swtpm-localca-rootca-cert.pem', owner: 'root' },
      ],
    });
    expect(parseLocalCa('')).toBeUndefined();
    expect(parseLocalCa(undefined)).toBeUndefined();
    const out = `\n@@vd firmware @@\n${DEBIAN}\n@@vd swtpm @@\n/usr/bin/swtpm\n@@vd swtpmca @@\ntss \ntss certserial\n`;
    expect(parseSystemFacts(out, []).system.firmware?.localCa).toEqual({ owner: 'tss', foreign: [] });
  });

  it('warns naming the files and gives them back to the owner; ok when the owner has them all or there is no CA yet', () => {
    const base = parseFirmware(DEBIAN, '/usr/bin/swtpm\n/usr/bin/swtpm_setup') as FirmwareProbe;
    const bad = check({ ...base, localCa: parseLocalCa(ROOT_LEFT) }, 'swtpm-ca');
    expect(bad.status).toBe('warn');
    expect(bad.detail).toBe(
      '4 files in /var/lib/swtpm-localca belong to another user than tss (.lock.swtpm-localca (root), certserial (root), issuercert.pem (root), …): swtpm_setup, run as tss, cannot sign a new TPM, so a guest with a TPM will not start.',
    );
    expect(bad.fix).toEqual(['find /var/lib/swtpm-localca -mindepth 1 ! -user tss -exec chown tss: {} +   # or: bash scripts/setup-host.sh']);
    expect(check({ ...base, localCa: { owner: 'tss', foreign: [] } }, 'swtpm-ca').status).toBe('ok');
    expect(check(base, 'swtpm-ca').detail).toMatch(/No local TPM certificate authority yet/);
  });
});
