/**
 * Which backup runs to keep, with Proxmox's semantics (pve `prune-backups`): keep-last, then
 * keep-hourly, -daily, -weekly (ISO weeks), -monthly, -yearly, each rule counting only the runs
 * no earlier rule kept; within a period the newest run stands for it. On top of that, a run that a
 * kept incremental builds on is kept too, because deleting it would make the incremental useless.
 * Pure: dates in, verdicts out (periods are computed in UTC, like the run directory names).
 */
import { type CatalogRun, chainOf } from './backupManifest.js';
import { UserError } from './userError.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

export type RetentionRule = 'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly';
export type KeepReason = RetentionRule | 'chain' | 'all';

export interface RetentionVerdict {
  name: string;
  at: Date;
  keep: boolean;
  /** The rule that kept it; 'chain' = a kept incremental needs it; 'all' = the policy keeps everything. */
  reason: KeepReason | null;
  /** For 'chain': the kept runs that depend on this one. */
  neededBy?: string[];
}

export interface RetentionRun {
  name: string;
  at: Date;
}

const RULES: { rule: RetentionRule; key: keyof RetentionPolicy; period: (d: Date) => string }[] = [
  { rule: 'hourly', key: 'keepHourly', period: (d) => d.toISOString().slice(0, 13) },
  { rule: 'daily', key: 'keepDaily', period: (d) => d.toISOString().slice(0, 10) },
  { rule: 'weekly', key: 'keepWeekly', period: isoWeek },
  { rule: 'monthly', key: 'keepMonthly', period: (d) => d.toISOString().slice(0, 7) },
  { rule: 'yearly', key: 'keepYearly', period: (d) => d.toISOString().slice(0, 4) },
];

/** ISO 8601 week "2026-W01": weeks start on Monday; week 1 holds the year's first Thursday. */
export function isoWeek(d: Date): string {
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  // The Thursday of this week decides the ISO year.
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

export function checkPolicy(policy: RetentionPolicy): void {
  for (const [key, value] of Object.entries(policy)) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 0) {
      throw new UserError(`The retention setting ${key} is ${value}; it must be a whole number, 0 or more.`, 'For example --keep-daily 7 --keep-weekly 4.');
    }
  }
}

/** True when no rule is set at all: Proxmox then keeps everything (an empty policy never deletes). */
export function keepsEverything(policy: RetentionPolicy): boolean {
  return Object.values(policy).every((v) => v === undefined);
}

/**
 * The time-based rules alone, on runs of one guest; newest first in the answer. Like Proxmox's
 * prune_mark: a rule walks the runs newest first, skips runs an earlier rule decided on and
 * periods an earlier rule already covers, keeps the newest run of each new period until its count
 * is reached, and marks the older runs of a period it kept as decided (later rules skip them).
 */
export function applyRules(runs: RetentionRun[], policy: RetentionPolicy): RetentionVerdict[] {
  checkPolicy(policy);
  const sorted = [...runs].sort((a, b) => b.at.getTime() - a.at.getTime());
  const verdicts: RetentionVerdict[] = sorted.map((r) => ({ name: r.name, at: r.at, keep: false, reason: null }));
  if (keepsEverything(policy)) {
    for (const v of verdicts) Object.assign(v, { keep: true, reason: 'all' });
    return verdicts;
  }
  const decided = new Set<RetentionVerdict>();
  const rules: { rule: RetentionRule; limit: number; period: (d: Date, i: number) => string }[] = [
    { rule: 'last', limit: policy.keepLast ?? 0, period: (_d, i) => `#${i}` },
    ...RULES.map(({ rule, key, period }) => ({ rule, limit: policy[key] ?? 0, period: (d: Date) => period(d) })),
  ];
  for (const { rule, limit, period } of rules) {
    if (limit === 0) continue;
    const covered = new Set(verdicts.flatMap((v, i) => (v.keep ? [period(v.at, i)] : [])));
    const included = new Set<string>();
    for (const [i, v] of verdicts.entries()) {
      const p = period(v.at, i);
      if (decided.has(v) || covered.has(p)) continue;
      if (included.has(p)) {
        decided.add(v);
        continue;
      }
      if (included.size >= limit) break;
      included.add(p);
      decided.add(v);
      v.keep = true;
      v.reason = rule;
    }
  }
  return verdicts;
}

/**
 * Retention of one guest's complete runs, chain rule included: a run that a kept run needs to be
 * restored (its parent, grand-parent… up to the full) is kept with reason 'chain'.
 */
export function planRetention(runs: CatalogRun[], policy: RetentionPolicy): RetentionVerdict[] {
  const verdicts = applyRules(
    runs.map((r) => ({ name: r.name, at: new Date(r.manifest.createdAt) })),
    policy,
  );
  const byName = new Map(verdicts.map((v) => [v.name, v]));
  for (const v of verdicts.filter((x) => x.keep && x.reason !== 'chain')) {
    let chain: CatalogRun[];
    try {
      chain = chainOf(runs, v.name);
    } catch {
      // A broken chain cannot be helped by keeping its surviving members; verify reports it.
      continue;
    }
    for (const link of chain.slice(0, -1)) {
      const needed = byName.get(link.name);
      if (!needed) continue;
      if (!needed.keep) Object.assign(needed, { keep: true, reason: 'chain' });
      if (needed.reason === 'chain') needed.neededBy = [...(needed.neededBy ?? []), v.name];
    }
  }
  return verdicts;
}

/** Partial runs (RUN.partial) older than this are garbage from an interrupted backup. */
export const PARTIAL_MAX_AGE_MS = 24 * 3600 * 1000;

export function stalePartial(at: Date, now: Date): boolean {
  return now.getTime() - at.getTime() > PARTIAL_MAX_AGE_MS;
}
