/**
 * What the console costs while an admin just watches it: CPU of virtdeck's whole process tree
 * (node, its long-lived virsh, its `virsh event` stream, anything they start) over an idle
 * minute on the Guests pane of a 200-guest test-driver host refreshing every 2 s, beside what an
 * admin runs instead — a shell loop of `virsh domstats` every 2 s, and `htop -d 20` — and its RSS
 * beside an Ink hello-world. All four run at once on pseudo-terminals of the same size (util-linux
 * `script`), so a busy moment on the machine hits them alike and the ratios hold on any machine.
 * Run: npx tsx bench/top.ts [guests] [seconds] [--against DIR]
 * `--against DIR` also runs the console of another checkout (DIR: a `git worktree` or `git archive`
 * of an older commit, with node_modules) on the same host file, so old and new share every busy
 * moment of the machine.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shellQuote } from '../src/model/shellQuote.js';
import { writeTestHost } from './testHost.js';

const args = process.argv.slice(2);
const againstAt = args.indexOf('--against');
const AGAINST = againstAt >= 0 ? args.splice(againstAt, 2)[1] : undefined;
const GUESTS = Number(args[0] ?? 200);
const SECONDS = Number(args[1] ?? 60);
const WARMUP_S = 10;
const POLL_MS = 2_000;
const ROWS = 40;
const COLUMNS = 120;
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime: its own CPU and that of the children it has reaped. */
  ticks: number;
  comm: string;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm is in parentheses and may hold spaces or parentheses itself: the fields follow the last ')'.
    const close = text.lastIndexOf(')');
    const f = text.slice(close + 2).split(' ');
    const n = (i: number) => Number(f[i - 3]);
    return { pid, ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17), comm: text.slice(text.indexOf('(') + 1, close) };
  } catch {
    return null; // gone meanwhile
  }
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = readStat(Number(d));
    if (s) out.push(s);
  }
  return out;
}

/** `root` and every process below it. */
function tree(root: number, stats = allStats()): ProcStat[] {
  const byParent = new Map<number, ProcStat[]>();
  for (const s of stats) byParent.set(s.ppid, [...(byParent.get(s.ppid) ?? []), s]);
  const self = stats.find((s) => s.pid === root);
  if (!self) return [];
  const out = [self];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get((out[i] as ProcStat).pid) ?? []));
  return out;
}

/**
 * A tree's CPU between two snapshots: a process that ended meanwhile left the part after the
 * first snapshot in its parent's cutime/cstime, so summing both snapshots' trees counts each tick once.
 */
const treeTicks = (root: number) => tree(root).reduce((sum, s) => sum + s.ticks, 0);

/**
 * A process's CPU by thread, in ns (schedstat: exact, where /proc/PID/stat counts 10 ms ticks):
 * node's main thread (JavaScript, Ink, React, the scavenges) apart from its other threads (V8's
 * compilers and concurrent GC, libuv's pool).
 */
function threadNs(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        if (Number(tid) === pid) main += ns;
        else others += ns;
      } catch {}
    }
  } catch {}
  return { main, others };
}

function rssKiB(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

interface Subject {
  label: string;
  child: ChildProcess;
  /** The measured process: for a program on a pseudo-terminal, the one `script` started (not script itself). */
  root: number;
  output: () => string;
  /** Bytes it wrote to its terminal so far. */
  written: () => number;
}

/** Runs `argv` on a fresh ROWS x COLUMNS pseudo-terminal; `script` relays it, and is not measured. */
async function onTerminal(label: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Subject> {
  const command = `stty rows ${ROWS} cols ${COLUMNS}; exec ${argv.map(shellQuote).join(' ')}`;
  const child = spawn('script', ['-qfc', command, '/dev/null'], {
    detached: true,
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { ...process.env, TERM: 'xterm-256color', LANG: 'C.UTF-8', ...env },
  });
  let out = '';
  let written = 0;
  child.stdout?.on('data', (d: Buffer) => {
    written += d.length;
    out = (out + d.toString('utf8')).slice(-200_000);
  });
  const pid = child.pid as number;
  for (let i = 0; i < 200; i++) {
    const under = allStats().find((s) => s.ppid === pid);
    if (under) return { label, child, root: under.pid, output: () => out, written: () => written };
    await sleep(25);
  }
  throw new Error(`${label}: script started nothing`);
}

function plain(label: string, argv: string[]): Subject {
  const [file, ...args] = argv;
  const child = spawn(file as string, args, { detached: true, stdio: 'ignore' });
  return { label, child, root: child.pid as number, output: () => '', written: () => 0 };
}

async function build(entry: string, outfile: string, cwd = '.'): Promise<void> {
  execFileSync('node', ['scripts/build.mjs', '--entry', entry, '--outfile', outfile], { stdio: 'ignore', cwd });
}

async function stop(s: Subject): Promise<void> {
  const gone = s.child.exitCode !== null ? Promise.resolve() : new Promise((r) => s.child.once('exit', r));
  // The measured process first (virtdeck quits as on a hang-up: closing its virsh), then its group.
  try {
    process.kill(s.root, 'SIGTERM');
  } catch {}
  await Promise.race([gone, sleep(3_000)]);
  try {
    process.kill(-(s.child.pid as number), 'SIGKILL');
  } catch {}
  await gone;
}

const pct = (ticks: number, seconds: number) => (ticks / TICK / seconds) * 100;

async function main(): Promise<void> {
  const host = writeTestHost(GUESTS);
  const subjects: Subject[] = [];
  try {
    const virtdeckJs = join(host.dir, 'virtdeck-top.js');
    const helloJs = join(host.dir, 'ink-hello.js');
    await build('bench/topConsole.tsx', virtdeckJs);
    await build('bench/inkHello.tsx', helloJs);
    const againstJs = join(host.dir, 'against', 'virtdeck-top.js');
    if (AGAINST) await build(resolve(AGAINST, 'bench/topConsole.tsx'), againstJs, AGAINST);

    // Each bundle runs as a program, as the `virtdeck` command does: its shebang gives Node the V8
    // flags of scripts/build.mjs (NODE_FLAGS); the hello-world gets the same ones.
    // Its own state directory: the Jobs tab reads the journals again whenever the jobs directory
    // changes, and on a shared test machine other suites write /var/lib/virtdeck/jobs all the time.
    const startConsole = async (label: string, js: string, homeName: string) => {
      const home = join(host.dir, homeName);
      mkdirSync(home, { mode: 0o700 });
      return onTerminal(label, [js, host.uri, String(POLL_MS)], { VIRTDECK_HOME: home });
    };
    const virtdeck = await startConsole('virtdeck', virtdeckJs, 'home');
    subjects.push(virtdeck);
    const loop = plain('virsh domstats loop', ['sh', '-c', `while :; do virsh -c "$1" domstats >/dev/null; sleep ${POLL_MS / 1000}; done`, 'sh', host.uri]);
    subjects.push(loop);
    const htop = await onTerminal(`htop -d ${POLL_MS / 100}`, ['htop', '-d', String(POLL_MS / 100)]);
    subjects.push(htop);
    const hello = await onTerminal('Ink hello-world', [helloJs]);
    subjects.push(hello);
    const against = AGAINST ? await startConsole(`virtdeck (${basename(resolve(AGAINST))})`, againstJs, 'home-against') : null;
    if (against) subjects.push(against);
    const consoles = against ? [virtdeck, against] : [virtdeck];

    // The console must really be showing the guests, not an error screen; its first round reads
    // every guest's XML, which on a loaded machine takes longer than the warm-up.
    for (const c of consoles) {
      for (let waited = 0; !c.output().includes('bench-000'); waited += 250) {
        if (waited > 120_000) throw new Error(`${c.label} did not list the guests; its screen ends:\n${c.output().slice(-2_000)}`);
        await sleep(250);
      }
    }
    await sleep(WARMUP_S * 1_000);
    const channelBefore = consoles.map((c) => tree(c.root).filter((s) => s.comm === 'virsh').map((s) => s.pid));

    const measured = subjects.map((s) => s.root);
    const t0 = performance.now();
    const before = measured.map(treeTicks);
    const ownBefore = consoles.map((c) => new Map(tree(c.root).map((s) => [s.pid, s.ticks])));
    const threadsBefore = consoles.map((c) => threadNs(c.root));
    const writtenBefore = consoles.map((c) => c.written());
    await sleep(SECONDS * 1_000);
    const after = measured.map(treeTicks);
    const threadsAfter = consoles.map((c) => threadNs(c.root));
    const writtenAfter = consoles.map((c) => c.written());
    const ownAfter = consoles.map((c) => tree(c.root));
    const seconds = (performance.now() - t0) / 1_000;
    const cpu = after.map((a, i) => pct(a - (before[i] as number), seconds));
    const rss = consoles.map((c) => {
      const t = tree(c.root);
      return { node: rssKiB(c.root), tree: t.reduce((sum, s) => sum + rssKiB(s.pid), 0) };
    });
    const helloRss = rssKiB(hello.root);
    const channelAfter = consoles.map((c) => tree(c.root).filter((s) => s.comm === 'virsh').map((s) => s.pid));

    const [ours = 0, loopCpu = 0, htopCpu = 0, helloCpu = 0] = cpu;
    const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
    const refreshes = (seconds * 1_000) / POLL_MS;
    console.log(`test driver host: ${GUESTS} guests, refresh every ${POLL_MS / 1000} s, ${COLUMNS}x${ROWS} terminals, ${seconds.toFixed(0)} s after ${WARMUP_S} s warm-up`);
    console.log(`cores, load average (1 5 15 min) at the end: ${availableParallelism()}, ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`CPU (% of one core, whole process tree):`);
    for (const [i, s] of subjects.entries()) console.log(`  ${s.label.padEnd(22)} ${(cpu[i] as number).toFixed(2)} %`);
    for (const [i, c] of consoles.entries()) {
      const name = consoles.length > 1 ? ` ${c.label}` : '';
      // Where its share goes: node (refresh parsing, Ink frames) or its two long-lived virsh.
      const own = (ownAfter[i] ?? []).map((p) => `${p.comm}[${p.pid}] ${pct(p.ticks - (ownBefore[i]?.get(p.pid) ?? 0), seconds).toFixed(2)} %`);
      console.log(`virtdeck's processes${name}: ${own.join(', ')}`);
      // The load-independent figure: node's CPU per refresh (the scheduler's ns, all its threads).
      const [b, a] = [threadsBefore[i], threadsAfter[i]];
      if (a && b) {
        const ms = (ns: number) => ns / 1e6 / refreshes;
        const main = ms(a.main - b.main);
        const others = ms(a.others - b.others);
        console.log(`node CPU per refresh${name}: ${(main + others).toFixed(1)} ms (main thread ${main.toFixed(1)}, other threads ${others.toFixed(1)}); to the terminal ${(((writtenAfter[i] ?? 0) - (writtenBefore[i] ?? 0)) / refreshes).toFixed(0)} B`);
      }
      const kept = (channelBefore[i] ?? []).every((p) => channelAfter[i]?.includes(p));
      console.log(`virsh children kept${name}: ${kept ? 'yes (the same pids all minute)' : `no: ${channelBefore[i]} -> ${channelAfter[i]}`}`);
    }
    console.log(`ratio virtdeck / virsh loop CPU: ${(ours / loopCpu).toFixed(2)} (goal <= 1)`);
    console.log(`ratio virtdeck / htop CPU:       ${(ours / htopCpu).toFixed(2)} (goal <= 2)`);
    if (against) console.log(`ratio ${against.label} / htop CPU: ${((cpu[subjects.indexOf(against)] ?? 0) / htopCpu).toFixed(2)}`);
    console.log(`RSS virtdeck node:       ${mib(rss[0]?.node ?? 0)} (tree with its virsh: ${mib(rss[0]?.tree ?? 0)})`);
    if (against) console.log(`RSS ${against.label} node: ${mib(rss[1]?.node ?? 0)} (tree: ${mib(rss[1]?.tree ?? 0)})`);
    console.log(`RSS Ink hello-world:     ${mib(helloRss)} (CPU ${helloCpu.toFixed(2)} %)`);
    console.log(`ratio RSS virtdeck / hello-world: ${((rss[0]?.node ?? 0) / helloRss).toFixed(2)} (goal <= 1.5; tree: ${((rss[0]?.tree ?? 0) / helloRss).toFixed(2)})`);
  } finally {
    await Promise.all(subjects.map(stop));
    host.remove();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
