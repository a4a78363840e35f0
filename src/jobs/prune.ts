/**
 * Prune a backup destination: per guest, the retention verdicts (model/retention.ts) decide which
 * complete runs go; partial runs older than a day and leftovers of an interrupted prune go too.
 * A run is removed by renaming it to RUN.deleting first and only then deleting it, so a prune that
 * dies half-way never leaves a half-deleted directory that still looks like a complete run (the
 * catalog ignores *.deleting, and the next prune finishes it).
 */
import { posix } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { HostContext } from '../host/hostContext.js';
import { readFileHead } from '../host/imageInspect.js';
import { PARTIAL_SUFFIX, parseRunDirName } from '../model/backupManifest.js';
import { runsInUse } from '../model/instantRecovery.js';
import { checkPolicy, type KeepReason, planRetention, type RetentionPolicy, stalePartial } from '../model/retention.js';
import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import { type GuestBackups, readCatalog } from './backupCatalog.js';
import { readInstantRecords } from './instant.js';

export const DELETING_SUFFIX = '.deleting';

export interface PruneItem {
  guest: string;
  /** Directory name under DEST/GUEST. */
  name: string;
  kind: 'run' | 'partial' | 'deleting';
  action: 'keep' | 'remove';
  /**
   * For kept runs: the rule; 'chain' when a kept incremental needs it; 'instant' when a guest
   * started from the backup (`backup instant`) still reads it; 'fresh' for a partial under a day old.
   */
  reason: KeepReason | 'fresh' | 'stale' | 'interrupted-prune' | 'retention' | 'instant';
  /** For 'chain': the kept runs that need this one. */
  neededBy?: string[];
  /** For 'instant': the guests running on this run. */
  usedBy?: string[];
}

export interface PrunePlan {
  dest: string;
  policy: RetentionPolicy;
  items: PruneItem[];
}

/**
 * Pure: what prune does to a catalog (plus the *.deleting leftovers found beside it). `inUse`
 * (GUEST/RUN → guests, from the instant-recovery records) keeps a run retention would remove.
 */
export function planPrune(
  dest: string,
  catalog: GuestBackups[],
  leftovers: { guest: string; name: string }[],
  policy: RetentionPolicy,
  now: Date,
  guests: string[] = [],
  inUse: Map<string, string[]> = new Map(),
): PrunePlan {
  checkPolicy(policy);
  const items: PruneItem[] = [];
  const wanted = (g: string) => guests.length === 0 || guests.includes(g);
  for (const g of catalog.filter((x) => wanted(x.guest))) {
    for (const v of planRetention(g.runs, policy)) {
      const usedBy = inUse.get(`${g.guest}/${v.name}`);
      if (!v.keep && usedBy) {
        items.push({ guest: g.guest, name: v.name, kind: 'run', action: 'keep', reason: 'instant', usedBy });
        continue;
      }
      items.push({
        guest: g.guest,
        name: v.name,
        kind: 'run',
        action: v.keep ? 'keep' : 'remove',
        reason: v.keep ? (v.reason as KeepReason) : 'retention',
        ...(v.neededBy ? { neededBy: v.neededBy } : {}),
      });
    }
    for (const p of g.partials) {
      const at = parseRunDirName(p.slice(0, -PARTIAL_SUFFIX.length))?.at;
      // A partial whose name carries no time cannot be dated: leave it for the admin.
      const stale = at !== undefined && stalePartial(at, now);
      items.push({ guest: g.guest, name: p, kind: 'partial', action: stale ? 'remove' : 'keep', reason: stale ? 'stale' : 'fresh' });
    }
  }
  for (const l of leftovers.filter((x) => wanted(x.guest))) {
    items.push({ guest: l.guest, name: l.name, kind: 'deleting', action: 'remove', reason: 'interrupted-prune' });
  }
  return { dest, policy, items };
}

/** Directories an interrupted prune left (RUN.deleting). */
export async function findLeftovers(host: HostContext, dest: string, signal?: AbortSignal): Promise<{ guest: string; name: string }[]> {
  const r = await host.sysExec.run(['find', dest, '-mindepth', '2', '-maxdepth', '2', '-type', 'd', '-name', `*${DELETING_SUFFIX}`, '-printf', '%P\\n'], { signal });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((rel) => {
      const [guest = '', name = ''] = rel.split('/');
      return { guest, name };
    });
}

export async function preparePrune(host: HostContext, dest: string, policy: RetentionPolicy, opts: { guests?: string[]; now?: Date; signal?: AbortSignal; stateDir?: string } = {}): Promise<PrunePlan> {
  const [catalog, leftovers] = await Promise.all([readCatalog(host.sysExec, dest, opts.signal), findLeftovers(host, dest, opts.signal)]);
  const records = readInstantRecords(opts.stateDir ?? defaultStateDir()).filter((r) => r.uri === host.uri);
  return planPrune(dest, catalog, leftovers, policy, opts.now ?? new Date(), opts.guests ?? [], runsInUse(records, dest));
}

export interface PruneResult extends PrunePlan {
  removed: string[];
  dryRun: boolean;
}

/** findmnt -r writes a space, tab, newline or backslash in a path as \xNN. */
function unescapeMount(target: string): string {
  return target.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

/**
 * Before anything is removed: each run directory must be a real directory of DEST itself (its real
 * path is DEST/GUEST/RUN: no symlink on the way, at any level) with no mount point at or under it,
 * since rm -rf crosses into a bind mount of the same filesystem. One that is not refuses the prune.
 */
async function checkRunDirs(host: HostContext, dest: string, items: PruneItem[], signal?: AbortSignal): Promise<void> {
  if (items.length === 0) return;
  const realDest = (await readFileHead(host.sysExec, dest, 0, signal)).realPath ?? dest;
  const mounts = (await host.sysExec.run(['findmnt', '-rn', '-o', 'TARGET'], { signal })).stdout.split('\n').filter(Boolean).map(unescapeMount);
  for (const item of items) {
    const dir = posix.join(dest, item.guest, item.name);
    const expected = posix.join(realDest, item.guest, item.name);
    const found = await readFileHead(host.sysExec, dir, 0, signal);
    const fix = 'Nothing was removed; look at it (ls -la, findmnt) and remove it by hand if it really is an old run.';
    if (found.kind !== 'directory' || found.realPath !== expected) {
      throw new UserError(`${shown(dir)} is not a run directory inside ${shown(dest)}${found.realPath && found.realPath !== expected ? ` (it leads to ${shown(found.realPath)})` : ''}, so prune stops.`, fix);
    }
    const mount = mounts.find((m) => m === expected || m.startsWith(`${expected}/`));
    if (mount) throw new UserError(`${shown(mount)} is a mount point inside the run ${shown(dir)}, so prune stops.`, fix);
  }
}

/** Plans and (unless dryRun) removes; returns the plan and the directories removed. */
export async function prune(
  host: HostContext,
  dest: string,
  policy: RetentionPolicy,
  opts: { guests?: string[]; now?: Date; dryRun?: boolean; signal?: AbortSignal; onRemove?: (path: string) => void; stateDir?: string } = {},
): Promise<PruneResult> {
  const plan = await preparePrune(host, dest, policy, opts);
  const removed: string[] = [];
  if (opts.dryRun) return { ...plan, removed, dryRun: true };
  const doomedItems = plan.items.filter((i) => i.action === 'remove');
  await checkRunDirs(host, dest, doomedItems, opts.signal);
  for (const item of doomedItems) {
    const dir = posix.join(dest, item.guest, item.name);
    const doomed = item.kind === 'deleting' ? dir : `${dir}${DELETING_SUFFIX}`;
    if (item.kind !== 'deleting') await host.sysExec.run(['mv', '-T', '--', dir, doomed], { signal: opts.signal });
    await host.sysExec.run(['rm', '-rf', '--one-file-system', '--', doomed], { signal: opts.signal, timeoutMs: 0 });
    removed.push(dir);
    opts.onRemove?.(dir);
  }
  return { ...plan, removed, dryRun: false };
}
