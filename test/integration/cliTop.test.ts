import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { cliArgv } from '../helpers/cli.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';

/** `virtdeck top` and the Guests refresh's usage counters against the real libvirtd, on one TCG guest of its own. */
const host = localHost();
const GUEST = `vdtest-top-${process.pid}`;
const root = path.resolve(import.meta.dirname, '../..');

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', host.uri, ...args), {
    reject: false,
    cwd: root,
    env: { NO_COLOR: '1' },
  });
}

describe('virtdeck top on the real host', () => {
  beforeAll(async () => {
    // No OS: SeaBIOS looking for a boot device keeps the TCG vCPU busy, so CPU% is above zero.
    await virsh.defineXml(host, tinyGuestXml(GUEST));
    await virsh.start(host, GUEST);
  });

  afterAll(async () => {
    await removeGuest(host, GUEST);
  });

  it('top -n 2 -d 1 --json: two JSON lines, the guest with non-zero CPU% and its QEMU RSS', async () => {
    const r = await cli('top', '-n', '2', '-d', '1', '--json');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l.hostCpus).toBeGreaterThan(0);
      expect(l.intervalSeconds).toBeGreaterThan(0.5);
      // The host's own figures, as the console's header shows them: a TCG guest keeps it busy.
      expect(l.hostCpuPct).toBeGreaterThan(0);
      expect(l.hostCpuPct).toBeLessThanOrEqual(100);
      expect(l.load).toHaveLength(3);
      const g = l.guests.find((x: { name: string }) => x.name === GUEST);
      expect(g, JSON.stringify(l)).toBeDefined();
      expect(g.hostCpuPct).toBeGreaterThan(0);
      expect(g.cpuPct).toBeGreaterThan(0);
      expect(g.memSource).toBe('rss');
      expect(g.memUsedKiB).toBeGreaterThan(1024);
    }
  });

  it('text: the header line carries the host CPU % and the load average', async () => {
    const r = await cli('top', '-n', '1', '-d', '1');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/ running, host CPU \d+\.\d%, load \d+\.\d\d \d+\.\d\d \d+\.\d\d$/);
  });

  it('the Guests refresh gets the counters in its first process (no process added)', async () => {
    const { guests, stats, hostCpus } = await virsh.listGuestsWithStats(host);
    expect(guests.some((g) => g.name === GUEST)).toBe(true);
    expect(Number(stats.guests.get(GUEST)?.['cpu.time'])).toBeGreaterThan(0);
    expect(hostCpus).toBeGreaterThan(0);
  });

  it('bad --sort is exit 2', async () => {
    const r = await cli('top', '--sort', 'bogus');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--sort bogus is not a column/);
  });
});
