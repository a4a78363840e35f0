/**
 * bench/offsite: what deduplication saves on a restic copy target. A shut-off guest (a 1 GiB qcow2
 * holding 256 MiB of random data, so restic's compression cannot flatter the numbers) is backed up
 * in full twice, unchanged in between, and both runs are copied into one local restic repository
 * with virtdeck's copy job; a directory target gets the same two runs for scale.
 *
 *   npx tsx bench/offsite.ts [DATA_MiB]
 *
 * Prints the bytes restic added for each run (its data_added) and the ratio second ÷ first
 * (goal ≤ 0.05), measured in this one run. Cleans up.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalExecutor } from '../src/host/exec.js';
import type { HostContext } from '../src/host/hostContext.js';
import { runBackup } from '../src/jobs/backup.js';
import { copyRuns } from '../src/jobs/backupCopy.js';
import type { CopyTarget } from '../src/model/copyTarget.js';
import { defineAndStart, removeBackupGuest, sh } from '../test/helpers/backupFixtures.js';

const GUEST = 'vdtest-cp-bench';
const MiB = 1024 ** 2;
const dataMiB = Number(process.argv[2] ?? 256);

const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec };

function mib(n: number): string {
  return `${(n / MiB).toFixed(1).padStart(8)} MiB`;
}

async function main(): Promise<void> {
  const base = mkdtempSync('/var/tmp/vdtest-cp-bench-');
  chmodSync(base, 0o755);
  const image = join(base, 'bench.qcow2');
  const dest = join(base, 'dest');
  const stateDir = join(base, 'state');
  const pw = join(base, 'restic.pw');
  const repo = join(base, 'repo');
  removeBackupGuest(host, GUEST);
  try {
    sh(['sh', '-c', 'head -c "$1" /dev/urandom > "$2"', 'sh', String(dataMiB * MiB), `${image}.raw`]);
    sh(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', `${image}.raw`, image]);
    sh(['rm', '-f', `${image}.raw`]);
    sh(['qemu-img', 'resize', '-q', image, '1G']);
    defineAndStart(host, GUEST, [{ path: image, format: 'qcow2' }], { start: false });
    mkdirSync(dest, { mode: 0o700 });
    mkdirSync(join(base, 'nas'), { mode: 0o700 });
    writeFileSync(pw, `bench-${process.pid}\n`, { mode: 0o600 });
    execFileSync('restic', ['init', `--repo=${repo}`], { env: { ...process.env, RESTIC_PASSWORD_FILE: pw }, stdio: 'ignore' });

    const t0 = Date.now();
    for (const offset of [0, 60_000]) {
      const r = await runBackup(host, { guests: [GUEST], dest, full: true, stateDir, now: () => new Date(t0 + offset) });
      const g = r.guests[0];
      if (!g?.ok) throw new Error(`backup failed: ${g?.error?.sentence ?? g?.state}`);
    }
    const vault: CopyTarget = { name: 'bench-vault', type: 'restic', repository: repo, passwordFile: pw, checkSubset: '100%' };
    const nas: CopyTarget = { name: 'bench-nas', type: 'dir', path: join(base, 'nas') };
    const tv = performance.now();
    const v = await copyRuns(host, { target: vault, dest, stateDir });
    const vaultMs = performance.now() - tv;
    const n = await copyRuns(host, { target: nas, dest, stateDir });
    for (const r of [v, n]) if (!r.ok || r.copied.length !== 2) throw new Error(`copy to ${r.target} failed: ${JSON.stringify(r.failed)}`);
    const [first, second] = v.copied;
    const ratio = (second?.bytesSent ?? 0) / Math.max(1, first?.bytesSent ?? 0);
    console.log(`guest: ${dataMiB} MiB of random data in a 1 GiB qcow2; two full backups, unchanged in between`);
    console.log(`run size (its files):             ${mib(first?.bytes ?? 0)}  /  ${mib(second?.bytes ?? 0)}`);
    console.log(`directory target, bytes sent:     ${mib(n.copied[0]?.bytesSent ?? 0)}  /  ${mib(n.copied[1]?.bytesSent ?? 0)}`);
    console.log(`restic target, bytes added:       ${mib(first?.bytesSent ?? 0)}  /  ${mib(second?.bytesSent ?? 0)} (${second?.bytesSent ?? 0} bytes)`);
    console.log(`restic copy of both runs (with check --read-data-subset=100%): ${(vaultMs / 1000).toFixed(1)} s`);
    console.log(`ratio restic second full ÷ first:  ${ratio.toFixed(4)}   goal ≤ 0.05  ${ratio <= 0.05 ? 'ok' : 'MISSED'}`);
  } finally {
    removeBackupGuest(host, GUEST);
    rmSync(base, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
