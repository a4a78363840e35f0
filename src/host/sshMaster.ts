/**
 * One ssh login shared by every command of a job: a master connection (`ssh -M -N`) whose control
 * socket lives in a private 0700 directory of this machine, and argv that run through it. A login
 * is a key exchange and an authentication (about 0.35 s on loopback, a round trip or more per
 * step over a WAN); an import that lists, reads a directory and streams N files would pay it N+2
 * times. `ControlPersist=no` keeps the master in the foreground as this process's child
 * (`setpriv --pdeathsig KILL`: it dies with virtdeck, even a kill -9), and close() ends it and
 * removes the directory (a kill -9 leaves it; the next master sweeps the directories of processes
 * that are gone, named by their pid). A command given the ControlPath with `ControlMaster=no` falls back to its
 * own login when the master is gone, so a dropped master costs a login, not the job.
 */
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startJobHelper } from './jobHelperProcess.js';

export interface SshMaster {
  /** The argv (sshBase's shape: `ssh … -- DEST`) this master logged in with. */
  readonly base: readonly string[];
  /** `ssh` argv through the master for `argv` (base, or base plus a remote command); any other argv unchanged. */
  via(argv: string[]): string[];
  close(): Promise<void>;
}

/** Why the master did not come up: ssh's exit status and its words (the caller knows which fix fits). */
export class SshMasterError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`ssh master exited ${exitCode}: ${stderr.trim()}`);
    this.name = 'SshMasterError';
  }
}

const SOCKET = 'c';
const PREFIX = 'virtdeck-ssh-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The private directories a killed virtdeck left: ours (uid), and their process is gone. */
export function sweepDeadMasters(root = tmpdir()): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const name of names) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    const path = join(root, name);
    try {
      const st = lstatSync(path);
      if (st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0) rmSync(path, { recursive: true, force: true });
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
}

/** Opens the master for `base` (`ssh … -- DEST`) and resolves once its socket accepts sessions. */
export async function openSshMaster(base: string[], signal?: AbortSignal): Promise<SshMaster> {
  const dashes = base.indexOf('--');
  if (base[0] !== 'ssh' || dashes < 0 || dashes !== base.length - 2) throw new Error('openSshMaster wants `ssh [options] -- DEST`');
  sweepDeadMasters();
  // mkdtemp makes it 0700: the socket in it is a login to the host for whoever can reach it.
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}${process.pid}-`));
  const socket = join(dir, SOCKET);
  const control = ['-o', `ControlPath=${socket}`];
  // Our options first: ssh keeps the first value it reads, so an admin's ControlPath cannot move the socket.
  const argv = ['ssh', ...control, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '-N', ...base.slice(1)];
  const helper = startJobHelper(argv);
  const { child, exited } = helper;
  // A process.exit() (the CLI's end after a signal) skips finally blocks: the master and its directory go anyway.
  const onExit = () => {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    })();
    return closed;
  };
  const watcher = watch(dir);
  try {
    // The socket appears once ssh has logged in; ssh exiting first is a failed login.
    const ready = new Promise<void>((resolve) => {
      watcher.on('change', () => existsSync(socket) && resolve());
      if (existsSync(socket)) resolve();
    });
    const aborted = new Promise<'aborted'>((resolve) => {
      if (signal?.aborted) resolve('aborted');
      signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const first = await Promise.race([ready.then(() => 'ready' as const), exited.then(() => 'exited' as const), aborted]);
    if (first !== 'ready') {
      await close();
      if (first === 'aborted') throw new SshMasterError(null, 'cancelled');
      throw new SshMasterError(await exited, helper.stderr());
    }
  } finally {
    watcher.close();
  }
  const frozen = [...base];
  const same = (argv: string[]) => argv.length >= frozen.length && frozen.every((w, i) => argv[i] === w);
  return {
    base: frozen,
    via: (a) => (same(a) ? ['ssh', ...control, '-o', 'ControlMaster=no', ...a.slice(1)] : a),
    close,
  };
}
