/** Restore (R): a form (same name or as a new guest), a review of the plan, a confirm, the run. */
import { planRoute } from '../../host/planRoute.js';
import type { prepareRestore as prepareRestoreJob } from '../../jobs/restore.js';
import { UserError } from '../../model/userError.js';
import { type RestoreChoice, restoreConfirmLines, restoreReviewLines } from '../backupsText.js';
import { makeForm } from '../form.js';
import { planSpec } from '../jobs/runView.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { PaneJob } from './paneJob.js';

type PlannedRestore = Awaited<ReturnType<typeof prepareRestoreJob>>;

const SAME = 'same name (over the guest)';
const AS_NEW = 'as a new guest';
const KEEP_OLD = 'keep them aside';
const DELETE_OLD = 'delete after success';

const target = (choice: RestoreChoice) => (choice.asName ? { asName: choice.asName, toDir: choice.toDir ?? undefined } : { deleteOld: choice.deleteOld });

function runRestore(ctx: PaneContext, job: PaneJob, choice: RestoreChoice, planned: PlannedRestore, dest: string) {
  const { app, deps } = ctx;
  const doRestore = deps.restore;
  if (!doRestore) return;
  const spec = { ...planSpec(planned.plan, `the restore of ${choice.asName ?? choice.guest}`, undefined, true), rows: planned.plan.steps.map((st, i) => `${i + 1} ${st.title}`) };
  job.run(spec, async (io) => {
    let r: Awaited<ReturnType<typeof doRestore>>;
    try {
      // The plan's time: the disks moved aside get the names the review showed.
      r = await doRestore(ctx.host, { guest: choice.guest, dest, run: choice.run, ...target(choice), at: planned.at, signal: io.signal, onEvent: io.onEvent, stateDir: deps.stateDir() });
    } catch (e) {
      job.end('failed', `The restore did not start: ${toShownError(e).sentence}`);
      ctx.showError(`Could not restore ${choice.asName ?? choice.guest}`, e);
      return;
    }
    void app.getState().refresh();
    if (r.state === 'running') return job.end('done', 'The restore goes on in the background.');
    if (r.state === 'done') {
      const where = r.disks.map((d) => `${d.target} → ${d.path}${d.aside && !choice.deleteOld ? ` (old disk kept at ${d.aside})` : ''}`).join('; ');
      return job.end('done', [`${r.name} restored from ${r.run}: ${where}.`, ...r.notes].join(' '));
    }
    const what = r.state === 'cancelled' ? 'was cancelled and rolled back' : r.state === 'rollback-failed' ? 'failed and could not be fully rolled back (see the job journal)' : 'failed and was rolled back';
    job.end(r.state === 'cancelled' ? 'cancelled' : 'failed', `The restore ${what}${r.error ? `: ${r.error.sentence}` : '.'}`);
    if (r.error && r.state !== 'cancelled') ctx.showError(`Could not restore ${r.name}`, r.error);
  });
}

function reviewRestore(ctx: PaneContext, job: PaneJob, choice: RestoreChoice, dest: string) {
  const { app, say } = ctx;
  const prepare = ctx.deps.prepareRestore;
  if (!prepare) return;
  say(`Planning the restore of ${choice.guest} from ${choice.run}…`, 'busy');
  prepare(ctx.host, { guest: choice.guest, dest, run: choice.run, ...target(choice) }).then(
    (planned) => {
      if (planned.damage.length > 0) {
        // The review shows why, and Enter does not go on: a damaged run never replaces a guest from here.
        say(`${planned.found.run.name} is damaged and is not restored; Esc goes back.`, 'error');
        ctx.openReview({
          title: `${planned.plan.title}: refused, the run is damaged`,
          lines: restoreReviewLines(planned, planRoute(ctx.host)),
          enter: null,
          onEnter: () => say(`${planned.found.run.name} is damaged and is not restored. Pick another run.`, 'error'),
        });
        return;
      }
      say('Read the steps; the first reads every image and checks its sha256 before anything is touched.');
      ctx.openReview({
        title: planned.plan.title,
        lines: restoreReviewLines(planned, planRoute(ctx.host)),
        enter: 'confirm',
        onEnter: () =>
          app.getState().pushDialog({
            kind: 'confirm',
            title: planned.plan.title,
            lines: restoreConfirmLines(choice, planned),
            yes: choice.asName ? `restore as ${choice.asName}` : `restore ${choice.guest} over itself`,
            onYes: () => {
              ctx.set({ review: null });
              runRestore(ctx, job, choice, planned, dest);
            },
          }),
      });
    },
    (e) => ctx.showError(`Could not plan the restore of ${choice.guest}`, e),
  );
}

export function startRestore(ctx: PaneContext, job: PaneJob) {
  const { app, deps, get, say } = ctx;
  const dest = get().dest;
  const g = ctx.selectedGuest();
  const run = get().level === 'runs' ? ctx.selectedRun() : g?.last ? { name: g.last.name, run: g.last, status: 'good' as const } : null;
  if (!dest || !g || !run) return say(`${g?.guest ?? 'This guest'} has no run to restore; back it up first (b).`, 'error');
  if (run.status !== 'good' || !run.run) return say(`${run.name} is ${run.status} and cannot be restored.`, 'error');
  if (!deps.restore || !deps.prepareRestore) return ctx.notWired('Restore', `virtdeck backup restore ${g.guest} ${run.name} --dest ${dest} [--as NEWNAME --to DIR]`);
  // A new guest's disks go next to the old ones by default; a block device source has no such directory.
  const source = run.run.manifest.disks[0]?.sourcePath ?? '';
  const dir = source.startsWith('/') && !source.startsWith('/dev/') ? source.replace(/\/[^/]*$/, '') || '/' : '/var/lib/libvirt/images';
  const exists = app.getState().guests.some((x) => x.name === g.guest);
  ctx.set({
    form: {
      title: `Restore ${g.guest} from ${run.name}`,
      lines: [
        'Same name: the guest must be shut off; its disks are moved aside, never overwritten.',
        'As a new guest: a copy with a new name, UUID and MACs; disks go into the directory given.',
      ],
      form: makeForm([
        { id: 'mode', label: 'Restore', kind: 'choice', value: exists ? AS_NEW : SAME, options: [AS_NEW, SAME].map((v) => ({ value: v, label: v })) },
        { id: 'name', label: 'New name', kind: 'text', value: `${g.guest}-restored`, showWhen: { field: 'mode', value: AS_NEW } },
        { id: 'toDir', label: 'Disks into dir', kind: 'text', value: dir, showWhen: { field: 'mode', value: AS_NEW } },
        { id: 'old', label: 'Current disks', kind: 'choice', value: KEEP_OLD, options: [KEEP_OLD, DELETE_OLD].map((v) => ({ value: v, label: v })), showWhen: { field: 'mode', value: SAME } },
      ]),
      submit: ({ mode, name, toDir, old }) => {
        const asNew = mode === AS_NEW;
        if (asNew && !name) throw new UserError('The new guest needs a name.', 'Type a name that no guest has yet, e.g. web-restored.');
        if (asNew && !toDir?.startsWith('/')) throw new UserError('The disks need an absolute directory on the host.', 'Type a path such as /var/lib/libvirt/images.');
        reviewRestore(ctx, job, { guest: g.guest, run: run.name, asName: asNew ? (name ?? null) : null, toDir: asNew ? (toDir ?? null) : null, deleteOld: !asNew && old === DELETE_OLD }, dest);
      },
    },
  });
}
