/**
 * The console's poll on the real libvirtd hands on what did not change (model/keptData.ts): a
 * shut-off guest's row and usage stay the very objects they were, so nothing that shows them is
 * drawn again (test/ui/idleRefresh.test.tsx counts the renders). Other sessions' guests come and go
 * on this host, so only this file's own guest is checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { createAppStore } from '../../src/store/appStore.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';

const host = localHost();
const NAME = `vdtest-cpuidle-${process.pid}`;

describe('an idle poll on the real host', () => {
  beforeAll(async () => {
    await virsh.defineXml(host, tinyGuestXml(NAME));
  });
  afterAll(async () => {
    await removeGuest(host, NAME);
  });

  it("keeps a shut-off guest's row and usage objects from poll to poll, through the long-lived virsh", async () => {
    let now = Date.now();
    const store = createAppStore(localHost(), { live: false, clock: () => now, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }) });
    try {
      const poll = async () => {
        now += 2_000;
        await store.getState().refresh();
        const s = store.getState();
        return { row: s.guests.find((g) => g.name === NAME), usage: s.usage.get(NAME), round: s.usageRound };
      };
      await poll();
      const first = await poll();
      const second = await poll();
      expect(first.row?.state).toBe('shut off');
      expect(second.row).toBe(first.row);
      expect(second.usage).toBe(first.usage);
      expect(second.round).toBe(first.round + 1);
    } finally {
      store.getState().dispose();
      await store.getState().whenStopped();
    }
  });
});
