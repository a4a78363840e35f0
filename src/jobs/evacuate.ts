/**
 * `host evacuate`: facts for every guest of the host, the review (model/evacuatePlan.ts), and the
 * evacuation job. Each guest's move is a journaled job of its own run by the evacuation's step
 * for that guest, so a killed evacuation leaves one guest at most half-moved, and finishing the
 * evacuation finishes that guest's move from its own journal before going on with the next.
 */
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { configHosts, resolveHost } from '../config/resolveHost.js';
import { HostError } from '../host/errors.js';
import { LocalExecutor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { info } from '../host/qemuImg.js';
import * as virsh from '../host/virsh.js';
import { EVACUATE_JOB_KIND, EVACUATE_MOVE_KIND, type EvacuateCandidate, type EvacuateOptions, type EvacuateOutcome, type EvacuateReview, type LeftFile, planEvacuation, reviewEvacuation } from '../model/evacuatePlan.js';
import type { DestRef } from '../model/migratePlan.js';
import type { Plan } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import { awayGuests, type EvacuationRecord, evacuatedGuest, evacuationsFrom, updateEvacuated } from './evacuationRecord.js';
import { interruptedJobs, type Journal, listJournals } from './journal.js';
import { destHost, gatherDestWide, gatherMigrateFacts, type MigrateDestination, migrateActions, migrateUriFor, stateOn } from './migrate.js';
import { assertRecoverablePlan } from './recoveryGuard.js';
import { type Action, type ActionContext, finishJob, type RunnerEvent, type RunResult, rollbackJob, runPlan, startedFinal } from './runner.js';

export interface PreparedEvacuation {
  review: EvacuateReview;
  plan: Plan | null;
  /** The record a return reads (null for an evacuation). */
  record: EvacuationRecord | null;
}

/** The host virtdeck is connected to, as a move's destination or a record's key. */
export function hostRef(host: HostContext): DestRef {
  const opts = resolveHost(host.uri, configHosts(), '--connect');
  const fromConfig = !(opts instanceof UserError) && Boolean(opts.fromConfig);
  return { uri: host.uri, name: fromConfig && !(opts instanceof UserError) ? (opts.name ?? host.name) : host.name, fromConfig };
}

/**
 * Where the away host's QEMU reaches this machine for a return home to a local URI: the address
 * this machine uses on its route to that host (the way back is the same link).
 */
export async function migrateUriHome(home: DestRef, away: DestRef): Promise<string> {
  if (/^[a-z0-9+]+:\/\/[^/]/i.test(home.uri)) return migrateUriFor(home.uri);
  const awayHost = /^[a-z0-9+]+:\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^/:?]+)/i.exec(away.uri)?.[1]?.replace(/^\[|\]$/g, '');
  if (!awayHost) throw new UserError(`${away.name} (${away.uri}) is this machine too, so there is nowhere to bring guests home from.`, 'Give --from the host the guests went to.');
  const { address } = await lookup(awayHost);
  const r = await new LocalExecutor().run(['ip', '-o', 'route', 'get', address]);
  const src = /\bsrc\s+(\S+)/.exec(r.stdout)?.[1];
  if (!src) throw new UserError(`This machine has no route to ${away.name} (${address}) to bring guests home over.`, `Check the network to ${away.name} (ip route get ${address}).`);
  return `tcp://${src.includes(':') ? `[${src}]` : src}`;
}

/** Guests whose facts are read at once: each waits mostly on the two hosts, not on this machine. */
const GATHER_AT_ONCE = 3;

async function candidatesOf(source: HostContext, dest: MigrateDestination, rows: virsh.GuestRow[], withFacts: (r: virsh.GuestRow) => boolean): Promise<EvacuateCandidate[]> {
  const destWide = await gatherDestWide(dest.host);
  const out: EvacuateCandidate[] = rows.map((r) => ({ name: r.name, uuid: r.uuid, state: r.state, facts: null }));
  const todo = out.filter((_c, i) => withFacts(rows[i] as virsh.GuestRow));
  const worker = async () => {
    for (let c = todo.shift(); c; c = todo.shift()) c.facts = await gatherMigrateFacts(source, dest, c.name, { rows, destWide });
  };
  await Promise.all(Array.from({ length: GATHER_AT_ONCE }, worker));
  return out;
}

/** The review and plan of emptying `source` onto `dest`; changes nothing. */
export async function prepareEvacuation(source: HostContext, dest: MigrateDestination, o: Omit<EvacuateOptions, 'migrateUri'> & { migrateUri?: string }): Promise<PreparedEvacuation> {
  const options: EvacuateOptions = { ...o, migrateUri: o.migrateUri ?? migrateUriFor(dest.ref.uri) };
  const rows = await virsh.listGuests(source);
  const candidates = await candidatesOf(source, dest, rows, (r) => r.state !== 'shut off' || Boolean(o.includeShutOff));
  const home = hostRef(source);
  const review = reviewEvacuation(home.name, dest.ref, candidates, options);
  return { review, plan: review.moving.length > 0 ? planEvacuation(review, { home, away: dest.ref, returning: false }) : null, record: null };
}

/** The record of guests that left `home`: the one for `from` when given, else the only one with guests away. */
export function pickRecord(stateDir: string, home: HostContext, from?: { uri: string; name: string }): EvacuationRecord {
  const records = evacuationsFrom(stateDir, home.uri).filter((r) => awayGuests(r).length > 0);
  const chosen = from ? records.filter((r) => r.to.uri === from.uri) : records;
  if (chosen.length === 0) {
    throw new UserError(
      from ? `No evacuation of ${home.name} to ${from.name} has guests away.` : `No evacuation of ${home.name} has guests away.`,
      'Run `virtdeck host evacuate --to HOST` first; guests moved one by one with `guest migrate` come back the same way.',
    );
  }
  if (chosen.length > 1) throw new UserError(`Guests of ${home.name} are away on ${chosen.length} hosts (${chosen.map((r) => r.to.name).join(', ')}).`, `Name one: --from ${chosen[0]?.to.name}.`);
  return chosen[0] as EvacuationRecord;
}

/**
 * The review and plan of bringing home what an evacuation moved: only guests the record has away
 * that are still on that host (found by UUID: a rename there does not lose them).
 */
export async function prepareReturn(home: HostContext, stateDir: string, from: { uri: string; name: string } | undefined, o: { copyStorage?: boolean | 'auto'; bandwidthMiB?: number; removeSourceDisks?: boolean; migrateUri?: string }): Promise<PreparedEvacuation> {
  const record = pickRecord(stateDir, home, from);
  const awayRef = record.to;
  const away = destHost(awayRef);
  const homeRef = hostRef(home);
  const there = await virsh.listGuests(away);
  const recorded = awayGuests(record);
  const rows = there.filter((g) => recorded.some((r) => r.uuid === g.uuid));
  const homeDest: MigrateDestination = { ref: homeRef, host: home };
  const candidates = await candidatesOf(away, homeDest, rows, () => true);
  for (const c of candidates) {
    const left = recorded.find((r) => r.uuid === c.uuid)?.leftFiles ?? [];
    if (!c.facts || left.length === 0) continue;
    // The copies the evacuation left at home are in the way of the copy back: they are set aside
    // by the move (and checked to still be what was left) instead of refusing the guest.
    const stale = left.filter((f) => c.facts?.dest.existing.includes(f.path));
    c.setAside = stale;
    c.facts = { ...c.facts, dest: { ...c.facts.dest, existing: c.facts.dest.existing.filter((p) => !stale.some((f) => f.path === p)) } };
  }
  // A move that deleted what it left behind recorded no files: whether to copy is then the marker's answer.
  const copyStorage = o.copyStorage ?? (recorded.some((g) => g.leftFiles.length > 0) ? true : 'auto');
  const migrateUri = o.migrateUri ?? (await migrateUriHome(homeRef, awayRef));
  const review = reviewEvacuation(awayRef.name, homeRef, candidates, { includeShutOff: true, copyStorage, bandwidthMiB: o.bandwidthMiB, removeSourceDisks: o.removeSourceDisks, migrateUri });
  return { review, plan: review.moving.length > 0 ? planEvacuation(review, { home: record.home, away: awayRef, returning: true }) : null, record };
}

// ---- actions -------------------------------------------------------------------------------

interface MoveFile {
  from: string;
  to: string;
  format: string;
  virtualSize: number;
}

const exists = async (host: HostContext, path: string) => (await host.sysExec.run(['test', '-e', path], { okExitCodes: [1] })).exitCode === 0;

async function setAside(a: { dest: DestRef; moves: MoveFile[] }): Promise<void> {
  const dest = destHost(a.dest);
  for (const m of a.moves) {
    if (!(await exists(dest, m.from))) continue; // set aside by an interrupted run
    const i = await info(dest.sysExec, m.from, { forceShare: true });
    if (i.format !== m.format || i.virtualSize !== m.virtualSize) {
      throw new UserError(`${m.from} on ${a.dest.name} is no longer the copy the evacuation left there (${i.format}, ${i.virtualSize} bytes).`, 'Move it away there yourself if it is not needed, then bring the guest home again.');
    }
    await dest.sysExec.run(['mv', '-n', '-T', '--', m.from, m.to]);
    if (await exists(dest, m.from)) throw new UserError(`${m.to} already exists on ${a.dest.name}, so ${m.from} was not set aside.`, `Remove ${m.to} there if it is an old leftover, then bring the guest home again.`);
  }
}

async function putBack(a: { dest: DestRef; moves: MoveFile[] }): Promise<void> {
  const dest = destHost(a.dest);
  for (const m of a.moves) {
    if ((await exists(dest, m.to)) && !(await exists(dest, m.from))) await dest.sysExec.run(['mv', '-n', '-T', '--', m.to, m.from]);
  }
}

/** The actions of one guest's move: the migration's, and the set-aside of a return. */
export function moveActions(host: HostContext): Record<string, Action> {
  return {
    ...migrateActions(host),
    'evacuate.setAside': (args) => setAside(args as Parameters<typeof setAside>[0]),
    'evacuate.putBack': (args) => putBack(args as Parameters<typeof putBack>[0]),
    'evacuate.dropAside': async (args) => {
      const a = args as { dest: DestRef; paths: string[] };
      // Only the names setAside gives: a journal cannot make this remove anything else.
      const paths = a.paths.filter((p) => /\/\.[^/]+\.virtdeck-before-return$/.test(p));
      if (paths.length > 0) await destHost(a.dest).sysExec.run(['rm', '-f', '--', ...paths]);
    },
  };
}

interface GuestArgs {
  guest: string;
  uuid: string;
  plan: Plan;
  /** The record's key: the home host and the host guests went to. */
  home: { uri: string; name: string };
  away: DestRef;
  /** Where this move takes the guest. */
  dest: DestRef;
  returning: boolean;
  mode: 'live' | 'offline';
  leftFiles: LeftFile[];
}

/** The journal of this guest's move that a killed virtdeck left running, if any. */
function interruptedMove(stateDir: string, host: HostContext, guest: string): Journal | undefined {
  return interruptedJobs(stateDir, hostname()).find((j) => j.record.kind === EVACUATE_MOVE_KIND && j.record.uri === host.uri && j.record.plan.targets.guests.includes(guest));
}

function forward(ctx: ActionContext, guest: string, total: number): (e: RunnerEvent) => void {
  return (e) => {
    if (e.type === 'progress') ctx.progress(e.progress.percent / 100, e.progress.bytesTotal, e.progress.parts);
    else if (e.type === 'step-start') ctx.log(`${guest} ${e.index + 1}/${total}: ${e.step.title}`);
    else if (e.type === 'log') ctx.log(`${guest}: ${e.line}`);
    else if (e.type === 'undo') ctx.log(`${guest} undo: ${e.title}`);
  };
}

function cancelled(guest: string, host: string): HostError {
  return new HostError({ sentence: `The evacuation was cancelled at ${guest}, which stays on ${host}.`, fix: 'Run the evacuation again to move the guests that are left.', command: [], stderr: '', code: 'cancelled' });
}

async function moveGuest(host: HostContext, a: GuestArgs, ctx: ActionContext): Promise<void> {
  const dir = defaultStateDir();
  const key = { home: a.home, to: a.away };
  const entry = (state: 'moving' | 'moved' | 'failed' | 'returned', sentence?: string) => {
    if (a.returning) {
      const old = evacuatedGuest(dir, a.home.uri, a.away.uri, a.uuid);
      if (old && state === 'moved') updateEvacuated(dir, key, { ...old, state: 'returned' });
    } else updateEvacuated(dir, key, { name: a.guest, uuid: a.uuid, mode: a.mode, state, leftFiles: a.leftFiles, ...(sentence ? { sentence } : {}) });
  };
  // The move runs from the host the guest is on: this one when evacuating, the away host on a return.
  const source = a.returning ? destHost(a.away) : host;
  const actions = moveActions(source);
  const onEvent = forward(ctx, a.guest, a.plan.steps.length);
  let run: RunResult;
  const left = interruptedMove(dir, source, a.guest);
  if (left) {
    ctx.log(`${a.guest}: finishing its interrupted move (job ${left.record.id})`);
    assertRecoverablePlan(left.record, Object.keys(actions));
    run = await finishJob(left, { host: source, stateDir: dir, signal: ctx.signal, onEvent, actions });
  } else {
    const dest = destHost(a.dest);
    const [there, here] = await Promise.all([stateOn(dest, a.uuid), stateOn(source, a.uuid)]);
    if (there !== null && here === null) {
      ctx.log(`${a.guest} is already on ${a.dest.name}`);
      entry('moved');
      return;
    }
    assertRecoverablePlan({ id: `${a.guest}'s move`, kind: a.plan.kind, plan: a.plan }, Object.keys(actions));
    if (!a.returning) entry('moving');
    run = await runPlan(a.plan, { host: source, stateDir: dir, signal: ctx.signal, onEvent, actions });
  }
  const sentence = run.error?.sentence ?? `its move ended ${run.state}`;
  // Past its final step (deleting what it left behind) the guest has moved, whatever that step did.
  if (run.state === 'done' || startedFinal(run.journal.record)) {
    entry('moved');
    ctx.log(run.state === 'done' ? `${a.guest}: moved` : `${a.guest}: moved, but ${sentence}`);
    return;
  }
  if (!a.returning) entry('failed', sentence);
  if (ctx.signal.aborted || run.state === 'cancelled') throw cancelled(a.guest, source.name);
  ctx.log(`${a.guest}: not moved: ${sentence}`);
  if (run.state === 'rollback-failed') {
    // What it did could not all be undone: going on would pile another half-move on top.
    throw new HostError({ sentence: `${a.guest}'s move failed and could not be undone completely: ${sentence}`, fix: `Look at its journal (${run.journal.path}) and finish or roll it back with virtdeck recover.`, command: [], stderr: '' });
  }
}

export function evacuateActions(host: HostContext): Record<string, Action> {
  return {
    'evacuate.guest': (args, ctx) => moveGuest(host, args as GuestArgs, ctx),
    'evacuate.undoGuest': async (args) => {
      const a = args as { guest: string; away: DestRef; returning: boolean };
      const dir = defaultStateDir();
      const source = a.returning ? destHost(a.away) : host;
      const left = interruptedMove(dir, source, a.guest);
      if (!left) return;
      const actions = moveActions(source);
      assertRecoverablePlan(left.record, Object.keys(actions));
      await rollbackJob(left, { host: source, stateDir: dir, actions });
    },
  };
}

export async function runEvacuation(host: HostContext, plan: Plan, o: { stateDir: string; signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void }): Promise<RunResult> {
  if (plan.kind !== EVACUATE_JOB_KIND) throw new Error(`not an evacuation plan: ${plan.kind}`);
  // A cancel ends the evacuation where it is: the guest being moved rolled its own move back.
  return runPlan(plan, { host, stateDir: o.stateDir, signal: o.signal, onEvent: o.onEvent, actions: evacuateActions(host), rollbackOnFailure: false });
}

/** The outcome of each guest of a review after its job ran: from the moves' journals and the record. */
export function evacuationOutcomes(review: EvacuateReview, run: RunResult | null, stateDir: string): EvacuateOutcome[] {
  const journals = listJournals(stateDir).filter((j) => j.record.kind === EVACUATE_MOVE_KIND && (run ? j.record.createdAt >= run.journal.record.createdAt : false));
  return review.entries.map((e) => {
    if (e.mode === 'skip') return { guest: e.guest, result: 'skipped', sentence: e.refusal?.sentence ?? e.why };
    const i = review.moving.indexOf(e);
    const step = run?.journal.record.steps[i];
    const mine = journals.filter((j) => j.record.plan.targets.guests.includes(e.guest)).at(-1);
    if (!step || step.state === 'pending') return { guest: e.guest, result: 'not started' };
    if (mine && mine.record.state === 'done') return { guest: e.guest, result: 'moved' };
    if (mine && startedFinal(mine.record)) return { guest: e.guest, result: 'moved', ...(mine.record.error ? { sentence: mine.record.error } : {}) };
    if (step.state === 'done' && !mine) return { guest: e.guest, result: 'moved' };
    const sentence = mine?.record.error ?? step.error;
    return { guest: e.guest, result: mine?.record.state === 'cancelled' || run?.state === 'cancelled' ? 'cancelled' : 'failed', ...(sentence ? { sentence } : {}) };
  });
}
