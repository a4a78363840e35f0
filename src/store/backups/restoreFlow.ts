/** Restore (R): a form (same name or as a new guest), a review of the plan, a confirm, the run. */
import type { prepareRestore as prepareRestoreJob } from '../../jobs/restore.js';
import { UserError } from '../../model/userError.js';
import { type RestoreChoice, restoreConfirmLines, restoreReviewLines } from '../backupsText.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { JobView } from './jobView.js';

type PlannedRestore = Awaited<ReturnType<typeof prepareRestoreJob>>;

const SAME = 'same name (over the guest)';
const AS_NEW = 'as a new guest';
const KEEP_OLD = 'keep them aside';
const DELETE_OLD = 'delete after success';

const target = (choice: RestoreChoice) => (choice.asName ? { asName: choice.asName, toDir: choice.toDir ?? undefined } : { deleteOld: choice.deleteOld });

function runRestore(ctx: PaneContext, job: JobView, choice: RestoreChoice, planned: PlannedRestore, dest: string) {
  const { app, deps } = ctx;
  const doRestore = deps.restore;
  if (!doRestore) return;
  const signal = job.start(
    planned.plan.title,
    planned.plan.steps.map((st, i) => ({ label: `${i + 1} ${st.title}`, state: 'waiting' as const, progress: null })),
  );
  doRestore(ctx.host, {
    guest: choice.guest,
    dest,
    run: choice.run,
    ...target(choice),
    signal,
    onEvent: job.stepRows,
    stateDir: deps.stateDir(),
  }).then(
    (r) => {
      void app.getState().refresh();
      if (r.state === 'done') {
        const where = r.disks.map((d) => `${d.target} → ${d.path}${d.aside && !choice.deleteOld ? ` (old disk kept at ${d.aside})` : ''}`).join('; ');
        return job.end([`${r.name} restored from ${r.run}: ${where}.`, ...r.notes].join(' '));
      }
      const what = r.state === 'cancelled' ? 'was cancelled and rolled back' : r.state === 'rollback-failed' ? 'failed and could not be fully rolled back (see the job journal)' : 'failed and was rolled back';
      job.end(`The restore ${what}${r.error ? `: ${r.error.sentence}` : '.'}`);
      if (r.error && r.state !== 'cancelled') ctx.showError(`Could not restore ${r.name}`, r.error);
    },
    (e) => {
      job.end(`The restore did not start: ${toShownError(e).sentence}`);
      ctx.showError(`Could not restore ${choice.asName ?? choice.guest}`, e);
    },
  );
}

function reviewRestore(ctx: PaneContext, job: JobView, choice: RestoreChoice, dest: string) {
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
          lines: restoreReviewLines(planned),
          hint: 'Esc: back · ↑/↓ scroll',
          onEnter: () => say(`${planned.found.run.name} is damaged and is not restored. Pick another run.`, 'error'),
        });
        return;
      }
      say('Read the steps; the first reads every image and checks its sha256 before anything is touched. Enter asks to confirm, Esc cancels.');
      ctx.openReview({
        title: planned.plan.title,
        lines: restoreReviewLines(planned),
        hint: 'Enter: confirm · ↑/↓ scroll · Esc: cancel',
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

export function startRestore(ctx: PaneContext, job: JobView) {
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
      fields: [
        { label: 'Restore', value: exists ? AS_NEW : SAME, choices: [AS_NEW, SAME] },
        { label: 'New name', value: `${g.guest}-restored`, showWhen: { field: 0, value: AS_NEW } },
        { label: 'Disks into dir', value: dir, showWhen: { field: 0, value: AS_NEW } },
        { label: 'Current disks', value: KEEP_OLD, choices: [KEEP_OLD, DELETE_OLD], showWhen: { field: 0, value: SAME } },
      ],
      focus: 0,
      submit: ([mode, name, toDir, old]) => {
        const asNew = mode === AS_NEW;
        if (asNew && !name) throw new UserError('The new guest needs a name.', 'Type a name that no guest has yet, e.g. web-restored.');
        if (asNew && !toDir?.startsWith('/')) throw new UserError('The disks need an absolute directory on the host.', 'Type a path such as /var/lib/libvirt/images.');
        reviewRestore(ctx, job, { guest: g.guest, run: run.name, asName: asNew ? (name ?? null) : null, toDir: asNew ? (toDir ?? null) : null, deleteOld: !asNew && old === DELETE_OLD }, dest);
      },
    },
  });
}
