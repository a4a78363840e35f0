/** Pure views of the pane's state: the guest list, the runs of one guest, the detail strip. */
import type { SnapshotInfo } from '../../host/snapshots.js';
import type { GuestBackups } from '../../jobs/backupCatalog.js';
import type { InstantListEntry } from '../../jobs/instant.js';
import type { CatalogRun } from '../../model/backupManifest.js';
import { drillText } from '../../model/drill.js';
import { formatAge, staleSnapshotWarning } from '../../model/snapshotPlan.js';
import type { BackupsPaneState } from './state.js';

export const clampIndex = (i: number, n: number) => Math.max(0, Math.min(i, n - 1));

/** A run a copy target holds that this destination does not (pruned here, or the destination was lost). */
export interface CopyOnlyRun {
  name: string;
  /** The targets holding a verified copy, by name. */
  targets: string[];
}

/** A guest row of the left list: every guest libvirt knows plus guests only the backups (or their copies) know. */
export interface GuestLine {
  guest: string;
  backups: GuestBackups | null;
  last: CatalogRun | null;
  snapshots: SnapshotInfo[];
  /** Runs only on copy targets, newest first: R and f read them from there. */
  copyOnly: CopyOnlyRun[];
}

function copyOnlyRuns(s: Pick<BackupsPaneState, 'copies'>, guest: string, backups: GuestBackups | null): CopyOnlyRun[] {
  const here = new Set([...(backups?.runs.map((r) => r.name) ?? []), ...(backups?.partials ?? []), ...(backups?.damaged.map((d) => d.name) ?? [])]);
  const byRun = new Map<string, string[]>();
  for (const [target, recs] of Object.entries(s.copies)) {
    for (const r of recs) if (r.guest === guest && !here.has(r.run)) byRun.set(r.run, [...(byRun.get(r.run) ?? []), target]);
  }
  return [...byRun.entries()].map(([name, targets]) => ({ name, targets: targets.sort() })).sort((a, b) => b.name.localeCompare(a.name));
}

/** `filter` is the console's `/` filter: the list shows (and B backs up) only the guests whose name has it. */
export function guestLines(s: BackupsPaneState, libvirtGuests: string[], filter = ''): GuestLine[] {
  const f = filter.trim().toLowerCase();
  const copied = Object.values(s.copies).flatMap((recs) => recs.map((r) => r.guest));
  const names = [...new Set([...libvirtGuests, ...s.catalog.map((c) => c.guest), ...copied])].filter((n) => n.toLowerCase().includes(f)).sort();
  return names.map((guest) => {
    const backups = s.catalog.find((c) => c.guest === guest) ?? null;
    return { guest, backups, last: backups?.runs[backups.runs.length - 1] ?? null, snapshots: s.snapshots[guest] ?? [], copyOnly: copyOnlyRuns(s, guest, backups) };
  });
}

/** Runs of a guest, newest first, with partial and damaged ones as rows of their own. */
export interface RunLine {
  name: string;
  run: CatalogRun | null;
  /** copy: not in this destination, only on copy targets (restored and browsed from there). */
  status: 'good' | 'partial' | 'damaged' | 'copy';
  reason?: string;
}

export function runLines(b: GuestBackups | null, copyOnly: CopyOnlyRun[] = []): RunLine[] {
  const good: RunLine[] = [...(b?.runs ?? [])].reverse().map((run) => ({ name: run.name, run, status: 'good' as const }));
  // Each copy-only run between the runs here, by its time (run names sort by time).
  for (const c of copyOnly) {
    const at = good.findIndex((r) => r.name < c.name);
    const row: RunLine = { name: c.name, run: null, status: 'copy', reason: `only on ${c.targets.join(', ')}, not in this destination: R and f read it there` };
    if (at < 0) good.push(row);
    else good.splice(at, 0, row);
  }
  return [
    ...(b?.partials ?? []).map((name) => ({ name, run: null, status: 'partial' as const, reason: 'interrupted: never complete, never restorable' })),
    ...(b?.damaged ?? []).map((d) => ({ name: d.name, run: null, status: 'damaged' as const, reason: d.reason })),
    ...good,
  ];
}

/** The copy targets holding a verified copy of guest/run, by name. */
export function copiesOf(s: Pick<BackupsPaneState, 'copies'>, guest: string, run: string): string[] {
  return Object.entries(s.copies)
    .filter(([, recs]) => recs.some((r) => r.guest === guest && r.run === run))
    .map(([target]) => target)
    .sort();
}

function copiesText(s: BackupsPaneState, guest: string, run: string, now: number, last: boolean): string {
  const where = Object.entries(s.copies).flatMap(([target, recs]) => {
    const rec = recs.find((r) => r.guest === guest && r.run === run);
    return rec ? [`${target} (${formatAge(Math.max(0, now - new Date(rec.at).getTime()))} ago)`] : [];
  });
  if (where.length === 0) return `${last ? 'last run ' : ''}not copied offsite yet (O copies it)`;
  return `${last ? 'last run ' : ''}copied to ${where.sort().join(', ')}`;
}

export interface DetailLine {
  text: string;
  warn: boolean;
}

function runSummary(run: CatalogRun, now: number): string {
  const m = run.manifest;
  const age = formatAge(now - new Date(m.createdAt).getTime());
  return `${m.kind} · ${age} ago · ${m.method} · ${m.consistency} · ${m.disks.length} disk${m.disks.length === 1 ? '' : 's'}${m.note ? ` · ${m.note}` : ''}`;
}

/** The pane's detail strip: the selected run (or last run), the guest's snapshots, the too-old warning. */
export function detailLines(s: BackupsPaneState, libvirtGuests: string[], now: number, maxAgeDays: number, filter = ''): DetailLine[] {
  const all = guestLines(s, libvirtGuests, filter);
  const g = all[clampIndex(s.guestIndex, all.length)];
  if (!g) return [{ text: filter.trim() ? `No guest matches "${filter.trim()}"; / then Esc clears the filter.` : 'No guests and no backups here yet.', warn: false }];
  const out: DetailLine[] = [];
  if (s.level === 'runs') {
    const runs = runLines(g.backups, g.copyOnly);
    const r = runs[clampIndex(s.runIndex, runs.length)];
    if (r?.run) out.push({ text: `${r.name}: ${runSummary(r.run, now)}`, warn: false });
    else if (r) out.push({ text: `${r.name}: ${r.status} — ${r.reason ?? ''}`, warn: true });
    else out.push({ text: `No runs of ${g.guest} in this destination; b backs it up now.`, warn: false });
  } else {
    out.push({ text: g.last ? `last run ${g.last.name}: ${runSummary(g.last, now)}` : `${g.guest} has no backup here; b backs it up now, B every guest shown.`, warn: false });
    if (g.copyOnly.length > 0) {
      const where = [...new Set(g.copyOnly.flatMap((c) => c.targets))].sort().join(', ');
      out.push({ text: `${g.copyOnly.length} run${g.copyOnly.length === 1 ? '' : 's'} only on ${where}, not here: Enter lists them, R and f read them there`, warn: false });
    }
    out.push(...instantLines(s.instant ?? [], g.guest, now));
    if (g.last && s.dest) {
      const norm = (p: string) => p.replace(/\/+$/, '');
      const drill = s.drills.find((d) => d.guest === g.guest && norm(d.dest) === norm(s.dest ?? ''));
      out.push(drill ? { text: drillText(drill, new Date(now)), warn: !drill.ok } : { text: 'restore never drilled: K proves the newest run boots', warn: false });
    }
    const logged = s.schedule?.status?.lastRuns.find((r) => r.guest === g.guest)?.logged;
    if (logged && !logged.ok) out.push({ text: `last scheduled run (${logged.at}) ${logged.text}`, warn: true });
  }
  const snaps = g.snapshots.map((x) => `${x.current ? '*' : ''}${x.name} (${x.location}${x.withMemory ? '+memory' : ''}, ${formatAge(now - x.createdAt.getTime())})`);
  out.push({ text: snaps.length ? `snapshots: ${snaps.join(', ')}` : 'no snapshots (t takes one before a risky change)', warn: false });
  const stale = staleSnapshotWarning(g.snapshots, maxAgeDays, new Date(now));
  if (stale) out.push({ text: stale, warn: true });
  // Second: where the shown run has copies is what the COPIES column abbreviates.
  const shownRun = s.level === 'runs' ? runLines(g.backups, g.copyOnly)[clampIndex(s.runIndex, runLines(g.backups, g.copyOnly).length)]?.run : g.last;
  if (shownRun && Object.keys(s.copies).length > 0) out.splice(1, 0, { text: copiesText(s, g.guest, shownRun.name, now, s.level !== 'runs'), warn: false });
  // The strip is short (i shows every line): warnings go right under the first line so none is cut.
  const [head, ...rest] = out;
  return head ? [head, ...rest.filter((l) => l.warn), ...rest.filter((l) => !l.warn)] : out;
}

/** The guest runs from a backup (F moves it home, D discards it), or copies run from its backups. */
export function instantLines(entries: InstantListEntry[], guest: string, now: number): DetailLine[] {
  const out: DetailLine[] = [];
  const self = entries.find((e) => e.name === guest);
  if (self) {
    const since = formatAge(now - new Date(self.createdAt).getTime());
    out.push({ text: `runs from the backup ${self.guest} ${self.run} (started ${since} ago, ${self.state}): F moves it home, D discards it`, warn: true });
  }
  const copies = entries.filter((e) => e.guest === guest && e.name !== guest);
  const only = copies.length === 1 ? copies[0] : undefined;
  if (only) out.push({ text: `${only.name} runs from ${only.run}: I lists it`, warn: false });
  else if (copies.length > 1) out.push({ text: `${copies.map((c) => c.name).join(', ')} run from these backups: I lists them`, warn: false });
  return out;
}
