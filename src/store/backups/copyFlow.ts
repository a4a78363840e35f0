/**
 * Copy offsite (O): the selected run, with the runs it builds on that the target lacks, sent to a
 * copy target from backup.copyTargets; asks first (naming what goes where, and what the target's
 * retention deletes there), then a job with a row per run (bytes, rate, ETA) that cancels safely:
 * the run being sent is removed from the target and is never listed as copied.
 */
import type { CopyEvent } from '../../jobs/backupCopy.js';
import { chainOf } from '../../model/backupManifest.js';
import { type CopyTarget, describeTarget } from '../../model/copyTarget.js';
import { formatBytes } from '../../model/units.js';
import { UserError } from '../../model/userError.js';
import { makeForm } from '../form.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { PaneJob } from './paneJob.js';

/** The selected run: on the runs list the one under the cursor, on the guest list the guest's last run. */
function selected(ctx: PaneContext): { guest: string; run: string } | string {
  const g = ctx.selectedGuest();
  if (!g) return 'Select a guest whose run to copy.';
  if (ctx.get().level === 'guests') return g.last ? { guest: g.guest, run: g.last.name } : `${g.guest} has no finished run here to copy.`;
  const r = ctx.selectedRun();
  if (!r) return `${g.guest} has no run here to copy.`;
  if (r.status === 'copy') return `${r.name} is not in this destination, so there is nothing here to copy; it is on a copy target already.`;
  if (r.status !== 'good') return `${r.name} is ${r.status}: only finished, undamaged runs are copied.`;
  return { guest: g.guest, run: r.name };
}

export function startCopy(ctx: PaneContext, job: PaneJob) {
  const { deps, get, say } = ctx;
  const dest = get().dest;
  if (!dest) return say('Choose a destination first (d).', 'error');
  const pick = selected(ctx);
  if (typeof pick === 'string') return say(pick, 'error');
  const targets = deps.settings().copyTargets ?? [];
  if (targets.length === 0) return say('No copy target is configured: add one to backup.copyTargets in config.json (README: Offsite copies).', 'error');
  if (!deps.copyRuns) return ctx.notWired('Copying', `virtdeck backup copy ${pick.guest} --to ${targets[0]?.name ?? 'TARGET'} --dest ${dest}`);
  if (targets.length === 1) return confirmCopy(ctx, job, dest, pick, targets[0] as CopyTarget);
  ctx.set({
    form: {
      title: `Copy ${pick.guest} ${pick.run} offsite`,
      lines: ['Where to: h/l chooses among backup.copyTargets. The next question names what is sent.'],
      form: makeForm([{ id: 'target', label: 'Copy to', kind: 'choice', value: targets[0]?.name ?? '', options: targets.map((t) => ({ value: t.name, label: `${t.name} (${describeTarget(t)})` })) }]),
      submit: ({ target }) => {
        const t = targets.find((x) => x.name === target);
        ctx.set({ form: null });
        if (t) confirmCopy(ctx, job, dest, pick, t);
      },
    },
  });
}

function confirmCopy(ctx: PaneContext, job: PaneJob, dest: string, pick: { guest: string; run: string }, t: CopyTarget) {
  const { app, get, say } = ctx;
  const runs = get().catalog.find((c) => c.guest === pick.guest)?.runs ?? [];
  let chain: string[];
  try {
    chain = chainOf(runs, pick.run).map((r) => r.name);
  } catch (e) {
    return ctx.showError(`Cannot copy ${pick.guest} ${pick.run}`, e);
  }
  const have = new Set((get().copies[t.name] ?? []).filter((c) => c.guest === pick.guest).map((c) => c.run));
  const send = chain.filter((n) => !have.has(n));
  if (send.length === 0) return say(`${pick.guest} ${pick.run} is on ${t.name} already, with every run it builds on.`);
  const count = `${send.length} run${send.length === 1 ? '' : 's'}`;
  app.getState().pushDialog({
    kind: 'confirm',
    title: `Copy ${pick.guest} ${pick.run} to ${t.name}`,
    lines: [
      `To ${describeTarget(t)}${send.length > 1 ? ' (with the runs it builds on that are not there yet)' : ''}:`,
      ...send.map((n) => `  ${n}`),
      'Each run is checked against its manifest before it leaves and read back on the target before it counts as copied.',
      ...(t.keepLast ? [`Then ${t.name} keeps the newest ${t.keepLast} run(s) per guest and what they build on; older copies there are deleted.`] : []),
    ],
    yes: `copy ${count}`,
    onYes: () => runCopy(ctx, job, dest, pick.guest, send, t),
  });
}

function runCopy(ctx: PaneContext, job: PaneJob, dest: string, guest: string, send: string[], t: CopyTarget) {
  const copy = ctx.deps.copyRuns;
  if (!copy) return;
  const label = (run: string) => `${guest}/${run}`;
  const spec = {
    what: `the copy to ${t.name}`,
    undo: 'The run being sent is removed from the target and not listed as copied; runs already copied stay.',
    title: `Copy ${guest} to ${t.name} (${describeTarget(t)})`,
    rows: send.map(label),
  };
  job.run(spec, async (io) => {
    const onEvent = (e: CopyEvent) => {
      if (e.type === 'run-start') io.row(label(e.run), { state: 'running', note: `${formatBytes(e.bytes)}, checksums first` });
      else if (e.type === 'progress') io.row(label(e.run), { progress: e.progress });
      else if (e.type === 'run-end') io.row(label(e.run), e.ok ? { state: 'done', note: `verified on ${t.name}, ${formatBytes(e.bytesSent)} sent` } : { state: 'failed', note: e.error?.sentence ?? 'failed' });
      else if (e.type === 'dropped') io.warn(`${e.guest}/${e.run} was deleted from ${t.name} by its retention (keep ${t.keepLast ?? '?'}).`);
    };
    try {
      const r = await copy(ctx.host, { target: t, dest, guests: [guest], runs: send.map(label), signal: io.signal, stateDir: ctx.deps.stateDir(), onEvent });
      for (const s of r.skipped) if (send.includes(s.run) && s.guest === guest) io.row(label(s.run), { state: 'failed', note: `not copied: ${s.reason}` });
      const sent = r.copied.reduce((n, c) => n + c.bytesSent, 0);
      if (io.signal.aborted) job.end('cancelled', `The copy to ${t.name} was cancelled; ${r.copied.length} run(s) copied before it stopped stay there.`);
      else if (!r.ok) {
        job.end('failed', `The copy to ${t.name} failed: ${r.failed[0]?.error.sentence ?? 'see the rows'}`);
        if (r.failed[0]) ctx.showError(`Could not copy to ${t.name}`, new UserError(r.failed[0].error.sentence, r.failed[0].error.fix));
      } else job.end('done', `${r.copied.length} run(s) copied to ${t.name} and verified there, ${formatBytes(sent)} sent.`);
    } catch (e) {
      job.end(io.signal.aborted ? 'cancelled' : 'failed', `The copy to ${t.name} stopped: ${toShownError(e).sentence}`);
      if (!io.signal.aborted) ctx.showError(`Could not copy to ${t.name}`, e);
    }
  });
}
