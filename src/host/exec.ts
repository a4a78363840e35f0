import { execa } from 'execa';
import { HostError, explain } from './errors.js';

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
  env?: Record<string, string>;
  /** Exit codes that are answers rather than failures (qemu-img compare exits 1 for "different"). */
  okExitCodes?: number[];
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

export interface Executor {
  /** Where commands run, for headers and error messages: "local" or "root@host1". */
  readonly label: string;
  /** Runs argv; resolves on exit code 0 (or one of okExitCodes), otherwise rejects with a HostError. */
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Hands the terminal to a child (virsh console, $EDITOR) and resolves with its exit code. */
  interactive(argv: string[], opts?: { env?: Record<string, string> }): Promise<number>;
}

const DEFAULT_TIMEOUT_MS = 60_000;

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (error as { isCanceled?: boolean })?.isCanceled === true;
}

/** Runs a final argv (already wrapped for ssh when remote) and maps failure to a HostError. */
async function runArgv(shown: string[], argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('empty argv');
  const child = execa(file, args, {
    reject: false,
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    cancelSignal: opts.signal,
    input: opts.input,
    env: opts.env,
    stripFinalNewline: false,
    // Killing only the direct child would leave qemu-img or ssh grandchildren writing.
    forceKillAfterDelay: 3_000,
    encoding: 'utf8',
  });
  if (opts.onStdout) child.stdout?.on('data', (d: Buffer) => opts.onStdout?.(d.toString()));
  if (opts.onStderr) child.stderr?.on('data', (d: Buffer) => opts.onStderr?.(d.toString()));
  const r = await child;
  const stdout = String(r.stdout ?? '');
  const stderr = String(r.stderr ?? '');
  if (isAbort(r, opts.signal)) {
    throw new HostError({
      sentence: 'The operation was cancelled.',
      fix: 'Nothing to do; start it again when ready.',
      command: shown,
      stderr,
      code: 'cancelled',
    });
  }
  if (r.timedOut) {
    throw explain(shown, `${stderr}\nvirtdeck: operation timed out after ${opts.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms`, -1);
  }
  const exitCode = typeof r.exitCode === 'number' ? r.exitCode : -1;
  if ((r as { code?: string }).code === 'ENOENT' || /ENOENT/.test(String((r as { message?: string }).message ?? '')) && exitCode === -1) {
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
  return { argv: shown, exitCode, stdout, stderr };
}

export class LocalExecutor implements Executor {
  readonly label = 'local';
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    return runArgv(argv, argv, opts);
  }
  async interactive(argv: string[], opts?: { env?: Record<string, string> }): Promise<number> {
    const [file, ...args] = argv;
    if (!file) throw new Error('empty argv');
    const r = await execa(file, args, { stdio: 'inherit', reject: false, env: opts?.env });
    return typeof r.exitCode === 'number' ? r.exitCode : 1;
  }
}

/** POSIX single-quote quoting, so each argv element reaches the remote side as exactly one word. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface SshTarget {
  /** user@host or host */
  destination: string;
  port?: number;
  identityFile?: string;
  /** Extra `-o` options, e.g. StrictHostKeyChecking=no for a throwaway host key. */
  options?: string[];
}

/**
 * Runs the same argv on another host through ssh. The remote sshd hands the command to a shell,
 * so every word is quoted here; BatchMode makes a missing key fail fast instead of prompting
 * inside the TUI.
 */
export class SshExecutor implements Executor {
  readonly label: string;
  constructor(private readonly target: SshTarget) {
    this.label = target.destination;
  }
  private sshArgv(tty: boolean): string[] {
    const a = ['ssh', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10'];
    if (tty) a.push('-t');
    if (this.target.port) a.push('-p', String(this.target.port));
    if (this.target.identityFile) a.push('-i', this.target.identityFile);
    for (const o of this.target.options ?? []) a.push('-o', o);
    a.push(this.target.destination, '--');
    return a;
  }
  run(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    // The local environment does not travel over ssh: variables a tool needs (libguestfs' backend)
    // are set on the remote side with env(1).
    const remote = opts?.env ? ['env', ...Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), ...argv] : argv;
    const { env: _local, ...rest } = opts ?? {};
    return runArgv(argv, [...this.sshArgv(false), remote.map(shellQuote).join(' ')], rest);
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
}
