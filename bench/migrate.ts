/**
 * bench/migrate: virtdeck's live migration with storage copy against a bare
 * `virsh migrate --live --copy-storage-all`, side by side in one run, the same guest (64 MiB of
 * memory, a 64 MiB qcow2 holding 32 MiB of data) moved to a second libvirtd on this machine
 * (test/helpers/secondHost.ts) over 127.0.0.1, under TCG.
 *
 *   npx tsx bench/migrate.ts
 *
 * Like for like: both run the same `virsh migrate --live --persistent --undefinesource
 * --copy-storage-all` to a destination image pre-created the same way (`qemu-img create -f qcow2`
 * of the same size) and untimed on both sides (virtdeck's job makes it in a step of its own). The
 * timed part is virtdeck's migrate step (its questions to the source, the migration with its
 * polls, the finished job's figures) against the bare command. An untimed warm-up migration goes
 * first (the second daemon's first incoming guest is slower), then three of each in the order
 * ABBAAB. Prints the time ratio of the medians (goal <= 1.05; the whole job and the checks are
 * printed too), the bytes ratio (goal = 1.0: what libvirt's completed job on the destination says
 * was transferred), and the downtime libvirt measured for each. Cleans up.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalExecutor } from '../src/host/exec.js';
import { type JobStats, jobStats } from '../src/host/migrate.js';
import { defineXml } from '../src/host/virsh.js';
import { migrateDestination, prepareMigrate, runMigrate } from '../src/jobs/migrate.js';
import { startSecondHost } from '../test/helpers/secondHost.js';
import { localHost, removeGuest, tinyGuestXml } from '../test/helpers/tinyGuest.js';

const GUEST = 'vdtest-mg-bench';
const DIR = '/var/lib/libvirt/images/vdtest-mg-bench';
const DISK = `${DIR}/disk.qcow2`;
const sh = new LocalExecutor();
const ORDER = ['virtdeck', 'virsh', 'virsh', 'virtdeck', 'virtdeck', 'virsh'] as const;
const local = localHost();

function ratio(label: string, value: number, goal: string, ok: boolean): string {
  return `${label.padEnd(44)} ${value.toFixed(3).padStart(7)}   goal ${goal}  ${ok ? 'ok' : 'MISSED'}`;
}

async function freshGuest(): Promise<void> {
  await removeGuest(local, GUEST);
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true, mode: 0o755 });
  await sh.run(['qemu-img', 'create', '-q', '-f', 'qcow2', DISK, '64M']);
  await sh.run(['qemu-io', '-c', 'write -P 0x5a 0 32M', DISK]);
  await defineXml(local, tinyGuestXml(GUEST, { disk: DISK }));
  await sh.run(['virsh', '-c', 'qemu:///system', 'start', GUEST]);
  // Let the firmware settle so both runs find the guest in the same state.
  await new Promise((r) => setTimeout(r, 3000));
}

async function main(): Promise<void> {
  const second = await startSecondHost('vdtest-mg-bench-host-');
  const home = mkdtempSync(join(tmpdir(), 'vdtest-mg-bench-home-'));
  const homeBefore = process.env.VIRTDECK_HOME;
  mkdirSync(join(home, 'config'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'config', 'config.json'), JSON.stringify({ hosts: [{ name: 'second', uri: second.uri }] }), { mode: 0o600 });
  process.env.VIRTDECK_HOME = home;
  const wipeThere = async () => {
    await sh.run(['virsh', '-c', second.uri, 'destroy', GUEST], { okExitCodes: [1] });
    await sh.run(['virsh', '-c', second.uri, 'undefine', GUEST], { okExitCodes: [1] });
    await second.host.sysExec.run(['rm', '-rf', '--', DIR]);
  };
  const completed = (): Promise<JobStats> => jobStats(second.host, GUEST, { completed: true });
  interface Run {
    ms: number;
    stats: JobStats;
    checksMs?: number;
    jobMs?: number;
    progressEvents?: number;
  }
  const virtdeckRun = async (): Promise<Run> => {
    await freshGuest();
    const t0 = performance.now();
    const prepared = await prepareMigrate(local, migrateDestination('second'), GUEST, { copyStorage: true });
    const t1 = performance.now();
    if (!prepared.plan) throw new Error(prepared.review.refusals.map((r) => r.sentence).join(' '));
    const at = prepared.plan.steps.findIndex((x) => x.id === 'migrate');
    let stepStart = 0;
    let stepMs = 0;
    let progressEvents = 0;
    const r = await runMigrate(local, prepared.plan, {
      stateDir: join(home, 'state'),
      onEvent: (e) => {
        if (e.type === 'step-start' && e.index === at) stepStart = performance.now();
        if (e.type === 'step-end' && e.index === at) stepMs = performance.now() - stepStart;
        if (e.type === 'progress' && e.index === at) progressEvents++;
      },
    });
    const t2 = performance.now();
    if (r.state !== 'done') throw new Error(`virtdeck's migration ended ${r.state}: ${r.error?.sentence}`);
    const stats = await completed();
    await wipeThere();
    return { ms: stepMs, stats, checksMs: t1 - t0, jobMs: t2 - t1, progressEvents };
  };
  const bareRun = async (): Promise<Run> => {
    await freshGuest();
    // The destination image made beforehand as virsh needs it (virtdeck's job makes it in a step
    // of its own before the migrate step: neither side times it).
    await second.host.sysExec.run(['mkdir', '-p', '-m', '0755', DIR]);
    await second.host.sysExec.run(['qemu-img', 'create', '-q', '-f', 'qcow2', DISK, '64M']);
    const t3 = performance.now();
    await sh.run(['virsh', 'migrate', '--live', '--persistent', '--undefinesource', '--copy-storage-all', '--domain', GUEST, '--desturi', second.uri, '--migrateuri', second.migrateUri], { timeoutMs: 0 });
    const ms = performance.now() - t3;
    const stats = await completed();
    await wipeThere();
    return { ms, stats };
  };
  const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
  try {
    // Untimed: the second daemon's first incoming guest (QEMU's binary and libraries read from
    // disk, its caches filled) would otherwise count against whichever side goes first.
    await bareRun();
    // ABBAAB: a drift in the machine's load over the run falls on both sides alike.
    const ours: Run[] = [];
    const theirs: Run[] = [];
    for (const side of ORDER) {
      if (side === 'virtdeck') ours.push(await virtdeckRun());
      else theirs.push(await bareRun());
    }
    const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
    const median = (xs: number[]) => {
      const t = [...xs].sort((x, y) => x - y);
      const m = Math.floor(t.length / 2);
      return t.length % 2 ? (t[m] as number) : ((t[m - 1] as number) + (t[m] as number)) / 2;
    };
    const bytes = (s: JobStats) => s.dataProcessed ?? (s.memoryProcessed ?? 0) + (s.diskProcessed ?? 0);
    // Medians: on a shared 2-core machine one run can take twice the others (another process's
    // burst), which a mean would hand to whichever side it hit.
    const stepMs = median(ours.map((x) => x.ms));
    const bareMs = median(theirs.map((x) => x.ms));
    const jobMs = mean(ours.map((x) => x.jobMs ?? 0));
    const checksMs = mean(ours.map((x) => x.checksMs ?? 0));
    const ms = (rs: Run[]) => rs.map((x) => x.ms.toFixed(0)).join(', ');
    console.log('guest: 64 MiB memory, 64 MiB qcow2 with 32 MiB of data; TCG; over 127.0.0.1 to a second libvirtd');
    console.log('both: virsh migrate --live --persistent --undefinesource --copy-storage-all to the same pre-created qcow2;');
    console.log('      virtdeck\'s step also asks (one long-lived virsh) that no job runs and that the guest runs here, polls');
    console.log('      domjobinfo there every second, and takes the finished job\'s figures from the job-completed event');
    console.log(`load average at the start: ${load0}, at the end: ${loadavg().map((x) => x.toFixed(2)).join(' ')}; order: warm-up virsh, then ${ORDER.join(', ')}`);
    console.log(`virtdeck migrate step ${ms(ours)} ms (median ${stepMs.toFixed(0)}, mean ${mean(ours.map((x) => x.ms)).toFixed(0)}); bare virsh ${ms(theirs)} ms (median ${bareMs.toFixed(0)}, mean ${mean(theirs.map((x) => x.ms)).toFixed(0)})`);
    console.log(`virtdeck checks ${checksMs.toFixed(0)} ms, whole job ${jobMs.toFixed(0)} ms (means); progress events in the step: ${ours.map((x) => x.progressEvents).join(', ')}`);
    console.log(`bytes transferred (domjobinfo --completed on the destination): virtdeck ${ours.map((x) => bytes(x.stats)).join(', ')}, virsh ${theirs.map((x) => bytes(x.stats)).join(', ')}`);
    console.log(`downtime (libvirt's measure): virtdeck ${ours.map((x) => x.stats.downtimeMs ?? '?').join(', ')} ms, virsh ${theirs.map((x) => x.stats.downtimeMs ?? '?').join(', ')} ms`);
    const br = mean(theirs.map((x) => bytes(x.stats))) > 0 ? mean(ours.map((x) => bytes(x.stats))) / mean(theirs.map((x) => bytes(x.stats))) : Number.NaN;
    console.log(ratio('time: virtdeck migrate step / bare (medians)', stepMs / bareMs, '<= 1.05', stepMs / bareMs <= 1.05));
    console.log(ratio('time: virtdeck job (+create, verify) / bare', jobMs / bareMs, '(informative)', true));
    console.log(ratio('time: virtdeck checks + job / bare virsh', (checksMs + jobMs) / bareMs, '(informative)', true));
    console.log(ratio('bytes: virtdeck / bare virsh', br, '= 1.0 (+-2%)', Math.abs(br - 1) <= 0.02));
  } finally {
    await removeGuest(local, GUEST);
    rmSync(DIR, { recursive: true, force: true });
    await second.stop();
    rmSync(home, { recursive: true, force: true });
    if (homeBefore === undefined) delete process.env.VIRTDECK_HOME;
    else process.env.VIRTDECK_HOME = homeBefore;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
