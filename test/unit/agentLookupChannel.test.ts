/**
 * The selected guest's addresses from the host's own tables (DHCP leases, ARP) are asked through
 * the console's long-lived virsh: a guest without an agent, selected on an idle console, is asked
 * every 15 s, and a virsh process each time (with its pkttyagent) cost the console more CPU than
 * all its refreshes (bench/top.ts). The agent itself keeps a process of its own, killed at 2 s.
 */
import { describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import { queryGuestAgent } from '../../src/host/guestAgent.js';
import type { HostContext } from '../../src/host/hostContext.js';
import * as virsh from '../../src/host/virsh.js';
import type { VirshChannel } from '../../src/host/virshChannel.js';
import { createFakeHost } from '../helpers/fakeHost.js';

const LEASE = ' vnet0      52:54:00:00:00:07    ipv4         192.168.122.77/24\n';

function setup(channelFails = false) {
  const fake = createFakeHost([
    { name: 'bare', state: 'running', vcpus: 1, memoryMiB: 512, leases: LEASE },
    { name: 'agent', state: 'running', vcpus: 1, memoryMiB: 512, agentChannel: 'connected', agent: { guestinfo: 'hostname            : web1\n' }, leases: LEASE },
  ]);
  const asked: string[][] = [];
  const channel: VirshChannel = {
    async ask(commands) {
      asked.push(commands);
      if (channelFails) throw new HostError({ sentence: 'The long-lived virsh ended (exit code 1).', fix: 'Nothing to do.', command: ['virsh'], stderr: '', code: 'virsh-channel' });
      // Answered as the fake host answers one batch, without counting as a process of it.
      const before = fake.calls.length;
      const r = await fake.host.virshExec.run(['virsh', '-c', fake.host.uri, commands.join('; ')], virsh.BATCH);
      fake.calls.splice(before);
      return { stdout: r.stdout, stderr: r.stderr };
    },
    close: async () => {},
    pid: 1,
    starts: 1,
  };
  const host: HostContext = { ...fake.host, virshChannel: channel };
  const uuidOf = async (name: string) => ((await virsh.listGuests(fake.host)).find((g) => g.name === name) as virsh.GuestRow).uuid;
  return { fake, host, asked, uuidOf };
}

describe('address lookups through the long-lived virsh', () => {
  it('a guest without an agent channel: leases and ARP asked in one channel question, no process', async () => {
    const { fake, host, asked, uuidOf } = setup();
    const uuid = await uuidOf('bare');
    const before = fake.calls.length;
    const info = await queryGuestAgent(host, uuid, { skipAgent: { status: 'no-channel', reason: 'no guest agent channel' } });
    expect(fake.calls.slice(before)).toEqual([]);
    expect(asked).toHaveLength(1);
    expect(asked[0]?.filter((c) => c.startsWith('domifaddr'))).toEqual([`domifaddr --domain ${uuid} --source lease`, `domifaddr --domain ${uuid} --source arp`]);
    expect(info.status).toBe('no-channel');
    expect(info.addresses.map((a) => a.address)).toEqual(['192.168.122.77/24']);
    expect(info.addressSource).toBe('lease');
  });

  it('the agent is asked in a process of its own (a stuck agent must not hold the refresh behind it); its missing addresses come from the channel', async () => {
    const { fake, host, asked, uuidOf } = setup();
    const uuid = await uuidOf('agent');
    const before = fake.calls.length;
    const info = await queryGuestAgent(host, uuid);
    const spawned = fake.calls.slice(before).map((c) => c.join(' '));
    expect(spawned).toHaveLength(1);
    expect(spawned[0]).toContain('--source agent');
    expect(asked.flat().some((c) => c.includes('--source agent') || c.startsWith('guestinfo'))).toBe(false);
    expect(info.hostname).toBe('web1');
    expect(info.addressSource).toBe('lease');
  });

  it('a channel that fails is answered by a virsh of its own, as before', async () => {
    const { fake, host, uuidOf } = setup(true);
    const uuid = await uuidOf('bare');
    const before = fake.calls.length;
    const info = await queryGuestAgent(host, uuid, { skipAgent: { status: 'no-channel', reason: 'no guest agent channel' } });
    expect(fake.calls.slice(before)).toHaveLength(1);
    expect(info.addresses.map((a) => a.address)).toEqual(['192.168.122.77/24']);
  });

  it('a selection that moves on stops waiting for the channel at once', async () => {
    const { host, uuidOf } = setup();
    const uuid = await uuidOf('bare');
    const never: VirshChannel = { ask: () => new Promise(() => {}), close: async () => {}, pid: 1, starts: 1 };
    const abort = new AbortController();
    const asked = queryGuestAgent({ ...host, virshChannel: never }, uuid, { signal: abort.signal, skipAgent: { status: 'no-channel', reason: 'x' } });
    abort.abort();
    await expect(asked).rejects.toMatchObject({ code: 'cancelled' });
  });
});
