/**
 * The header's host meters with the host's own CPU (nodecpustats, in the refresh's first process)
 * and load average (/proc/loadavg: a file read on this machine, a `cat` over SSH at most every
 * 15 s; the fake host is not local, so it takes the SSH path).
 */
import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import type { FakeGuest } from '../helpers/fakeHost.js';
import { renderApp } from './helpers.js';

afterEach(() => cleanup());

const ASCII = { LANG: 'C.UTF-8', TERM: 'linux', NO_COLOR: '1' };

function guests(): FakeGuest[] {
  return [
    { name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512, stats: { 'cpu.time': 0, 'vcpu.current': 1, 'balloon.rss': 2048 * 1024 } },
    { name: 'bravo', state: 'running', vcpus: 2, memoryMiB: 1024, stats: { 'cpu.time': 0, 'vcpu.current': 2, 'balloon.rss': 1024 * 1024 } },
  ];
}

/** Two refreshes 2 s apart: the host was 60 % busy (user + system of all CPU time), the guests 45 % of it. */
async function twoSamples(rows: number, env?: Record<string, string>) {
  let now = 1_000_000;
  const nodeCpuStats = { user: 1_000_000, system: 500_000, idle: 8_000_000, iowait: 500_000 };
  const app = await renderApp(guests(), {
    host: { nodeCpuStats, loadavg: '1.50 0.75 0.25 3/200 4242\n' },
    store: { clock: () => now, size: { columns: 80, rows } },
    ...(env ? { env } : {}),
  });
  const [alpha, bravo] = app.fake.guests;
  if (!alpha?.stats || !bravo?.stats) throw new Error('fixture');
  Object.assign(alpha.stats, { 'cpu.time': 200_000_000 });
  Object.assign(bravo.stats, { 'cpu.time': 1_600_000_000 });
  Object.assign(nodeCpuStats, { user: 1_500_000, system: 600_000, idle: 8_300_000, iowait: 600_000 });
  now += 2000;
  await app.store.getState().refresh();
  return app;
}

const loadReads = (calls: string[][]) => calls.filter((c) => c.join(' ') === 'cat /proc/loadavg').length;

describe('host CPU and load in the header', () => {
  test('80x24 TERM=linux: no meters row, so CPU, MEM and load share the tab line; the table keeps its rows', async () => {
    const app = await twoSamples(24, ASCII);
    const f = await app.waitFor(/load 1\.50/);
    const lines = f.split('\n');
    expect(lines[1]).toBe('| 1 Guests   2 Disks   3 Backups   4 Host   5 Jobs   CPU 60% MEM 38% load 1.50 |');
    expect(lines).toHaveLength(24);
    expect(lines[3]).toMatch(/^\| +NAME /);
    expect(f).not.toMatch(/[^\x00-\x7f]/);
    expect(app.store.getState().hostLoad).toEqual({ cpuPct: 60, load: [1.5, 0.75, 0.25] });
  });

  test('80x25: the meters row keeps its bars and the host CPU; the load average goes beside the tabs', async () => {
    const app = await twoSamples(25);
    const f = await app.waitFor(/load 1\.50 0\.75 0\.25/);
    const lines = f.split('\n');
    expect(lines[1]).toMatch(/^│ 1 Guests {3}2 Disks {3}3 Backups {3}4 Host {3}5 Jobs +load 1\.50 0\.75 0\.25 │$/);
    expect(lines[2]).toMatch(/^│ CPU [█░]+ 60% · MEM [█░]+ 3\.0G\/8\.0G · vCPU 3\/2 \(1\.5x\) · RAM 1\.5G\/8\.0G \(0\.2x\) +│$/);
  });

  test('nodecpustats rides in the first of the two refresh processes; the load is read over SSH once per 15 s, not per refresh', async () => {
    const app = await twoSamples(24);
    const before = app.fake.calls.length;
    await app.store.getState().refresh();
    await app.store.getState().refresh();
    expect(app.fake.calls.length - before).toBe(4);
    expect(app.fake.calls.at(-2)?.at(-1)).toMatch(/; nodeinfo; echo \S+; nodecpustats; echo \S+$/);
    expect(loadReads(app.fake.calls)).toBe(1);
  });
});
