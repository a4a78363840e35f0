/**
 * The durable record of a job: written before and after every step, atomically (temp file, fsync,
 * rename), so whatever kills virtdeck — a dropped SSH session, kill -9, a power cut — the next
 * start knows which steps finished, which one was running, and how to undo them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import type { Plan } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import { writeFileAtomic } from './atomicFile.js';
import { processAlive } from './processes.js';
import { journalSchema, parseStateJson } from './stateSchemas.js';

export type StepState = 'pending' | 'running' | 'done' | 'failed' | 'undone' | 'undo-failed';
export type JobState = 'running' | 'done' | 'failed' | 'cancelled' | 'rolled-back' | 'rollback-failed';

export interface StepRecord {
  state: StepState;
  startedAt?: string;
  endedAt?: string;
  error?: string;
}

export interface JournalRecord {
  id: string;
  kind: string;
  title: string;
  uri: string;
  pid: number;
  hostname: string;
  createdAt: string;
  updatedAt: string;
  state: JobState;
  plan: Plan;
  steps: StepRecord[];
  /** Job-specific values (source paths, chosen options) a resume needs. */
  params?: unknown;
  error?: string;
}

export function jobsDir(stateDir: string): string {
  return join(stateDir, 'jobs');
}

export class Journal {
  private constructor(
    readonly path: string,
    private rec: JournalRecord,
  ) {}

  static create(stateDir: string, init: { plan: Plan; uri: string; hostname: string; params?: unknown }): Journal {
    const dir = jobsDir(stateDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    assertTrustedJobsDir(stateDir);
    const now = new Date().toISOString();
    // Milliseconds in the id: journals are listed by name, and two jobs often start in one second.
    const id = `${now.replace(/[-:.]/g, '')}-${init.plan.kind}-${randomBytes(3).toString('hex')}`;
    const j = new Journal(join(dir, `${id}.json`), {
      id,
      kind: init.plan.kind,
      title: init.plan.title,
      uri: init.uri,
      pid: process.pid,
      hostname: init.hostname,
      createdAt: now,
      updatedAt: now,
      state: 'running',
      plan: init.plan,
      steps: init.plan.steps.map(() => ({ state: 'pending' })),
      params: init.params,
    });
    j.save();
    return j;
  }

  /** Refuses a journal that is not ours (see config/trust.ts) or not in the journal's shape. */
  static load(path: string): Journal {
    const text = readTrustedFile(path, 'journal');
    const rec = text === null ? null : parseJournal(text);
    if (!rec) throw new UserError(`${path} is not a virtdeck journal (missing, or not in the journal's format).`, 'Remove it if you did not make it; virtdeck will not act on it.');
    return new Journal(path, rec);
  }

  static fromRecord(path: string, rec: JournalRecord): Journal {
    return new Journal(path, rec);
  }

  get record(): Readonly<JournalRecord> {
    return this.rec;
  }

  /** Another virtdeck (this one after a restart) takes over an interrupted job. */
  adopt(): void {
    this.rec.pid = process.pid;
    this.rec.state = 'running';
    this.save();
  }

  step(index: number, state: StepState, error?: string): void {
    const s = this.rec.steps[index];
    if (!s) throw new Error(`journal ${this.rec.id} has no step ${index}`);
    const now = new Date().toISOString();
    if (state === 'running') s.startedAt = now;
    else s.endedAt = now;
    s.state = state;
    if (error !== undefined) s.error = error;
    this.save();
  }

  finish(state: Exclude<JobState, 'running'>, error?: string): void {
    this.rec.state = state;
    if (error !== undefined) this.rec.error = error;
    this.save();
  }

  private save(): void {
    this.rec.updatedAt = new Date().toISOString();
    writeFileAtomic(this.path, `${JSON.stringify(this.rec, null, 2)}\n`);
  }
}

/** Pure: a journal record, or null when the text is not one. */
export function parseJournal(text: string): JournalRecord | null {
  return parseStateJson(journalSchema, text) as JournalRecord | null;
}

/** The state dir and its jobs dir, refused (UserError) when another user owns or can write them. */
export function assertTrustedJobsDir(stateDir: string): void {
  assertTrustedDir(stateDir, 'state directory');
  assertTrustedDir(jobsDir(stateDir), 'jobs directory');
}

export function listJournals(stateDir: string): Journal[] {
  assertTrustedJobsDir(stateDir);
  let names: string[];
  try {
    names = readdirSync(jobsDir(stateDir));
  } catch {
    return [];
  }
  const out: Journal[] = [];
  // ID.progress.json beside each journal is its progress snapshot (jobs/jobStatus.ts), not a journal.
  for (const n of names.filter((x) => x.endsWith('.json') && !x.endsWith('.progress.json')).sort()) {
    // A file another user could have written is refused outright (it throws); one in the wrong
    // shape is skipped: a journal cut short by a crash cannot exist (writes are atomic), so it is
    // not ours to interpret.
    const path = join(jobsDir(stateDir), n);
    const text = readTrustedFile(path, 'journal');
    const rec = text === null ? null : parseJournal(text);
    if (rec) out.push(Journal.fromRecord(path, rec));
  }
  return out;
}

/** Jobs whose journal says running but whose process is gone: killed, or the host rebooted. */
export function interruptedJobs(stateDir: string, hostname: string): Journal[] {
  return listJournals(stateDir).filter(
    (j) => j.record.state === 'running' && (j.record.hostname !== hostname || !processAlive(j.record.pid)),
  );
}

/** Index of the first step not finished: where a resume starts (a step caught running is run again). */
export function resumePoint(rec: JournalRecord): number {
  const i = rec.steps.findIndex((s) => s.state !== 'done');
  return i === -1 ? rec.steps.length : i;
}
