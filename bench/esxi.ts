/**
 * bench/esxi: `virtdeck import esxi` of a VM whose disk is a 1 GiB -flat.vmdk full of data, over the
 * throwaway sshd stand-in on loopback, beside the bare way an admin does it by hand in the same
 * run: `ssh HOST cat FILE > copy` and `qemu-img convert -O qcow2 copy out.qcow2` (qemu-img cannot
 * read a pipe, so the copy lands in a file either way), once with ssh's default cipher (the goal's
 * yardstick) and once with `-c aes128-gcm@openssh.com`, the cipher virtdeck asks for (like for
 * like). On the stand-in the host's sha256 shares this machine's two cores with both ssh ends; on a
 * real ESXi host it does not. Alternates which goes first, median of N.
 * virtdeck's figure is the whole job as `virtdeck import esxi --vm` runs it: one ssh login (the
 * master connection), listing and directory read (one session), copy with sha256 on both ends
 * (one read of the datastore file) written into the new qcow2 as it arrives, check, define, journal. Prints the ratio (goal ≤ 1.05), the
 * median of each phase, and the load average before and after. `--raw` imports as raw instead
 * (the flat file's checked copy is the image; the bare way still converts, to raw).
 * `--profile` samples /proc during each copy and prints the CPU seconds of every process in it.
 * `--against DIR` runs an older checkout's job (DIR/node_modules linked to this one's) in the same
 * rounds, e.g. `mkdir /tmp/old && git archive REV | tar -x -C /tmp/old && ln -s $PWD/node_modules /tmp/old/`.
 * Run: npx tsx bench/esxi.ts [rounds] [--raw] [--profile] [--against DIR]
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as execModule from '../src/host/exec.js';
import type { HostContext } from '../src/host/hostContext.js';
import * as importEsxi from '../src/jobs/importEsxi.js';
import type { EsxiTarget } from '../src/jobs/importEsxi.js';
import * as importEsxiPlan from '../src/model/importEsxiPlan.js';
import { flatDescriptor, makeDatastoreRoot, vmxText } from '../test/helpers/esxiStandIn.js';
import { startThrowawaySshd } from '../test/helpers/throwawaySshd.js';
import { type CpuSpan, startCpuSpan } from './procCpu.js';

const GIB = 1024 ** 3;
const ROUNDS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 3);
const FORMAT = process.argv.includes('--raw') ? 'raw' : 'qcow2';
const PROFILE = process.argv.includes('--profile');
/** `--against DIR`: a checkout of an older virtdeck (node_modules linked in) whose job runs beside this one, round by round. */
const AGAINST = process.argv[process.argv.indexOf('--against') + 1];
const OLD = process.argv.includes('--against') ? AGAINST : undefined;
type Impl = { jobs: typeof importEsxi; plan: typeof importEsxiPlan; host: HostContext };
/** Each tree's own executor: its errors are the classes its own code tests with instanceof. */
const hostOf = (e: typeof execModule): HostContext => {
  const exec = new e.LocalExecutor();
  return { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };
};
const NAME = 'vdbench-esxi';
const dir = mkdtempSync(join('/var/tmp', 'vdtest-esxi-bench-'));
const volumes = join(dir, 'vmfs', 'volumes');
const dest = join(dir, 'images');
process.env.VIRTDECK_HOME = join(dir, 'home');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const sh = (argv: string[]) => execFileSync(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });

/** The VM directory: NAME.vmx over NAME.vmdk (createType vmfs) over a 1 GiB flat file, every byte data. */
function makeVm(): string {
  const vmDir = join(makeDatastoreRoot(volumes), NAME);
  mkdirSync(vmDir);
  const flat = join(vmDir, `${NAME}-flat.vmdk`);
  sh(['qemu-img', 'create', '-q', '-f', 'raw', flat, '1G']);
  // 256 chunks of 4 MiB, each a different byte: no hole, nothing for the sparse writer to skip.
  const writes: string[] = [];
  for (let i = 0; i < 256; i++) writes.push('-c', `write -P ${(i % 250) + 1} ${i * 4}M 4M`);
  sh(['qemu-io', '-f', 'raw', ...writes, flat]);
  writeFileSync(join(vmDir, `${NAME}.vmdk`), flatDescriptor(NAME, GIB / 512));
  writeFileSync(join(vmDir, `${NAME}.vmx`), vmxText(NAME, `${NAME}.vmdk`));
  return flat;
}

type Cpu = Map<string, number>;
type JobRun = { totalMs: number; copyMs: number; convertMs: number; phases: Map<string, number>; copyCpu?: Cpu };

/** What importEsxiCommand does with --vm, timed phase by phase (steps by their id, numbers dropped). */
async function virtdeckRun(t: EsxiTarget, impl: Impl): Promise<JobRun> {
  const { inspectEsxi, openEsxiLink, prepareEsxiImport, runEsxiImport } = impl.jobs;
  const { host } = impl;
  const { esxiRequest } = impl.plan;
  const phases = new Map<string, number>();
  const t0 = performance.now();
  let mark = t0;
  const lap = (name: string) => {
    const now = performance.now();
    phases.set(name, (phases.get(name) ?? 0) + now - mark);
    mark = now;
  };
  const login = openEsxiLink(t);
  login.catch(() => undefined);
  void login.then(() => phases.set('  of which the ssh login (master)', performance.now() - t0));
  const started = new Map<string, number>();
  const took = new Map<string, number>();
  let span: CpuSpan | undefined;
  let copyCpu: Cpu | undefined;
  try {
    const facts = await inspectEsxi(host, t, NAME, undefined, undefined, login);
    lap('ssh login, listing, directory read, local facts');
    const master = await login;
    const prepared = await prepareEsxiImport(host, esxiRequest({ name: NAME, convert: FORMAT, destDir: dest, bus: 'keep', nics: [{ kind: 'user' }], start: false }), facts);
    lap('prepare');
    if (!prepared.plan) throw new Error(prepared.check.refusals.map((r) => r.sentence).join(' '));
    const r = await runEsxiImport(host, prepared, {
      master,
      onEvent: (e) => {
        if (e.type === 'step-start') started.set(e.step.id, performance.now());
        if (e.type === 'step-end') took.set(e.step.id, performance.now() - (started.get(e.step.id) ?? 0));
        if (PROFILE && e.type === 'step-start' && e.step.id.startsWith('esxi-copy')) span = startCpuSpan();
        if (PROFILE && e.type === 'step-end' && e.step.id.startsWith('esxi-copy')) copyCpu = span?.stop().cpu;
      },
    });
    lap('run (all steps, journal)');
    if (r.state !== 'done') throw new Error(`virtdeck import ended ${r.state}: ${r.error?.sentence ?? ''}`);
  } finally {
    await (await login.catch(() => null))?.close();
    lap('close the master');
  }
  for (const [id, ms] of took) phases.set(`  step ${id.replace(/\d+/g, '')}`, (phases.get(`  step ${id.replace(/\d+/g, '')}`) ?? 0) + ms);
  const sum = (pred: (id: string) => boolean) => [...took].filter(([id]) => pred(id)).reduce((n, [, ms]) => n + ms, 0);
  return { totalMs: performance.now() - t0, copyMs: sum((id) => id.startsWith('esxi-copy')), convertMs: sum((id) => /^disk\d+-(convert|verify|compare)$/.test(id)), phases, copyCpu };
}

type BareRun = { totalMs: number; copyMs: number; copyCpu?: Cpu };

async function bareRun(ssh: string[], flat: string): Promise<BareRun> {
  const copy = join(dir, 'bare-copy.raw');
  const out = join(dest, `bare.${FORMAT}`);
  const t0 = performance.now();
  const span = PROFILE ? startCpuSpan() : undefined;
  // Not execFileSync: the profile samples /proc from this process meanwhile.
  await promisify(execFile)('sh', ['-c', '"$@" > "$0"', copy, ...ssh, `cat ${flat}`]);
  const copyCpu = span?.stop().cpu;
  const copyMs = performance.now() - t0;
  sh(['qemu-img', 'convert', '-f', 'raw', '-O', FORMAT, copy, out]);
  const totalMs = performance.now() - t0;
  rmSync(copy, { force: true });
  rmSync(out, { force: true });
  return { totalMs, copyMs, copyCpu };
}

/** The median CPU seconds of each command over the runs, the busiest first (--profile). */
function cpuTable(runs: { copyCpu?: Cpu }[]): string {
  const names = new Set(runs.flatMap((r) => [...(r.copyCpu?.keys() ?? [])]));
  const rows = [...names].map((n) => [n, median(runs.map((r) => r.copyCpu?.get(n) ?? 0))] as const).filter(([, s]) => s >= 0.05);
  rows.sort((a, b) => b[1] - a[1]);
  const total = median(runs.map((r) => [...(r.copyCpu?.values() ?? [])].reduce((a, b) => a + b, 0)));
  return `${rows.map(([n, s]) => `${n} ${s.toFixed(2)}`).join(', ')}; all ${total.toFixed(2)} CPU-s`;
}

function undo(): void {
  execFileSync('virsh', ['-c', 'qemu:///system', 'undefine', NAME], { stdio: 'ignore' });
  rmSync(join(dest, `${NAME}.${FORMAT}`), { force: true });
}

async function main() {
  mkdirSync(join(dir, 'sshd'));
  mkdirSync(dest);
  const sshd = await startThrowawaySshd(join(dir, 'sshd'));
  try {
    const flat = makeVm();
    const sshOptions = ['-o', 'UserKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=no', '-o', 'LogLevel=ERROR'];
    const t: EsxiTarget = { destination: 'root@127.0.0.1', port: sshd.port, identityFile: sshd.keyFile, sshOptions, datastores: volumes };
    const ssh = ['ssh', '-p', String(sshd.port), '-i', sshd.keyFile, ...sshOptions, '--', 'root@127.0.0.1'];
    const gcm = [...ssh.slice(0, 1), '-c', 'aes128-gcm@openssh.com', ...ssh.slice(1)];
    const bare: BareRun[] = [];
    const bareGcm: BareRun[] = [];
    const job: JobRun[] = [];
    const oldJob: JobRun[] = [];
    const here: Impl = { jobs: importEsxi, plan: importEsxiPlan, host: hostOf(execModule) };
    const older: Impl | undefined = OLD
      ? { jobs: await import(join(OLD, 'src/jobs/importEsxi.ts')), plan: await import(join(OLD, 'src/model/importEsxiPlan.ts')), host: hostOf(await import(join(OLD, 'src/host/exec.ts'))) }
      : undefined;
    const loadBefore = loadavg()[0] ?? 0;
    const order = ['bare', 'gcm', ...(older ? ['old'] : []), 'virtdeck'];
    for (let round = 0; round < ROUNDS; round++) {
      for (const who of round % 2 === 0 ? order : [...order].reverse()) {
        execFileSync('sync');
        if (who === 'bare') bare.push(await bareRun(ssh, flat));
        else if (who === 'gcm') bareGcm.push(await bareRun(gcm, flat));
        else {
          (who === 'old' ? oldJob : job).push(await virtdeckRun(t, who === 'old' && older ? older : here));
          undo();
        }
      }
    }
    const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const b = median(bare.map((x) => x.totalMs));
    const g = median(bareGcm.map((x) => x.totalMs));
    const j = median(job.map((x) => x.totalMs));
    console.log(`import of a 1 GiB -flat.vmdk (1 GiB data) over ssh on loopback → ${FORMAT}, median of ${ROUNDS}`);
    console.log(`bare ssh cat > file; qemu-img convert   ${fmt(b)}   runs: ${bare.map((x) => fmt(x.totalMs)).join(', ')}`);
    console.log(`  of which ssh cat > file ${fmt(median(bare.map((x) => x.copyMs)))}`);
    console.log(`the same with ssh -c aes128-gcm         ${fmt(g)}   runs: ${bareGcm.map((x) => fmt(x.totalMs)).join(', ')}`);
    console.log(`  of which ssh cat > file ${fmt(median(bareGcm.map((x) => x.copyMs)))}`);
    const report = (label: string, runs: JobRun[]) => {
      console.log(`${label.padEnd(39)} ${fmt(median(runs.map((x) => x.totalMs)))}   runs: ${runs.map((x) => fmt(x.totalMs)).join(', ')}`);
      console.log(`  of which copy (one read there, sha256 both ends) ${fmt(median(runs.map((x) => x.copyMs)))}, convert + check ${fmt(median(runs.map((x) => x.convertMs)))}`);
      for (const phase of runs[0]?.phases.keys() ?? []) console.log(`    ${phase.padEnd(42)} ${fmt(median(runs.map((x) => x.phases.get(phase) ?? 0)))}`);
    };
    if (older) report(`virtdeck import esxi (${OLD})`, oldJob);
    report('virtdeck import esxi, whole job', job);
    if (PROFILE) {
      console.log('CPU of the copy, median per command:');
      console.log(`  bare ssh cat > file   ${cpuTable(bare)}`);
      console.log(`  the same, aes128-gcm  ${cpuTable(bareGcm)}`);
      if (older) console.log(`  the older copy step   ${cpuTable(oldJob)}`);
      console.log(`  virtdeck's copy step  ${cpuTable(job)}`);
    }
    console.log(`ratio (virtdeck / bare)   ${(j / b).toFixed(3)}   goal ≤ 1.05`);
    console.log(`ratio (virtdeck / bare with the same cipher)   ${(j / g).toFixed(3)}`);
    // Each round's runs sit next to each other in time: their ratios are steadier than ratios of medians on a shared machine.
    const paired = (a: { totalMs: number }[], c: { totalMs: number }[]) => median(a.map((x, i) => x.totalMs / (c[i]?.totalMs ?? Number.NaN))).toFixed(3);
    console.log(`ratio round by round, median (virtdeck / bare, / same cipher)   ${paired(job, bare)}, ${paired(job, bareGcm)}`);
    if (older) {
      const o = median(oldJob.map((x) => x.totalMs));
      console.log(`ratio (older / bare, older / same cipher)   ${(o / b).toFixed(3)}, ${(o / g).toFixed(3)}`);
      console.log(`ratio round by round, median (older / bare, / same cipher; virtdeck / older)   ${paired(oldJob, bare)}, ${paired(oldJob, bareGcm)}; ${paired(job, oldJob)}`);
    }
    console.log(`best-run ratio            ${(Math.min(...job.map((x) => x.totalMs)) / Math.min(...bare.map((x) => x.totalMs))).toFixed(3)}`);
    console.log(`load average              ${loadBefore.toFixed(2)} before, ${loadavg()[0]?.toFixed(2)} after (2 cores)`);
  } finally {
    sshd.stop();
    try {
      undo();
    } catch {
      // Not defined: the last round cleaned up.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
