/**
 * What the Backups pane says about the schedule, a prune and a restore: pure functions from the
 * job modules' answers to lines, so the wording is tested without a terminal and the pane's
 * controller only moves data between the jobs and its screens.
 */
import type { InstantPlan } from '../jobs/instant.js';
import type { PruneItem, PruneResult } from '../jobs/prune.js';
import type { RestorePlan } from '../jobs/restore.js';
import type { ScheduleChange, ScheduleStatus } from '../jobs/schedule.js';
import type { CatalogRun } from '../model/backupManifest.js';
import { commandLine, describePlan, type PlanRoute } from '../model/plan.js';
import type { RetentionPolicy } from '../model/retention.js';
import type { BackupSchedule } from '../model/schedule.js';

export type Tone = 'warn' | 'muted' | 'ok' | 'bold' | 'error';

export interface ToneLine {
  text: string;
  tone?: Tone;
}

/** "12 min", "5 h 12 min", "2 days 3 h"; under a minute is "under a minute". */
export function formatIn(ms: number): string {
  const min = Math.floor(ms / 60_000);
  if (min < 1) return 'under a minute';
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} days ${h % 24} h` : `${d} days`;
}

/** "nightly 01:30", "daily 13:00", "mon,wed,fri 01:30". */
export function scheduleWhen(s: BackupSchedule): string {
  if (s.days.length > 0) return `${s.days.join(',')} ${s.at}`;
  const hour = Number(s.at.slice(0, 2));
  return `${hour < 6 || hour >= 18 ? 'nightly' : 'daily'} ${s.at}`;
}

/** The pane's schedule line: when, next run, and the last scheduled result when a guest failed. */
export function scheduleLine(status: ScheduleStatus | null, now: Date, paneDest: string | null): ToneLine {
  if (!status) return { text: 'schedule: reading…', tone: 'muted' };
  const inst = status.installed;
  if (!inst) return { text: 'no schedule: S to set one', tone: 'muted' };
  if (!inst.schedule) return { text: `${inst.files.join(', ')} not written by virtdeck: S to replace it`, tone: 'warn' };
  const s = inst.schedule;
  const next = status.nextRun ? ` → next run in ${formatIn(status.nextRun.getTime() - now.getTime())}` : '';
  const where = paneDest && s.dest !== paneDest ? ` into ${s.dest}` : '';
  const failed = status.lastRuns.filter((r) => r.logged && !r.logged.ok && r.logged.dest === s.dest);
  const last = failed.length ? ` · last run: ${failed.length} guest${failed.length === 1 ? '' : 's'} failed` : '';
  return { text: `${scheduleWhen(s)}${s.drill ? ' + drill' : ''}${where}${next}${last}`, tone: failed.length ? 'warn' : 'muted' };
}

// ------------------------------------------------------------------ prune

export const KEEP_FIELDS: [keyof RetentionPolicy, string][] = [
  ['keepLast', 'keep-last'],
  ['keepHourly', 'keep-hourly'],
  ['keepDaily', 'keep-daily'],
  ['keepWeekly', 'keep-weekly'],
  ['keepMonthly', 'keep-monthly'],
  ['keepYearly', 'keep-yearly'],
];

export function policyText(p: RetentionPolicy): string {
  const set = KEEP_FIELDS.filter(([k]) => p[k] !== undefined).map(([k, f]) => `${f} ${p[k]}`);
  return set.length ? set.join(', ') : 'no retention set (every complete run is kept)';
}

/** Why a run stays or goes, in the admin's words. */
export function pruneReason(i: PruneItem): string {
  if (i.action === 'remove') {
    return { retention: 'no rule keeps it', stale: 'partial run older than a day', 'interrupted-prune': 'left by an interrupted prune' }[i.reason as string] ?? String(i.reason);
  }
  if (i.reason === 'chain') return `chain: needed by ${i.neededBy?.join(', ') ?? ''}`;
  if (i.reason === 'instant') return `in use: ${i.usedBy?.join(', ') ?? ''} runs from it (backup instant); discard it first`;
  if (i.reason === 'fresh') return 'partial run under a day old (may still be written)';
  if (i.reason === 'all') return 'no retention set';
  return `keep-${i.reason}`;
}

export function pruneReviewLines(r: PruneResult): ToneLine[] {
  const lines: ToneLine[] = [{ text: `Retention: ${policyText(r.policy)}`, tone: 'muted' }, { text: '' }];
  let guest = '';
  const several = new Set(r.items.map((i) => i.guest)).size > 1;
  const nameWidth = Math.max(0, ...r.items.map((i) => i.name.length));
  for (const i of r.items) {
    if (several && i.guest !== guest) {
      guest = i.guest;
      lines.push({ text: `${guest}:`, tone: 'bold' });
    }
    lines.push({ text: `${i.action === 'keep' ? 'keep  ' : 'REMOVE'}  ${i.name.padEnd(nameWidth)}  ${pruneReason(i)}`, tone: i.action === 'remove' ? 'warn' : undefined });
  }
  if (r.items.length === 0) lines.push({ text: 'No runs here.', tone: 'muted' });
  if (r.items.some((i) => i.reason === 'chain')) lines.push({ text: '' }, { text: 'chain: no rule keeps it, but a kept incremental builds on it.', tone: 'muted' });
  return lines;
}

export function removals(r: PruneResult): PruneItem[] {
  return r.items.filter((i) => i.action === 'remove');
}

/** Same removals (by guest/name) in both plans: the destination did not change since the review. */
export function sameRemovals(a: PruneResult, b: PruneResult): boolean {
  const key = (r: PruneResult) => removals(r).map((i) => `${i.guest}/${i.name}`).sort().join('\n');
  return key(a) === key(b);
}

/** The confirm dialog's lines: every directory that goes, by name (a long list is cut with a count). */
export function pruneConfirmLines(r: PruneResult, max = 10): string[] {
  const gone = removals(r);
  const shown = gone.slice(0, max).map((i) => `  ${i.guest}/${i.name}`);
  if (gone.length > max) shown.push(`  … and ${gone.length - max} more (listed on the review screen)`);
  const head = gone.length === 1 ? 'This directory is' : `These ${gone.length} directories are`;
  return [`${head} deleted from ${r.dest}:`, ...shown, 'Runs a kept incremental needs are never deleted.'];
}

// ------------------------------------------------------------------ restore

export interface RestoreChoice {
  guest: string;
  run: string;
  /** null: restore over the guest itself. */
  asName: string | null;
  toDir: string | null;
  deleteOld: boolean;
}

function chainText(run: CatalogRun, chain: CatalogRun[]): string {
  if (chain.length <= 1) return `${run.manifest.kind} run`;
  return `incremental, chain of ${chain.length} from ${chain[0]?.name ?? '?'} (rebuilt into a standalone image)`;
}

export function restoreReviewLines(p: RestorePlan & { found: { run: CatalogRun; chain: CatalogRun[] } }, route: PlanRoute | null = null): ToneLine[] {
  const lines: ToneLine[] = [{ text: `Run ${p.found.run.name}: ${chainText(p.found.run, p.found.chain)}`, tone: 'muted' }];
  if (p.damage.length > 0) {
    lines.push({ text: '' }, { text: 'DAMAGED: this run is not restored', tone: 'error' });
    for (const d of p.damage) lines.push({ text: `  ${d}`, tone: 'error' });
    lines.push({ text: '  Pick an older run, or restore this one as a new guest from the command line with --allow-damaged.', tone: 'warn' });
  }
  lines.push({ text: '' }, { text: 'Disks', tone: 'bold' });
  for (const d of p.disks) {
    lines.push({ text: `  ${d.target}  → ${d.path} (${d.format})` });
    if (d.aside) lines.push({ text: `        the current file is moved aside to ${d.aside}`, tone: 'warn' });
  }
  lines.push({ text: '' }, { text: 'Steps (each journaled; a failure rolls the finished ones back)', tone: 'bold' });
  p.plan.steps.forEach((s, i) => {
    lines.push({ text: `${i + 1} ${s.title}` });
    if (s.command) lines.push({ text: `    ${commandLine(s.command, route)}`, tone: 'muted' });
  });
  if (p.notes.length) {
    lines.push({ text: '' }, { text: 'Notes', tone: 'bold' });
    for (const n of p.notes) lines.push({ text: `  ${n}`, tone: 'warn' });
  }
  return lines;
}

/** What the confirm names: what is replaced and moved aside (same name), or what is created (new guest). */
export function restoreConfirmLines(c: RestoreChoice, p: RestorePlan): string[] {
  if (c.asName) {
    return [
      `Creates the new guest ${p.name} (new UUID and MACs) from ${c.run}:`,
      ...p.disks.map((d) => `  ${d.target} → ${d.path}`),
      `${c.guest} and its disks are not touched.`,
    ];
  }
  const lines = [p.xml !== null ? `The definition of ${p.name} is replaced by the one saved in ${c.run}.` : `The definition of ${p.name} is kept; only its disks go back to ${c.run}.`];
  for (const d of p.disks) {
    if (d.aside) lines.push(`  ${d.target}: ${d.path} is moved aside to ${d.aside}${c.deleteOld ? ', deleted once the restore succeeded' : ' and kept'}`);
    else lines.push(`  ${d.target}: ${d.path} is created (no file there now)`);
  }
  lines.push('Everything written to those disks since the backup is lost from the guest.');
  return lines;
}

/** R's third mode: run a copy straight from the run. */
export interface InstantChoice {
  guest: string;
  run: string;
  dest: string;
  asName: string;
  dir: string;
  isolated: boolean;
}

/** What the copy leaves undone: it keeps reading the run until it is moved home or discarded. */
export function instantAfterLines(name: string, dest: string): string[] {
  return [
    `Nothing is copied: ${name} reads the run's images (only read) and writes to its overlays.`,
    `${name} depends on ${dest} until \`virtdeck backup instant finish ${name} --to DIR\` moves its disks home,`,
    `or \`virtdeck backup instant discard ${name}\` removes it; prune keeps the run until then.`,
  ];
}

export function instantReviewLines(p: InstantPlan & { found: { run: CatalogRun; chain: CatalogRun[] } }, c: InstantChoice, route: PlanRoute | null = null): ToneLine[] {
  const lines: ToneLine[] = [{ text: `Run ${p.found.run.name}: ${p.found.chain.length <= 1 ? `${p.found.run.manifest.kind} run` : `incremental, chain of ${p.found.chain.length} from ${p.found.chain[0]?.name ?? '?'}`}`, tone: 'muted' }];
  if (p.damage.length > 0) {
    lines.push({ text: '' }, { text: 'DAMAGED: no guest is started from this run', tone: 'error' });
    for (const d of p.damage) lines.push({ text: `  ${d}`, tone: 'error' });
    lines.push({ text: '  Pick an older run.', tone: 'warn' });
  }
  lines.push({ text: '' }, { text: `Overlays${c.isolated ? ' (started with every network link down)' : ''}`, tone: 'bold' });
  for (const o of p.overlays) lines.push({ text: `  ${o.target}  → ${o.path} over ${o.backing}` });
  lines.push({ text: '' }, { text: 'Steps (each journaled; a failure or cancel rolls the finished ones back)', tone: 'bold' });
  for (const l of describePlan(p.plan, route)) lines.push({ text: l });
  lines.push({ text: '' }, { text: 'What it does not do', tone: 'bold' });
  for (const l of instantAfterLines(p.name, c.dest)) lines.push({ text: `  ${l}`, tone: 'warn' });
  if (p.notes.length) {
    lines.push({ text: '' }, { text: 'Notes', tone: 'bold' });
    for (const n of p.notes) lines.push({ text: `  ${n}`, tone: 'warn' });
  }
  return lines;
}

// ------------------------------------------------------------------ schedule

export function scheduleReviewLines(change: ScheduleChange, now: Date): ToneLine[] {
  const these = change.files.length === 1 ? 'this file' : 'these files';
  const lines: ToneLine[] = [
    change.connectsTo
      ? // A remote host's schedule runs here, where virtdeck, its key and its state are.
        { text: `This machine (${change.writtenOn}) runs the schedule of ${change.connectsTo} and connects to it; ${change.kind} here gets ${these}:`, tone: 'muted' }
      : { text: `The host uses ${change.kind}; virtdeck writes ${these}:`, tone: 'muted' },
  ];
  for (const f of change.files) {
    lines.push({ text: '' }, { text: `--- ${f.path}`, tone: 'bold' });
    for (const l of f.content.trimEnd().split('\n')) lines.push({ text: l });
  }
  for (const c of change.commands) lines.push({ text: `then runs: ${c.join(' ')}`, tone: 'muted' });
  lines.push({ text: '' }, { text: change.nextRun ? `First run ${change.nextRun.toString().slice(0, 21)} (in ${formatIn(change.nextRun.getTime() - now.getTime())}).` : 'It never matches a day.' });
  return lines;
}
