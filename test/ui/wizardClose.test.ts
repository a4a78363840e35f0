/** What the console says when a wizard that defines a guest closes (issue 12 item 16). */
import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../src/store/appStore.js';
import { createFakeHost } from '../helpers/fakeHost.js';
import { demoGuests } from './helpers.js';

describe('a wizard that defined a guest closes', () => {
  it('says "Defined and started" when the guest runs, "Defined" when it does not', async () => {
    const fake = createFakeHost(demoGuests());
    const store = createAppStore(fake.host, { size: { columns: 80, rows: 24 }, live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'no /dev/kvm' }) });
    await store.getState().refresh();
    const running = store.getState().guests.find((g) => g.state === 'running')?.name as string;
    const off = store.getState().guests.find((g) => g.state === 'shut off')?.name as string;
    store.getState().closeWizard(running);
    await expect.poll(() => store.getState().message?.text).toBe(`Defined and started ${running}.`);
    store.getState().closeWizard(off);
    await expect.poll(() => store.getState().message?.text).toBe(`Defined ${off}.`);
  });
});
