import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HostOptions } from '../../src/config/connect.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { AppStore } from '../../src/store/appState.js';
import { createAppStore } from '../../src/store/appStore.js';
import { createFakeHost, type FakeHost } from '../helpers/fakeHost.js';

/**
 * Issue 17, the all-hosts refresh: each host must cost in steady state what one host costs, so
 * the poll of the all-hosts view may reuse guests' XML on every host, as the one-host poll does
 * (host/guestMemo.ts), and each other host gets the event stream that makes that reuse safe: one
 * per host, not one per round.
 */
const asked = vi.hoisted(() => [] as { uri: string; reuseXml: boolean | undefined }[]);
vi.mock('../../src/host/virsh.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/host/virsh.js')>();
  return {
    ...real,
    listGuestsWithStats: (...args: Parameters<typeof real.listGuestsWithStats>) => {
      asked.push({ uri: args[0].uri, reuseXml: args[2]?.reuseXml });
      return real.listGuestsWithStats(...args);
    },
  };
});

const LAB = 'qemu+ssh://root@lab/system';

let store: AppStore | null = null;
afterEach(async () => {
  store?.getState().dispose();
  await store?.getState().whenStopped();
  store = null;
  asked.length = 0;
});

const eventWatchers = (h: FakeHost) => h.calls.filter((c) => c.includes('event') && c.includes('--loop')).length;

function setup(pollMs = 20) {
  const here = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512 }]);
  let lab: FakeHost | null = null;
  const connect = (t: HostOptions): HostContext => {
    lab = createFakeHost([{ name: 'db', state: 'running', vcpus: 1, memoryMiB: 512 }], { uri: t.uri, hostname: 'lab' });
    return lab.host;
  };
  store = createAppStore(here.host, { pollMs, allHosts: true, hosts: [{ name: 'lab', uri: LAB }], connect, detectAccel: async () => ({ accel: 'kvm', reason: 'test' }) });
  return { store, lab: () => lab as unknown as FakeHost };
}

describe('the all-hosts poll', () => {
  it('reuses XML on every host, as the one-host poll does; the first round and an explicit refresh read afresh', async () => {
    const { store } = setup();
    store.getState().init();
    await vi.waitFor(() => expect(asked.filter((a) => a.uri === LAB && a.reuseXml === true).length).toBeGreaterThan(0));
    const here = store.getState().hostStates[0]?.uri as string;
    expect(asked.filter((a) => a.uri === here && a.reuseXml === true).length).toBeGreaterThan(0);
    // The first round read both hosts afresh.
    expect(asked.slice(0, 2).map((a) => a.reuseXml)).toEqual([false, false]);
    const before = asked.length;
    await store.getState().refresh();
    expect(asked.slice(before).filter((a) => a.uri === LAB)).toContainEqual({ uri: LAB, reuseXml: false });
    expect(store.getState().allGuests.map((g) => g.name).sort()).toEqual(['db', 'web']);
  });

  it('watches each other host for events once, not once per round', async () => {
    const { store, lab } = setup();
    store.getState().init();
    await vi.waitFor(() => expect(asked.filter((a) => a.uri === LAB).length).toBeGreaterThan(4));
    expect(eventWatchers(lab())).toBe(1);
  });

  it("refreshes on another host's event, without waiting for the poll", async () => {
    const { store, lab } = setup(600_000);
    store.getState().init();
    await vi.waitFor(() => expect(store.getState().allGuests.some((g) => g.name === 'db')).toBe(true));
    await vi.waitFor(() => expect(eventWatchers(lab())).toBe(1));
    lab().guests.push({ name: 'cache', state: 'shut off', vcpus: 1, memoryMiB: 256, uuid: '00000000-0000-4000-8000-00000000cafe' });
    lab().emitEvent("event 'lifecycle' for domain 'cache': Defined Added");
    await vi.waitFor(() => expect(store.getState().allGuests.some((g) => g.host === 'lab' && g.name === 'cache')).toBe(true));
  });
});
