/**
 * What one steady refresh costs the screen: every store update that changes what the console reads
 * is a React commit and a whole Ink frame, so a refresh makes exactly one, load average included.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../src/store/appStore.js';
import { createFakeHost } from '../helpers/fakeHost.js';

describe('a refresh is one store update', () => {
  it('on this machine the load average (a file read as the round starts) rides in the refresh update, not one of its own', async () => {
    const fake = createFakeHost([{ name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512, stats: { 'cpu.time': 0, 'vcpu.current': 1 } }]);
    // The fake executor standing for this machine: /proc/loadavg is read with Node, as on a real local host.
    const host = { ...fake.host, sysExec: Object.assign(Object.create(fake.host.sysExec), { local: true }) };
    const store = createAppStore(host, { live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }) });
    store.getState().init();
    await store.getState().refresh();
    await sleep(50);
    for (let round = 0; round < 3; round++) {
      let updates = 0;
      const off = store.subscribe(() => updates++);
      await store.getState().refresh();
      await sleep(50);
      off();
      expect(updates).toBe(1);
      expect(store.getState().hostLoad.load).toHaveLength(3);
    }
    store.getState().dispose();
  });
});
