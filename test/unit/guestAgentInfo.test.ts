/**
 * The guest-agent cache of the console (store/guestAgentInfo.ts): answers of guests that are gone
 * are dropped, so a console left open for weeks on a host where guests come and go stays small.
 */
import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../src/store/appStore.js';
import { createAgentInfoController } from '../../src/store/guestAgentInfo.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';

const DOMIFADDR = ' eth0       52:54:00:00:00:00    ipv4         192.168.122.10/24\n';
const agent = { agentChannel: 'connected' as const, agent: { domifaddr: DOMIFADDR, guestinfo: 'hostname            : web1\n' } };

function guests(): FakeGuest[] {
  return [
    { name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512, ...agent },
    { name: 'beta', state: 'running', vcpus: 1, memoryMiB: 512, ...agent },
  ];
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

describe('the guest-agent cache', () => {
  it('keepOnly drops the answers of guests no longer listed, or listed under another UUID; unchanged lists change nothing', async () => {
    const fake = createFakeHost(guests());
    let published = new Map<string, unknown>();
    const c = createAgentInfoController({ host: fake.host, settleMs: 0, publish: (m) => (published = new Map(m)) });
    const rows = async () => {
      const { listGuests } = await import('../../src/host/virsh.js');
      return listGuests(fake.host);
    };
    const [alpha, beta] = await rows();
    c.select(alpha ?? null);
    await until(() => published.has('alpha'));
    c.select(beta ?? null);
    await until(() => published.has('beta'));

    const listed = await rows();
    expect(c.keepOnly(listed)).toBeNull();
    // beta undefined: its answer goes; alpha's stays.
    expect([...(c.keepOnly(listed.filter((g) => g.name !== 'beta')) ?? new Map()).keys()]).toEqual(['alpha']);
    // Another guest defined under alpha's name (a new UUID) is not the one that answered.
    const other = listed.filter((g) => g.name === 'alpha').map((g) => ({ ...g, uuid: '00000000-0000-4000-8000-00000000abcd' }));
    expect(c.keepOnly(other)?.size).toBe(0);
    expect(c.keepOnly([])).toBeNull();
    c.dispose();
  });

  it('the same answer again (asked once the old one aged) publishes nothing; a different one does', async () => {
    const fake = createFakeHost(guests());
    let now = 0;
    const published: ReadonlyMap<string, unknown>[] = [];
    const c = createAgentInfoController({ host: fake.host, settleMs: 0, now: () => now, publish: (m) => published.push(m) });
    const { listGuests } = await import('../../src/host/virsh.js');
    const asked = () => fake.calls.filter((x) => x.join(' ').includes('domifaddr')).length;
    const [alpha] = await listGuests(fake.host);
    c.select(alpha ?? null);
    await until(() => published.length === 1);
    now += 60_000;
    c.select(alpha ?? null);
    await until(() => asked() === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(published).toHaveLength(1);
    const guest = fake.guests.find((g) => g.name === 'alpha');
    if (guest?.agent) guest.agent.guestinfo = 'hostname            : web2\n';
    now += 60_000;
    c.select(alpha ?? null);
    await until(() => published.length === 2);
    c.dispose();
  });

  it('a question to a guest that vanished is stopped', async () => {
    const fake = createFakeHost([{ name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512, agentChannel: 'connected', agent: { hang: true } }]);
    let published = 0;
    const c = createAgentInfoController({ host: fake.host, settleMs: 0, timeoutMs: 60_000, publish: () => published++ });
    const { listGuests } = await import('../../src/host/virsh.js');
    const [alpha] = await listGuests(fake.host);
    c.select(alpha ?? null);
    await until(() => fake.calls.some((x) => x.join(' ').includes('domifaddr')));
    expect(c.keepOnly([])).toBeNull();
    // Stopped, not left to time out: the same guest selected again is asked afresh at once.
    c.select(alpha ?? null);
    await until(() => fake.calls.filter((x) => x.join(' ').includes('domifaddr')).length === 2);
    expect(published).toBe(0);
    c.dispose();
  });

  it('the console: a refresh after a guest was undefined drops its answer in the same store update as the list', async () => {
    const fake = createFakeHost(guests());
    const store = createAppStore(fake.host, { live: false, agentSettleMs: 0, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }) });
    store.getState().init();
    await store.getState().refresh();
    store.getState().select('beta');
    await until(() => store.getState().guestAgent.has('beta'));
    store.getState().select('alpha');
    await until(() => store.getState().guestAgent.has('alpha'));
    fake.guests.splice(
      fake.guests.findIndex((g) => g.name === 'beta'),
      1,
    );
    const updates: { guests: number; agents: string[] }[] = [];
    const off = store.subscribe((s, prev) => {
      if (s.guestAgent !== prev.guestAgent || s.guests !== prev.guests) updates.push({ guests: s.guests.length, agents: [...s.guestAgent.keys()] });
    });
    await store.getState().refresh();
    off();
    expect(updates).toEqual([{ guests: 1, agents: ['alpha'] }]);
    store.getState().dispose();
  });
});
