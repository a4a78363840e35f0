import { describe, expect, it } from 'vitest';
import { readLoadavg } from '../../src/host/loadavg.js';
import * as virsh from '../../src/host/virsh.js';
import { hostCpuBusyPct } from '../../src/model/hostLoad.js';
import { localHost } from '../helpers/tinyGuest.js';

/** The header's host CPU and load from the real libvirtd and kernel: no guest needed. */
const host = localHost();

describe('host CPU and load on the real host', () => {
  it('nodecpustats in the refresh\'s first process gives counters that move; two refreshes give a busy share', async () => {
    const a = await virsh.listGuestsWithStats(host);
    await new Promise((r) => setTimeout(r, 300));
    const b = await virsh.listGuestsWithStats(host);
    expect(a.hostCpuTimes?.idle).toBeGreaterThan(0);
    const pct = hostCpuBusyPct(a.hostCpuTimes, b.hostCpuTimes);
    expect(pct).not.toBeNull();
    expect(pct).toBeGreaterThanOrEqual(0);
    expect(pct).toBeLessThanOrEqual(100);
  });

  it('/proc/loadavg through the host executor', async () => {
    const load = await readLoadavg(host);
    expect(load?.every((n) => n >= 0)).toBe(true);
  });
});
