/**
 * bench/convert: a 2 GiB raw image holding 1 GiB of data, converted raw → vmdk (VMware growable)
 * by virtdeck's convert job and by bare `qemu-img convert` in the same run, alternating which goes
 * first, median of 3. Prints the overhead ratio of the copy step (goal ≤ 1.03), and separately the
 * whole job with its compare. Run: npx tsx bench/convert.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { LocalExecutor } from '../src/host/exec.js';
import type { HostContext } from '../src/host/hostContext.js';
import { prepareConvert, runConvert } from '../src/jobs/convert.js';
import { convertCommandArgv, targetFrom } from '../src/model/convertPlan.js';

const MIB = 1024 * 1024;
const ROUNDS = Number(process.argv[2] ?? 3);
const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
const dir = mkdtempSync(join('/var/tmp', 'vdtest-cv-bench-'));
const src = join(dir, 'src.raw');
const state = join(dir, 'state');
const target = targetFrom('vmdk');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const sh = (argv: string[]) => execFileSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });

function makeSource(): void {
  sh(['qemu-img', 'create', '-q', '-f', 'raw', src, '2G']);
  // 1 GiB of data in 4 MiB chunks, every other 4 MiB, each chunk a different byte.
  const writes: string[] = [];
  for (let i = 0; i < 256; i++) writes.push('-c', `write -P ${(i % 250) + 1} ${i * 8}M 4M`);
  sh(['qemu-io', '-f', 'raw', ...writes, src]);
}

async function virtdeckRun(dest: string, compare: boolean): Promise<{ copyMs: number; totalMs: number }> {
  const t0 = performance.now();
  const prepared = await prepareConvert(host, { source: src, target, dest, compare });
  if (!prepared.plan) throw new Error(prepared.check.refusals.map((r) => r.sentence).join(' '));
  let copyStart = 0;
  let copyMs = 0;
  const r = await runConvert(host, prepared.plan, {
    stateDir: state,
    onEvent: (e) => {
      if (e.type === 'step-start' && e.step.id === 'convert') copyStart = performance.now();
      if (e.type === 'step-end' && e.step.id === 'convert') copyMs = performance.now() - copyStart;
    },
  });
  if (r.state !== 'done') throw new Error(`virtdeck convert ended ${r.state}: ${r.error?.sentence ?? ''}`);
  return { copyMs, totalMs: performance.now() - t0 };
}

/**
 * The same qemu-img command line the job runs, without virtdeck around it; then the time to flush
 * its output to disk. The job fsyncs its journal when the step ends, and on ext4 (data=ordered)
 * that commit can force out part of the converted data, while the bare copy stays in the page
 * cache: the flushed figure is the other bound. Both are reported, so the ratio can be read either way.
 */
function bareRun(dest: string): { copyMs: number; flushMs: number } {
  const t0 = performance.now();
  sh(convertCommandArgv({ path: src, format: 'raw', virtualSize: 2 * 1024 * MIB, users: [] }, target, dest));
  const t1 = performance.now();
  sh(['sync', '-f', dest]);
  return { copyMs: t1 - t0, flushMs: performance.now() - t1 };
}

function clean(dest: string): void {
  rmSync(dest, { force: true });
  execFileSync('sync');
}

async function main() {
  try {
    makeSource();
    const bare: number[] = [];
    const bareFlushed: number[] = [];
    const job: number[] = [];
    const jobTotal: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ['bare', 'virtdeck'] : ['virtdeck', 'bare'];
      for (const who of order) {
        const dest = join(dir, `${who}-${round}.vmdk`);
        if (who === 'bare') {
          const r = bareRun(dest);
          bare.push(r.copyMs);
          bareFlushed.push(r.copyMs + r.flushMs);
        }
        else {
          const r = await virtdeckRun(dest, false);
          job.push(r.copyMs);
          jobTotal.push(r.totalMs);
        }
        clean(dest);
      }
    }
    const withCompare = await virtdeckRun(join(dir, 'compare.vmdk'), true);
    clean(join(dir, 'compare.vmdk'));
    const b = median(bare);
    const j = median(job);
    const jt = median(jobTotal);
    const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`raw → vmdk (monolithicSparse, compat6, lsilogic), 2 GiB image, 1 GiB data, median of ${ROUNDS}`);
    console.log(`bare qemu-img convert        ${fmt(b)}   runs: ${bare.map(fmt).join(', ')}`);
    const bf = median(bareFlushed);
    console.log(`bare convert + flush to disk ${fmt(bf)}   (sync -f of the destination)`);
    console.log(`virtdeck convert step        ${fmt(j)}   runs: ${job.map(fmt).join(', ')}`);
    console.log(`virtdeck job, no compare     ${fmt(jt)}   (checks, journal, temp dir, link)`);
    console.log(`virtdeck job with compare    ${fmt(withCompare.totalMs)}`);
    console.log(`overhead ratio (convert step / bare)  ${(j / b).toFixed(3)}   goal ≤ 1.03`);
    console.log(`overhead ratio (convert step / bare + flush)  ${(j / bf).toFixed(3)}   both durable on disk`);
    console.log(`overhead ratio (whole job, no compare / bare)  ${(jt / b).toFixed(3)}`);
    // On a loaded machine the fastest run of each is the least disturbed one.
    console.log(`best-run ratio (fastest convert step / fastest bare)  ${(Math.min(...job) / Math.min(...bare)).toFixed(3)}   load average ${loadavg()[0]?.toFixed(2)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
