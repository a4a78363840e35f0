import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/commands/program.js';
import { parseTopOptions, topCommand } from '../../src/cli/commands/top.js';
import type { Output } from '../../src/cli/output.js';
import { createFakeHost } from '../helpers/fakeHost.js';

function buffer(json: boolean): Output & { text: () => string } {
  let out = '';
  return { json, out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`), err: (t) => (out += t), text: () => out };
}

function host() {
  return createFakeHost([
    { name: 'idle', state: 'running', vcpus: 1, memoryMiB: 64, stats: { 'cpu.time': 0, 'vcpu.current': 1, 'balloon.rss': 1024, 'block.count': 1, 'block.0.wr.bytes': 0, 'net.count': 0 } },
    { name: 'busy', state: 'running', vcpus: 2, memoryMiB: 64, stats: { 'cpu.time': 0, 'vcpu.current': 2, 'balloon.rss': 2048, 'block.count': 1, 'block.0.wr.bytes': 0, 'net.count': 0 } },
    { name: 'off', state: 'shut off', vcpus: 1, memoryMiB: 64 },
  ]);
}

describe('virtdeck top', () => {
  it('one domstats per interval; rates per guest, busiest first; shut-off guests left out; one JSON line per interval', async () => {
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
    const domstats = fake.calls.filter((c) => c.includes('domstats'));
    expect(domstats).toHaveLength(3);
    expect(domstats[0]).toEqual(['virsh', '-c', 'qemu:///system', 'domstats', '--state', '--cpu-total', '--balloon', '--vcpu', '--interface', '--block']);
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
    expect(text).toMatch(/^virtdeck top - \d\d:\d\d:\d\d - [^,\n]+, 2 CPUs, 2 running\n/);
    expect(text).toMatch(/%CPU +%VCPU +MEM +RDBY\/s +WRBY\/s +RDRQ\/s +WRRQ\/s +RXBY\/s +TXBY\/s {2}NAME\n +0\.0 +0\.0 +2\.0M .* {2}busy\n +0\.0 +0\.0 +1\.0M .* {2}idle\n$/);
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
      expect(fake.calls.filter((c) => c.includes('domstats'))).toEqual([]);
    }
  });
});
