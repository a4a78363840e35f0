import { describe, expect, test } from 'vitest';
import { parseHostMemKiB } from '../../src/host/virsh.js';
import { hostMeters, meterBar, metersLine } from '../../src/model/hostMeters.js';
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
    expect(m).toEqual({ guestCpuPct: 45, guestMemKiB: 1.5 * 1024 * 1024, hostMemKiB: 4 * 1024 * 1024, hostCpus: 2, vcpus: 6, ramKiB: 6 * 1024 * 1024 });
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
});
