/**
 * What the all-hosts view costs: one refresh round over two libvirt test-driver hosts of 200
 * guests each, against one host's refresh, both measured in this run (interleaved, so load on the
 * machine falls on both alike). Hosts are asked in parallel, so the goal is a ratio of at most 1.2.
 * Measured as the console runs after its first round: each host with its long-lived virsh and
 * event stream, the poll reusing guests' XML (host/guestMemo.ts); a fresh read of every guest
 * (the first round, `r`, after an event) is printed too.
 * Run: npx tsx bench/allhosts.ts [guests per host] [runs, default 100]   (PIN_CORES=1: each host's virsh on a core of its own, diagnostic)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CountingExecutor, LocalExecutor } from '../src/host/exec.js';
import type { HostContext } from '../src/host/hostContext.js';
import { listOnEveryHost, listWithin } from '../src/host/hostRound.js';
import { watchEvents } from '../src/host/virsh.js';
import { openVirshChannel, type VirshChannel } from '../src/host/virshChannel.js';

const GUESTS = Number(process.argv[2] ?? 200);
// Rounds are a few ms each: many of them, so that the medians and the spread hold from run to run.
const RUNS = Number(process.argv[3] ?? 100);
const GOAL = 1.2;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** A test-driver domain; fixed UUIDs, since every virsh process re-reads the file. One in four runs. */
function domainXml(host: number, i: number): string {
  const running = i % 4 === 0;
  const disks = [0, 1]
    .map((d) => `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/vm/h${host}-g${i}-${d}.qcow2'/><target dev='vd${String.fromCharCode(97 + d)}' bus='virtio'/></disk>`)
    .join('');
  return `  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>h${host}-bench-${String(i).padStart(3, '0')}</name>
    <uuid>00000000-0000-4000-8${host}00-${hex(i + 1, 12)}</uuid>
    <memory unit='MiB'>${256 + (i % 8) * 128}</memory>
    <vcpu>${1 + (i % 4)}</vcpu>
    <os><type>hvm</type></os>
    <devices>
      ${disks}
      <interface type='bridge'><mac address='52:54:0${host}:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}'/><source bridge='br0'/><model type='virtio'/></interface>
      <serial type='pty'/>
      <graphics type='vnc' port='${running ? 5900 + i : -1}' autoport='${running ? 'no' : 'yes'}' listen='127.0.0.1'/>
    </devices>
    ${running ? '' : '<test:runstate>5</test:runstate>'}
  </domain>`;
}

/** The value below which `q` of `xs` lie (nearest rank). */
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

/** p10 / p25 / median / p75 / p90, in ms: how steady the rounds were. */
function spread(xs: number[]): string {
  return [0.1, 0.25, 0.5, 0.75, 0.9].map((q) => (q === 0.5 ? median(xs) : quantile(xs, q)).toFixed(1)).join(' / ');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type BenchHost = HostContext & { counter: CountingExecutor; questions: () => number };

/** A channel that counts its questions (the memo is per channel object: this one is the host's). */
function counted(channel: VirshChannel | null): { channel: VirshChannel | null; questions: () => number } {
  if (!channel) return { channel, questions: () => 0 };
  let n = 0;
  return {
    channel: {
      ask: (commands, o) => {
        n++;
        return channel.ask(commands, o);
      },
      close: () => channel.close(),
      get pid() {
        return channel.pid;
      },
      get starts() {
        return channel.starts;
      },
    },
    questions: () => n,
  };
}

/**
 * CPU time (ms) of this process and the hosts' long-lived virsh children so far. The children's
 * from /proc/PID/task/TID/schedstat (nanoseconds: a round costs virsh a few ms, far below the 10 ms
 * ticks of /proc/PID/stat).
 */
function cpuMs(hosts: BenchHost[]): number {
  return nodeMs() + virshMs(hosts);
}

/** CPU time (ms) of this process alone: what virtdeck's side of a round costs. */
function nodeMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function virshMs(hosts: BenchHost[]): number {
  return hosts.reduce((ms, h) => ms + hostVirshMs(h), 0);
}

/** CPU time (ms) of one host's long-lived virsh so far. */
function hostVirshMs(h: BenchHost): number {
  const pid = h.virshChannel?.pid;
  if (!pid) return 0;
  let ms = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) ms += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  return ms;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'virtdeck-bench-allhosts-'));
  const stops: (() => void)[] = [];
  const hosts: BenchHost[] = [];
  try {
    for (const h of [1, 2]) {
      const file = join(dir, `host${h}.xml`);
      writeFileSync(file, `<node>\n${Array.from({ length: GUESTS }, (_, i) => domainXml(h, i)).join('\n')}\n</node>\n`);
      const counter = new CountingExecutor(new LocalExecutor());
      const uri = `test://${file}`;
      // As the console has it (host/session.ts, appStore's init, store/allHosts.ts' watch): a
      // long-lived virsh per host and a `virsh event` stream, so a poll may reuse guests' XML.
      const { channel, questions } = counted(openVirshChannel(uri, counter));
      hosts.push({ name: `host${h}`, uri, virshExec: counter, sysExec: counter, virshChannel: channel, counter, questions });
    }
    for (const h of hosts) stops.push(watchEvents(h, () => {}));
    const [one, two] = hosts as [BenchHost, BenchHost];
    // guestMemo trusts what was read once its stream has surely connected (WATCH_SETTLE_MS, 2 s).
    await sleep(2_500);

    // Warm-up: a fresh round reads every guest (and checks that both hosts list all), a poll reuses.
    const first = await listOnEveryHost(hosts, { timeoutMs: 120_000 });
    for (const a of first) {
      if (!a.ok) throw a.error;
      if (a.listed.guests.length !== GUESTS) throw new Error(`${a.host.name} listed ${a.listed.guests.length} guests, not ${GUESTS}`);
    }
    await listOnEveryHost(hosts, { timeoutMs: 120_000, reuseXml: true });
    // Diagnostic, not what the console does: each host's virsh on a core of its own. On a loaded
    // machine a pipe write's wake-up puts both woken virsh on the writer's core (no idle one to
    // pick), so the hosts queue there; pinned, they cannot, and the one-host round pays instead.
    const pinned = process.env.PIN_CORES === '1';
    if (pinned) {
      for (const [i, h] of hosts.entries()) execFileSync('taskset', ['-a', '-p', '-c', String(i % availableParallelism()), String(h.virshChannel?.pid)], { stdio: 'ignore' });
    }

    const poll = { single: [] as number[], all: [] as number[], serial: [] as number[] };
    const fresh = { single: [] as number[], all: [] as number[] };
    let spawns = 0;
    let questions = 0;
    const load = loadavg()[0] as number;
    const count = () => one.counter.count + two.counter.count;
    const asked = () => one.questions() + two.questions();
    // CPU per round, whatever the machine's load: each host of the view should cost what one host costs.
    const cpu = { single: 0, all: 0 };
    const node = { single: 0, all: 0 };
    // Each host's virsh in the all-hosts rounds: each should cost what the one-host round's costs.
    const each = [0, 0];
    for (let i = 0; i < RUNS; i++) {
      let c0 = cpuMs(hosts);
      let n0 = nodeMs();
      poll.single.push(await timed(() => listWithin(one, 120_000, Date.now, { reuseXml: true })));
      node.single += nodeMs() - n0;
      cpu.single += cpuMs(hosts) - c0;
      const [before, qBefore] = [count(), asked()];
      c0 = cpuMs(hosts);
      n0 = nodeMs();
      const e0 = hosts.map(hostVirshMs);
      poll.all.push(await timed(() => listOnEveryHost(hosts, { timeoutMs: 120_000, reuseXml: true })));
      node.all += nodeMs() - n0;
      cpu.all += cpuMs(hosts) - c0;
      hosts.forEach((h, k) => {
        each[k] = (each[k] as number) + hostVirshMs(h) - (e0[k] as number);
      });
      [spawns, questions] = [count() - before, asked() - qBefore];
      // For scale: the same two hosts one after the other (what the view would cost without parallel rounds).
      poll.serial.push(
        await timed(async () => {
          for (const h of hosts) await listWithin(h, 120_000, Date.now, { reuseXml: true });
        }),
      );
    }
    // A refresh after an action or `r` re-reads every guest: informative, fewer runs.
    for (let i = 0; i < Math.max(3, Math.min(10, Math.floor(RUNS / 3))); i++) {
      fresh.single.push(await timed(() => listWithin(one, 120_000)));
      fresh.all.push(await timed(() => listOnEveryHost(hosts, { timeoutMs: 120_000 })));
    }
    const ratio = median(poll.all) / median(poll.single);
    const line = (label: string, value: string) => console.log(`${label.padEnd(50)}${value}`);
    line('guests per host:', `${GUESTS} (2 hosts, ${GUESTS / 4} running each)${pinned ? ', each virsh pinned to a core (PIN_CORES=1)' : ''}`);
    line('per all-hosts poll round:', `${spawns} processes started, ${questions} questions to the hosts' long-lived virsh`);
    line('cores, load average (1 min) at start, at end:', `${availableParallelism()}, ${load.toFixed(2)}, ${(loadavg()[0] as number).toFixed(2)}`);
    line(`poll, one host, median of ${RUNS}:`, `${median(poll.single).toFixed(1)} ms`);
    line(`poll, all hosts (2), median of ${RUNS}:`, `${median(poll.all).toFixed(1)} ms`);
    line(`poll, two hosts one after the other, median of ${RUNS}:`, `${median(poll.serial).toFixed(1)} ms`);
    line('poll, one host, p10/p25/p50/p75/p90:', `${spread(poll.single)} ms`);
    line('poll, all hosts, p10/p25/p50/p75/p90:', `${spread(poll.all)} ms`);
    line(`fresh read (every XML), one host, median of ${fresh.single.length}:`, `${median(fresh.single).toFixed(1)} ms`);
    line(`fresh read (every XML), all hosts, median of ${fresh.all.length}:`, `${median(fresh.all).toFixed(1)} ms`);
    line('CPU per poll round (virtdeck + virsh), mean:', `one host ${(cpu.single / RUNS).toFixed(1)} ms, all hosts ${(cpu.all / RUNS).toFixed(1)} ms (${(cpu.all / cpu.single).toFixed(2)}x, 2.00 = each host costs one host's)`);
    // virtdeck's own part runs on one thread for every host: it is what parallel hosts cannot hide.
    line('  of which virtdeck (node), mean:', `one host ${(node.single / RUNS).toFixed(2)} ms, all hosts ${(node.all / RUNS).toFixed(2)} ms`);
    line('  of which each virsh, mean:', `one host ${((cpu.single - node.single) / RUNS).toFixed(2)} ms, all hosts ${each.map((ms) => (ms / RUNS).toFixed(2)).join(' + ')} ms`);
    // Wall time: the two hosts' virsh run at once only with a core free for each; on a machine
    // whose load average is above its cores they queue, and the ratio tends to 2 whatever virtdeck does.
    line('ratio all-hosts / one host (poll):', `${ratio.toFixed(2)} (goal <= ${GOAL})`);
    // Each all-hosts round against the one-host round just before it: load that comes and goes
    // falls on both sides of each pair.
    const paired = poll.all.map((a, i) => a / (poll.single[i] as number));
    line('ratio per pair of rounds, p25/p50/p75:', [0.25, 0.5, 0.75].map((q) => quantile(paired, q).toFixed(2)).join(' / '));
    // The fastest rounds are those that found both cores free: what the view costs on a quiet machine.
    line(`ratio all-hosts / one host, fastest of ${RUNS}:`, `${(Math.min(...poll.all) / Math.min(...poll.single)).toFixed(2)} (${Math.min(...poll.all).toFixed(1)} / ${Math.min(...poll.single).toFixed(1)} ms, informative)`);
    line('ratio one-after-the-other / one host (poll):', `${(median(poll.serial) / median(poll.single)).toFixed(2)}`);
    line('ratio all-hosts / one host (fresh read):', `${(median(fresh.all) / median(fresh.single)).toFixed(2)} (informative)`);
    process.exitCode = ratio <= GOAL ? 0 : 1;
  } finally {
    for (const stop of stops) stop();
    await Promise.all(hosts.map((h) => h.virshChannel?.close()));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
