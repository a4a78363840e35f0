/**
 * UEFI, Secure Boot and TPM guests on the real stack, under TCG (issue 14 item 3). A VMware-style
 * directory made here holds a GPT disk whose EFI system partition carries a tiny EFI program
 * (test/helpers/efiApp.ts: prints a marker, then powers the machine off) as a vmdk:
 *  - `firmware = "efi"`: the import defines the guest; started, it gets its own NVRAM file, OVMF
 *    (the build without Secure Boot) reads the ESP, runs the program, and the guest shuts itself
 *    off with the marker on its serial console;
 *  - the same VM with `uefi.secureBoot.enabled` and `vtpm.present`: OVMF's Secure Boot build with
 *    Microsoft's keys refuses the unsigned program ("Access Denied"), which proves Secure Boot is on
 *    and enforcing, and a swtpm process runs for the guest's TPM 2.0;
 *  - virtdeck's guest delete removes the NVRAM file (and libvirt the TPM state).
 * The serial log is the one test-only change to the imported XML: a <log> on the serial port.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteGuest } from '../../src/jobs/guestDelete.js';
import { importFailure, prepareImport, runImport } from '../../src/jobs/importVmware.js';
import { EFI_MARKER, writeEspDisk } from '../helpers/efiApp.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-uefi-');
const PLAIN = 'vdtest-uefi-boot';
const SECURE = 'vdtest-uefi-sb';
const GUESTS = [PLAIN, SECURE];
const NVRAM_DIR = '/var/lib/libvirt/qemu/nvram';
const savedHome = process.env.VIRTDECK_HOME;

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const virsh = (...args: string[]) => sh('virsh', '-c', host.uri, ...args);
const quiet = (f: () => unknown) => {
  try {
    f();
  } catch {
    /* cleanup: the guest may be gone already */
  }
};
const serialLog = (name: string) => `/var/log/libvirt/qemu/${name}-serial.log`;
const nvram = (name: string) => join(NVRAM_DIR, `${name}_VARS.fd`);

/** Which firmware packages this host has: the tests need OVMF, the TPM part swtpm too. */
const HAS_OVMF = existsSync('/usr/share/qemu/firmware/60-edk2-x86_64.json');
const HAS_SECURE_OVMF = existsSync('/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json');
const HAS_SWTPM = ['/usr/bin/swtpm', '/usr/bin/swtpm_setup'].every((p) => existsSync(p));

function vmxText(dir: string, name: string, extra: string[]): string {
  const text = [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    'virtualHW.version = "19"',
    `displayName = "${name}"`,
    'guestOS = "other5xlinux-64"',
    'memsize = "128"',
    'numvcpus = "1"',
    'sata0.present = "TRUE"',
    'sata0:0.present = "TRUE"',
    'sata0:0.fileName = "esp.vmdk"',
    'serial0.present = "TRUE"',
    'serial0.fileType = "file"',
    'serial0.fileName = "serial.out"',
    'firmware = "efi"',
    ...extra,
    '',
  ].join('\n');
  const path = join(dir, `${name}.vmx`);
  writeFileSync(path, text);
  return path;
}

/** A VMware directory with the ESP disk as a vmdk and the .vmx. */
function vmwareDir(name: string, extra: string[]): string {
  const dir = join(scratch.dir, name);
  mkdirSync(dir, { recursive: true });
  const raw = join(dir, 'esp.raw');
  writeEspDisk(raw);
  sh('qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'vmdk', raw, join(dir, 'esp.vmdk'));
  rmSync(raw);
  return vmxText(dir, name, extra);
}

/** Imports (defined, not started), then puts a log on the serial port and starts the guest. */
async function importAndStart(vmx: string, name: string): Promise<string> {
  const prepared = await prepareImport(host, vmx, { convert: 'none', bus: 'keep', name, start: false });
  expect(prepared.check.refusals).toEqual([]);
  const r = await runImport(host, prepared);
  if (r.state !== 'done') throw importFailure(r);
  const defined = virsh('dumpxml', '--inactive', name);
  const logged = defined.replace(/<serial type='pty'>/, `<serial type='pty'>\n      <log file='${serialLog(name)}' append='off'/>`);
  expect(logged).not.toBe(defined);
  const file = join(scratch.dir, `${name}.xml`);
  writeFileSync(file, logged);
  virsh('define', '--file', file);
  rmSync(serialLog(name), { force: true });
  try {
    virsh('start', '--domain', name);
  } catch (e) {
    // CI shows only the first error line: put swtpm_setup's own reason in it.
    const log = `/var/log/swtpm/libvirt/qemu/${name}-swtpm.log`;
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => /need|error|fail/i.test(l)).slice(0, 3).join(' | ') : '';
    throw new Error(`virsh start ${name} failed${tail ? `; swtpm log: ${tail}` : ''}: ${(e as Error).message}`);
  }
  return defined;
}

async function waitFor<T>(what: string, probe: () => T | null | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const logText = (name: string) => (existsSync(serialLog(name)) ? readFileSync(serialLog(name), 'utf8') : '');

beforeAll(() => {
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
});

afterAll(() => {
  for (const g of GUESTS) {
    quiet(() => virsh('destroy', '--domain', g));
    quiet(() => virsh('undefine', '--domain', g, '--nvram'));
    rmSync(serialLog(g), { force: true });
    rmSync(`/var/log/swtpm/libvirt/qemu/${g}-swtpm.log`, { force: true });
  }
  scratch.remove();
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
});

// TCG on a shared two-core machine: OVMF takes tens of seconds to reach its boot manager.
const BOOT_MS = 240_000;

describe.skipIf(!HAS_OVMF)('an imported UEFI guest', () => {
  it('boots its EFI system partition: own NVRAM file, the program on the ESP runs and powers the guest off', { timeout: BOOT_MS + 60_000 }, async () => {
    const vmx = vmwareDir(PLAIN, ['uefi.secureBoot.enabled = "FALSE"']);
    const defined = await importAndStart(vmx, PLAIN);
    expect(defined).toContain("<os firmware='efi'>");
    expect(defined).toContain("<feature enabled='no' name='secure-boot'/>");
    expect(existsSync(nvram(PLAIN))).toBe(true);
    const live = virsh('dumpxml', PLAIN);
    expect(live).toMatch(/<loader readonly='yes' type='pflash'>\/usr\/share\/OVMF\/OVMF_CODE[^<]*\.fd<\/loader>/);
    expect(live).not.toContain("secure='yes'");
    expect(live).toContain(`${nvram(PLAIN)}</nvram>`);
    await waitFor('the guest to power itself off', () => virsh('domstate', PLAIN).trim() === 'shut off', BOOT_MS);
    const log = logText(PLAIN);
    expect(log).toMatch(/BdsDxe: starting Boot\d+ "UEFI QEMU HARDDISK/);
    expect(log).toContain(EFI_MARKER);

    // Delete in virtdeck: the guest's own variable store goes with it.
    await deleteGuest(host, PLAIN, { withDisks: false });
    expect(existsSync(nvram(PLAIN))).toBe(false);
    expect(() => virsh('domstate', PLAIN)).toThrow();
  });

  it.skipIf(!HAS_SECURE_OVMF || !HAS_SWTPM)(
    'with Secure Boot and a vTPM: the enrolled-keys build refuses the unsigned loader, and swtpm backs the TPM',
    { timeout: BOOT_MS + 60_000 },
    async () => {
      const vmx = vmwareDir(SECURE, ['uefi.secureBoot.enabled = "TRUE"', 'vtpm.present = "TRUE"']);
      const defined = await importAndStart(vmx, SECURE);
      expect(defined).toContain("<smm state='on'/>");
      expect(defined).toMatch(/<tpm model='tpm-crb'>\s*<backend type='emulator' version='2.0'\/>/);
      const live = virsh('dumpxml', SECURE);
      expect(live).toMatch(/<loader readonly='yes' secure='yes' type='pflash'>\/usr\/share\/OVMF\/OVMF_CODE[^<]*\.ms\.fd<\/loader>/);
      expect(existsSync(nvram(SECURE))).toBe(true);
      const uuid = virsh('domuuid', SECURE).trim();
      expect(existsSync(`/var/lib/libvirt/swtpm/${uuid}/tpm2`)).toBe(true);
      expect(sh('ps', '-eo', 'args').split('\n').some((a) => a.startsWith('/usr/bin/swtpm') && a.includes(`${SECURE}-swtpm`))).toBe(true);
      const log = await waitFor('OVMF to refuse the unsigned loader', () => /Access Denied|Security Violation/.exec(logText(SECURE)), BOOT_MS);
      expect(log[0]).toBeTruthy();
      expect(logText(SECURE)).not.toContain(EFI_MARKER);
      expect(virsh('domstate', SECURE).trim()).toBe('running');

      virsh('destroy', '--domain', SECURE);
      await deleteGuest(host, SECURE, { withDisks: false });
      expect(existsSync(nvram(SECURE))).toBe(false);
      expect(existsSync(`/var/lib/libvirt/swtpm/${uuid}`)).toBe(false);
    },
  );
});
