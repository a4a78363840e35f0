/**
 * Start-up recovery: what an earlier virtdeck left half-done, explained in plain words, with the
 * choices it offers. Two sources: journals still marked running whose process is gone (any job
 * kind: convert, expand, backup, snapshot…), and guests whose disks point at a backup overlay
 * (a backup killed between its snapshot and its commit). The console asks at start; `virtdeck
 * recover` is the headless twin.
 */
import { hostname } from 'node:os';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { HostContext } from '../host/hostContext.js';
import { type GuestRow, listGuests } from '../host/virsh.js';
import { isOverlayPath } from '../model/backupPlan.js';
import { isActive } from '../model/guest.js';
import type { PlanStep } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import { commitOverlay } from './backup.js';
import { interruptedJobs, type Journal, type JournalRecord, listJournals, resumePoint, type StepState } from './journal.js';
import { assertRecoverablePlan } from './recoveryGuard.js';
import { journalHost, recoveryScope, type ScopedJob } from './recoveryScope.js';
import { finishJob, type RunnerEvent, type RunResult, rollbackJob, startedFinal } from './runner.js';

export interface JobRecoveryItem {
  kind: 'job';
  /** Journal id; `recover --finish ID`. */
  id: string;
  title: string;
  /** Plain sentences: what happened, what state things are in. */
  explanation: string[];
  finish: string;
  /** null: the job had started a step that cannot be undone around (PlanStep.final); it can only be finished. */
  rollback: string | null;
  /** Guests the job changes (an overlay of one of them belongs to this job). */
  guests: string[];
}

export interface OverlayRecoveryItem {
  kind: 'overlay';
  /** guest:target; `recover --finish ID`. */
  id: string;
  title: string;
  explanation: string[];
  finish: string;
  /** Overlays have no roll back: the writes since the snapshot live only in the overlay. */
  rollback: null;
  guest: string;
  target: string;
  overlay: string;
  running: boolean;
}

export type RecoveryItem = JobRecoveryItem | OverlayRecoveryItem;

function stepRange(from: number, to: number): string {
  return from === to ? `step ${from}` : `steps ${from}–${to}`;
}

/** The runner's rule: finished steps are undone, an interrupted one only when its undo is safe on a partial result. */
function willUndo(step: PlanStep, state: StepState | undefined): boolean {
  if (!step.undo) return false;
  return state === 'done' || ((state === 'running' || state === 'failed') && Boolean(step.undo.partial));
}

/** Pure: the words for one interrupted journal. */
export function describeInterruptedJob(rec: JournalRecord): JobRecoveryItem {
  const steps = rec.plan.steps;
  const total = steps.length;
  const at = resumePoint(rec);
  const current = steps[at];
  const running = rec.steps[at]?.state === 'running';
  const when = new Date(rec.updatedAt);
  const where =
    at >= total
      ? `after its last step (${total} of ${total}), before it recorded that it was done`
      : `${running ? 'during' : 'before'} step ${at + 1} of ${total}: ${current?.title ?? '?'}`;
  const explanation = [`virtdeck (pid ${rec.pid} on ${rec.hostname}) was stopped while running "${rec.title}", ${where}.`];
  const doneCount = rec.steps.filter((s) => s.state === 'done').length;
  if (doneCount > 0) explanation.push(`${stepRange(1, doneCount)} finished.`);
  const started = steps.slice(0, Math.min(at + 1, total)).filter((_, i) => ['done', 'running', 'failed'].includes(rec.steps[i]?.state ?? ''));
  const lasting = started.filter((s) => !s.undo);
  if (started.length > 0 && lasting.length === 0) explanation.push('Everything it did so far can be undone.');
  else if (lasting.length > 0) explanation.push(`Not undoable: ${lasting.map((s) => s.title).join('; ')}.`);
  explanation.push(`Last recorded at ${when.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}.`);
  const finish = at >= total ? 'Finish: nothing is left to run; mark the job done.' : `Finish: run ${stepRange(at + 1, total)} again${running ? ' (the interrupted step starts over)' : ''}.`;
  const undos = steps
    .slice(0, Math.min(at + 1, total))
    .map((s, i) => ({ s, i }))
    .filter(({ s, i }) => willUndo(s, rec.steps[i]?.state))
    .reverse()
    .map(({ s }) => s.undo?.title as string);
  const final = startedFinal(rec);
  if (final) explanation.splice(explanation.length - 1, 0, `It had started to ${final.title}, so it can only be finished.`);
  const rollback = final ? null : undos.length > 0 ? `Roll back: ${undos.join('; ')}.` : 'Roll back: nothing to undo; the job is marked rolled back.';
  return { kind: 'job', id: rec.id, title: rec.title, explanation, finish, rollback, guests: rec.plan.targets.guests };
}

/**
 * Pure: the words for an interrupted job as seen from the host `uri`: the job's own, what became
 * of each guest's move it was running, and where it runs when that is another host.
 */
export function describeScopedJob(job: { journal: { record: JournalRecord }; moves: { record: JournalRecord }[] }, uri: string): JobRecoveryItem {
  const rec = job.journal.record;
  const item = describeInterruptedJob(rec);
  const lines = [...item.explanation];
  for (const m of job.moves) {
    const at = resumePoint(m.record);
    const total = m.record.plan.steps.length;
    const where = at >= total ? 'after its last step' : `${m.record.steps[at]?.state === 'running' ? 'during' : 'before'} step ${at + 1} of ${total}: ${m.record.plan.steps[at]?.title ?? '?'}`;
    const guest = m.record.plan.targets.guests.join(', ');
    lines.splice(lines.length - 1, 0, `${guest}'s move (job ${m.record.id}) stopped ${where}; finishing this job finishes that move, rolling it back undoes it.`);
  }
  if (rec.uri !== uri) lines.splice(lines.length - 1, 0, `It runs against ${rec.uri}: finishing or rolling it back from here works there.`);
  // A move past its final step (deleting what it left) cannot be undone, so neither can the job around it.
  const past = job.moves.map((m) => ({ m, step: startedFinal(m.record) })).find((x) => x.step);
  if (past) lines.splice(lines.length - 1, 0, `${past.m.record.plan.targets.guests.join(', ')}'s move had started to ${past.step?.title}, so this job can only be finished.`);
  const rollback = past ? null : item.rollback;
  return { ...item, explanation: lines, rollback, guests: [...new Set([...item.guests, ...job.moves.flatMap((m) => m.record.plan.targets.guests)])] };
}

/** Pure: guests left on a backup overlay; an overlay of a guest an interrupted job owns is that job's. */
export function overlayItems(guests: GuestRow[], jobs: JobRecoveryItem[] = []): OverlayRecoveryItem[] {
  const owned = new Set(jobs.flatMap((j) => j.guests));
  return guests.flatMap((g) =>
    g.disks
      .filter((d) => isOverlayPath(d.source) && !owned.has(g.name))
      .map((d) => {
        const running = isActive(g.state);
        const overlay = d.source as string;
        return {
          kind: 'overlay' as const,
          id: `${g.name}:${d.target}`,
          title: `${g.name} ${d.target} is still on a backup overlay`,
          explanation: [
            `A backup of ${g.name} was interrupted after it moved ${d.target}'s writes to the overlay ${overlay}, before merging them back.`,
            `The original image is intact but out of date: everything ${g.name} wrote since then is in the overlay.`,
          ],
          finish: running
            ? `Finish: merge the overlay back while ${g.name} runs (virsh blockcommit --active --pivot) and delete it.`
            : `Finish: merge the overlay into the original (qemu-img commit), point ${g.name} back at it, and delete the overlay.`,
          rollback: null,
          guest: g.name,
          target: d.target,
          overlay,
          running,
        };
      }),
  );
}

export interface RecoveryOptions {
  stateDir?: string;
  /** The guest list when the caller has one (the console does); read otherwise. */
  guests?: GuestRow[];
}

/** Everything left half-done, jobs first. */
export async function detectRecovery(host: HostContext, opts: RecoveryOptions = {}): Promise<RecoveryItem[]> {
  const dir = opts.stateDir ?? defaultStateDir();
  const scoped: ScopedJob[] = recoveryScope(interruptedJobs(dir, hostname()), host.uri);
  const jobs = scoped.map((j) => describeScopedJob(j, host.uri));
  const guests = opts.guests ?? (await listGuests(host));
  // Only this host's own jobs own its guests' overlays: a guest of the same name elsewhere does not.
  const own = jobs.filter((_j, i) => scoped[i]?.journal.record.uri === host.uri);
  return [...jobs, ...overlayItems(guests, own)];
}

function journalById(dir: string, id: string): Journal | undefined {
  return listJournals(dir).find((j) => j.record.id === id);
}

export interface ResolveOptions {
  stateDir?: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
}

export interface ResolveResult {
  id: string;
  /** done, rolled-back, failed, rollback-failed, committed… */
  state: string;
  message: string;
  run?: RunResult;
}

async function resolveJob(host: HostContext, id: string, how: 'finish' | 'rollback', opts: ResolveOptions): Promise<ResolveResult> {
  const dir = opts.stateDir ?? defaultStateDir();
  const journal = journalById(dir, id);
  if (!journal) throw new UserError(`There is no journal ${id} in ${dir}.`, 'List the interrupted jobs with virtdeck recover --list.');
  // The registry imports every job kind's code: loaded when a job is resolved, not with the console.
  const { actionsFor } = await import('./registry.js');
  // A job journaled against the other end of a move (recovered from this one) runs where it ran.
  const jobHost = journalHost(journal.record, host);
  const runOpts = { host: jobHost, stateDir: dir, signal: opts.signal, onEvent: opts.onEvent, actions: actionsFor(journal.record.kind, jobHost) };
  assertRecoverablePlan(journal.record, Object.keys(runOpts.actions));
  const run = how === 'finish' ? await finishJob(journal, runOpts) : await rollbackJob(journal, runOpts);
  const ok = run.state === (how === 'finish' ? 'done' : 'rolled-back');
  const message = ok
    ? how === 'finish'
      ? `Finished "${journal.record.title}".`
      : `Rolled back "${journal.record.title}".`
    : `"${journal.record.title}" ended ${run.state}${run.error ? `: ${run.error.sentence}` : ''}${journal.record.error && !run.error ? `: ${journal.record.error}` : ''}.`;
  return { id, state: run.state, message, run };
}

/** Carries out the admin's choice for one item. Overlays can only be finished (merged back). */
export async function resolveRecovery(host: HostContext, item: RecoveryItem, how: 'finish' | 'rollback', opts: ResolveOptions = {}): Promise<ResolveResult> {
  if (item.kind === 'job') return resolveJob(host, item.id, how, opts);
  if (how === 'rollback') {
    return { id: item.id, state: 'left', message: `An overlay cannot be rolled back without losing what ${item.guest} wrote since; it was left as it is.` };
  }
  const outcome = await commitOverlay(host, item.guest, item.target, item.overlay);
  const message =
    outcome === 'not-on-overlay'
      ? `${item.guest} ${item.target} was no longer on the overlay; nothing to merge.`
      : `Merged ${item.overlay} back into ${item.guest}'s original image and deleted it.`;
  return { id: item.id, state: outcome, message };
}
