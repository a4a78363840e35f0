/**
 * How much a guest-list refresh costs, against a libvirt test-driver host of 200 guests.
 * Run: npx tsx bench/refresh.ts [guests] [runs] [naive runs]
 * Prints the spawns per refresh and virtdeck's refresh time — as the console runs it (a long-lived
 * virsh, and `virsh event` so unchanged guests' XML is reused), through the long-lived virsh
 * reading every guest's XML, and with one virsh per question (the CLI, or a channel that failed) —
 * beside a bare `virsh domstats` (one process, one connect, one RPC) and a naive
 * one-dumpxml-per-guest refresh, all measured in this run on this machine, so the ratios mean
 * something whatever the machine.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CountingExecutor, LocalExecutor } from '../src/host/exec.js';
import type { HostContext } from '../src/host/hostContext.js';
import { listGuests, listGuestsWithStats, watchEvents } from '../src/host/virsh.js';
import { openVirshChannel } from '../src/host/virshChannel.js';
import { writeTestHost } from './testHost.js';

const GUESTS = Number(process.argv[2] ?? 200);
const RUNS = Number(process.argv[3] ?? 10);
const NAIVE_RUNS = Number(process.argv[4] ?? 1); // 200 processes that each re-read the file: ~20 s (0 skips it)

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function timeRuns(runs: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const testHost = writeTestHost(GUESTS);
  const uri = testHost.uri;
  try {
    const local = new LocalExecutor();
    const counter = new CountingExecutor(local);
    const oneShot: HostContext = { name: 'bench', uri, virshExec: counter, sysExec: counter };
    // As the console runs: a long-lived virsh, and the event stream that lets it reuse guests' XML.
    const channel = openVirshChannel(uri, counter);
    const host: HostContext = { ...oneShot, virshChannel: channel };
    const stopEvents = watchEvents(host, () => {});
    // The same long-lived virsh without events: every refresh reads every guest's XML.
    const fullChannel = openVirshChannel(uri, counter);
    const full: HostContext = { ...oneShot, virshChannel: fullChannel };
    await sleep(2_100); // until the stream has surely registered (src/host/guestMemo.ts)

    const rows = await listGuests(host); // warm-up (starts the channel), and the correctness check
    const firstSpawns = counter.count;
    const running = rows.filter((r) => r.state === 'running').length;
    if (rows.length !== GUESTS) throw new Error(`expected ${GUESTS} guests, found ${rows.length}`);
    const same = async (h: HostContext) => JSON.stringify(await listGuests(h)) === JSON.stringify(rows);
    if (!(await same(oneShot)) || !(await same(full)) || !(await same(host))) throw new Error('the ways of refreshing gave different rows');

    // Interleaved so a busy moment on the machine hits every side alike.
    const sides = { ours: [] as number[], full: [] as number[], single: [] as number[], bare: [] as number[] };
    const spawns = { ours: 0, full: 0, single: 0 };
    const measure = async (side: keyof typeof spawns, h: HostContext) => {
      const before = counter.count;
      sides[side].push(...(await timeRuns(1, () => listGuestsWithStats(h, Date.now, { reuseXml: true }))));
      spawns[side] += counter.count - before;
    };
    for (let i = 0; i < RUNS; i++) {
      await measure('ours', host);
      await measure('full', full);
      await measure('single', oneShot);
      sides.bare.push(...(await timeRuns(1, () => local.run(['virsh', '-c', uri, 'domstats']))));
    }
    if (channel?.starts !== 1) throw new Error(`the channel restarted during the bench (${channel?.starts} starts)`);
    stopEvents();
    await Promise.all([channel.close(), fullChannel?.close()]);
    const naive = await timeRuns(NAIVE_RUNS, async () => {
      const names = (await local.run(['virsh', '-c', uri, 'list', '--all', '--name'])).stdout.split('\n').filter(Boolean);
      for (const n of names) await local.run(['virsh', '-c', uri, 'dumpxml', '--domain', n]);
    });

    const m = { ours: median(sides.ours), full: median(sides.full), single: median(sides.single), bare: median(sides.bare), naive: median(naive) };
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    console.log(`test driver host: ${uri}`);
    console.log(`guests found:                        ${rows.length} (${running} running)`);
    console.log(`spawns, first refresh:               ${firstSpawns} (the long-lived virsh and virsh event)`);
    console.log(`spawns per refresh, console steady:  ${spawns.ours / RUNS}`);
    console.log(`spawns per refresh, one-shot:        ${spawns.single / RUNS}`);
    console.log(`medians of ${RUNS}:`);
    console.log(`  console refresh (XML reused):      ${ms(m.ours)}`);
    console.log(`  long-lived virsh, every XML read:  ${ms(m.full)}`);
    console.log(`  one-shot refresh (2 processes):    ${ms(m.single)}`);
    console.log(`  bare virsh domstats:               ${ms(m.bare)}`);
    console.log(`ratio console refresh / bare domstats:   ${(m.ours / m.bare).toFixed(2)} (goal <= 0.5)`);
    console.log(`ratio every XML read / bare domstats:    ${(m.full / m.bare).toFixed(2)}`);
    console.log(`ratio one-shot / bare domstats:          ${(m.single / m.bare).toFixed(2)}`);
    if (NAIVE_RUNS > 0) console.log(`naive refresh (1 + ${GUESTS} spawns), median of ${NAIVE_RUNS}: ${ms(m.naive)} (${(m.naive / m.ours).toFixed(0)}x the console's)`);
  } finally {
    testHost.remove();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
