import { cleanup } from 'ink-testing-library';
import { afterEach, describe, expect, test } from 'vitest';
import type { FakeGuest } from '../helpers/fakeHost.js';
import { renderApp } from './helpers.js';

afterEach(() => cleanup());

function guests(): FakeGuest[] {
  const io = (rd: number, wr: number, rx: number, tx: number) => ({
    'block.count': 1,
    'block.0.rd.bytes': rd,
    'block.0.wr.bytes': wr,
    'block.0.rd.reqs': rd / 1024,
    'block.0.wr.reqs': wr / 1024,
    'net.count': 1,
    'net.0.rx.bytes': rx,
    'net.0.tx.bytes': tx,
  });
  return [
    { name: 'alpha', state: 'running', vcpus: 1, memoryMiB: 512, stats: { 'cpu.time': 0, 'vcpu.current': 1, 'balloon.rss': 200 * 1024, ...io(0, 0, 0, 0) } },
    { name: 'bravo', state: 'running', vcpus: 2, memoryMiB: 1024, stats: { 'cpu.time': 0, 'vcpu.current': 2, 'balloon.rss': 100 * 1024, ...io(0, 0, 0, 0) } },
    { name: 'charlie', state: 'shut off', vcpus: 1, memoryMiB: 256 },
  ];
}

/** Two samples 2 s apart: alpha uses 0.2 s of CPU and writes 2 MiB; bravo uses 1.6 s and receives 4 MiB. */
async function twoSamples(columns: number, env?: Record<string, string>, rows = 24) {
  let now = 1_000_000;
  // The agent is not asked here (its hint would take the io line's row at 80x24): test/ui/guestAgent.test.tsx covers it.
  const app = await renderApp(guests(), { store: { clock: () => now, size: { columns, rows }, agentSettleMs: 3_600_000 }, waitFor: 'alpha', ...(env ? { env } : {}) });
  const [alpha, bravo] = app.fake.guests;
  if (!alpha?.stats || !bravo?.stats) throw new Error('fixture');
  Object.assign(alpha.stats, { 'cpu.time': 200_000_000, 'block.0.wr.bytes': 2 * 1024 * 1024, 'block.0.wr.reqs': 2048 });
  Object.assign(bravo.stats, { 'cpu.time': 1_600_000_000, 'net.0.rx.bytes': 4 * 1024 * 1024 });
  now += 2000;
  await app.store.getState().refresh();
  return Object.assign(app, { later: () => (now += 2000) });
}

const order = (f: string) => [...f.matchAll(/^│ [ ▶](alpha|bravo|charlie) /gm)].map((m) => m[1]);

describe('usage columns in the Guests pane', () => {
  test('at 80 columns: CPU% of the host and MEM from two refreshes; one domstats in the list process, no process added', async () => {
    const app = await twoSamples(80);
    const before = app.fake.calls.length;
    await app.store.getState().refresh();
    // Same two virsh processes as before issue 16; domstats rides in the first.
    expect(app.fake.calls.length - before).toBe(2);
    // The running guests' counters; the shut-off ones' state alone (qemu would open their images for sizes).
    expect(app.fake.calls.at(-2)?.at(-1)).toContain('domstats --list-active --state --cpu-total --balloon --vcpu --interface --block');
    expect(app.fake.calls.at(-2)?.at(-1)).toContain('domstats --list-inactive --state;');
    const f = await app.waitFor(/alpha +running.*5\.0%/);
    // alpha: 0.2 s CPU / 2 s on a 2-CPU host = 5 %; bravo 1.6 s / 2 s / 2 = 40 %.
    expect(f).toMatch(/alpha +running +1 +512M +5\.0% +200M/);
    expect(f).toMatch(/bravo +running +2 +1\.0G +40% +100M/);
    expect(f).toMatch(/charlie +shut off +1 +256M +- +-/);
    expect(f).not.toContain('DISK R/W');
    // History for sparklines: one entry per sample taken ≥ 1 s apart (the third refresh came at the same instant).
    expect(app.store.getState().usageHistory('alpha').map((u) => u.hostCpuPct)).toEqual([null, 5]);
    expect(app.store.getState().usageHistory('charlie')).toHaveLength(2);
    // The rates that do not fit are in the detail strip (alpha is selected).
    expect(f).toContain('use  CPU 5.0% of host, 10% of 1 vCPU · MEM 200M QEMU RSS');
    expect(f).toContain('io   disk r 0B/s w 1.0M/s, 0/1024 IOPS · net rx 0B/s tx 0B/s');
  });

  test('at 120 columns the disk and network rates show in the table', async () => {
    const app = await twoSamples(120);
    const f = await app.waitFor('DISK R/W');
    expect(f).toMatch(/NET RX\/TX/);
    expect(f).toMatch(/alpha .* 0B\/1\.0M +0B\/0B /);
    expect(f).toMatch(/bravo .* 0B\/0B +2\.0M\/0B /);
  });

  test('o cycles name → cpu → mem → disk → net → name; the selection stays on its guest', async () => {
    const app = await twoSamples(80);
    await app.press('j'); // bravo
    expect(app.store.getState().selected).toBe('bravo');
    const seen: [string, (string | undefined)[]][] = [];
    for (let i = 0; i < 5; i++) {
      await app.press('o');
      await app.waitFor(/Sorted by/);
      seen.push([app.store.getState().sortKey, order(app.frame())]);
      expect(app.store.getState().selected).toBe('bravo');
      expect(app.frame()).toMatch(/▶bravo/);
    }
    expect(seen).toEqual([
      ['cpu', ['bravo', 'alpha', 'charlie']],
      ['mem', ['alpha', 'bravo', 'charlie']],
      ['disk', ['alpha', 'bravo', 'charlie']],
      ['net', ['bravo', 'alpha', 'charlie']],
      ['name', ['alpha', 'bravo', 'charlie']],
    ]);
    // j/k follow the order on screen.
    await app.press('o'); // cpu: bravo, alpha, charlie
    await app.press('j');
    expect(app.store.getState().selected).toBe('alpha');
  });

  test('a guest that restarted between refreshes shows no rate, never a negative one', async () => {
    const app = await twoSamples(80);
    const alpha = app.fake.guests[0];
    if (!alpha?.stats) throw new Error('fixture');
    alpha.stats['cpu.time'] = 1000;
    app.later();
    await app.store.getState().refresh();
    expect(app.store.getState().usage.get('alpha')?.hostCpuPct).toBeNull();
    const f = await app.waitFor(/alpha +running +1 +512M +- +200M/);
    expect(f).not.toMatch(/-\d/);
  });

  describe('sparklines in the detail strip heading', () => {
    /** Two more refreshes: alpha's CPU doubles each time (10 %, 20 %, 40 % of its vCPUs; the CPU sparkline's full scale is 100 %); its disk and network go quiet. */
    async function fourSamples(env?: Record<string, string>) {
      const app = await twoSamples(80, env);
      const alpha = app.fake.guests[0];
      if (!alpha?.stats) throw new Error('fixture');
      for (const cpu of [600_000_000, 1_400_000_000]) {
        alpha.stats['cpu.time'] = cpu;
        app.later();
        await app.store.getState().refresh();
      }
      expect(app.store.getState().usageHistory('alpha').map((u) => u.hostCpuPct)).toEqual([null, 5, 10, 20]);
      return app;
    }

    test('at 80x24: CPU, disk and net of the selected guest as block sparklines, nulls as gaps, in the heading row', async () => {
      const app = await fourSamples();
      const f = await app.waitFor(/cpu +▂▂▄/);
      const heading = f.split('\n').find((l) => l.includes('alpha · cpu')) ?? '';
      // 16 columns each at 80: the first sample (no rate yet) is a gap; each line scales to its own max.
      expect(heading).toContain(`├ alpha · cpu ${' '.repeat(13)}▂▂▄ · disk ${' '.repeat(13)}█▁▁ · net ${' '.repeat(13)}▁▁▁ `);
      expect(heading).toHaveLength(80);
      // No row was given up: the usage lines are still there.
      expect(f).toContain('use  CPU 20% of host');
      expect(f).toMatch(/^│ io +disk r /m);
      // A shut-off guest has no rate to draw: its heading is its name.
      await app.press('G');
      expect(await app.waitFor(/├ charlie ─/)).not.toMatch(/charlie · cpu/);
    });

    test('under TERM=linux the same sparklines in ASCII levels', async () => {
      const app = await fourSamples({ LANG: 'C.UTF-8', TERM: 'linux' });
      const f = await app.waitFor(/cpu +\.\.-/);
      expect(f).toContain(`+ alpha - cpu ${' '.repeat(13)}..- - disk ${' '.repeat(13)}#__ - net ${' '.repeat(13)}___ -`);
      expect(f).not.toMatch(/[^\x00-\x7f]/);
    });
  });

  describe('host meters in the header', () => {
    test('with a row to spare (80x25): one line of guests CPU and memory against the host, and the overcommit', async () => {
      const app = await twoSamples(80, undefined, 25);
      // 5 % + 40 % of the host; 200M + 100M in use of nodeinfo's 8 GiB; running: 1 + 2 vCPUs of 2, 512M + 1.0G of 8 GiB.
      const f = await app.waitFor(/CPU [█░]+ 45%/);
      const line = f.split('\n')[2] ?? '';
      expect(line).toMatch(/^│ CPU [█░]+ 45% · MEM [█░]+ 300M\/8\.0G · vCPU 3\/2 \(1\.5x\) · RAM 1\.5G\/8\.0G \(0\.2x\) +│$/);
      expect(line).toHaveLength(80);
      expect(f.split('\n')).toHaveLength(25);
    });

    test('under TERM=linux in ASCII; at 80x24 the table keeps its rows and no meters are drawn', async () => {
      const ascii = await twoSamples(80, { LANG: 'C.UTF-8', TERM: 'linux' }, 25);
      expect(await ascii.waitFor(/CPU [#-]+ 45%/)).toMatch(/\| CPU [#-]+ 45% - MEM [#-]+ 300M\/8\.0G - vCPU 3\/2 \(1\.5x\) - RAM 1\.5G\/8\.0G \(0\.2x\) +\|/);
      cleanup();
      const small = await twoSamples(80);
      expect(await small.waitFor(/alpha/)).not.toMatch(/vCPU 3\/2/);
    });
  });
});
