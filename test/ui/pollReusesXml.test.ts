import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppStore } from '../../src/store/appState.js';
import { createAppStore } from '../../src/store/appStore.js';
import { createFakeHost } from '../helpers/fakeHost.js';

/**
 * Issue 16 item 5: only the console's periodic poll may reuse guests' XML (src/host/guestMemo.ts);
 * the first refresh, one after an action and `r` read every guest afresh.
 */
const asked = vi.hoisted(() => [] as (boolean | undefined)[]);
vi.mock('../../src/host/virsh.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/host/virsh.js')>();
  return {
    ...real,
    listGuestsWithStats: (...args: Parameters<typeof real.listGuestsWithStats>) => {
      asked.push(args[2]?.reuseXml);
      return real.listGuestsWithStats(...args);
    },
  };
});

let store: AppStore | null = null;
afterEach(() => {
  store?.getState().dispose();
  store = null;
  asked.length = 0;
});

describe('which refreshes may reuse guests XML', () => {
  it('the poll asks to reuse; the first refresh and an explicit one do not', async () => {
    const fake = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 512 }]);
    store = createAppStore(fake.host, { pollMs: 20, detectAccel: async () => ({ accel: 'kvm', reason: 'test' }) });
    store.getState().init();
    await vi.waitFor(() => expect(asked).toContain(true));
    expect(asked[0]).toBe(false);
    // Asked while polls run and coalesce with it: its own round still reads afresh.
    for (let i = 0; i < 5; i++) {
      const before = asked.length;
      await store.getState().refresh();
      expect(asked.slice(before)).toContain(false);
    }
    expect(store.getState().guests.map((g) => g.name)).toEqual(['web']);
  });
});
