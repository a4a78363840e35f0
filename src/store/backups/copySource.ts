/**
 * Where R and f read a run from: the destination, or a copy target that holds a verified copy of
 * it (the targets the COPIES column names). A directory target is read in place; a restic or ssh
 * copy is first brought back into a private staging directory as a job of its own (cancel removes
 * it), the way `backup restore|instant --from` does, and released when the restore is done with it.
 */
import { type CopyTarget, describeTarget, recordChain } from '../../model/copyTarget.js';
import { ProgressTracker } from '../../model/progress.js';
import { formatAge } from '../../model/snapshotPlan.js';
import type { Field } from '../form.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { PaneJob } from './paneJob.js';

/** The From field's value for the destination: no target name has parentheses (TARGET_NAME). */
export const FROM_DEST = '(destination)';

/** Where the run is read, once it is reachable there. */
export interface RunSource {
  /** A destination directory holding GUEST/RUN. */
  dest: string;
  run: string;
  /** The copy target's name, or null for the pane's destination. */
  from: string | null;
  /** Gives back what bringing it back made (a staging directory); idempotent. */
  release(): void;
}

/** The configured copy targets holding a verified copy of guest/run, by name. */
export function targetsHolding(ctx: PaneContext, guest: string, run: string): CopyTarget[] {
  const copies = ctx.get().copies;
  return (ctx.deps.settings().copyTargets ?? [])
    .filter((t) => (copies[t.name] ?? []).some((r) => r.guest === guest && r.run === run))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The form's From field: the destination first (the default; null: the run is not there), then each target holding the run. */
export function fromField(dest: string | null, targets: CopyTarget[]): Field {
  const copies = targets.map((t) => ({ value: t.name, label: `copy on ${t.name} (${describeTarget(t)})` }));
  return {
    id: 'from',
    label: 'From',
    kind: 'choice',
    value: dest === null ? (targets[0]?.name ?? FROM_DEST) : FROM_DEST,
    options: dest === null ? copies : [{ value: FROM_DEST, label: `destination ${dest}` }, ...copies],
  };
}

/** The form's line naming the copies: which targets hold the run, since when. */
export function copiesLine(ctx: PaneContext, guest: string, run: string, targets: CopyTarget[], now = Date.now()): string {
  const copies = ctx.get().copies;
  const where = targets.map((t) => {
    const rec = (copies[t.name] ?? []).find((r) => r.guest === guest && r.run === run);
    return rec ? `${t.name} (${formatAge(Math.max(0, now - new Date(rec.at).getTime()))} ago)` : t.name;
  });
  return `Verified copies of this run: ${where.join(', ')}. From (h/l) picks where it is read.`;
}

function released(fn: () => Promise<void>): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    void fn().catch(() => undefined);
  };
}

/**
 * Makes the run reachable from `from` (the From field's value) and goes on with `next`. A restic
 * or ssh copy is restored first as a job: rows, cancel (the staging directory goes), its error.
 */
export function reachRun(ctx: PaneContext, job: PaneJob, o: { dest: string; guest: string; run: string; from: string | undefined }, next: (s: RunSource) => void) {
  const { deps, say } = ctx;
  if (!o.from || o.from === FROM_DEST) return next({ dest: o.dest, run: o.run, from: null, release: () => {} });
  const t = (deps.settings().copyTargets ?? []).find((x) => x.name === o.from);
  const fetch = deps.fetchCopy;
  if (!t || !fetch) return ctx.notWired('Reading a copy', `virtdeck backup restore ${o.guest} ${o.run} --from ${o.from}`);
  if (t.type === 'dir') {
    // The same layout as a destination: read in place, nothing to release.
    fetch(ctx.host, t, o.guest, o.run, { stateDir: deps.stateDir() }).then(
      (f) => next({ dest: f.dest, run: o.run, from: t.name, release: released(f.cleanup) }),
      (e) => ctx.showError(`Could not read ${o.guest} ${o.run} on ${t.name}`, e),
    );
    return;
  }
  const row = `${o.run} and the runs it builds on`;
  // What the target holds of the chain, as recorded when it was copied: the size progress is measured against.
  const records = ctx.get().copies[t.name] ?? [];
  let total = 0;
  try {
    total = recordChain(records, o.guest, o.run, t.name).reduce((n, r) => n + r.bytes, 0);
  } catch {
    total = records.find((r) => r.guest === o.guest && r.run === o.run)?.bytes ?? 0;
  }
  const tracker = total > 0 ? new ProgressTracker(total) : null;
  const spec = {
    what: `bringing ${o.run} back from ${t.name}`,
    title: `Bring ${o.guest} ${o.run} back from ${t.name} (${describeTarget(t)})`,
    undo: 'What was restored so far is removed; nothing else was touched.',
    rows: [row],
  };
  job.run(spec, async (io) => {
    io.row(row, { state: 'running', note: `${t.type === 'restic' ? 'restic restore' : 'tar over ssh'} into a private temp dir, then sha256 against the manifests` });
    try {
      const onBytes = (bytes: number) => {
        if (tracker) io.row(row, { progress: tracker.update(bytes / total, Date.now()) });
      };
      const f = await fetch(ctx.host, t, o.guest, o.run, { signal: io.signal, stateDir: deps.stateDir(), onBytes });
      io.row(row, { state: 'done', note: `checked against the manifests in ${f.dest}` });
      if (io.signal.aborted) {
        await f.cleanup().catch(() => undefined);
        return job.end('cancelled', `Bringing ${o.run} back from ${t.name} was cancelled; nothing is left behind.`);
      }
      // The job is only the way there: its screen gives way to the review at once.
      job.controller.end('done', `${o.guest} ${o.run} is back from ${t.name}.`);
      job.controller.close();
      say(`${o.guest} ${o.run} was brought back from ${t.name} and checked against its manifests.`);
      next({ dest: f.dest, run: f.run, from: t.name, release: released(f.cleanup) });
    } catch (e) {
      io.row(row, { state: 'failed', note: toShownError(e).sentence });
      job.end(io.signal.aborted ? 'cancelled' : 'failed', `Bringing ${o.run} back from ${t.name} ${io.signal.aborted ? 'was cancelled; nothing is left behind' : `failed: ${toShownError(e).sentence}`}`);
      if (!io.signal.aborted) ctx.showError(`Could not bring ${o.guest} ${o.run} back from ${t.name}`, e);
    }
  });
}
