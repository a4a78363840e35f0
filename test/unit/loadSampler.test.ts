import { describe, expect, test } from 'vitest';
import type { Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { readLoadavg } from '../../src/host/loadavg.js';
import type { LoadAverage } from '../../src/model/hostLoad.js';
import { createLoadSampler } from '../../src/store/loadSampler.js';

function hostWith(local: boolean, answer = '0.10 0.20 0.30 1/100 7\n') {
  const calls: string[][] = [];
  const exec: Executor = {
    label: local ? 'local' : 'root@far',
    local,
    async run(argv) {
      calls.push(argv);
      return { argv, exitCode: 0, stdout: answer, stderr: '' };
    },
    async interactive() {
      return 0;
    },
  };
  const host: HostContext = { name: 'h', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
  return { host, calls };
}

const tick = () => new Promise((r) => setTimeout(r, 20));

describe('load average', () => {
  test('on this machine /proc/loadavg is read without a process', async () => {
    const { host, calls } = hostWith(true);
    const load = await readLoadavg(host);
    expect(load).toHaveLength(3);
    expect(load?.every((n) => Number.isFinite(n) && n >= 0)).toBe(true);
    expect(calls).toEqual([]);
  });

  test('on a remote host one cat, at most every 15 s however often the console refreshes; junk is no value', async () => {
    let now = 0;
    const { host, calls } = hostWith(false);
    const seen: LoadAverage[] = [];
    const s = createLoadSampler({ host, publish: (l) => seen.push(l), now: () => now });
    s.sample();
    await tick();
    now += 5_000;
    s.sample();
    now += 9_000;
    s.sample();
    await tick();
    expect(calls).toEqual([['cat', '/proc/loadavg']]);
    expect(seen).toEqual([[0.1, 0.2, 0.3]]);
    now += 1_000;
    s.sample();
    await tick();
    expect(calls).toHaveLength(2);
    s.dispose();
    now += 60_000;
    s.sample();
    expect(calls).toHaveLength(2);
    expect(await readLoadavg(hostWith(false, '\u001b[2J 1 2\n').host)).toBeNull();
  });
});
