import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingExecutor, LocalExecutor } from '../../src/host/exec.js';
import * as virsh from '../../src/host/virsh.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';

/** A guest-list refresh costs the same number of processes for 1 guest as for 20. */
const host = localHost();
const names = Array.from({ length: 20 }, (_, i) => `vdtest-host-n${String(i).padStart(2, '0')}-${process.pid}`);
const RUNNING = 3;

async function countedRefresh(): Promise<{ spawns: number; mine: virsh.GuestRow[] }> {
  const counter = new CountingExecutor(new LocalExecutor());
  const rows = await virsh.listGuests(localHost(counter));
  return { spawns: counter.count, mine: rows.filter((r) => names.includes(r.name)) };
}

describe('guest refresh process count', () => {
  beforeAll(async () => {
    await virsh.defineXml(host, tinyGuestXml(names[0] as string));
  });

  afterAll(async () => {
    await Promise.all(names.map((n) => removeGuest(host, n)));
    for (const n of names) rmSync(virsh.qemuLogPath(n), { force: true });
  });

  it('spawns as many processes for 20 guests as for 1', async () => {
    const one = await countedRefresh();
    expect(one.mine).toHaveLength(1);

    for (const n of names.slice(1)) await virsh.defineXml(host, tinyGuestXml(n));
    // Diskless guests without an OS: they can run side by side and cost 64 MiB each.
    for (const n of names.slice(0, RUNNING)) await virsh.start(host, n);

    const twenty = await countedRefresh();
    expect(twenty.mine).toHaveLength(20);
    expect(twenty.mine.filter((r) => r.state === 'running')).toHaveLength(RUNNING);
    expect(twenty.spawns).toBe(one.spawns);
    expect(twenty.spawns).toBe(2);
  });
});
