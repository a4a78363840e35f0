/**
 * What an idle console writes to its terminal: the top.ts console on a 120x40 pseudo-terminal,
 * every write after a 10 s warm-up printed with its time, size and escaped text, so one sees
 * which lines a refresh redraws and which frames are empty (a synchronized-update pair alone).
 * Run: npx tsx bench/screenTrace.ts [guests] [seconds]   (SHOW_SCREEN=1: the last screenful too)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { shellQuote } from '../src/model/shellQuote.js';
import { writeTestHost } from './testHost.js';

const GUESTS = Number(process.argv[2] ?? 200);
const SECONDS = Number(process.argv[3] ?? 20);
const host = writeTestHost(GUESTS);
const js = join(host.dir, 'virtdeck-top.js');
execFileSync('node', ['scripts/build.mjs', '--entry', 'bench/topConsole.tsx', '--outfile', js], { stdio: 'ignore' });
const home = join(host.dir, 'home');
mkdirSync(home, { mode: 0o700 });
const child = spawn('script', ['-qfc', `stty rows 40 cols 120; exec ${[js, host.uri, '2000'].map(shellQuote).join(' ')}`, '/dev/null'], {
  detached: true,
  stdio: ['pipe', 'pipe', 'ignore'],
  env: { ...process.env, TERM: 'xterm-256color', LANG: 'C.UTF-8', VIRTDECK_HOME: home },
});
const chunks: { t: number; s: string }[] = [];
const t0 = Date.now();
child.stdout?.on('data', (d: Buffer) => chunks.push({ t: Date.now() - t0, s: d.toString('utf8') }));
await sleep((10 + SECONDS) * 1000);
if (process.env.SHOW_SCREEN) console.log(chunks.map((c) => c.s).join('').slice(-8000));
for (const c of chunks) if (c.t > 10_000) console.log(`${(c.t / 1000).toFixed(2)} ${c.s.length}B ${JSON.stringify(c.s)}`);
try {
  process.kill(-(child.pid as number), 'SIGTERM');
} catch {}
await sleep(500);
try {
  process.kill(-(child.pid as number), 'SIGKILL');
} catch {}
host.remove();
