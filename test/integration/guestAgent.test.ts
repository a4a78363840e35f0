/**
 * The guest agent path on the real libvirtd with two TCG guests that boot no OS: one without the
 * org.qemu.guest_agent.0 channel, one with it (so libvirt opens the socket, but nothing in the
 * guest ever answers). No TCG test image has qemu-guest-agent, and a fake agent on the channel's
 * socket is not possible here: libvirt creates and owns that socket and only talks to it after the
 * guest side opens its virtio-serial port (test/ui/guestAgent.test.tsx drives the answering path
 * through the fake host instead). What must hold for real: the hint for each case, and that asking
 * a guest without an agent returns within the 2 s limit.
 */
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingExecutor, LocalExecutor } from '../../src/host/exec.js';
import { AGENT_TIMEOUT_MS, queryGuestAgent } from '../../src/host/guestAgent.js';
import { hostSession } from '../../src/host/session.js';
import * as virsh from '../../src/host/virsh.js';
import { parseDomainXml, serializeDomainXml, setGuestAgentChannel } from '../../src/model/domainXml.js';
import type { GuestAgentInfo } from '../../src/model/guestAgent.js';
import { createAgentInfoController } from '../../src/store/guestAgentInfo.js';
import { agentLines } from '../../src/ui/panes/agentLines.js';
import { cliArgv } from '../helpers/cli.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';

const host = localHost();
const BARE = `vdtest-agent-bare-${process.pid}`;
const CHANNEL = `vdtest-agent-chan-${process.pid}`;

/** The 2 s kill plus a loaded CI machine's process start: libvirt alone would wait 5 s for a stuck agent. */
const BOUND_MS = AGENT_TIMEOUT_MS + 1_000;

const withChannel = (xml: string) => xml.replace('</devices>', "  <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n  </devices>");

async function row(name: string) {
  const g = (await virsh.listGuests(host)).find((x) => x.name === name);
  if (!g) throw new Error(`${name} not listed`);
  return g;
}

describe('the guest agent on the real host (no agent in the guests)', () => {
  beforeAll(async () => {
    await virsh.defineXml(host, tinyGuestXml(BARE));
    await virsh.defineXml(host, withChannel(tinyGuestXml(CHANNEL)));
    await virsh.start(host, BARE);
    await virsh.start(host, CHANNEL);
  });

  afterAll(async () => {
    await removeGuest(host, BARE);
    await removeGuest(host, CHANNEL);
  });

  it('the guest list reads the channel from the live XML: none, or there and disconnected', async () => {
    expect((await row(BARE)).agentChannel).toBeUndefined();
    expect((await row(CHANNEL)).agentChannel).toBe('disconnected');
  });

  it('asking the agent of a guest with no channel: "no-channel" within 2 s, and the hint says how to add it', async () => {
    const g = await row(BARE);
    const t0 = Date.now();
    const info = await queryGuestAgent(host, g.uuid);
    expect(Date.now() - t0).toBeLessThan(BOUND_MS);
    expect(info.status).toBe('no-channel');
    expect(agentLines(info).top.at(-1)).toBe('agent none: e > Guest agent yes; in the guest: apt install qemu-guest-agent');
  });

  it('asking the agent on a channel nobody answers: "silent" within 2 s, with libvirt\'s reason', async () => {
    const g = await row(CHANNEL);
    const t0 = Date.now();
    const info = await queryGuestAgent(host, g.uuid);
    expect(Date.now() - t0).toBeLessThan(BOUND_MS);
    expect(info.status).toBe('silent');
    expect(info.reason).toMatch(/agent/i);
    expect(agentLines(info).top.at(-1)).toBe('agent silent: in the guest: apt install qemu-guest-agent, then start it');
  });

  it('the console path (selection controller) publishes the hint without asking the agent in vain', async () => {
    const g = await row(CHANNEL);
    const answers = await new Promise<ReadonlyMap<string, GuestAgentInfo>>((resolve) => {
      const c = createAgentInfoController({ host, settleMs: 0, publish: (m) => {
          c.dispose();
          resolve(m);
        },
      });
      c.select(g);
    });
    expect(answers.get(CHANNEL)?.status).toBe('silent');
    expect(answers.get(CHANNEL)?.reason).toBe('no agent has opened its channel');
  });

  it("the console's session asks the leases and ARP of a guest without an agent through its long-lived virsh: no process", async () => {
    const g = await row(BARE);
    const counted = new CountingExecutor(new LocalExecutor());
    const session = hostSession(localHost(counted));
    try {
      const first = await queryGuestAgent(session.host, g.uuid, { skipAgent: { status: 'no-channel', reason: 'no guest agent channel' } });
      const spawnedBefore = counted.calls.map((c) => c.join(' '));
      expect(spawnedBefore).toEqual(['virsh -c qemu:///system']); // the channel itself, started by the first question
      const again = await queryGuestAgent(session.host, g.uuid, { skipAgent: { status: 'no-channel', reason: 'no guest agent channel' } });
      expect(counted.count).toBe(1);
      expect(again).toEqual(first);
      expect(first.status).toBe('no-channel');
    } finally {
      await session.close();
    }
  });

  it('virtdeck guest agent --json: the same answer headless, exit 0', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const r = await execa(...cliArgv('--connect', host.uri, 'guest', 'agent', BARE, '--json'), { reject: false, cwd: root, env: { NO_COLOR: '1' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).guests[0].agent.status).toBe('no-channel');
  });

  it('the channel the settings form adds (target only) is accepted by libvirt, which picks the socket path', async () => {
    const doc = setGuestAgentChannel(parseDomainXml(await virsh.dumpXml(host, BARE, { inactive: true })), true);
    await virsh.defineXml(host, serializeDomainXml(doc), { validate: true });
    const xml = await virsh.dumpXml(host, BARE, { inactive: true });
    expect(xml).toMatch(/<target type='virtio' name='org\.qemu\.guest_agent\.0'\/>/);
    expect((await row(BARE)).agentChannel).toBeUndefined(); // the running guest has none until its next start
  });
});
