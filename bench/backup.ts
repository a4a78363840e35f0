/**
 * bench/backup: virtdeck's live backup against virtnbdbackup (the reference tool for libvirt
 * backups), side by side in one run on the same guest: an 8 GiB qcow2 holding 1 GiB of data.
 *
 *   npx tsx bench/backup.ts
 *
 * Prints three ratios: full-backup time ÷ virtnbdbackup's (goal ≤ 0.8), bytes written ÷ allocated
 * (goal ≤ 1.05), incremental bytes after 64 MiB of writes ÷ 64 MiB (goal ≤ 1.1). Cleans up.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LocalExecutor } from '../src/host/exec.js';
import type { HostContext } from '../src/host/hostContext.js';
import * as qemuImg from '../src/host/qemuImg.js';
import { runBackup } from '../src/jobs/backup.js';
import { defineAndStart, liveWrite, removeBackupGuest, sh } from '../test/helpers/backupFixtures.js';

const GUEST = 'vdtest-bk-bench';
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };

function hasVirtnbdbackup(): boolean {
  try {
    execFileSync('virtnbdbackup', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Bytes a directory tree takes on disk (what a backup really costs). */
function diskUsage(path: string): number {
  return Number(sh(['du', '-s', '-B1', '--', path]).split(/\s/)[0]);
}

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

function ratio(label: string, value: number, goal: number): string {
  const verdict = value <= goal ? 'ok' : 'MISSED';
  return `${label.padEnd(46)} ${value.toFixed(3).padStart(7)}   goal ≤ ${goal}  ${verdict}`;
}

async function main(): Promise<void> {
  const base = mkdtempSync('/var/tmp/vdtest-bk-bench-');
  chmodSync(base, 0o755);
  const image = join(base, 'bench.qcow2');
  const ours = join(base, 'virtdeck');
  const theirs = join(base, 'virtnbdbackup');
  const nbd = hasVirtnbdbackup();
  removeBackupGuest(host, GUEST);
  try {
    sh(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', image, String(8 * GiB)]);
    // 1 GiB of data in four stretches, written before the guest starts.
    sh(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xa1 0 256M', '-c', 'write -P 0xb2 2G 256M', '-c', 'write -P 0xc3 4G 256M', '-c', 'write -P 0xd4 6G 256M', image]);
    sh(['mkdir', '-p', ours, theirs]);
    const allocated = qemuImg.allocatedDataBytes(await qemuImg.map(exec, image, { format: 'qcow2' }));
    defineAndStart(host, GUEST, [{ path: image, format: 'qcow2' }], {});
    sh(['sh', '-c', 'cat -- "$1" > /dev/null', 'sh', image]); // same warm page cache for both tools

    // virtnbdbackup refuses to run next to checkpoints it did not make, so it goes first and its
    // checkpoint is removed before virtdeck's chain starts; the page cache is warm for both.
    let nbdFullMs: number | null = null;
    let nbdFullBytes: number | null = null;
    if (nbd) {
      const t = await timed(() => sh(['virtnbdbackup', '-d', GUEST, '-l', 'full', '-o', join(theirs, 'run'), '-n', '-S', base]));
      nbdFullMs = t.ms;
      nbdFullBytes = diskUsage(join(theirs, 'run'));
      const checkpoints = sh(['virsh', '-c', host.uri, 'checkpoint-list', '--domain', GUEST, '--name', '--topological']).split('\n').filter(Boolean);
      for (const c of checkpoints.reverse()) sh(['virsh', '-c', host.uri, 'checkpoint-delete', '--domain', GUEST, '--checkpointname', c]);
    }

    const stepTimes: string[] = [];
    let stepStart = 0;
    const full = await timed(() =>
      runBackup(host, {
        guests: [GUEST],
        dest: ours,
        full: true,
        log: false,
        stateDir: join(base, 'state'),
        onEvent: (e) => {
          if (e.type !== 'runner') return;
          if (e.event.type === 'step-start') stepStart = performance.now();
          if (e.event.type === 'step-end') stepTimes.push(`${e.event.step.id} ${((performance.now() - stepStart) / 1000).toFixed(2)} s`);
        },
      }),
    );
    const fullResult = full.value.guests[0];
    if (!fullResult?.ok) throw new Error(`virtdeck full backup failed: ${fullResult?.error?.sentence}`);

    liveWrite(host, GUEST, 'vda', '0xee', '1G', '64M');
    await new Promise((r) => setTimeout(r, 1100));
    const inc = await timed(() => runBackup(host, { guests: [GUEST], dest: ours, log: false, stateDir: join(base, 'state') }));
    const incResult = inc.value.guests[0];
    if (!incResult?.ok || incResult.kind !== 'incremental') throw new Error(`virtdeck incremental failed: ${incResult?.error?.sentence ?? incResult?.kind}`);
    console.log(`guest: 8 GiB qcow2, ${(allocated / GiB).toFixed(2)} GiB allocated, running`);
    console.log(`virtdeck full:        ${(full.ms / 1000).toFixed(2)} s, ${(fullResult.bytesWritten / MiB).toFixed(1)} MiB written (steps: ${stepTimes.join(', ')})`);
    if (nbd) console.log(`virtnbdbackup full:   ${((nbdFullMs as number) / 1000).toFixed(2)} s, ${((nbdFullBytes as number) / MiB).toFixed(1)} MiB on disk`);
    console.log(`virtdeck incremental: ${(inc.ms / 1000).toFixed(2)} s, ${(incResult.bytesWritten / MiB).toFixed(1)} MiB written`);
    console.log('');
    if (nbd) console.log(ratio('full time ÷ virtnbdbackup full time', full.ms / (nbdFullMs as number), 0.8));
    else console.log('virtnbdbackup is not installed (apt-get install virtnbdbackup): no time ratio, only virtdeck numbers above.');
    console.log(ratio('full bytes written ÷ allocated', fullResult.bytesWritten / allocated, 1.05));
    console.log(ratio('incremental bytes ÷ 64 MiB written', incResult.bytesWritten / (64 * MiB), 1.1));
  } finally {
    removeBackupGuest(host, GUEST);
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
