import { describe, expect, it } from 'vitest';
import { checkManifestCoverage, checkTarMember, parseManifest, parsePax, parseTarHeader } from '../../src/model/ovaPackage.js';

const H1 = 'a'.repeat(40);
const H256 = 'b'.repeat(64);

describe('.mf manifest', () => {
  it('reads SHA1 and SHA256 lines as ovftool writes them', () => {
    expect(parseManifest(`SHA256(vm.ovf)= ${H256}\nSHA1(vm-disk1.vmdk)=${H1.toUpperCase()}\r\n\n`, 'vm.mf')).toEqual([
      { name: 'vm.ovf', algorithm: 'sha256', digest: H256, line: 1 },
      { name: 'vm-disk1.vmdk', algorithm: 'sha1', digest: H1, line: 2 },
    ]);
  });
  it('refuses a bad line, a digest of the wrong length, a name twice, a name outside the package', () => {
    expect(() => parseManifest('MD5(vm.ovf)= abc\n', 'vm.mf')).toThrow(/vm\.mf line 1 is not "SHA256\(file\)= digest"/);
    expect(() => parseManifest(`SHA256(vm.ovf)= ${H1}\n`, 'vm.mf')).toThrow(/the SHA256 of vm\.ovf has 40 hex digits, not 64/);
    expect(() => parseManifest(`SHA1(a)= ${H1}\nSHA1(a)= ${H1}\n`, 'vm.mf')).toThrow(/names a twice/);
    expect(() => parseManifest(`SHA1(../../etc/passwd)= ${H1}\n`, 'vm.mf')).toThrow(/has a directory part/);
  });
  const mf = parseManifest(`SHA256(vm.ovf)= ${H256}\nSHA256(vm-disk1.vmdk)= ${H256}\n`, 'vm.mf');
  it('good: every file used is listed and present', () => {
    expect(() => checkManifestCoverage(mf, ['vm.ovf', 'vm.mf', 'vm-disk1.vmdk'], ['vm.ovf', 'vm-disk1.vmdk'], 'vm.mf')).not.toThrow();
  });
  it('missing entry: a disk the descriptor uses has no digest', () => {
    expect(() => checkManifestCoverage(mf, ['vm.ovf', 'vm.mf', 'vm-disk1.vmdk', 'vm-disk2.vmdk'], ['vm.ovf', 'vm-disk1.vmdk', 'vm-disk2.vmdk'], 'vm.mf')).toThrow(
      /^vm\.mf has no digest for vm-disk2\.vmdk, so it cannot be checked\./,
    );
  });
  it('truncated: the manifest lists a file the package lacks', () => {
    expect(() => checkManifestCoverage(mf, ['vm.ovf', 'vm.mf'], ['vm.ovf'], 'vm.mf')).toThrow(/^vm\.mf lists vm-disk1\.vmdk, which is not in the package: it is truncated or incomplete\./);
  });
});

function header(name: string, size: number, type = '0', opts: { badSum?: boolean } = {}): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 'utf8');
  b.write('0000644\0', 100);
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  b.write(type, 156);
  b.write('ustar\0', 257);
  b.write('00', 263);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(`${(opts.badSum ? sum + 1 : sum).toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

describe('tar headers', () => {
  it('reads name, size and kind; checks the checksum', () => {
    expect(parseTarHeader(header('vm.ovf', 1234), 0, 'a.ova')).toMatchObject({ name: 'vm.ovf', size: 1234, kind: 'file' });
    expect(() => parseTarHeader(header('vm.ovf', 1, '0', { badSum: true }), 1024, 'a.ova')).toThrow(/a\.ova is not a whole tar archive: a header whose checksum is wrong at byte 1024/);
  });
  it('reads GNU base-256 sizes (members of 8 GiB and more)', () => {
    const b = header('big.vmdk', 0);
    b.fill(0, 124, 136);
    b[124] = 0x80;
    b.writeUIntBE(20 * 2 ** 30, 130, 6);
    b.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of b) sum += x;
    b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    expect(parseTarHeader(b, 0, 'a.ova').size).toBe(20 * 2 ** 30);
  });
  it('refuses symlinks, hard links, devices and names that leave the archive root', () => {
    expect(() => checkTarMember(parseTarHeader(header('disk.vmdk', 0, '2'), 0, 'a.ova'), 'a.ova')).toThrow(/a\.ova holds disk\.vmdk as a symbolic link; an OVA holds only plain files/);
    expect(() => checkTarMember(parseTarHeader(header('disk.vmdk', 0, '1'), 0, 'a.ova'), 'a.ova')).toThrow(/as a hard link/);
    expect(() => checkTarMember(parseTarHeader(header('../disk.vmdk', 0), 0, 'a.ova'), 'a.ova')).toThrow(/has a directory part/);
    expect(() => checkTarMember(parseTarHeader(header('/etc/cron.d/x', 0), 0, 'a.ova'), 'a.ova')).toThrow(/is an absolute path/);
    expect(checkTarMember(parseTarHeader(header('./vm.ovf', 0), 0, 'a.ova'), 'a.ova')).toBe('vm.ovf');
  });
  it('reads pax path and size records', () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let len = body.length + 1;
      if (String(len).length + body.length !== len) len = String(len + 1).length + body.length;
      return `${len}${body}`;
    };
    expect(parsePax(Buffer.from(rec('path', 'a-long-name.vmdk') + rec('size', '99')))).toEqual({ path: 'a-long-name.vmdk', size: 99 });
  });
});
