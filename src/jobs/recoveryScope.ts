/**
 * Which interrupted jobs a recovery started against one host covers. A job is journaled under the
 * host it runs against, but a move has two ends: a return home runs from the host the guests are
 * on, `guest migrate` from the host the guest leaves. The admin starts `recover` against whichever
 * host they normally open, so each end sees every interrupted job that moves a guest to or from
 * it, and resolving one runs it against the host it was journaled under.
 *
 * A guest's move run by an evacuation is a journal of its own; while that evacuation is itself
 * interrupted, the move is part of the evacuation's item (finishing the evacuation finishes the
 * move from its journal, rolling it back undoes it), so no guest is offered twice.
 */

import { createHostContext } from '../config/connect.js';
import { configHosts, resolveHost } from '../config/resolveHost.js';
import type { HostContext } from '../host/hostContext.js';
import { EVACUATE_JOB_KIND, EVACUATE_MOVE_KIND } from '../model/evacuatePlan.js';
import { MIGRATE_JOB_KIND } from '../model/migratePlan.js';
import type { Plan } from '../model/plan.js';
import { UserError } from '../model/userError.js';
import type { Journal, JournalRecord } from './journal.js';

export interface ScopedJob {
  journal: Journal;
  /** Guests' moves this evacuation ran that were interrupted with it (resolved through it). */
  moves: Journal[];
}

const uriOf = (v: unknown): string | null => (v && typeof v === 'object' && typeof (v as { uri?: unknown }).uri === 'string' ? (v as { uri: string }).uri : null);

/** Pure: the hosts a plan's steps move guests to or from, by the refs its actions carry. */
export function planHostUris(plan: Plan): string[] {
  const out = new Set<string>();
  for (const s of plan.steps) {
    for (const a of [s.action, s.undo?.action]) {
      const args = a?.args as Record<string, unknown> | undefined;
      for (const key of ['dest', 'home', 'away']) {
        const uri = uriOf(args?.[key]);
        if (uri) out.add(uri);
      }
    }
  }
  return [...out];
}

/** Jobs that move guests between hosts: the only ones with a second end. */
const MOVE_KINDS = new Set([MIGRATE_JOB_KIND, EVACUATE_JOB_KIND, EVACUATE_MOVE_KIND]);

/** Pure: the interrupted evacuation whose step ran this move, if it is interrupted too. */
function parentOf(move: JournalRecord, evacuations: Journal[]): Journal | undefined {
  return evacuations.find(
    (e) =>
      e.record.createdAt <= move.createdAt &&
      e.record.plan.steps.some((s, i) => {
        const guest = (s.action?.args as { guest?: unknown } | undefined)?.guest;
        return typeof guest === 'string' && move.plan.targets.guests.includes(guest) && e.record.steps[i]?.state !== 'done' && e.record.steps[i]?.state !== 'pending';
      }),
  );
}

/** Pure: the interrupted jobs a recovery against `uri` offers, each move folded into its evacuation. */
export function recoveryScope(interrupted: Journal[], uri: string): ScopedJob[] {
  const evacuations = interrupted.filter((j) => j.record.kind === EVACUATE_JOB_KIND);
  const out: ScopedJob[] = [];
  const folded = new Map<Journal, Journal[]>();
  for (const j of interrupted) {
    const parent = j.record.kind === EVACUATE_MOVE_KIND ? parentOf(j.record, evacuations) : undefined;
    if (parent) folded.set(parent, [...(folded.get(parent) ?? []), j]);
  }
  const foldedMoves = new Set([...folded.values()].flat());
  for (const j of interrupted) {
    if (foldedMoves.has(j)) continue;
    const moves = folded.get(j) ?? [];
    const touches = [j, ...moves].some((x) => x.record.uri === uri || (MOVE_KINDS.has(x.record.kind) && planHostUris(x.record.plan).includes(uri)));
    if (touches) out.push({ journal: j, moves });
  }
  return out;
}

/**
 * The host a journal's job runs against: `host` when it is that one, else its URI made again as
 * `--connect` would (a config host's entry, any other URI checked as outside text).
 */
export function journalHost(rec: { uri: string }, host: HostContext): HostContext {
  if (rec.uri === host.uri) return host;
  const opts = resolveHost(rec.uri, configHosts(), 'the job journal');
  if (opts instanceof UserError) throw opts;
  return createHostContext(opts);
}
