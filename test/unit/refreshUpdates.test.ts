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

  it('a load average read while the round waits for virsh rides in the round update, even when it is new', async () => {
    // virsh answers 30 ms after the question: the file was read long before (the first round: no load shown yet).
    const fake = createFakeHost([{ name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512 }], { latencyMs: 30 });
    const host = { ...fake.host, sysExec: Object.assign(Object.create(fake.host.sysExec), { local: true }) };
    const store = createAppStore(host, { live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }) });
    let updates = 0;
    const off = store.subscribe(() => updates++);
    await store.getState().refresh();
    await sleep(50);
    off();
    expect(updates).toBe(1);
    expect(store.getState().hostLoad.load).toHaveLength(3);
    store.getState().dispose();
  });

  it('a refresh that learnt nothing new changes no reference the screen reads but the clock and the history round', async () => {
    let now = 1_000_000;
    const fake = createFakeHost([
      { name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512, stats: { 'cpu.time': 0, 'vcpu.current': 1, 'balloon.rss': 1024 } },
      { name: 'bravo', state: 'shut off', vcpus: 2, memoryMiB: 1024 },
    ]);
    const store = createAppStore(fake.host, { live: false, clock: () => now, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }) });
    const step = async () => {
      now += 2_000;
      await store.getState().refresh();
    };
    await step();
    await step();
    const before = store.getState();
    await step();
    const after = store.getState();
    // The fake host builds every row anew (as a real one does after an event or every two minutes).
    expect(after.guests).toBe(before.guests);
    expect(after.usage).toBe(before.usage);
    expect(after.hostSize).toBe(before.hostSize);
    expect(after.hostLoad).toBe(before.hostLoad);
    expect(after.usageRound).toBe(before.usageRound + 1);
    expect(after.lastRefresh).not.toBeNull();

    // alpha busy: its usage is new, bravo's and the list are kept.
    (fake.guests[0]?.stats as Record<string, number>)['cpu.time'] = 1e9;
    await step();
    const busy = store.getState();
    expect(busy.usage).not.toBe(after.usage);
    expect(busy.usage.get('alpha')).not.toBe(after.usage.get('alpha'));
    expect(busy.usage.get('bravo')).toBe(after.usage.get('bravo'));
    expect(busy.guests).toBe(after.guests);
    store.getState().dispose();
  });
});
