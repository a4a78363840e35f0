/** Prune (P): retention counts in a form, a dry-run review of what goes, a confirm, the deletion. */
import type { PruneResult } from '../../jobs/prune.js';
import type { RetentionPolicy } from '../../model/retention.js';
import { UserError } from '../../model/userError.js';
import { KEEP_FIELDS, policyText, pruneConfirmLines, pruneReviewLines, removals, sameRemovals } from '../backupsText.js';
import { makeForm } from '../form.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { PaneJob } from './paneJob.js';

function runPrune(ctx: PaneContext, job: PaneJob, dest: string, guests: string[], policy: RetentionPolicy, reviewed: PruneResult, now: Date) {
  const doPrune = ctx.deps.prune;
  if (!doPrune) return;
  const gone = removals(reviewed);
  const who = guests.join(', ') || 'every guest';
  const spec = {
    what: `the prune of ${who} in ${dest}`,
    undo: 'Directories already deleted stay deleted; the rest are kept.',
    title: `Prune ${who} in ${dest}`,
    rows: gone.map((i) => `${i.guest}/${i.name}`),
  };
  job.run(spec, async (io) => {
    try {
      // The destination may have changed since the review (a scheduled run, another prune): delete
      // only when it still removes exactly what the admin confirmed.
      const again = await doPrune(ctx.host, dest, policy, { guests, now, dryRun: true, signal: io.signal });
      if (!sameRemovals(again, reviewed)) {
        throw new UserError(`The runs in ${dest} changed since the review, so nothing was deleted.`, 'Press P again to see what retention removes now.');
      }
      const r = await doPrune(ctx.host, dest, policy, {
        guests,
        now,
        signal: io.signal,
        onRemove: (path) => io.row(path.slice(dest.replace(/\/+$/, '').length + 1), { state: 'done', note: 'deleted' }),
      });
      job.end('done', `Deleted ${r.removed.length} director${r.removed.length === 1 ? 'y' : 'ies'} from ${dest}; ${r.items.filter((i) => i.action === 'keep').length} kept.`);
    } catch (e) {
      for (const row of job.controller.view()?.rows ?? []) if (row.state === 'waiting') io.row(row.label, { state: 'failed', note: 'not deleted' });
      job.end(io.signal.aborted ? 'cancelled' : 'failed', `Prune stopped: ${toShownError(e).sentence}`);
      if (!io.signal.aborted) ctx.showError(`Could not prune ${dest}`, e);
    }
  });
}

function reviewPrune(ctx: PaneContext, job: PaneJob, dest: string, guests: string[], policy: RetentionPolicy) {
  const { app, say, set } = ctx;
  const doPrune = ctx.deps.prune;
  if (!doPrune) return;
  const now = new Date();
  const who = guests.join(', ') || 'every guest';
  say(`Working out what retention removes for ${who}…`, 'busy');
  doPrune(ctx.host, dest, policy, { guests, now, dryRun: true }).then(
    (plan) => {
      const gone = removals(plan);
      // The count is news the footer cannot give: the status line names it with what Enter does.
      say(gone.length ? `Enter: delete ${gone.length} (asks first).` : 'Nothing to delete.');
      ctx.openReview({
        title: `Prune ${who} in ${dest} · dry run`,
        lines: pruneReviewLines(plan),
        enter: gone.length ? 'delete' : 'close',
        onEnter: () => {
          if (gone.length === 0) return set({ review: null });
          app.getState().pushDialog({
            kind: 'confirm',
            title: `Delete ${gone.length} backup director${gone.length === 1 ? 'y' : 'ies'}`,
            lines: pruneConfirmLines(plan),
            yes: `delete ${gone.length}`,
            onYes: () => {
              set({ review: null });
              runPrune(ctx, job, dest, guests, policy, plan, now);
            },
          });
        },
      });
    },
    (e) => ctx.showError(`Could not work out what to prune in ${dest}`, e),
  );
}

export function startPrune(ctx: PaneContext, job: PaneJob) {
  const { deps, get, say } = ctx;
  const dest = get().dest;
  const g = ctx.selectedGuest();
  if (!dest) return say('Choose a destination first (d).', 'error');
  if (!deps.prune) return ctx.notWired('Prune', `virtdeck backup prune --dest ${dest} --dry-run`);
  // Only the selected guest, from either list: pruning every guest is the schedule's job (or the CLI's).
  const guests = g ? [g.guest] : [];
  const configured = deps.settings().retention ?? {};
  ctx.set({
    form: {
      title: `Prune ${guests.join(', ') || 'every guest'} in ${dest}`,
      lines: [`From config.json backup.retention: ${policyText(configured)}.`, 'Change a count for this prune only; empty = rule not used. The next screen lists what goes.'],
      form: makeForm(KEEP_FIELDS.map(([k, label]) => ({ id: k, label, kind: 'text', value: configured[k] === undefined ? '' : String(configured[k]) }))),
      submit: (values) => {
        const policy: RetentionPolicy = {};
        for (const [k, label] of KEEP_FIELDS) {
          const v = values[k] ?? '';
          if (v === '') continue;
          if (!/^\d+$/.test(v)) throw new UserError(`${label} "${v}" is not a whole number.`, `Type a count such as 7, or leave ${label} empty.`);
          policy[k] = Number(v);
        }
        reviewPrune(ctx, job, dest, guests, policy);
      },
    },
  });
}
