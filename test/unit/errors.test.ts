import { describe, expect, it } from 'vitest';
import { explain, HostError, toHostError } from '../../src/host/errors.js';
import { KNOWN_ERROR_CATALOG } from '../../src/model/knownErrors.js';

const virsh = (...args: string[]) => ['virsh', '-c', 'qemu:///system', ...args];

/**
 * Real stderr, captured on this project's Debian 12 host (libvirt 9.0, QEMU 7.2) unless marked;
 * the marked ones are quoted from the libvirt/QEMU/OpenSSH message catalogs because the situation
 * cannot be produced here.
 */
const SAMPLES: { code: string; command: string[]; stderr: string; mentions: string[] }[] = [
  {
    code: 'resume-running',
    command: virsh('resume', '--domain', 'web'),
    stderr: "error: Failed to resume domain 'web'\nerror: Requested operation is not valid: domain is already running",
    mentions: ['web'],
  },
  { code: 'already-running', command: virsh('start', '--domain', 'web'), stderr: 'error: Domain is already active', mentions: ['web'] },
  {
    code: 'not-running',
    command: virsh('shutdown', '--domain', 'db'),
    stderr: "error: Failed to shutdown domain 'db'\nerror: Requested operation is not valid: domain is not running",
    mentions: ['db'],
  },
  { code: 'not-running', command: virsh('vncdisplay', '--domain', 'db'), stderr: 'error: Domain is not running', mentions: ['db'] },
  {
    code: 'not-paused',
    command: virsh('resume', '--domain', 'db'),
    stderr: "error: Failed to resume domain 'db'\nerror: Requested operation is not valid: domain is not paused",
    mentions: ['db'],
  },
  { code: 'no-such-guest', command: virsh('start', '--domain', 'nosuch'), stderr: "error: failed to get domain 'nosuch'", mentions: ['nosuch'] },
  {
    code: 'no-such-guest',
    command: virsh('dominfo', 'x'),
    stderr: "error: Domain not found: no domain with matching name 'ghost'", // libvirt catalog
    mentions: ['ghost'],
  },
  {
    code: 'no-vnc',
    command: virsh('vncdisplay', '--domain', 'web'),
    stderr: 'error: Failed to get VNC port. Is this domain using VNC?',
    mentions: ['web', 'VNC'],
  },
  {
    code: 'undefine-nvram',
    command: virsh('undefine', '--domain', 'uefi'),
    stderr: "error: Failed to undefine domain 'uefi'\nerror: Requested operation is not valid: cannot undefine domain with nvram", // libvirt catalog
    mentions: ['uefi', 'nvram'],
  },
  {
    code: 'undefine-snapshots',
    command: virsh('undefine', '--domain', 'snap'),
    stderr: "error: Failed to undefine domain 'snap'\nerror: Requested operation is not valid: cannot delete inactive domain with 2 snapshots", // libvirt catalog
    mentions: ['snap', '2 snapshot'],
  },
  {
    code: 'name-in-use',
    command: virsh('define', '--file', '/dev/stdin'),
    stderr:
      "error: Failed to define domain from dup.xml\nerror: operation failed: domain 'vdtest-host-sample' already exists with uuid 1c41053e-0937-4ce3-a8c2-2a60aa418700",
    mentions: ['vdtest-host-sample', '1c41053e'],
  },
  {
    code: 'write-lock',
    command: virsh('start', '--domain', 'vdtest-host-s3'),
    stderr:
      'error: Failed to start domain \'vdtest-host-s3\'\nerror: internal error: qemu unexpectedly closed the monitor: 2026-11-25T19:46:47.637364Z qemu-system-x86_64: -blockdev {"node-name":"libvirt-1-format","read-only":false,"driver":"qcow2","file":"libvirt-1-storage","backing":null}: Failed to get "write" lock\nIs another process using the image [/tmp/vdtest-host/img/disk.qcow2]?',
    mentions: ['vdtest-host-s3', '/tmp/vdtest-host/img/disk.qcow2'],
  },
  {
    // The same lock seen by qemu-img itself is worded for an image, not for a guest that cannot start.
    code: 'qemu-img-locked',
    command: ['qemu-img', 'resize', '/img/a.qcow2', '2G'],
    stderr: 'qemu-img: Could not open \'/img/a.qcow2\': Failed to get "write" lock\nIs another process using the image [/img/a.qcow2]?',
    mentions: ['/img/a.qcow2'],
  },
  {
    code: 'kvm-missing',
    command: virsh('start', '--domain', 'fast'),
    stderr:
      "error: Failed to start domain 'fast'\nerror: internal error: process exited while connecting to monitor: Could not access KVM kernel module: No such file or directory\nqemu-system-x86_64: failed to initialize kvm: No such file or directory", // QEMU catalog
    mentions: ['fast', 'KVM', "'qemu'"],
  },
  {
    code: 'kvm-unavailable',
    command: virsh('start', '--domain', 'fast'),
    stderr:
      "error: Failed to start domain 'fast'\nerror: unsupported configuration: Domain requires KVM, but it is not available. Check that virtualization is enabled in the host BIOS, and host configuration is setup to load the kvm modules.", // libvirt catalog
    mentions: ['fast'],
  },
  {
    code: 'kvm-denied',
    command: virsh('start', '--domain', 'fast'),
    stderr: "error: Failed to start domain 'fast'\nerror: internal error: process exited while connecting to monitor: Could not access KVM kernel module: Permission denied", // QEMU catalog
    mentions: ['fast'],
  },
  {
    code: 'permission-denied',
    command: virsh('start', '--domain', 'vdtest-host-s7'),
    stderr:
      "error: Failed to start domain 'vdtest-host-s7'\nerror: Cannot access storage file '/root/vdtest-host-priv/p.qcow2' (as uid:995, gid:995): Permission denied",
    mentions: ['vdtest-host-s7', '/root/vdtest-host-priv/p.qcow2', 'AppArmor', 'chown'],
  },
  {
    code: 'storage-missing',
    command: virsh('start', '--domain', 'vdtest-host-s2'),
    stderr:
      "error: Failed to start domain 'vdtest-host-s2'\nerror: Cannot access storage file '/tmp/vdtest-host/img/missing.qcow2' (as uid:995, gid:995): No such file or directory",
    mentions: ['vdtest-host-s2', '/tmp/vdtest-host/img/missing.qcow2'],
  },
  {
    code: 'network-missing',
    command: virsh('start', '--domain', 'vdtest-host-s5'),
    stderr: "error: Failed to start domain 'vdtest-host-s5'\nerror: Network not found: no network with matching name 'vdtest-host-nonet'",
    mentions: ['vdtest-host-s5', 'vdtest-host-nonet'],
  },
  {
    code: 'network-inactive',
    command: virsh('start', '--domain', 'g'),
    stderr: "error: Failed to start domain 'g'\nerror: Requested operation is not valid: network 'lan' is not active", // libvirt catalog
    mentions: ['g', 'net-start lan'],
  },
  {
    code: 'bridge-missing',
    command: virsh('start', '--domain', 'vdtest-host-s6'),
    stderr: "error: Failed to start domain 'vdtest-host-s6'\nerror: Cannot get interface MTU on 'vdtest-nobr': No such device",
    mentions: ['vdtest-host-s6', 'vdtest-nobr'],
  },
  {
    code: 'xml-invalid',
    command: virsh('define', '--file', '/dev/stdin', '--validate'),
    stderr:
      'error: Failed to define domain from bad.xml\nerror: XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domain.rng\nElement domain has extra content: bogus',
    mentions: ['Element domain has extra content: bogus'],
  },
  {
    code: 'xml-invalid',
    command: virsh('define', '--file', '/dev/stdin'),
    stderr: "error: Failed to define domain from trunc.xml\nerror: (domain_definition):4: expected '>'\n  <vcpu>1</v\n------------^",
    mentions: ["line 4: expected '>'"],
  },
  {
    code: 'xml-invalid',
    command: virsh('define', '--file', '/dev/stdin'),
    stderr: "error: Failed to define domain from /dev/stdin\nerror: XML error: Invalid value for attribute 'port' in element 'graphics': 'abc'.", // libvirt catalog
    mentions: ["'port'"],
  },
  {
    code: 'state-change-lock',
    command: virsh('shutdown', '--domain', 'busy'),
    stderr: "error: Failed to shutdown domain 'busy'\nerror: Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainCreate)", // libvirt catalog
    mentions: ['remoteDispatchDomainCreate', 'virsh destroy'],
  },
  {
    code: 'timed-out',
    command: virsh('domstats'),
    stderr: '\nvirtdeck: operation timed out after 60000 ms', // exec.ts
    mentions: ['60000 ms'],
  },
  {
    code: 'ssh-auth',
    command: ['virsh', '-c', 'qemu+ssh://root@host1/system', 'list'],
    stderr:
      'error: failed to connect to the hypervisor\nerror: Cannot recv data: root@host1: Permission denied (publickey,password).: Connection reset by peer', // OpenSSH catalog
    mentions: ['qemu+ssh://root@host1/system', 'ssh-copy-id'],
  },
  {
    code: 'ssh-auth',
    command: ['virsh', '-c', 'qemu+tcp://h/system', 'list'],
    stderr: 'error: failed to connect to the hypervisor\nerror: authentication failed: Failed to start SASL negotiation: -4 (SASL(-4): no mechanism available)', // libvirt catalog
    mentions: ['qemu+tcp://h/system'],
  },
  {
    code: 'ssh-unreachable',
    command: ['virsh', '-c', 'qemu+ssh://vdtest@127.0.0.1/system?no_tty=1', 'list'],
    stderr:
      'error: failed to connect to the hypervisor\nerror: Cannot recv data: ssh: connect to host 127.0.0.1 port 22: Connection refused: Connection reset by peer',
    mentions: ['127.0.0.1', 'sshd'],
  },
  {
    code: 'libvirtd-down',
    command: ['virsh', '-c', 'qemu:///system?socket=/tmp/vdtest-host/nosock', 'list'],
    stderr: "error: failed to connect to the hypervisor\nerror: Failed to connect socket to '/tmp/vdtest-host/nosock': No such file or directory",
    mentions: ['at /tmp/vdtest-host/nosock:', 'setup-host.sh', 'systemctl start libvirtd'],
  },
  {
    code: 'libvirtd-down',
    command: ['virsh', '-c', 'qemu+tcp://127.0.0.1:1/system', 'list'],
    stderr: "error: failed to connect to the hypervisor\nerror: unable to connect to server at '127.0.0.1:1': Connection refused",
    mentions: ['at 127.0.0.1:1:'],
  },
  {
    code: 'no-space',
    command: ['qemu-img', 'create', '-f', 'raw', '-o', 'preallocation=full', '/tmp/vdtest-host/full/x.raw', '4M'],
    stderr: 'qemu-img: /tmp/vdtest-host/full/x.raw: Could not write zeros for preallocation: No space left on device',
    mentions: ['/tmp/vdtest-host/full/x.raw', 'df -h'],
  },
  {
    code: 'invalid-operation',
    command: virsh('managedsave', '--domain', 'db'),
    stderr: "error: Failed to save domain 'db' state\nerror: Requested operation is not valid: domain has active block job", // libvirt catalog
    mentions: ['db', 'domain has active block job'],
  },
];

describe('explain: the catalog of known host errors', () => {
  it.each(SAMPLES.map((s) => [s.code, s] as const))('%s: its sample matches it first and the sentence names what is involved', (_c, s) => {
    const e = explain(s.command, s.stderr, 1);
    expect(e).toBeInstanceOf(HostError);
    expect(e.code).toBe(s.code);
    for (const word of s.mentions) expect(`${e.sentence} ${e.fix}`).toContain(word);
    expect(e.sentence).toMatch(/\.$/);
    expect(e.fix.length).toBeGreaterThan(10);
    expect(e.command).toEqual(s.command);
    expect(e.stderr).toBe(s.stderr.trim());
  });

  it('words every sample with an entry of the one catalog (assets/known-errors.json)', () => {
    const ids = new Set(KNOWN_ERROR_CATALOG.map((e) => e.id));
    expect(SAMPLES.map((s) => s.code).filter((c) => !ids.has(c))).toEqual([]);
  });

  it('names the guest from the command when the message does not, and the host from -c', () => {
    expect(explain(virsh('vncdisplay', '--domain', 'web'), 'error: Failed to get VNC port. Is this domain using VNC?', 1).sentence).toBe('The guest web has no VNC display.');
    expect(explain(['virsh', 'vncdisplay'], 'error: Failed to get VNC port. Is this domain using VNC?', 1).sentence).toBe('The guest has no VNC display.');
    expect(explain(virsh('list'), 'error: Connection refused', 1).sentence).toBe('libvirt is not answering at qemu:///system: libvirtd is not running.');
  });

  it('keeps the command and stderr of an unknown error', () => {
    const e = explain(['qemu-img', 'check', 'a.qcow2'], 'qemu-img: something nobody has seen before\nmore', 3);
    expect(e.code).toBe('unknown');
    expect(e.sentence).toBe('qemu-img failed: qemu-img: something nobody has seen before');
    expect(e.command).toEqual(['qemu-img', 'check', 'a.qcow2']);
    expect(e.stderr).toContain('more');
    expect(e.exitCode).toBe(3);
  });

  it('wraps anything thrown without a stack in the sentence', () => {
    const e = toHostError(new Error('boom'), ['x']);
    expect(e.sentence).toBe('boom');
    expect(toHostError(e)).toBe(e);
  });
});
