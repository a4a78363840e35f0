/**
 * Emptying a host for maintenance: every running guest moves live and, when asked, every shut-off
 * one offline, one at a time, each through the same checks and plan as `guest migrate`. A guest
 * that fails its checks is in the review with the check's sentence and is skipped; the others still
 * move. The checks of each guest count what the guests before it will take on the destination
 * (memory of the live ones, bytes of the copies), so the tenth guest is not promised room the
 * first nine already used.
 *
 * Each guest's move is its own plan (kind EVACUATE_MOVE_KIND), run as its own journaled job by the
 * evacuation's step for that guest: a kill -9 leaves at most one guest half-moved, and that guest's
 * journal knows how to finish or undo its move.
 */
import type { GuestState } from './guest.js';
import { type DestRef, type MigrateFacts, type MigrateOptions, type MigrateReview, planMigration, reviewMigration } from './migratePlan.js';
import type { Plan, PlanStep } from './plan.js';
import { formatBytes } from './units.js';
import type { UserError } from './userError.js';

export const EVACUATE_JOB_KIND = 'evacuate';
/** One guest's move inside an evacuation or a return: a migration plan, plus setting stale copies aside on a return. */
export const EVACUATE_MOVE_KIND = 'evacuate-move';

export interface EvacuateOptions {
  includeShutOff?: boolean;
  /** auto: copy each guest's disks when the destination does not share them (the console's default). */
  copyStorage?: boolean | 'auto';
  bandwidthMiB?: number;
  /** Delete each copied guest's disk files on the host it left, once it is checked on the other. */
  removeSourceDisks?: boolean;
  migrateUri: string;
}

/** Where a guest goes back to on a return, and the stale disk files the evacuation left there. */
export interface LeftFile {
  path: string;
  format: string;
  virtualSize: number;
}

export interface EvacuateCandidate {
  name: string;
  uuid: string;
  state: GuestState;
  /** Facts of a guest the evacuation considers; null for a shut-off guest left out (no --include-shut-off). */
  facts: MigrateFacts | null;
  /** Return only: stale copies at home that the move sets aside before copying the disks back. */
  setAside?: LeftFile[];
}

export interface EvacuateEntry {
  guest: string;
  uuid: string;
  mode: 'live' | 'offline' | 'skip';
  /** Why, in a few words: "live, copying 16 MiB", or the refusal's sentence. */
  why: string;
  refusal?: UserError;
  review: MigrateReview | null;
  plan: Plan | null;
  /** Stale copies at home this move sets aside (a return). */
  setAside: LeftFile[];
}

export interface EvacuateReview {
  from: string;
  to: DestRef;
  entries: EvacuateEntry[];
  moving: EvacuateEntry[];
  /** Running guests that stay on the host: the host is not empty after the evacuation. */
  runningLeft: string[];
}

const ACTIVE: GuestState[] = ['running', 'idle', 'paused', 'in shutdown', 'pmsuspended'];

/** Pure: the destination as it will be when the guests before this one have moved there. */
function afterEarlier(f: MigrateFacts, memoryKiB: number, copiedBytes: number): MigrateFacts {
  // Which disks share a filesystem on the destination is not known here: every free figure is
  // lowered by everything copied before, which can only refuse too early, never too late.
  const availBytes = Object.fromEntries(Object.entries(f.dest.availBytes).map(([k, v]) => [k, v === null ? null : Math.max(0, v - copiedBytes)]));
  return { ...f, dest: { ...f.dest, availableMemoryKiB: Math.max(0, f.dest.availableMemoryKiB - memoryKiB), availBytes } };
}

/** Pure: running guests first (they matter for the maintenance), then shut-off ones, each in name order. */
export function evacuationOrder<T extends { name: string; state: GuestState }>(guests: T[]): T[] {
  const rank = (g: T) => (ACTIVE.includes(g.state) ? 0 : 1);
  return [...guests].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** Pure: the review of an evacuation (or a return): each guest live, offline or skipped, and why. */
export function reviewEvacuation(from: string, to: DestRef, candidates: EvacuateCandidate[], o: EvacuateOptions): EvacuateReview {
  let memoryKiB = 0;
  let copiedBytes = 0;
  const entries: EvacuateEntry[] = [];
  for (const c of evacuationOrder(candidates)) {
    const base = { guest: c.name, uuid: c.uuid, setAside: c.setAside ?? [] };
    if (!c.facts) {
      entries.push({ ...base, mode: 'skip', why: `${c.state}; left here (--include-shut-off moves it offline)`, review: null, plan: null });
      continue;
    }
    const copyStorage = o.copyStorage === 'auto' ? c.facts.guest.disks.length > 0 && !c.facts.dest.sharedStorage : o.copyStorage;
    const mo: MigrateOptions = { copyStorage, bandwidthMiB: o.bandwidthMiB, migrateUri: o.migrateUri, ...(o.removeSourceDisks ? { removeSourceDisks: true } : {}) };
    const facts = afterEarlier(c.facts, memoryKiB, copiedBytes);
    const review = reviewMigration(facts, mo);
    const refusal = review.refusals[0];
    if (refusal) {
      entries.push({ ...base, mode: 'skip', why: refusal.sentence, refusal, review, plan: null });
      continue;
    }
    const bytes = review.copy ? facts.guest.disks.reduce((n, d) => n + d.fileBytes, 0) : 0;
    if (review.live) memoryKiB += facts.guest.memoryKiB;
    copiedBytes += bytes;
    const plan = movePlan(planMigration(facts, mo, review), c.setAside ?? [], to);
    const how = review.live ? 'live' : 'offline';
    entries.push({ ...base, mode: how, why: `${how}${review.copy ? `, copying ${formatBytes(bytes)}` : ', shared storage'}`, review, plan });
  }
  const moving = entries.filter((e) => e.mode !== 'skip');
  const runningLeft = entries.filter((e) => e.mode === 'skip' && ACTIVE.includes(candidates.find((c) => c.uuid === e.uuid)?.state ?? 'shut off')).map((e) => e.guest);
  return { from, to, entries, moving, runningLeft };
}

/** Where a stale copy waits during a return, beside its path, until the guest runs at home again. */
export function asidePath(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.virtdeck-before-return`;
}

/**
 * Pure: a migration plan as one guest's move of an evacuation. On a return whose disks are copied
 * home, the copies the evacuation left at home are out of date: they are renamed aside first (the
 * copy needs their paths) and removed only once the guest is verified at home.
 */
export function movePlan(migration: Plan, setAside: LeftFile[], to: DestRef): Plan {
  if (setAside.length === 0) return { ...migration, kind: EVACUATE_MOVE_KIND };
  const moves = setAside.map((f) => ({ from: f.path, to: asidePath(f.path), format: f.format, virtualSize: f.virtualSize }));
  const first: PlanStep = {
    id: 'set-aside',
    title: `rename the out-of-date copies on ${to.name} aside: ${moves.map((m) => m.to).join(', ')}`,
    action: { name: 'evacuate.setAside', args: { dest: to, moves } },
    script: moves.map((m) => ({ runsOn: 'sys', argv: ['mv', '-n', '-T', '--', m.from, m.to] })),
    undo: { title: `put the out-of-date copies on ${to.name} back`, action: { name: 'evacuate.putBack', args: { dest: to, moves } }, partial: true },
  };
  const last: PlanStep = {
    id: 'drop-aside',
    title: `delete the out-of-date copies on ${to.name} (the guest runs from the fresh ones)`,
    action: { name: 'evacuate.dropAside', args: { dest: to, paths: moves.map((m) => m.to) } },
    script: [{ runsOn: 'sys', argv: ['rm', '-f', '--', ...moves.map((m) => m.to)] }],
  };
  return { ...migration, kind: EVACUATE_MOVE_KIND, steps: [first, ...migration.steps, last] };
}

/** Pure: the evacuation's own plan: one step per guest that moves, each running that guest's move plan. */
export function planEvacuation(review: EvacuateReview, o: { home: { uri: string; name: string }; away: DestRef; returning: boolean }): Plan {
  const to = review.to;
  const steps: PlanStep[] = review.moving.map((e, i) => ({
    id: `guest-${i + 1}`,
    title: `${o.returning ? 'bring' : 'move'} ${e.guest} ${e.why.startsWith('live') ? 'live' : 'offline'} ${o.returning ? `home to ${to.name}` : `to ${to.name}`}${e.review?.copy ? ', copying its disks' : ''}`,
    action: { name: 'evacuate.guest', args: { guest: e.guest, uuid: e.uuid, mode: e.mode, plan: e.plan, home: o.home, away: o.away, dest: to, returning: o.returning, leftFiles: leftFilesOf(e) } },
    // A move killed midway has its own journal: rolling the evacuation back rolls that move back
    // (a finished move stays; `--return` brings guests home).
    undo: { title: `undo ${e.guest}'s move if it was left half-done`, action: { name: 'evacuate.undoGuest', args: { guest: e.guest, uuid: e.uuid, away: o.away, returning: o.returning } }, partial: true },
    script: e.plan?.steps.flatMap((s) => s.script ?? (s.command ? [s.command] : [])),
    long: true,
  }));
  const verb = o.returning ? `Bring ${review.moving.length} guest(s) home from ${review.from} to ${to.name}` : `Evacuate ${review.from}: move ${review.moving.length} guest(s) to ${to.name}`;
  return { kind: EVACUATE_JOB_KIND, title: verb, targets: { guests: [], images: [] }, steps };
}

/** Pure: the disk files a copying move leaves on the host it leaves (what a return must set aside). */
function leftFilesOf(e: EvacuateEntry): LeftFile[] {
  // Deleted by the move itself: nothing stays behind to set aside on the way back.
  if (!e.review?.copy || !e.plan || e.review.removeFromSource.length > 0) return [];
  const step = e.plan.steps.find((s) => s.action?.name === 'migrate.verify');
  const disks = (step?.action?.args as { disks?: { path: string; format: string; virtualSize: number }[] } | undefined)?.disks ?? [];
  return disks.map((d) => ({ path: d.path, format: d.format, virtualSize: d.virtualSize }));
}

export interface EvacuateOutcome {
  guest: string;
  result: 'moved' | 'skipped' | 'failed' | 'cancelled' | 'not started';
  sentence?: string;
}

/** Pure: the summary's lines: how many moved, then each guest that did not, with its sentence. */
export function summaryLines(outcomes: EvacuateOutcome[], to: string, returning = false): string[] {
  const moved = outcomes.filter((o) => o.result === 'moved');
  const head = `${moved.length} of ${outcomes.length} guest(s) ${returning ? 'back home' : `moved to ${to}`}${moved.length > 0 ? `: ${moved.map((o) => o.guest).join(', ')}` : ''}.`;
  // A guest that moved with a sentence: what it was asked to do after arriving did not happen.
  const rest = outcomes.filter((o) => o.result !== 'moved' || o.sentence).map((o) => `${o.result} ${o.guest}${o.sentence ? `: ${o.sentence}` : ''}`);
  return [head, ...rest];
}
