/**
 * An OVA's `.cert` (ovftool's signature of the manifest): made here with openssl the way ovftool
 * makes one, it is checked against the manifest as it is; a manifest changed after signing, a
 * certificate that signs another file, and a package without a manifest are each one sentence.
 * A package virtdeck reads on another host than its own is refused before anything is read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { checkSignature, inspectOva } from '../../src/jobs/importOva.js';
import { certFileFor, parseCert, signatureWarning } from '../../src/model/ovaPackage.js';
import { UserError } from '../../src/model/userError.js';

const dir = mkdtempSync(join(tmpdir(), 'vdtest-ovasig-'));
const MF = `SHA256(web.ovf)= ${'ab'.repeat(32)}\nSHA256(web-disk1.vmdk)= ${'cd'.repeat(32)}\n`;
let pem = '';
let certText = '';

/** `SHA256(web.mf)= hex` of `text`, signed with the test key (openssl dgst, as ovftool does). */
function signLine(text: string, signs = 'web.mf'): string {
  writeFileSync(join(dir, 'm'), text);
  const hex = execFileSync('openssl', ['dgst', '-sha256', '-sign', join(dir, 'key.pem'), '-hex', join(dir, 'm')], { encoding: 'utf8' }).split('= ')[1]?.trim();
  return `SHA256(${signs})= ${hex}\n`;
}

beforeAll(() => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=Example Appliances/O=Example Ltd', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2'], { stdio: 'ignore' });
  pem = readFileSync(join(dir, 'cert.pem'), 'utf8');
  certText = signLine(MF) + pem;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the .cert of an OVA', () => {
  it('reads the signature line and the certificate', () => {
    const c = parseCert(certText, 'web.cert');
    expect(c).toMatchObject({ algorithm: 'sha256', signs: 'web.mf' });
    expect(c.signatureHex).toMatch(/^[0-9a-f]{512}$/);
    expect(c.pem).toContain('-----BEGIN CERTIFICATE-----');
    expect(() => parseCert(pem, 'web.cert')).toThrow(/web\.cert is not a signature file virtdeck can read: its first line is not/);
    expect(() => parseCert(signLine(MF), 'web.cert')).toThrow(/it holds no certificate/);
    expect(() => parseCert(signLine(MF, '../etc/shadow') + pem, 'web.cert')).toThrow(UserError);
  });

  it('picks the signature file named like the descriptor, else the only one', () => {
    expect(certFileFor('web.ovf', ['web.ovf', 'web.mf', 'web.cert', 'web-disk1.vmdk'])).toBe('web.cert');
    expect(certFileFor('web.ovf', ['web.ovf', 'web.mf', 'other.cert'])).toBe('other.cert');
    expect(certFileFor('web.ovf', ['web.ovf', 'a.cert', 'b.cert'])).toBeNull();
    expect(certFileFor('web.ovf', ['web.ovf', 'web.mf'])).toBeNull();
  });

  it('a signature that covers the manifest as it is: who signed it, shown for the admin to judge', () => {
    const s = checkSignature(certText, 'web.cert', MF, 'web.mf');
    expect(s).toMatchObject({ certName: 'web.cert', subject: 'CN=Example Appliances, O=Example Ltd', selfSigned: true, expired: false });
    expect(s.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const w = signatureWarning(s);
    expect(w).toContain("the manifest's signature matches a self-signed certificate for CN=Example Appliances, O=Example Ltd");
    expect(w).toContain(s.fingerprint);
    expect(w).toContain('virtdeck checks that the signature covers the manifest, not who the signer is');
    // Expired certificates still verify, and say so.
    expect(signatureWarning(checkSignature(certText, 'web.cert', MF, 'web.mf', Date.now() + 5 * 86400_000))).toMatch(/, which expired /);
  });

  it('refuses a manifest changed after signing, a certificate for another file, and a signature without a manifest', () => {
    const changed = MF.replace('cd'.repeat(32), 'ef'.repeat(32));
    expect(() => checkSignature(certText, 'web.cert', changed, 'web.mf')).toThrow('web.cert does not sign web.mf as it is: the manifest was changed after the package was signed.');
    expect(() => checkSignature(signLine(MF, 'other.mf') + pem, 'web.cert', MF, 'web.mf')).toThrow("web.cert cannot vouch for this package: it signs other.mf, not the package's manifest web.mf.");
    expect(() => checkSignature(certText, 'web.cert', null, null)).toThrow('web.cert cannot vouch for this package: the package has no manifest (.mf) for it to sign.');
    const garbled = certText.replace(/-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/]{10}/, '-----BEGIN CERTIFICATE-----\nAAAAAAAAAA');
    expect(() => checkSignature(garbled, 'web.cert', MF, 'web.mf')).toThrow(/web\.cert (cannot vouch for this package|does not sign web\.mf)/);
  });
});

describe('an OVA against a remote host', () => {
  it('is refused in one sentence before anything is read', async () => {
    const ssh = new SshExecutor({ destination: 'root@far.example' });
    const host: HostContext = { name: 'far', uri: 'qemu+ssh://root@far.example/system', virshExec: ssh, sysExec: ssh };
    const err = await inspectOva(host, '/nonexistent/web.ova').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).sentence).toBe('An OVA or OVF is read on the machine virtdeck runs on, not on far.');
    expect((err as UserError).fix).toMatch(/Run virtdeck on far itself/);
  });
});
