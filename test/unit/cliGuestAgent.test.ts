import { describe, expect, it } from 'vitest';
import { type CliDeps, runCli } from '../../src/cli/commands/program.js';
import type { Output } from '../../src/cli/output.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';

/** `virtdeck guest agent` and `guest edit --guest-agent`: the console's agent features headless, against the fake host. */
async function cli(argv: string[], list: FakeGuest[]) {
  const fake = createFakeHost(list);
  let out = '';
  let err = '';
  const output = (json: boolean): Output => ({
    json,
    out: (t) => {
      out += t.endsWith('\n') ? t : `${t}\n`;
    },
    err: (t) => {
      err += t.endsWith('\n') ? t : `${t}\n`;
    },
  });
  const deps: CliDeps = {
    version: '9.9.9',
    createHost: () => fake.host,
    runTui: async () => {},
    ensureDemo: async () => {},
    resetDemo: async () => [],
    output,
  };
  const code = await runCli(argv, deps);
  return { code, out, err, calls: fake.calls };
}

const AGENT = {
  domifaddr: ' eth0       52:54:00:aa:bb:cc    ipv4         192.168.122.10/24\n',
  guestinfo: 'os.pretty-name      : Debian GNU/Linux 12 (bookworm)\nhostname            : web1\u001b[2J\nfs.count            : 1\nfs.0.mountpoint     : /\nfs.0.fstype         : ext4\nfs.0.total-bytes    : 1073741824\nfs.0.used-bytes     : 536870912\n',
};

describe('virtdeck guest agent', () => {
  it('--json: what the agent said, guest text made safe', async () => {
    const r = await cli(['guest', 'agent', 'web', '--json'], [{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512, agentChannel: 'connected', agent: AGENT }]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(true);
    expect(j.guests[0].agent).toMatchObject({ status: 'answered', hostname: 'web1\\x1b[2J', osName: 'Debian GNU/Linux 12 (bookworm)', addressSource: 'agent' });
    expect(j.guests[0].agent.addresses).toEqual([{ iface: 'eth0', mac: '52:54:00:aa:bb:cc', protocol: 'ipv4', address: '192.168.122.10/24' }]);
    expect(j.guests[0].agent.filesystems).toEqual([{ mountpoint: '/', fstype: 'ext4', totalBytes: 1073741824, usedBytes: 536870912 }]);
  });

  it('no channel: exit 0 with the recipe and the DHCP lease; the agent itself is not asked', async () => {
    const r = await cli(['guest', 'agent', 'web'], [{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512, leases: ' vnet0      52:54:00:aa:bb:cc    ipv4         192.168.122.77/24\n' }]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('No guest agent channel (org.qemu.guest_agent.0) in its XML, so no agent can answer.');
    expect(r.out).toContain('  Add it: e, Guest agent yes, save; it takes effect when the guest is next started.');
    expect(r.out).toContain("Addresses  from libvirt's DHCP leases:");
    expect(r.out).toContain('192.168.122.77/24');
    expect(r.calls.some((c) => c.join(' ').includes('--source agent'))).toBe(false);
  });

  it('a shut-off guest or an unknown name is exit 2, nothing asked', async () => {
    const off = await cli(['guest', 'agent', 'files'], [{ name: 'files', state: 'shut off', vcpus: 1, memoryMiB: 512 }]);
    expect(off.code).toBe(2);
    expect(off.err).toMatch(/files is shut off, so nothing inside it can answer\.[\s\S]*virtdeck guest start files/);
    const none = await cli(['guest', 'agent', 'nosuch'], [{ name: 'files', state: 'shut off', vcpus: 1, memoryMiB: 512 }]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/no guest named "nosuch"/);
  });
});

describe('virtdeck guest edit --guest-agent', () => {
  it('yes adds the channel (the diff shows it), no on a guest without one changes nothing, anything else is exit 2', async () => {
    const list = (): FakeGuest[] => [{ name: 'files', state: 'shut off', vcpus: 1, memoryMiB: 512 }];
    const add = await cli(['guest', 'edit', 'files', '--guest-agent', 'yes', '--dry-run'], list());
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/^\+\s*<channel type='unix'>/m);
    expect(add.out).toMatch(/^\+\s*<target type='virtio' name='org\.qemu\.guest_agent\.0'\/>/m);
    const no = await cli(['guest', 'edit', 'files', '--guest-agent', 'no'], list());
    expect(no.code).toBe(0);
    expect(no.out).toMatch(/nothing changed/);
    expect(no.calls.some((c) => c.includes('define'))).toBe(false);
    const bad = await cli(['guest', 'edit', 'files', '--guest-agent', 'maybe'], list());
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/Guest agent "maybe" is neither yes nor no/);
  });
});
