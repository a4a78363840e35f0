import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, ftruncateSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { shellQuote } from '../model/shellQuote.js';
import { checkSshDestination } from '../model/sshDestination.js';
import { explain, HostError, ranOver } from './errors.js';
import { descendants, signalSeen } from './processTree.js';
import { DEFAULT_STOP_TIMING, PgidMarkerFilter, remoteCommandLine, remoteStopCommandLine, type StopTiming, withoutPgidMarker } from './remoteGroup.js';

/**
 * The one way virtdeck runs a program. Arguments are always an argv array; nothing is ever
 * joined into a shell string from input, so a guest called `a; rm -rf /` is just a name.
 */
export interface ExecOptions {
  /** Kill the child after this long; the default suits quick queries, long jobs pass their own. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Text fed to the child's stdin. */
  input?: string;
  /**
   * The child's stdin as a stream, written while it runs: a conversation in which the next
   * commands depend on its answers (one guestfish launch, see guestfishConversation.ts).
   */
  inputStream?: Readable;
  env?: Record<string, string>;
  /** Exit codes that are answers rather than failures (qemu-img compare exits 1 for "different"). */
  okExitCodes?: number[];
  /**
   * virsh exits 0 after some failures (undefine --remove-all-storage on a file outside a pool)
   * and says so only with an `error:` line on stderr, which fails the run unless this is set: a
   * `;` batch whose commands answer one by one (the trailing echo makes its exit 0 by design).
   */
  virshErrorsAreAnswers?: boolean;
  /** Streams for progress parsing (qemu-img -p writes "(NN.NN/100%)\r"). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

export interface ExecResult {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  onStdout: (chunk: string) => void;
  onStderr: (chunk: string) => void;
  env?: Record<string, string>;
  /**
   * The child's stdout goes to a private unlinked file instead of a pipe, read with drainStdout:
   * for a child that writes its answers in many tiny unbuffered writes (interactive virsh: one per
   * line and per newline), each of which would otherwise wake this process. onStdout is not called.
   */
  stdoutToFile?: boolean;
}

/** A child that lives on, reading its commands from stdin (see virshChannel.ts). */
export interface LiveChild {
  readonly argv: string[];
  readonly pid: number | undefined;
  /** Writes to its stdin; a child that has gone drops it (its `exited` has settled or soon will). */
  write(text: string): void;
  /** TERM, then KILL after a grace period; `exited` settles either way. */
  kill(): void;
  /** Settles once the child is gone: its exit code, -1 for a signal or a failed start. */
  readonly exited: Promise<number>;
  /**
   * With stdoutToFile: everything it wrote to stdout since the last drain, which empties the
   * file. Only for a moment the child is known to be waiting for input: what it writes while
   * the file is read and emptied is lost.
   */
  drainStdout?(): string;
}

export interface Executor {
  /** Where commands run, for headers and error messages: "local" or "root@host1". */
  readonly label: string;
  /** Commands run on this machine, so its files are this process's files (read with Node's fs, no process). */
  readonly local?: boolean;
  /** Runs argv; resolves on exit code 0 (or one of okExitCodes), otherwise rejects with a HostError. */
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Hands the terminal to a child (virsh console, $EDITOR) and resolves with its exit code. */
  interactive(argv: string[], opts?: { env?: Record<string, string> }): Promise<number>;
  /**
   * Starts a long-lived child that talks over stdin/stdout. Only executors whose children run on
   * this machine offer it (virsh always does: libvirt does its own remoting); without it callers
   * fall back to one process per question.
   */
  spawn?(argv: string[], opts: SpawnOptions): LiveChild;
}

const DEFAULT_TIMEOUT_MS = 60_000;

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (error as { isCanceled?: boolean })?.isCanceled === true;
}

/** How a run ended, before it is judged. */
interface Ended {
  exitCode: number;
  stdout: string;
  stderr: string;
  cancelled: boolean;
  timedOut: boolean;
  /** The program itself was not found (local spawn failure). */
  missing: boolean;
}

/** Turns how a run ended into its result or a HostError. */
function judge(shown: string[], file: string, e: Ended, opts: ExecOptions, extra: { cancelSentence?: string; cancelFix?: string } = {}): ExecResult {
  const { stdout, stderr, exitCode } = e;
  if (e.cancelled) {
    throw new HostError({
      sentence: extra.cancelSentence ?? 'The operation was cancelled.',
      fix: extra.cancelFix ?? 'Nothing to do; start it again when ready.',
      command: shown,
      stderr,
      code: 'cancelled',
    });
  }
  if (e.timedOut) {
    throw explain(shown, `${stderr}\nvirtdeck: operation timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`, -1);
  }
  if (e.missing) {
    throw new HostError({
      sentence: `The program ${file} is not installed on this host.`,
      fix: 'Install it (as root: bash scripts/setup-host.sh installs everything virtdeck uses).',
      command: shown,
      stderr,
      code: 'not-installed',
    });
  }
  if (exitCode !== 0 && !(opts.okExitCodes ?? []).includes(exitCode)) {
    throw explain(shown, stderr || stdout, exitCode);
  }
  if (exitCode === 0 && !opts.virshErrorsAreAnswers && virshSaidError(file, stderr)) {
    throw explain(shown, stderr, exitCode);
  }
  return { argv: shown, exitCode, stdout, stderr };
}

/** virsh reported a failure on stderr (`error: …`) whatever its exit code. */
export function virshSaidError(file: string, stderr: string): boolean {
  return /(^|\/)virsh$/.test(file) && /^error: /m.test(stderr);
}

/** How long a stopped run waits for its output pipes once its process is gone (a descendant that escaped may hold them). */
const PIPE_DRAIN_MS = 2_000;
/** How long the processes of a stopped run get between TERM and KILL. */
const FORCE_KILL_MS = 3_000;

/** Runs a final argv and maps failure to a HostError. */
async function runArgv(shown: string[], argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty argv');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let child: ReturnType<typeof execa> | undefined;
  let timedOut = false;
  let stopping = false;
  const timers: NodeJS.Timeout[] = [];
  // A cancel or timeout stops the child's descendants too (processTree.ts), seen BEFORE the child
  // dies: once it has, they belong to init and nothing says they were its. This listener is added
  // before execa's own, so it runs first.
  const stopTree = () => {
    if (stopping || !child?.pid) return;
    stopping = true;
    const tree = descendants(child.pid);
    signalSeen(tree, 'SIGTERM');
    timers.push(setTimeout(() => signalSeen(tree, 'SIGKILL'), FORCE_KILL_MS).unref());
    // Whatever still holds the pipes after the child is gone must not keep the run from ending.
    const drain = () =>
      timers.push(
        setTimeout(() => {
          child?.stdout?.destroy();
          child?.stderr?.destroy();
        }, PIPE_DRAIN_MS).unref(),
      );
    if (child.exitCode !== null || child.signalCode !== null) drain();
    else child.once('exit', drain);
  };
  opts.signal?.addEventListener('abort', stopTree, { once: true });
  if (timeoutMs > 0) {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stopTree();
        child?.kill();
      }, timeoutMs),
    );
  }
  child = execa(file, args, {
    reject: false,
    cancelSignal: opts.signal,
    input: opts.inputStream ?? opts.input,
    env: opts.env,
    stripFinalNewline: false,
    // Killing only the direct child would leave qemu-img grandchildren writing.
    forceKillAfterDelay: FORCE_KILL_MS,
    encoding: 'utf8',
  });
  if (opts.onStdout) child.stdout?.on('data', (d: Buffer) => opts.onStdout?.(d.toString()));
  if (opts.onStderr) child.stderr?.on('data', (d: Buffer) => opts.onStderr?.(d.toString()));
  const r = await child;
  for (const t of timers) clearTimeout(t);
  opts.signal?.removeEventListener('abort', stopTree);
  const exitCode = typeof r.exitCode === 'number' ? r.exitCode : -1;
  const missing = (r as { code?: string }).code === 'ENOENT' || (/ENOENT/.test(String((r as { message?: string }).message ?? '')) && exitCode === -1);
  return judge(shown, file, {
    exitCode,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    cancelled: !timedOut && isAbort(r, opts.signal),
    timedOut: timedOut || Boolean(r.timedOut),
    missing,
  }, { ...opts, timeoutMs });
}

export class LocalExecutor implements Executor {
  readonly label = 'local';
  readonly local = true;
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return runArgv(argv, argv, opts);
  }
  async interactive(argv: string[], opts?: { env?: Record<string, string> }): Promise<number> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    const r = await execa(file, args, { stdio: 'inherit', reject: false, env: opts?.env });
    return typeof r.exitCode === 'number' ? r.exitCode : 1;
  }
  spawn(argv: string[], opts: SpawnOptions): LiveChild {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    const outFile = opts.stdoutToFile ? new DrainedFile() : null;
    // No buffering: the child lives for days and its answers are consumed as they come.
    // execa hands any descriptor number to spawn as it is; its types list only 3 to 9.
    const stdout = (outFile?.fd ?? 'pipe') as 'pipe';
    const child = execa(file, args, { reject: false, buffer: false, stdin: 'pipe', stdout, env: opts.env, forceKillAfterDelay: 2_000, timeout: 0 });
    const out = new StringDecoder('utf8');
    const err = new StringDecoder('utf8');
    child.stdout?.on('data', (d: Buffer) => opts.onStdout(out.write(d)));
    child.stderr?.on('data', (d: Buffer) => opts.onStderr(err.write(d)));
    // A write racing the child's death must not become an uncaught EPIPE.
    child.stdin?.on('error', () => {});
    const exited = child.then((r) => (typeof r.exitCode === 'number' ? r.exitCode : -1));
    if (outFile) void exited.then(() => outFile.close());
    return {
      argv,
      pid: child.pid,
      write: (text) => {
        if (child.stdin?.writable) child.stdin.write(text);
      },
      kill: () => {
        child.kill();
      },
      exited,
      ...(outFile ? { drainStdout: () => outFile.drain() } : {}),
    };
  }
}

/**
 * A child's stdout as a file only this process holds: created 0600 under a random name and
 * unlinked at once (nothing is left on disk, no path can be swapped), in memory when /dev/shm is
 * there. O_APPEND, so after a drain empties it the child's next write starts at its beginning again.
 */
class DrainedFile {
  readonly fd: number;
  private readonly decoder = new StringDecoder('utf8');
  private closed = false;

  constructor() {
    const dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
    const path = join(dir, `virtdeck-out-${randomBytes(12).toString('hex')}`);
    this.fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_APPEND | constants.O_NOFOLLOW, 0o600);
    unlinkSync(path);
  }

  drain(): string {
    if (this.closed) return '';
    const size = fstatSync(this.fd).size;
    if (size === 0) return '';
    const buf = Buffer.allocUnsafe(size);
    let got = 0;
    while (got < size) {
      const n = readSync(this.fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    ftruncateSync(this.fd, 0);
    return this.decoder.write(buf.subarray(0, got));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

export interface SshTarget {
  /** user@host or host */
  destination: string;
  port?: number;
  identityFile?: string;
  /** Extra `-o` options, e.g. StrictHostKeyChecking=no for a throwaway host key. */
  options?: string[];
}

/** How long a cancel waits for the remote side to say which process group it is (ConnectTimeout plus the login). */
const GROUP_ANNOUNCE_WAIT_MS = 15_000;
/** How long the local ssh gets to notice that its remote command is gone before it is killed. */
const CLIENT_EXIT_WAIT_MS = 10_000;
/**
 * A quick read cancelled as it starts (a refresh when the console quits) usually ends by itself
 * within this long: then no second login is needed to stop its group, which costs a second or more.
 */
const OWN_END_WAIT_MS = 300;

/** Whether a cancel or timeout left nothing running on the remote host, as far as virtdeck can tell. */
interface RemoteStop {
  confirmed: boolean;
  pgid: number | null;
}

/** The local ssh client of one run. */
interface LocalClient {
  exited: Promise<void>;
  hasExited(): boolean;
  kill(): void;
}

/**
 * Runs the same argv on another host through ssh. The remote sshd hands the command to a shell,
 * so every word is quoted here; BatchMode makes a missing key fail fast instead of prompting
 * inside the TUI. A cancel or timeout stops the remote process group (see remoteGroup.ts) before
 * the promise settles, so a job's undo never races a command still writing on the host.
 */
export class SshExecutor implements Executor {
  readonly label: string;
  constructor(
    private readonly target: SshTarget,
    private readonly stopTiming: StopTiming = DEFAULT_STOP_TIMING,
  ) {
    checkSshDestination(target.destination, 'the ssh destination of the host');
    this.label = target.destination;
  }
  private sshArgv(tty: boolean): string[] {
    const a = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
    if (tty) a.push('-t');
    if (this.target.port) a.push('-p', String(this.target.port));
    if (this.target.identityFile) a.push('-i', this.target.identityFile);
    for (const o of this.target.options ?? []) a.push('-o', o);
    // `--` before the destination: ssh would read one that starts with `-` as an option.
    a.push('--', this.target.destination);
    return a;
  }
  /** The ssh command line up to the destination, for a script that runs commands where this executor does. */
  commandPrefix(): string[] {
    return this.sshArgv(false);
  }
  async run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    // The local environment does not travel over ssh: variables a tool needs (libguestfs' backend)
    // are set on the remote side with env(1).
    const remote = opts.env ? ['env', ...Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), ...argv] : argv;
    if (opts.signal?.aborted) {
      // Nothing started yet, so there is nothing to stop on the host.
      return this.judged(() => judge(argv, 'ssh', { exitCode: -1, stdout: '', stderr: '', cancelled: true, timedOut: false, missing: false }, opts));
    }
    const [file, ...args] = [...this.sshArgv(false), remoteCommandLine(remote)];
    let announce = () => {};
    const announced = new Promise<void>((resolve) => {
      announce = resolve;
    });
    const marker = new PgidMarkerFilter(() => announce());
    // No cancelSignal or timeout for execa: killing the client first would leave the remote command running.
    const child = execa(file as string, args, { reject: false, input: opts.inputStream ?? opts.input, stripFinalNewline: false, forceKillAfterDelay: 3_000, encoding: 'utf8' });
    if (opts.onStdout) child.stdout?.on('data', (d: Buffer) => opts.onStdout?.(d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      const text = marker.push(d.toString());
      if (text) opts.onStderr?.(text);
    });
    let ended = false;
    const client: LocalClient = {
      exited: child.then(() => {
        ended = true;
      }),
      hasExited: () => ended,
      kill: () => child.kill(),
    };
    const stop: { why: 'cancelled' | 'timed-out' | null; done: Promise<RemoteStop> | null } = { why: null, done: null };
    const begin = (why: 'cancelled' | 'timed-out') => {
      if (stop.why) return;
      stop.why = why;
      stop.done = this.stopRemote(marker, announced, client);
    };
    const onAbort = () => begin('cancelled');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = timeoutMs > 0 ? setTimeout(() => begin('timed-out'), timeoutMs) : null;
    const r = await child;
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    const stopped = stop.done ? await stop.done : { confirmed: true, pgid: marker.pgid };
    const stderr = withoutPgidMarker(String(r.stderr ?? ''));
    const cancelled = stop.why === 'cancelled' || Boolean(opts.signal?.aborted);
    const where = stopped.pgid ? ` (process group ${stopped.pgid})` : '';
    const unsure = `virtdeck could not make sure the command stopped on ${this.label}${where}`;
    return this.judged(() => judge(
      argv,
      'ssh',
      {
        exitCode: typeof r.exitCode === 'number' ? r.exitCode : -1,
        stdout: String(r.stdout ?? ''),
        stderr: stop.why === 'timed-out' && !stopped.confirmed ? `${stderr}\n${unsure}` : stderr,
        cancelled,
        timedOut: stop.why === 'timed-out',
        missing: (r as { code?: string }).code === 'ENOENT',
      },
      { ...opts, timeoutMs },
      stopped.confirmed
        ? {}
        : {
            cancelSentence: `The operation was cancelled, but ${unsure}.`,
            cancelFix: stopped.pgid
              ? `Before using its files, check with \`ssh ${this.label} ps -g ${stopped.pgid}\` and stop it with \`kill -TERM -${stopped.pgid}\`.`
              : `Before using its files, check on ${this.label} with ps that ${argv[0] ?? 'the command'} is not running.`,
          },
    ));
  }

  /** A failure here names the host it ran on: its "ran:" line would otherwise read as a local command. */
  private judged(verdict: () => ExecResult): ExecResult {
    try {
      return verdict();
    } catch (e) {
      throw ranOver(e, this.label);
    }
  }

  /**
   * TERM to the remote group, KILL after the grace period, and wait until it is gone — then the
   * local client, which ends by itself once its remote command has.
   */
  private async stopRemote(marker: PgidMarkerFilter, announced: Promise<void>, client: LocalClient): Promise<RemoteStop> {
    await Promise.race([announced, client.exited, sleep(GROUP_ANNOUNCE_WAIT_MS, undefined, { ref: false })]);
    const pgid = marker.pgid;
    if (pgid !== null && !client.hasExited()) await Promise.race([client.exited, sleep(OWN_END_WAIT_MS, undefined, { ref: false })]);
    let confirmed: boolean;
    if (client.hasExited()) {
      // The command ended and sshd closed the session: there is no group left to stop.
      confirmed = true;
    } else if (pgid === null) {
      // Still connecting after all that time, or the command never started: only the client is there to stop.
      confirmed = client.hasExited();
      if (!confirmed) client.kill();
    } else {
      const [file, ...args] = [...this.sshArgv(false), remoteStopCommandLine(pgid, this.stopTiming)];
      const budget = this.stopTiming.graceMs + this.stopTiming.afterKillMs + GROUP_ANNOUNCE_WAIT_MS;
      const r = await execa(file as string, args, { reject: false, timeout: budget, encoding: 'utf8' });
      confirmed = r.exitCode === 0;
      await Promise.race([client.exited, sleep(CLIENT_EXIT_WAIT_MS, undefined, { ref: false })]);
      if (!client.hasExited()) client.kill();
    }
    await client.exited;
    return { confirmed, pgid };
  }

  async interactive(argv: string[], opts?: { env?: Record<string, string> }): Promise<number> {
    const full = [...this.sshArgv(true), argv.map(shellQuote).join(' ')];
    const [file, ...args] = full;
    const r = await execa(file as string, args, { stdio: 'inherit', reject: false, env: opts?.env });
    return typeof r.exitCode === 'number' ? r.exitCode : 1;
  }
}

/** Wraps an executor and counts spawns: the guest refresh promises a constant number. */
export class CountingExecutor implements Executor {
  count = 0;
  readonly calls: string[][] = [];
  constructor(private readonly inner: Executor) {}
  get label(): string {
    return this.inner.label;
  }
  get local(): boolean | undefined {
    return this.inner.local;
  }
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    this.count++;
    this.calls.push(argv);
    return this.inner.run(argv, opts);
  }
  interactive(argv: string[], opts?: { env?: Record<string, string> }): Promise<number> {
    this.count++;
    this.calls.push(argv);
    return this.inner.interactive(argv, opts);
  }
  get spawn(): Executor['spawn'] {
    const inner = this.inner;
    if (!inner.spawn) return undefined;
    return (argv: string[], opts: SpawnOptions): LiveChild => {
      this.count++;
      this.calls.push(argv);
      return inner.spawn?.(argv, opts) as LiveChild;
    };
  }
}
