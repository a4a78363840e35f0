import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/commands/program.js';
import { parseTopOptions, topCommand } from '../../src/cli/commands/top.js';
import type { Output } from '../../src/cli/output.js';
import { createFakeHost } from '../helpers/fakeHost.js';

function buffer(json: boolean): Output & { text: () => string } {
  let out = '';
  return { json, out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`), err: (t) => (out += t), text: () => out };
}

function host(opts: Parameters<typeof createFakeHost>[1] = {}) {
  return createFakeHost(
    [
    { name: 'idle', state: 'running', vcpus: 1, memoryMiB: 64, stats: { 'cpu.time': 0, 'vcpu.current': 1, 'balloon.rss': 1024, 'block.count': 1, 'block.0.wr.bytes': 0, 'net.count': 0 } },
    { name: 'busy', state: 'running', vcpus: 2, memoryMiB: 64, stats: { 'cpu.time': 0, 'vcpu.current': 2, 'balloon.rss': 2048, 'block.count': 1, 'block.0.wr.bytes': 0, 'net.count': 0 } },
    { name: 'off', state: 'shut off', vcpus: 1, memoryMiB: 64 },
    ],
    opts,
  );
}

describe('virtdeck top', () => {
  // Changed with the host's CPU % (issue 16): nodecpustats rides in the same virsh as domstats, so
  // an interval is still one process, now a batch rather than a bare `virsh domstats`.
  it('one virsh (domstats + nodecpustats) per interval; rates per guest, busiest first; shut-off guests left out; one JSON line per interval', async () => {
    const fake = host();
    const out = buffer(true);
    let now = 0;
    // Each interval: busy uses 1 s of CPU per second (50 % of a 2-CPU host), idle writes 1 KiB/s.
    const sleep = async (ms: number) => {
      now += ms;
      const [idle, busy] = fake.guests;
      if (idle?.stats) idle.stats['block.0.wr.bytes'] = (idle.stats['block.0.wr.bytes'] ?? 0) + (ms / 1000) * 1024;
      if (busy?.stats) busy.stats['cpu.time'] = (busy.stats['cpu.time'] ?? 0) + ms * 1e6;
    };
    const code = await topCommand({ host: fake.host, output: out }, parseTopOptions({ delay: '2', count: '2' }), { sleep, now: () => now });
    expect(code).toBe(0);
    const domstats = fake.calls.filter((c) => c.join(' ').includes('domstats'));
    expect(domstats).toHaveLength(3);
    expect(domstats[0]?.slice(0, 3)).toEqual(['virsh', '-c', 'qemu:///system']);
    expect(domstats[0]?.at(-1)).toMatch(/^domstats --state --cpu-total --balloon --vcpu --interface --block; echo \S+; nodecpustats; echo \S+$/);
    expect(fake.calls.filter((c) => c.join(' ').includes('nodecpustats'))).toHaveLength(3);
    const lines = out.text().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ intervalSeconds: 2, hostCpus: 2, sort: 'cpu' });
    expect(lines[1].guests.map((g: { name: string }) => g.name)).toEqual(['busy', 'idle']);
    expect(lines[1].guests[0]).toMatchObject({ name: 'busy', vcpus: 2, hostCpuPct: 50, cpuPct: 50, memUsedKiB: 2048 });
    expect(lines[1].guests[1]).toMatchObject({ name: 'idle', hostCpuPct: 0, diskWriteBps: 1024 });
  });

  it('text: a header per interval and a row per running guest', async () => {
    const fake = host();
    const out = buffer(false);
    let now = 0;
    await topCommand({ host: fake.host, output: out }, parseTopOptions({ delay: '1', count: '1', sort: 'mem' }), {
      sleep: async (ms) => {
        now += ms;
      },
      now: () => now,
    });
    const text = out.text();
    expect(text).toMatch(/^virtdeck top - \d\d:\d\d:\d\d - [^,\n]+, 2 CPUs, 2 running, host CPU \S+, load [^\n]+\n/);
    expect(text).toMatch(/%CPU +%VCPU +MEM +RDBY\/s +WRBY\/s +RDRQ\/s +WRRQ\/s +RXBY\/s +TXBY\/s {2}NAME\n +0\.0 +0\.0 +2\.0M .* {2}busy\n +0\.0 +0\.0 +1\.0M .* {2}idle\n$/);
  });

  it("the host's CPU % between two samples and its load averages head each interval, text and JSON", async () => {
    const nodeCpuStats = { user: 1_000_000, system: 500_000, idle: 8_000_000, iowait: 500_000 };
    const fake = host({ nodeCpuStats, loadavg: '1.50 0.75 0.25 3/200 4242\n' });
    let now = 0;
    // Each interval the host is busy for 600 of 1000 units (user 400 + system 200), idle 300, iowait 100.
    const sleep = async (ms: number) => {
      now += ms;
      Object.assign(nodeCpuStats, { user: nodeCpuStats.user + 400, system: nodeCpuStats.system + 200, idle: nodeCpuStats.idle + 300, iowait: nodeCpuStats.iowait + 100 });
    };
    const json = buffer(true);
    expect(await topCommand({ host: fake.host, output: json }, parseTopOptions({ delay: '1', count: '2' }), { sleep, now: () => now })).toBe(0);
    const lines = json.text().trim().split('\n').map((l) => JSON.parse(l));
    for (const l of lines) expect(l).toMatchObject({ hostCpuPct: 60, load: [1.5, 0.75, 0.25] });
    const text = buffer(false);
    await topCommand({ host: fake.host, output: text }, parseTopOptions({ delay: '1', count: '1' }), { sleep, now: () => now });
    expect(text.text().split('\n')[0]).toMatch(/, 2 running, host CPU 60\.0%, load 1\.50 0\.75 0\.25$/);
  });

  it('a host whose CPU counters went back (it rebooted) and whose load average cannot be read still prints each interval, with "-" and null', async () => {
    const nodeCpuStats = { user: 1_000_000, system: 500_000, idle: 8_000_000, iowait: 500_000 };
    const fake = host({ nodeCpuStats });
    const json = buffer(true);
    const text = buffer(false);
    let now = 0;
    const sleep = async (ms: number) => {
      now += ms;
      Object.assign(nodeCpuStats, { user: nodeCpuStats.user / 2 });
    };
    expect(await topCommand({ host: fake.host, output: json }, parseTopOptions({ delay: '1', count: '1' }), { sleep, now: () => now })).toBe(0);
    expect(JSON.parse(json.text())).toMatchObject({ hostCpuPct: null, load: null, guests: [{ name: 'busy' }, { name: 'idle' }] });
    await topCommand({ host: fake.host, output: text }, parseTopOptions({ delay: '1', count: '1' }), { sleep, now: () => now });
    expect(text.text().split('\n')[0]).toMatch(/, host CPU -, load -$/);
  });

  it('bad -d, -n or --sort is exit 2 with the fix; no domstats runs', async () => {
    for (const [args, msg] of [
      [['-d', '0'], /-d 0 is not a delay/],
      [['-n', '1.5'], /-n 1.5 is not a number of samples/],
      [['--sort', 'name'], /--sort name is not a column/],
    ] as const) {
      const fake = host();
      let text = '';
      const code = await runCli(['top', ...args], {
        version: '0',
        createHost: () => fake.host,
        runTui: async () => {},
        ensureDemo: async () => {},
        resetDemo: async () => [],
        output: (json) => ({ json, out: (t) => (text += t), err: (t) => (text += t) }),
      });
      expect(code).toBe(2);
      expect(text).toMatch(msg);
      expect(fake.calls.filter((c) => c.join(' ').includes('domstats'))).toEqual([]);
    }
  });
});
