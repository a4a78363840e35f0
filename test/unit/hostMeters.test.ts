import { describe, expect, test } from 'vitest';
import { parseHostMemKiB } from '../../src/host/virsh.js';
import { compactMeters, hostMeters, meterBar, metersLayout, metersLine } from '../../src/model/hostMeters.js';
import { NO_USAGE } from '../../src/model/usage.js';

const guests = [
  { name: 'a', state: 'running' as const, vcpus: 4, memoryKiB: 4 * 1024 * 1024 },
  { name: 'b', state: 'running' as const, vcpus: 2, memoryKiB: 2 * 1024 * 1024 },
  { name: 'c', state: 'shut off' as const, vcpus: 8, memoryKiB: 8 * 1024 * 1024 },
];
const usage = new Map([
  ['a', { ...NO_USAGE, hostCpuPct: 30, memUsedKiB: 1024 * 1024 }],
  ['b', { ...NO_USAGE, hostCpuPct: 15, memUsedKiB: 512 * 1024 }],
]);

describe('host meters', () => {
  test('sums the guests; overcommit counts the running guests only', () => {
    const m = hostMeters(guests, usage, { cpus: 2, memKiB: 4 * 1024 * 1024 });
    expect(m).toEqual({ guestCpuPct: 45, guestMemKiB: 1.5 * 1024 * 1024, hostMemKiB: 4 * 1024 * 1024, hostCpus: 2, vcpus: 6, ramKiB: 6 * 1024 * 1024, hostCpuPct: null, load: null });
    expect(hostMeters(guests, new Map(), { cpus: null, memKiB: null }).guestCpuPct).toBeNull();
  });

  test('bars in both charsets, clamped', () => {
    expect(meterBar(0.45, 10, 'unicode')).toBe('█████░░░░░');
    expect(meterBar(0.5, 4, 'ascii')).toBe('##--');
    expect(meterBar(2, 3, 'ascii')).toBe('###');
    expect(meterBar(Number.NaN, 3, 'unicode')).toBe('░░░');
  });

  test('one line at 80 columns, bars shrinking before any number goes', () => {
    const m = hostMeters(guests, usage, { cpus: 2, memKiB: 4 * 1024 * 1024 });
    const line = metersLine(m, 76, 'unicode', ' · ');
    expect(line.length).toBeLessThanOrEqual(76);
    expect(line).toMatch(/^CPU [█░]+ 45% · MEM [█░]+ 1\.5G\/4\.0G · vCPU 6\/2 \(3\.0x\) · RAM 6\.0G\/4\.0G \(1\.5x\)$/);
    expect(metersLine(m, 76, 'ascii', ' - ')).toMatch(/^CPU [#-]+ 45% - MEM [#-]+ 1\.5G\/4\.0G - vCPU 6\/2 \(3\.0x\) - RAM 6\.0G\/4\.0G \(1\.5x\)$/);
    expect(metersLine(m, 40, 'ascii', ' - ')).toBe('CPU 45% - MEM 1.5G/4.0G - vCPU 6/2 (3.0x) - RAM 6.0G/4.0G (1.5x)');
  });

  test("the host's memory is nodeinfo's Memory size", () => {
    expect(parseHostMemKiB('CPU(s):              2\nMemory size:         8388608 KiB\n')).toBe(8388608);
    expect(parseHostMemKiB('CPU(s): 2\n')).toBeNull();
  });

  describe("the host's own CPU and load", () => {
    const busy = hostMeters(guests, usage, { cpus: 2, memKiB: 4 * 1024 * 1024 }, { cpuPct: 60, load: [1.5, 0.75, 0.25] });

    test('the CPU meter is the whole host, the guests\' share beside it when it fits; the load goes last', () => {
      expect(metersLine(busy, 200, 'ascii', ' - ')).toBe('CPU ######---- 60% (guests 45%) - MEM ####------ 1.5G/4.0G - vCPU 6/2 (3.0x) - RAM 6.0G/4.0G (1.5x) - load 1.50 0.75 0.25');
    });

    test('at 80 columns the guests\' share and the load give way to the bars; the load then goes beside the tabs', () => {
      const o = { row: true, width: 76, charset: 'unicode' as const, separator: ' · ' };
      const { line, beside } = metersLayout(busy, o);
      expect(line).toMatch(/^CPU [█░]{3,} 60% · MEM [█░]{3,} 1\.5G\/4\.0G · vCPU 6\/2 \(3\.0x\) · RAM 6\.0G\/4\.0G \(1\.5x\)$/);
      expect(beside).toEqual(['load 1.50 0.75 0.25', 'load 1.50']);
      // At 120 columns everything is on the meters row, and nothing beside the tabs.
      const wide = metersLayout(busy, { ...o, width: 116 });
      expect(wide.line).toMatch(/^CPU [█░]+ 60% \(guests 45%\) · MEM [█░]+ 1\.5G\/4\.0G · .* · load 1\.50 0\.75 0\.25$/);
      expect(wide.beside).toEqual([]);
      // No row to spare: only the short forms, beside the tabs.
      expect(metersLayout(busy, { ...o, row: false })).toEqual({ line: null, beside: compactMeters(busy) });
      // Narrow: no bars, the overcommit stays.
      expect(metersLine(busy, 60, 'ascii', ' - ')).toBe('CPU 60% - MEM 1.5G/4.0G - vCPU 6/2 (3.0x) - RAM 6.0G/4.0G (1.5x)');
    });

    test('the short forms for the tab line, richest first; none before any number is known', () => {
      expect(compactMeters(busy)).toEqual(['CPU 60% MEM 38% load 1.50', 'CPU 60% load 1.50', 'CPU 60% MEM 38%', 'load 1.50', 'CPU 60%']);
      expect(compactMeters(hostMeters(guests, new Map(), { cpus: 2, memKiB: null }))).toEqual([]);
      // Without nodecpustats' second sample, the guests' share stands in.
      expect(compactMeters(hostMeters(guests, usage, { cpus: 2, memKiB: null }))[0]).toBe('CPU 45%');
    });
  });
});
