/**
 * bench/migrate: virtdeck's live migration with storage copy against a bare
 * `virsh migrate --live --copy-storage-all`, side by side in one run, the same guest (64 MiB of
 * memory, a 64 MiB qcow2 holding 32 MiB of data) moved to a second libvirtd on this machine
 * (test/helpers/secondHost.ts) over 127.0.0.1, under TCG.
 *
 *   npx tsx bench/migrate.ts
 *
 * Prints the time ratio (goal ≤ 1.05: virtdeck's migrate step, which is libvirt's migration with
 * virtdeck's domjobinfo polling, against bare virsh; the whole job with its image pre-creation and
 * verification, and the checks, are printed too), the bytes ratio (goal = 1.0: what libvirt's completed job on the
 * destination says was transferred, memory and disks), and the downtime libvirt measured for each.
 * The destination images are pre-created for the bare run outside its timing (virsh needs them;
 * virtdeck's job makes them itself, inside its timing). Cleans up.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  try {
    // virtdeck: checks, then the journaled job (pre-create, migrate, verify).
    await freshGuest();
    const t0 = performance.now();
    const prepared = await prepareMigrate(local, migrateDestination('second'), GUEST, { copyStorage: true });
    const t1 = performance.now();
    if (!prepared.plan) throw new Error(prepared.review.refusals.map((r) => r.sentence).join(' '));
    const at = prepared.plan.steps.findIndex((x) => x.id === 'migrate');
    let stepStart = 0;
    let stepMs = 0;
    const r = await runMigrate(local, prepared.plan, {
      stateDir: join(home, 'state'),
      onEvent: (e) => {
        if (e.type === 'step-start' && e.index === at) stepStart = performance.now();
        if (e.type === 'step-end' && e.index === at) stepMs = performance.now() - stepStart;
      },
    });
    const t2 = performance.now();
    if (r.state !== 'done') throw new Error(`virtdeck's migration ended ${r.state}: ${r.error?.sentence}`);
    const ours = await completed();
    await wipeThere();

    // Bare virsh, the destination image made beforehand as virsh needs it.
    await freshGuest();
    await second.host.sysExec.run(['mkdir', '-p', '-m', '0755', DIR]);
    await second.host.sysExec.run(['qemu-img', 'create', '-q', '-f', 'qcow2', DISK, '64M']);
    const t3 = performance.now();
    await sh.run(['virsh', 'migrate', '--live', '--persistent', '--undefinesource', '--copy-storage-all', '--domain', GUEST, '--desturi', second.uri, '--migrateuri', second.migrateUri], { timeoutMs: 0 });
    const t4 = performance.now();
    const theirs = await completed();
    await wipeThere();

    const jobMs = t2 - t1;
    const bareMs = t4 - t3;
    const bytes = (s: JobStats) => s.dataProcessed ?? (s.memoryProcessed ?? 0) + (s.diskProcessed ?? 0);
    console.log(`guest: 64 MiB memory, 64 MiB qcow2 with 32 MiB of data; TCG; over 127.0.0.1 to a second libvirtd`);
    console.log(`virtdeck checks ${(t1 - t0).toFixed(0)} ms, job ${jobMs.toFixed(0)} ms (its migrate step ${stepMs.toFixed(0)} ms); bare virsh ${bareMs.toFixed(0)} ms`);
    console.log(`bytes transferred (domjobinfo --completed on the destination): virtdeck ${bytes(ours)}, virsh ${bytes(theirs)}`);
    console.log(`downtime (libvirt's measure): virtdeck ${ours.downtimeMs ?? '?'} ms, virsh ${theirs.downtimeMs ?? '?'} ms`);
    const tr = jobMs / bareMs;
    const br = bytes(theirs) > 0 ? bytes(ours) / bytes(theirs) : Number.NaN;
    console.log(ratio('time: virtdeck migrate step / bare virsh', stepMs / bareMs, '<= 1.05', stepMs / bareMs <= 1.05));
    console.log(ratio('time: virtdeck job (+create, verify) / bare', tr, '(informative)', true));
    console.log(ratio('time: virtdeck checks + job / bare virsh', (t2 - t0) / bareMs, '(informative)', true));
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
