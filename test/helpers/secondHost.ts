import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HostError } from '../../src/host/errors.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { startThrowawaySshd, type ThrowawaySshd } from './throwawaySshd.js';
import { scratchDir } from './tinyGuest.js';

/**
 * A second, independent libvirt host on this one machine, for every multi-host test (migration,
 * evacuation, the all-hosts view).
 *
 * How it is built:
 * - `unshare -m -u` gives a private mount and UTS namespace (hostname `SECOND_HOSTNAME`). In it,
 *   /run/libvirt, /var/lib/libvirt, /etc/libvirt, /var/log/libvirt and /var/cache/libvirt are
 *   bind-mounted over directories of a scratch dir, and `libvirtd -f` runs there with its own
 *   libvirtd.conf (its own `host_uuid`: libvirt refuses to migrate to a host with the same UUID),
 *   its own pid file and its own socket. Its QEMU processes are its own children, so their
 *   monitor sockets, logs and /var/lib/libvirt/images are the second host's.
 *   qemu.conf sets `stdio_handler = "file"`: this namespace has no virtlogd of its own.
 * - A throwaway sshd (test/helpers/throwawaySshd.ts) runs in the same namespace via `nsenter`, so
 *   `qemu+ssh://root@127.0.0.1:PORT/system` reaches the second daemon's socket, and virtdeck's
 *   SshExecutor runs qemu-img, stat, … against the second host's files. The network namespace is
 *   the machine's: all traffic stays on 127.0.0.1.
 *
 * What works for migration between the two (found by trying, libvirt 9.0 / QEMU 7.2, TCG):
 * - a managed (non-p2p) migration, virsh driving both ends, with `--migrateuri tcp://127.0.0.1`
 *   (the destination's hostname does not resolve, so libvirt's default URI would not work; no port
 *   is needed, libvirt allocates one from its 49152+ range);
 * - `--copy-storage-all` over NBD with the same 127.0.0.1 (the destination images are pre-created
 *   at the same path, which is the second host's own /var/lib/libvirt/images);
 * - storage under /tmp is the SAME file on both hosts (only the libvirt directories are private):
 *   that is "shared storage". Storage under /var/lib/libvirt/images is NOT shared. libvirt does
 *   not know /tmp as a shared filesystem, so a live migration without `--copy-storage-all` needs
 *   `--unsafe` ("Migration without shared storage is unsafe" otherwise); it is safe here, as
 *   both daemons share one kernel and page cache;
 * - the completed job's statistics (downtime, bytes) are read on the destination
 *   (`domjobinfo --completed`): with `--undefinesource` the source has no guest left to ask.
 *
 * Teardown (`stop`) destroys and undefines every guest of the second daemon, stops libvirtd and
 * sshd (the namespace and its mounts go with its last process) and removes the scratch dir.
 */
export interface SecondHost {
  /** virtdeck's context for the second host (qemu+ssh through the throwaway sshd). */
  host: HostContext;
  /** Its URI, as a config file host entry would hold it (keyfile=, command=). */
  uri: string;
  /** The second daemon's host UUID (differs from this machine's). */
  hostUuid: string;
  /** The migration URI that reaches the second host's QEMU: tcp://127.0.0.1. */
  migrateUri: string;
  sshd: ThrowawaySshd;
  /** This machine's path of a file that the second host sees at `path` (under /var/lib/libvirt). */
  localPath(path: string): string;
  stop(): Promise<void>;
}

export const SECOND_HOSTNAME = 'vd-second';

const PRIVATE_DIRS: [string, string][] = [
  ['/run/libvirt', 'run'],
  ['/var/lib/libvirt', 'lib'],
  ['/etc/libvirt', 'etc'],
  ['/var/log/libvirt', 'log'],
  ['/var/cache/libvirt', 'cache'],
];

/** Starts the second host; `prefix` names its scratch dir (unique per test file). */
export async function startSecondHost(prefix: string, name = 'second'): Promise<SecondHost> {
  const scratch = scratchDir(prefix);
  const root = scratch.dir;
  // chmod, not mkdir's mode: the umask would narrow it, and QEMU (libvirt-qemu) walks these paths.
  for (const d of [...PRIVATE_DIRS.map(([, d2]) => d2), 'lib/images', 'lib/qemu', 'log/qemu', 'etc/qemu', 'cache/qemu']) {
    mkdirSync(join(root, d), { recursive: true });
    chmodSync(join(root, d), 0o755);
  }
  const hostUuid = randomUUID();
  writeFileSync(join(root, 'etc/libvirtd.conf'), `host_uuid = "${hostUuid}"\n`);
  writeFileSync(join(root, 'etc/qemu.conf'), 'stdio_handler = "file"\n');
  // The script's only inputs are this scratch dir (mkdtemp: no quotes) and fixed paths.
  const script = [
    'set -e',
    ...PRIVATE_DIRS.map(([target, d]) => `mount --bind '${join(root, d)}' ${target}`),
    `hostname ${SECOND_HOSTNAME}`,
    `exec libvirtd -f /etc/libvirt/libvirtd.conf -p '${join(root, 'libvirtd.pid')}'`,
  ].join('\n');
  const out = join(root, 'libvirtd.out');
  writeFileSync(out, '');
  // unshare execs sh, which execs libvirtd: the child's pid is libvirtd's, the namespace's anchor.
  const daemon: ChildProcess = spawn('unshare', ['-m', '-u', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let daemonErr = '';
  daemon.stderr?.on('data', (b: Buffer) => {
    daemonErr += b.toString();
  });
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  let sshd: ThrowawaySshd | null = null;
  const stopAll = async () => {
    if (sshd) {
      await destroyAll(sshd.host);
      sshd.stop();
    }
    if (daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    }
    killLeftQemu(join(root, 'run', 'qemu'));
    scratch.remove();
  };
  try {
    const sshDir = join(root, 'ssh');
    mkdirSync(sshDir, { mode: 0o700 });
    sshd = await startThrowawaySshd(sshDir, { enter: ['nsenter', '-t', String(daemon.pid), '-m', '-u', '--'], name });
    const host = sshd.host;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await host.virshExec.run(['virsh', '-c', host.uri, 'hostname'], { okExitCodes: [1] }).catch(() => null);
      if (r?.exitCode === 0 && r.stdout.trim() === SECOND_HOSTNAME) break;
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error(`the second libvirtd did not answer: ${daemonErr}${readFileSync(out, 'utf8')}`);
      await new Promise((r2) => setTimeout(r2, 250));
    }
    const ready = sshd;
    return {
      host,
      uri: host.uri,
      hostUuid,
      migrateUri: 'tcp://127.0.0.1',
      sshd: ready,
      localPath: (path) => {
        if (!path.startsWith('/var/lib/libvirt/')) throw new Error(`${path} is not under the second host's /var/lib/libvirt`);
        return join(root, 'lib', path.slice('/var/lib/libvirt/'.length));
      },
      stop: stopAll,
    };
  } catch (e) {
    await stopAll().catch(() => undefined);
    throw e;
  }
}

/**
 * The QEMU processes of guests the daemon still ran when it stopped (QEMU outlives libvirtd): when
 * destroyAll could not reach the daemon (a failed test's broken ssh), they would run on, orphaned,
 * after the file. Named by the pid files libvirt keeps in the second host's private /run/libvirt/qemu
 * (driver.pid there is the daemon's own).
 */
function killLeftQemu(runDir: string): void {
  let names: string[];
  try {
    names = readdirSync(runDir).filter((n) => n.endsWith('.pid') && n !== 'driver.pid');
  } catch {
    return;
  }
  for (const n of names) {
    try {
      const pid = Number(readFileSync(join(runDir, n), 'utf8').trim());
      if (pid > 1 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/usr/bin/qemu-system')) process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}

/** Every guest of the host, destroyed and undefined (with its snapshot metadata and NVRAM). */
async function destroyAll(host: HostContext): Promise<void> {
  const virsh = (args: string[]) => host.virshExec.run(['virsh', '-c', host.uri, ...args]).catch((e: unknown) => (e instanceof HostError ? null : Promise.reject(e)));
  const names = (await virsh(['list', '--all', '--name']))?.stdout.split('\n').map((s) => s.trim()).filter(Boolean) ?? [];
  for (const n of names) {
    await virsh(['destroy', '--domain', n]);
    await virsh(['undefine', '--domain', n, '--nvram', '--snapshots-metadata', '--checkpoints-metadata']);
  }
}
