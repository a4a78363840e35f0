/**
 * What a running job shows to whoever looks later: a progress snapshot (ID.progress.json, written
 * atomically a few times a second) and a log (ID.log, appended) beside its journal, so a virtdeck
 * started from another SSH login — or `virtdeck job log --follow` — sees the same job live.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { readTrustedFile } from '../config/trust.js';
import { startedText, stepText } from '../model/jobText.js';
import { commandLine, type PlanRoute } from '../model/plan.js';
import type { Progress } from '../model/progress.js';
import { UserError } from '../model/userError.js';
import { writeFileAtomic } from './atomicFile.js';

export { startedText, stepText };

import type { JobState, JournalRecord } from './journal.js';
import { jobsDir, listJournals } from './journal.js';
import { processAlive } from './processes.js';
import type { RunnerEvent } from './runner.js';
import { parseStateJson, progressSchema } from './stateSchemas.js';

export interface ProgressSnapshot {
  id: string;
  pid: number;
  /** ISO time of this snapshot. */
  at: string;
  stepIndex: number;
  stepCount: number;
  stepTitle: string;
  /** Steps with a byte count (qemu-img, long actions) have one; others null. */
  progress: Progress | null;
  /** Set while finished steps are being undone after a failure or a cancel. */
  undoing: string | null;
  /** Set once the job has ended. */
  final: JobState | null;
}

export function progressPath(stateDir: string, id: string): string {
  return join(jobsDir(stateDir), `${id}.progress.json`);
}

export function logPath(stateDir: string, id: string): string {
  return join(jobsDir(stateDir), `${id}.log`);
}

function stamp(now: Date): string {
  return [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export interface StatusWriterOptions {
  /** Progress snapshots at most this often (steps, undos and the end are always written). */
  minIntervalMs?: number;
  now?: () => number;
}

/**
 * Turns runner events into the snapshot and the log. Step changes and the end are written at
 * once; byte progress is throttled, so a fast qemu-img does not turn into thousands of renames.
 */
export class StatusWriter {
  private snap: ProgressSnapshot;
  private lastWrite = 0;
  private readonly minIntervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly stateDir: string,
    rec: Pick<JournalRecord, 'id' | 'plan'>,
    opts: StatusWriterOptions = {},
  ) {
    mkdirSync(jobsDir(stateDir), { recursive: true, mode: 0o700 });
    this.minIntervalMs = opts.minIntervalMs ?? 250;
    this.now = opts.now ?? Date.now;
    this.snap = { id: rec.id, pid: process.pid, at: '', stepIndex: 0, stepCount: rec.plan.steps.length, stepTitle: rec.plan.steps[0]?.title ?? '', progress: null, undoing: null, final: null };
  }

  get snapshot(): Readonly<ProgressSnapshot> {
    return this.snap;
  }

  log(line: string): void {
    appendFileSync(logPath(this.stateDir, this.snap.id), `${stamp(new Date(this.now()))} ${line}\n`, { mode: 0o600 });
  }

  private write(force: boolean): void {
    const t = this.now();
    if (!force && t - this.lastWrite < this.minIntervalMs) return;
    this.lastWrite = t;
    this.snap.at = new Date(t).toISOString();
    writeFileAtomic(progressPath(this.stateDir, this.snap.id), `${JSON.stringify(this.snap)}\n`);
  }

  onEvent = (e: RunnerEvent): void => {
    const n = this.snap.stepCount;
    switch (e.type) {
      case 'step-start':
        this.snap = { ...this.snap, stepIndex: e.index, stepTitle: e.step.title, progress: null };
        this.log(`step ${e.index + 1}/${n} ${e.step.title}`);
        this.write(true);
        return;
      case 'progress':
        this.snap = { ...this.snap, stepIndex: e.index, progress: e.progress };
        this.write(e.progress.percent >= 100);
        return;
      case 'step-end':
        this.log(`step ${e.index + 1}/${n} done`);
        return;
      case 'step-failed':
        this.log(`step ${e.index + 1}/${n} failed: ${e.error.sentence} ${e.error.fix}`);
        return;
      case 'undo':
        this.snap = { ...this.snap, undoing: e.title };
        this.log(`undo: ${e.title}`);
        this.write(true);
        return;
      case 'undo-end':
        this.log(`undo ${e.ok ? 'done' : 'FAILED'}: ${e.title}`);
        return;
      case 'log':
        this.log(e.line);
        return;
    }
  };

  finish(state: JobState, error?: string): void {
    this.snap = { ...this.snap, undoing: null, final: state };
    this.log(`job ${state}${error ? `: ${error}` : ''}`);
    this.write(true);
  }
}

/** Pure: a progress snapshot, or null when the text is not one. */
export function parseProgress(text: string): ProgressSnapshot | null {
  return parseStateJson(progressSchema, text);
}

/** A snapshot another user could have written is refused (throws); a missing or damaged one is null. */
export function readProgress(stateDir: string, id: string): ProgressSnapshot | null {
  const text = readTrustedFile(progressPath(stateDir, id), 'progress file');
  return text === null ? null : parseProgress(text);
}

/** The last `lines` lines of a job's log ([] when it has none yet). */
export function readLogTail(stateDir: string, id: string, lines = 200): string[] {
  let text = '';
  try {
    text = readTrustedFile(logPath(stateDir, id), 'job log') ?? '';
  } catch (e) {
    if (e instanceof UserError) throw e;
    return [];
  }
  const all = text.replace(/\n$/, '').split('\n');
  return text === '' ? [] : all.slice(-lines);
}

/** Calls back with text appended to a file after `from` bytes, until the signal aborts. */
export function followFile(path: string, from: number, onText: (text: string) => void, signal: AbortSignal, pollMs = 300): Promise<void> {
  let offset = from;
  return new Promise((resolve) => {
    const tick = () => {
      try {
        const size = statSync(path).size;
        if (size < offset) offset = 0; // truncated or replaced
        if (size > offset) {
          const fd = openSync(path, 'r');
          try {
            const buf = Buffer.alloc(size - offset);
            readSync(fd, buf, 0, buf.length, offset);
            offset = size;
            onText(buf.toString('utf8'));
          } finally {
            closeSync(fd);
          }
        }
      } catch {
        // not there yet
      }
    };
    const timer = setInterval(tick, pollMs);
    tick();
    signal.addEventListener(
      'abort',
      () => {
        clearInterval(timer);
        tick();
        resolve();
      },
      { once: true },
    );
  });
}

/** How a job looks to an admin: a journal that says running but whose process is gone is interrupted. */
export type JobView = Exclude<JobState, 'running'> | 'running' | 'interrupted';

export interface JobSummary {
  id: string;
  kind: string;
  title: string;
  uri: string;
  state: JobView;
  pid: number;
  hostname: string;
  createdAt: string;
  updatedAt: string;
  /** 0-based index of the current (or last reached) step. */
  stepIndex: number;
  stepCount: number;
  stepTitle: string;
  progress: Progress | null;
  undoing: string | null;
  error?: string;
  guests: string[];
  images: string[];
}

/** Pure: one journal and its snapshot seen as a row. `alive` says whether its process still runs here. */
export function summarizeJob(rec: JournalRecord, snap: ProgressSnapshot | null, alive: boolean, here: string): JobSummary {
  const interrupted = rec.state === 'running' && (rec.hostname !== here || !alive);
  const firstOpen = rec.steps.findIndex((s) => s.state === 'running' || s.state === 'pending' || s.state === 'failed');
  const lastDone = rec.steps.reduce((acc, s, i) => (s.state === 'done' ? i : acc), -1);
  // Once ended, the step it stopped at is the last one that started: the undo turns a cancelled step's
  // "failed" into "undone", and the first open step would then be the one after it.
  const lastStarted = rec.steps.reduce((acc, s, i) => (s.state !== 'pending' ? i : acc), -1);
  const fromJournal = rec.state !== 'running' ? Math.max(lastStarted, 0) : firstOpen === -1 ? Math.max(lastDone, 0) : firstOpen;
  // The snapshot is fresher while the job runs; the journal is the truth once it has ended.
  const stepIndex = rec.state === 'running' && snap && !interrupted ? snap.stepIndex : fromJournal;
  const running = rec.state === 'running' && !interrupted;
  return {
    id: rec.id,
    kind: rec.kind,
    title: rec.title,
    uri: rec.uri,
    state: interrupted ? 'interrupted' : rec.state,
    pid: rec.pid,
    hostname: rec.hostname,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    stepIndex,
    stepCount: rec.plan.steps.length,
    stepTitle: rec.plan.steps[stepIndex]?.title ?? '',
    progress: running && snap?.stepIndex === stepIndex ? snap.progress : null,
    undoing: running ? (snap?.undoing ?? null) : null,
    error: rec.error,
    guests: rec.plan.targets?.guests ?? [],
    images: rec.plan.targets?.images ?? [],
  };
}

export interface ListJobsOptions {
  hostname?: string;
  alive?: (pid: number) => boolean;
}

/** Every job of this state dir, newest first. */
export function listJobSummaries(stateDir: string, opts: ListJobsOptions = {}): JobSummary[] {
  const here = opts.hostname ?? osHostname();
  const alive = opts.alive ?? processAlive;
  return listJournals(stateDir)
    .map((j) => summarizeJob(j.record as JournalRecord, readProgress(stateDir, j.record.id), alive(j.record.pid), here))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
}

/**
 * When the jobs directory last changed, to the nanosecond (null: it does not exist). Every journal
 * and progress write is a rename into it, so an unchanged stamp means no job wrote anything: a
 * reader that only needs the list (the Jobs tab's badge) need not read every journal again.
 */
export function jobsDirStamp(stateDir: string): bigint | null {
  try {
    return statSync(jobsDir(stateDir), { bigint: true }).mtimeNs;
  } catch {
    return null;
  }
}

/** "12:03" today, "Mar 4 12:03" on another day. */
/** Pure: the details of one job — its steps with their states and the commands they run. */
/** A job's facts and steps; route: where its commands run (jobRoute.ts), so a remote job's show as `ssh … '…'`. */
export function jobDetailLines(rec: JournalRecord, s: JobSummary, route: PlanRoute | null = null): string[] {
  const lines = [
    `${rec.kind} · ${s.state} · pid ${rec.pid} on ${rec.hostname}`,
    `id ${rec.id}`,
    `host ${rec.uri}`,
    `started ${rec.createdAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
  ];
  if (s.guests.length || s.images.length) lines.push(`works on ${[...s.guests, ...s.images].join(', ')}`);
  if (rec.error) lines.push(`error: ${rec.error}`);
  lines.push('', 'Steps:');
  rec.plan.steps.forEach((step, i) => {
    const st = rec.steps[i];
    lines.push(`${String(i + 1).padStart(2)}. [${st?.state ?? 'pending'}] ${step.title}`);
    if (step.command) lines.push(`      $ ${commandLine(step.command, route)}`);
    if (step.undo) lines.push(`      undo: ${step.undo.title}`);
    if (st?.error) lines.push(`      ${st.error}`);
  });
  if (s.state === 'interrupted') lines.push('', 'f finishes it, R rolls it back (both in a worker that survives this console).');
  return lines;
}
