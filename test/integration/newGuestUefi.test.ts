/**
 * The New guest wizard's Windows 11 preset on the real stack (issue 14 item 3): the job defines a
 * guest with UEFI + Secure Boot + TPM 2.0 on a SATA disk; libvirt accepts it, it starts under
 * TCG (or KVM, whichever the host has: the domain type is detected, as the wizard does) with its
 * own NVRAM file from the Microsoft-keys template and a swtpm process; virtdeck's guest delete
 * removes the NVRAM file. Everything is named vdtest-ngu-* and removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteGuest } from '../../src/jobs/guestDelete.js';
import { gatherHostFacts, runNewGuest } from '../../src/jobs/newGuest.js';
import { applyOsDefaults, formToSpec, initialForm } from '../../src/store/wizards/newGuest/newGuestForm.js';
import { localHost } from '../helpers/tinyGuest.js';

const host = localHost();
const NAME = 'vdtest-ngu-win11';
const NVRAM = `/var/lib/libvirt/qemu/nvram/${NAME}_VARS.fd`;
const savedHome = process.env.VIRTDECK_HOME;
let dir = '';

const virsh = (...args: string[]) => execFileSync('virsh', ['-c', host.uri, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const quiet = (f: () => unknown) => {
  try {
    f();
  } catch {
    /* already gone */
  }
};

const READY =
  existsSync('/usr/share/qemu/firmware/40-edk2-x86_64-secure-enrolled.json') && ['/usr/bin/swtpm', '/usr/bin/swtpm_setup'].every((p) => existsSync(p));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-ngu-'));
  chmodSync(dir, 0o755);
  process.env.VIRTDECK_HOME = join(dir, 'home');
});

afterAll(() => {
  quiet(() => virsh('destroy', '--domain', NAME));
  quiet(() => virsh('undefine', '--domain', NAME, '--nvram'));
  rmSync(`/var/log/swtpm/libvirt/qemu/${NAME}-swtpm.log`, { force: true });
  rmSync(dir, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
});

describe.skipIf(!READY)('New guest: the Windows 11 preset', () => {
  it('defines and starts a UEFI + Secure Boot + TPM 2.0 guest with its own NVRAM file; delete removes it', { timeout: 180_000 }, async () => {
    const facts = await gatherHostFacts(host);
    const form = { ...applyOsDefaults(initialForm(facts, () => 0.25), 'win11'), name: NAME, memory: '256', installKind: 'none' as const, diskPath: join(dir, `${NAME}.qcow2`), diskSize: '64M', netKind: 'user' as const };
    const { spec, problems } = formToSpec(form, facts.domainType);
    expect(problems).toEqual([]);
    expect(spec).toMatchObject({ firmware: 'uefi-secure', tpm: true, domainType: facts.domainType });
    const result = await runNewGuest(host, spec, { start: true });
    expect(result.name).toBe(NAME);
    expect(virsh('domstate', NAME).trim()).toBe('running');
    const live = virsh('dumpxml', NAME);
    expect(live).toMatch(/<loader readonly='yes' secure='yes' type='pflash'>\/usr\/share\/OVMF\/OVMF_CODE[^<]*\.ms\.fd<\/loader>/);
    expect(live).toMatch(/<nvram template='\/usr\/share\/OVMF\/OVMF_VARS[^']*\.ms\.fd'>/);
    expect(live).toContain("<target dev='sda' bus='sata'/>");
    expect(live).toMatch(/<tpm model='tpm-crb'>/);
    expect(existsSync(NVRAM)).toBe(true);
    const uuid = virsh('domuuid', NAME).trim();
    expect(existsSync(`/var/lib/libvirt/swtpm/${uuid}/tpm2`)).toBe(true);

    virsh('destroy', '--domain', NAME);
    await deleteGuest(host, NAME, { withDisks: true });
    expect(existsSync(NVRAM)).toBe(false);
    expect(existsSync(join(dir, `${NAME}.qcow2`))).toBe(false);
    expect(existsSync(`/var/lib/libvirt/swtpm/${uuid}`)).toBe(false);
  });
});
