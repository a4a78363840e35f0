import { describe, expect, test } from 'vitest';
import { hostCpuBusyPct, loadText, parseLoadavg, parseNodeCpuStats } from '../../src/model/hostLoad.js';

const NODECPUSTATS = `user:                 54977960000000
system:                8639630000000
idle:                 43186190000000
iowait:                  72000000000

`;

describe('host CPU from virsh nodecpustats', () => {
  test('parses the four counters; anything missing or not a counter is no value', () => {
    expect(parseNodeCpuStats(NODECPUSTATS)).toEqual({ user: 54977960000000, system: 8639630000000, idle: 43186190000000, iowait: 72000000000 });
    expect(parseNodeCpuStats(NODECPUSTATS.replace(/^iowait.*$/m, ''))).toBeNull();
    expect(parseNodeCpuStats(NODECPUSTATS.replace('54977960000000', '-5'))).toBeNull();
    expect(parseNodeCpuStats(NODECPUSTATS.replace('54977960000000', '1e99'))).toBeNull();
    expect(parseNodeCpuStats('error: this function is not supported by the connection driver: virNodeGetCPUStats\n')).toBeNull();
  });

  test('busy share between two samples; I/O wait is idle; a counter that went back gives no value', () => {
    const a = { user: 1000, system: 500, idle: 8000, iowait: 500 };
    expect(hostCpuBusyPct(a, { user: 1600, system: 700, idle: 9000, iowait: 700 })).toBe(40);
    expect(hostCpuBusyPct(null, a)).toBeNull();
    expect(hostCpuBusyPct(a, a)).toBeNull();
    expect(hostCpuBusyPct(a, { ...a, user: 10 })).toBeNull();
  });
});

describe('load average from /proc/loadavg', () => {
  test('the three averages; anything else is no value', () => {
    expect(parseLoadavg('9.68 8.67 4.55 6/313 20310\n')).toEqual([9.68, 8.67, 4.55]);
    expect(parseLoadavg('')).toBeNull();
    expect(parseLoadavg('\u001b]2;x\u0007 8.67 4.55 6/313 20310\n')).toBeNull();
    expect(parseLoadavg('1.00 2.00\n')).toBeNull();
    expect(loadText([0.5, 0.25, 1], true)).toBe('0.50 0.25 1.00');
    expect(loadText([0.5, 0.25, 1], false)).toBe('0.50');
  });
});
