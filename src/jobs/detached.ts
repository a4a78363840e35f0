/**
 * Jobs that outlive the virtdeck that started them: the plan is journaled here, then a worker
 * process (`virtdeck job run --id ID`) runs it in its own session — a systemd transient unit where
 * systemd is PID 1, else a setsid'd process group — so closing the terminal or losing the SSH
 * link does not stop a three-hour conversion. Any later virtdeck finds it through the journal,
 * its progress snapshot and its log.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { HostError } from '../host/errors.js';
import type { HostContext } from '../host/hostContext.js';
import type { Plan } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import { logPath, readLogTail } from './jobStatus.js';
import { Journal, listJournals } from './journal.js';
import { acquireLocks } from './locks.js';
import { processAlive } from './processes.js';
import { recordPlanDirs } from './writtenDirs.js';

export type WorkerMode = 'run' | 'rollback';

/**
 * The bundle's entry for a file of it: code loaded on first use lives in `NAME-chunks/` beside
 * `NAME.js` (scripts/build.mjs), and only the entry runs as a program.
 */
export function bundleEntry(file: string): string {
  const dir = dirname(file);
  const chunksOf = basename(dir).match(/^(.+)-chunks$/)?.[1];
  return chunksOf ? join(dirname(dir), `${chunksOf}.js`) : file;
}

/**
 * The command that runs a worker: this same virtdeck — the bundle's entry, or the TypeScript
 * sources through tsx's loader — with the hidden `job run` subcommand.
 */
export function workerArgv(id: string, mode: WorkerMode = 'run', moduleUrl: string = import.meta.url): { argv: string[]; cwd: string } {
  const here = fileURLToPath(moduleUrl);
  const tail = ['job', 'run', '--id', id, ...(mode === 'rollback' ? ['--rollback'] : [])];
  if (/\.tsx?$/.test(here)) {
    const root = resolve(dirname(here), '..', '..');
    const loader = pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href;
    // tsx reads tsconfig.json (JSX settings) from the working directory.
    return { argv: [process.execPath, '--import', loader, join(root, 'src', 'cli', 'main.tsx'), ...tail], cwd: root };
  }
  return { argv: [process.execPath, bundleEntry(here), ...tail], cwd: '/' };
}

/** systemd only supervises units when it is PID 1 (not in most containers, even with systemd-run installed). */
export function systemdIsInit(): boolean {
  try {
    return readFileSync('/proc/1/comm', 'utf8').trim() === 'systemd' && existsSync('/run/systemd/system');
  } catch {
    return false;
  }
}

/** Variables the worker needs from the launcher (systemd-run starts units with a clean environment). */
const PASSED_ENV = ['VIRTDECK_HOME', 'LIBVIRT_DEFAULT_URI', 'PATH', 'HOME', 'XDG_CONFIG_HOME', 'XDG_STATE_HOME', 'LANG', 'SSH_AUTH_SOCK'];

export interface Launched {
  id: string;
  /** The worker's pid once it took the job over (null if it was still starting when we stopped waiting). */
  pid: number | null;
  journalPath: string;
  logPath: string;
  via: 'systemd-run' | 'setsid';
}

export interface StartWorkerOptions {
  stateDir?: string;
  mode?: WorkerMode;
  /** How long to wait for the worker to adopt the journal. */
  startTimeoutMs?: number;
  /** Force the setsid path (tests). */
  noSystemd?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a worker on an existing journal and waits until it has taken the job over. */
export async function startWorker(journal: Journal, opts: StartWorkerOptions = {}): Promise<Launched> {
  const dir = opts.stateDir ?? defaultStateDir();
  const id = journal.record.id;
  const log = logPath(dir, id);
  const { argv, cwd } = workerArgv(id, opts.mode ?? 'run');
  const before = Journal.load(journal.path).record.pid;
  const fd = openSync(log, 'a', 0o600);
  writeSync(fd, `${new Date().toISOString()} ${opts.mode === 'rollback' ? 'rollback' : 'worker'} launched by pid ${process.pid}: ${argv.join(' ')}\n`);
  const useSystemd = !opts.noSystemd && systemdIsInit();
  let childPid: number | undefined;
  let exited: number | null = null;
  try {
    const env: Record<string, string> = {
      ...Object.fromEntries(PASSED_ENV.flatMap((k) => (process.env[k] !== undefined ? [[k, process.env[k] as string]] : []))),
      // The worker may take this job's locks over from us (see locks.ts).
      VIRTDECK_LAUNCHER_PID: String(process.pid),
    };
    const command = useSystemd
      ? [
          'systemd-run',
          '--unit',
          `virtdeck-job-${id}`,
          '--collect',
          '--quiet',
          `--working-directory=${cwd}`,
          `--property=StandardOutput=append:${log}`,
          `--property=StandardError=append:${log}`,
          ...Object.entries(env).map(([k, v]) => `--setenv=${k}=${v}`),
          '--',
          ...argv,
        ]
      : argv;
    const child = spawn(command[0] as string, command.slice(1), {
      // Its own session and process group: no controlling terminal whose hang-up could reach it.
      detached: true,
      stdio: ['ignore', fd, fd],
      cwd,
      env: { ...process.env, ...env },
    });
    child.on('error', () => {
      exited = -1;
    });
    child.on('exit', (code) => {
      // systemd-run exits once the unit is started; that is not the worker ending.
      if (!useSystemd) exited = code ?? -1;
    });
    child.unref();
    childPid = useSystemd ? undefined : child.pid;
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  let pid: number | null = null;
  while (Date.now() < deadline) {
    const now = Journal.load(journal.path).record;
    if (now.pid !== before && (childPid === undefined || now.pid === childPid)) {
      pid = now.pid;
      break;
    }
    if (exited !== null) {
      const last = readLogTail(dir, id, 3).join(' / ');
      throw new HostError({
        sentence: `The job worker stopped before it took job ${id} over (exit ${exited}).`,
        fix: `Its log ${log} says why${last ? `: ${last}` : ''}.`,
        command: argv,
        stderr: last,
        code: 'worker-failed',
      });
    }
    await sleep(100);
  }
  return { id, pid, journalPath: journal.path, logPath: log, via: useSystemd ? 'systemd-run' : 'setsid' };
}

export interface LaunchOptions extends Omit<StartWorkerOptions, 'mode'> {
  params?: unknown;
}

/**
 * Journals a new plan and runs it in a detached worker. The plan's locks are taken here, so a
 * conflict is refused before anything starts; the worker takes them over with the job.
 */
export async function launchDetached(host: HostContext, plan: Plan, opts: LaunchOptions = {}): Promise<Launched> {
  const dir = opts.stateDir ?? defaultStateDir();
  const journal = Journal.create(dir, { plan, uri: host.uri, hostname: hostname(), params: opts.params });
  const r = journal.record;
  let locks: ReturnType<typeof acquireLocks>;
  try {
    locks = acquireLocks(dir, r.uri, plan.targets, { jobId: r.id, kind: r.kind, title: r.title, pid: process.pid, startedAt: r.createdAt });
  } catch (e) {
    rmSync(journal.path, { force: true });
    throw e;
  }
  recordPlanDirs(dir, host.sysExec.label, plan);
  try {
    // The worker takes the locks over (as the launcher's child) before it adopts the journal, and
    // startWorker waits for that adoption: no moment where the job runs unlocked.
    return await startWorker(journal, opts);
  } catch (e) {
    locks.release();
    // The worker never ran a step: nothing to finish or roll back.
    if (Journal.load(journal.path).record.steps.every((s) => s.state === 'pending')) journal.finish('failed', e instanceof HostError ? e.sentence : String(e));
    throw e;
  }
}

/** A journal by its id, or by a unique part of it (ids are long: 20250101T120300-convert-1a2b3c). */
export function findJob(stateDir: string, idOrPart: string): Journal {
  const all = listJournals(stateDir);
  const exact = all.find((j) => j.record.id === idOrPart);
  if (exact) return exact;
  const matches = all.filter((j) => j.record.id.includes(idOrPart));
  if (matches.length === 1) return matches[0] as Journal;
  if (matches.length === 0) throw new UserError(`There is no job "${idOrPart}".`, 'Run `virtdeck job list` to see the jobs and their ids.');
  throw new UserError(`"${idOrPart}" matches ${matches.length} jobs.`, `Give more of the id: ${matches.map((j) => j.record.id).join(', ')}.`);
}

/** The process with this pid is a worker of this job (pids are reused: check its command line). */
export function isWorkerOf(pid: number, id: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes(id) && argv.includes('run');
  } catch {
    return false;
  }
}

export interface CancelResult {
  id: string;
  state: string;
}

/** Asks a job's worker to stop (SIGTERM: it cancels the running step and undoes what it did), and waits for the end. */
export async function cancelJob(stateDir: string, idOrPart: string, opts: { waitMs?: number } = {}): Promise<CancelResult> {
  const journal = findJob(stateDir, idOrPart);
  const r = journal.record;
  if (r.state !== 'running') throw new UserError(`Job ${r.id} is not running: it ended ${r.state}.`, 'Nothing to cancel.');
  if (r.hostname !== hostname() || !processAlive(r.pid)) {
    throw new UserError(
      `Job ${r.id} is not running any more: its process ${r.pid} is gone, so it was interrupted.`,
      `Finish it (virtdeck job finish ${r.id}) or roll it back (virtdeck job rollback ${r.id}).`,
    );
  }
  if (!isWorkerOf(r.pid, r.id)) {
    throw new UserError(
      `Job ${r.id} runs inside the virtdeck console with pid ${r.pid}, not in a worker.`,
      'Cancel it in that console, where its progress is shown.',
    );
  }
  process.kill(r.pid, 'SIGTERM');
  const deadline = Date.now() + (opts.waitMs ?? 120_000);
  for (;;) {
    const now = Journal.load(journal.path).record;
    if (now.state !== 'running') return { id: r.id, state: now.state };
    if (Date.now() > deadline || !processAlive(r.pid)) return { id: r.id, state: now.state };
    await sleep(150);
  }
}
