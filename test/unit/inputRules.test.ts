import { describe, expect, it } from 'vitest';
import { checkOutsideUri, parseLibvirtUri, uriParams } from '../../src/config/connect.js';
import { guestNameProblem } from '../../src/model/guestName.js';
import { isoPathProblem } from '../../src/model/isoPath.js';
import { deviceSourceProblem, parseSshSource } from '../../src/model/p2vPlan.js';
import { checkSshDestination } from '../../src/model/sshDestination.js';
import { UserError } from '../../src/model/userError.js';
import { writableDirProblem } from '../../src/model/writableDir.js';

describe('ssh destinations', () => {
  it.each(['root@host1', 'host1', 'admin@10.0.0.5', 'root@fe80::1', 'backup_1@nas.example.org'])('accepts %s', (d) => {
    expect(() => checkSshDestination(d)).not.toThrow();
  });
  it.each(['-oProxyCommand=x', 'root@-oProxyCommand=x', '-l@host', 'root@host;id', 'ro ot@host', 'root@$(id)', 'root@'])('refuses %j', (d) => {
    expect(() => checkSshDestination(d)).toThrow(UserError);
  });
  it('parses a P2V source only when its user and host are names', () => {
    expect(parseSshSource('root@old:/dev/sdb', {})).toMatchObject({ destination: 'root@old', device: '/dev/sdb' });
    expect(() => parseSshSource('-oProxyCommand=touch$IFS/x@h', {})).toThrow(/begins with "-"/);
  });
});

describe('libvirt URIs', () => {
  it('reads parameters as libvirt does: & and ; both split, names without case', () => {
    expect(uriParams(new URL('qemu+ssh://h/system?no_verify=1;Command=/x&keyfile=%2Fk'))).toEqual([
      { name: 'no_verify', value: '1' },
      { name: 'command', value: '/x' },
      { name: 'keyfile', value: '/k' },
    ]);
  });
  it('lets outside text switch behaviours, never name a program, file or socket', () => {
    expect(() => checkOutsideUri('qemu+ssh://root@h/system?no_verify=1&no_tty=1&mode=direct&proxy=native', '--connect')).not.toThrow();
    for (const p of ['command=/x', 'socket=/s', 'netcat=nc', 'keyfile=/k', 'known_hosts=/k', 'pkipath=/p', 'COMMAND=/x', 'no_verify=yes']) {
      expect(() => checkOutsideUri(`qemu+ssh://root@h/system?${p}`, '--connect')).toThrow(UserError);
    }
    expect(() => checkOutsideUri('qemu+ext:///system', '--connect')).toThrow(/ext transport/);
  });
  it('refuses a host or user that ssh would read as an option, and control characters', () => {
    expect(() => parseLibvirtUri('qemu+ssh://-oProxyCommand=x/system')).toThrow(/host .*begins with "-"/);
    expect(() => parseLibvirtUri('qemu+ssh://%2Dluser@h/system')).toThrow(/user "-luser"/);
    expect(() => parseLibvirtUri('qemu+ssh://root@h\n/system')).toThrow(/control characters/);
    expect(parseLibvirtUri('qemu+ssh://root@[::1]:2222/system')).toMatchObject({ host: '::1', user: 'root', port: 2222 });
  });
});

describe('the other early refusals', () => {
  it.each([
    ['web1', null],
    ['db-2.prod_x+y', null],
    ['', /no name/],
    ['-x', /begins with "-"/],
    ['a/b', /"\/"/],
    ['a\u0007b', /control characters/],
    ['x'.repeat(65), /65 bytes long/],
    ['with space', /characters a guest name cannot use/],
    ['.hidden', /characters a guest name cannot use/],
  ])('guest name %j', (name, problem) => {
    const p = guestNameProblem(name);
    if (problem === null) expect(p).toBeNull();
    else expect(p?.sentence).toMatch(problem);
  });

  it('an ISO must be a file or a block device', () => {
    expect(isoPathProblem('/iso/a.iso', 'file')).toBeNull();
    expect(isoPathProblem('/dev/sr0', 'block')).toBeNull();
    expect(isoPathProblem('/iso/a.iso', null)?.sentence).toMatch(/does not exist/);
    expect(isoPathProblem('/iso', 'dir')?.sentence).toMatch(/directory/);
    expect(isoPathProblem('a.iso', 'file')?.sentence).toMatch(/not absolute/);
  });

  it('a P2V device must be a block device', () => {
    expect(deviceSourceProblem('/dev/sdb', 'block special file')).toBeNull();
    expect(deviceSourceProblem('/x.raw', 'regular file')?.fix).toMatch(/--from-file/);
    expect(deviceSourceProblem('/dev/zero', 'character special file')?.sentence).toMatch(/character special file, not a block device/);
    expect(deviceSourceProblem('/nope', null)?.sentence).toMatch(/does not exist/);
  });

  it('a destination directory is refused when missing (with the mkdir) or read-only', () => {
    expect(writableDirProblem('/d', 'ok', 'the destination')).toBeNull();
    expect(writableDirProblem('/d', undefined, 'the destination')).toBeNull();
    expect(writableDirProblem('/d', 'missing', 'the destination')?.fix).toContain('mkdir -p -m 0700 /d');
    expect(writableDirProblem('/d', 'read-only', 'the destination')?.sentence).toMatch(/^The destination \/d cannot be written to/);
  });
});
