/** Restore (R): a form (same name, as a new guest, or run from the backup now), a review of the plan, a confirm, the run. */
import { planRoute } from '../../host/planRoute.js';
import type { prepareInstant as prepareInstantJob } from '../../jobs/instant.js';
import type { prepareRestore as prepareRestoreJob } from '../../jobs/restore.js';
import { instantName } from '../../model/instantRecovery.js';
import { UserError } from '../../model/userError.js';
import { type InstantChoice, instantAfterLines, instantReviewLines, type RestoreChoice, restoreConfirmLines, restoreReviewLines } from '../backupsText.js';
import { makeForm } from '../form.js';
import { planSpec } from '../jobs/runView.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import { copiesLine, fromField, type RunSource, reachRun, targetsHolding } from './copySource.js';
import type { PaneJob } from './paneJob.js';

type PlannedRestore = Awaited<ReturnType<typeof prepareRestoreJob>>;
type PlannedInstant = Awaited<ReturnType<typeof prepareInstantJob>>;

const SAME = 'same name (over the guest)';
const AS_NEW = 'as a new guest';
const INSTANT = 'run it from the backup now (instant)';
const NOT_ISOLATED = 'no';
const ISOLATED = 'yes, every network link down';
/** Where `backup instant` puts overlays when --dir is not given (jobs/instant's DEFAULT_OVERLAY_DIR, not loaded before R is used). */
const OVERLAY_DIR = '/var/lib/libvirt/images';
const KEEP_OLD = 'keep them aside';
const DELETE_OLD = 'delete after success';

const target = (choice: RestoreChoice) => (choice.asName ? { asName: choice.asName, toDir: choice.toDir ?? undefined } : { deleteOld: choice.deleteOld });

/** The review's first lines when the run is not read from the pane's destination. */
function sourceLines(src: RunSource): { text: string; tone: 'muted' }[] {
  return src.from ? [{ text: `Read from the copy on ${src.from} (${src.dest}), not from the destination.`, tone: 'muted' }] : [];
}

function runRestore(ctx: PaneContext, job: PaneJob, choice: RestoreChoice, planned: PlannedRestore, src: RunSource) {
  const { app, deps } = ctx;
  const doRestore = deps.restore;
  const dest = src.dest;
  if (!doRestore) return src.release();
  const spec = { ...planSpec(planned.plan, `the restore of ${choice.asName ?? choice.guest}`, undefined, true), rows: planned.plan.steps.map((st, i) => `${i + 1} ${st.title}`) };
  job.run(spec, async (io) => {
    let r: Awaited<ReturnType<typeof doRestore>>;
    try {
      // The plan's time: the disks moved aside get the names the review showed.
      r = await doRestore(ctx.host, { guest: choice.guest, dest, run: choice.run, ...target(choice), at: planned.at, signal: io.signal, onEvent: io.onEvent, stateDir: deps.stateDir() });
    } catch (e) {
      src.release();
      job.end('failed', `The restore did not start: ${toShownError(e).sentence}`);
      ctx.showError(`Could not restore ${choice.asName ?? choice.guest}`, e);
      return;
    }
    void app.getState().refresh();
    // A worker that took the restore over still reads the copy: its staging goes with the day-old sweep.
    if (r.state === 'running') return job.end('done', 'The restore goes on in the background.');
    src.release();
    if (r.state === 'done') {
      const where = r.disks.map((d) => `${d.target} → ${d.path}${d.aside && !choice.deleteOld ? ` (old disk kept at ${d.aside})` : ''}`).join('; ');
      return job.end('done', [`${r.name} restored from ${r.run}${src.from ? ` (the copy on ${src.from})` : ''}: ${where}.`, ...r.notes].join(' '));
    }
    const what = r.state === 'cancelled' ? 'was cancelled and rolled back' : r.state === 'rollback-failed' ? 'failed and could not be fully rolled back (see the job journal)' : 'failed and was rolled back';
    job.end(r.state === 'cancelled' ? 'cancelled' : 'failed', `The restore ${what}${r.error ? `: ${r.error.sentence}` : '.'}`);
    if (r.error && r.state !== 'cancelled') ctx.showError(`Could not restore ${r.name}`, r.error);
  });
}

function reviewRestore(ctx: PaneContext, job: PaneJob, choice: RestoreChoice, src: RunSource) {
  const { app, say } = ctx;
  const prepare = ctx.deps.prepareRestore;
  if (!prepare) return src.release();
  say(`Planning the restore of ${choice.guest} from ${choice.run}…`, 'busy');
  prepare(ctx.host, { guest: choice.guest, dest: src.dest, run: choice.run, ...target(choice) }).then(
    (planned) => {
      if (planned.damage.length > 0) {
        // The review shows why, and Enter does not go on: a damaged run never replaces a guest from here.
        say(`${planned.found.run.name} is damaged and is not restored; Esc goes back.`, 'error');
        ctx.openReview({
          title: `${planned.plan.title}: refused, the run is damaged`,
          lines: [...sourceLines(src), ...restoreReviewLines(planned, planRoute(ctx.host))],
          enter: null,
          onEnter: () => say(`${planned.found.run.name} is damaged and is not restored. Pick another run.`, 'error'),
          onCancel: src.release,
        });
        return;
      }
      say('Read the steps; the first reads every image and checks its sha256 before anything is touched.');
      ctx.openReview({
        title: planned.plan.title,
        lines: [...sourceLines(src), ...restoreReviewLines(planned, planRoute(ctx.host))],
        enter: 'confirm',
        onEnter: () =>
          app.getState().pushDialog({
            kind: 'confirm',
            title: planned.plan.title,
            lines: [...restoreConfirmLines(choice, planned), ...(src.from ? [`The run is read from the copy on ${src.from}.`] : [])],
            yes: choice.asName ? `restore as ${choice.asName}` : `restore ${choice.guest} over itself`,
            onYes: () => {
              ctx.set({ review: null });
              runRestore(ctx, job, choice, planned, src);
            },
          }),
        onCancel: src.release,
      });
    },
    (e) => {
      src.release();
      ctx.showError(`Could not plan the restore of ${choice.guest}`, e);
    },
  );
}

const instantRequest = (c: InstantChoice) => ({ guest: c.guest, dest: c.dest, run: c.run, asName: c.asName, dir: c.dir, isolated: c.isolated });

function runInstantJob(ctx: PaneContext, job: PaneJob, c: InstantChoice, planned: PlannedInstant, src: RunSource) {
  const { app, deps } = ctx;
  const doRun = deps.runInstant;
  if (!doRun) return src.release();
  const spec = { ...planSpec(planned.plan, `the start of ${c.asName} from the backup`, undefined, true), rows: planned.plan.steps.map((st, i) => `${i + 1} ${st.title}`) };
  job.run(spec, async (io) => {
    let r: Awaited<ReturnType<typeof doRun>>;
    try {
      r = await doRun(ctx.host, { ...instantRequest(c), signal: io.signal, onEvent: io.onEvent, stateDir: deps.stateDir() });
    } catch (e) {
      src.release();
      job.end('failed', `${c.asName} did not start: ${toShownError(e).sentence}`);
      ctx.showError(`Could not start ${c.asName} from the backup`, e);
      return;
    }
    void app.getState().refresh();
    if (r.state === 'running') return job.end('done', `The start of ${r.name} goes on in the background.`);
    // The copy runs from what was brought back until it is moved home or discarded: that stays.
    if (r.state !== 'done') src.release();
    if (r.state === 'done') {
      return job.end('done', [`${r.name} is running from ${c.guest} ${r.run} (${(r.elapsedMs / 1000).toFixed(1)} s); its writes go to ${r.overlays.map((o) => o.path).join(', ')}.`, ...instantAfterLines(r.name, c.dest), ...r.notes].join(' '));
    }
    const what = r.state === 'cancelled' ? 'was cancelled and rolled back' : r.state === 'rollback-failed' ? 'failed and could not be fully rolled back (see the job journal)' : 'failed and was rolled back';
    job.end(r.state === 'cancelled' ? 'cancelled' : 'failed', `The start of ${r.name} ${what}${r.error ? `: ${r.error.sentence}` : '.'}`);
    if (r.error && r.state !== 'cancelled') ctx.showError(`Could not start ${r.name} from the backup`, r.error);
  });
}

function reviewInstant(ctx: PaneContext, job: PaneJob, c: InstantChoice, src: RunSource) {
  const { app, say } = ctx;
  const prepare = ctx.deps.prepareInstant;
  if (!prepare) return src.release();
  say(`Planning ${c.asName} from ${c.run}…`, 'busy');
  prepare(ctx.host, { ...instantRequest(c), stateDir: ctx.deps.stateDir() }).then(
    (planned) => {
      const lines = [...sourceLines(src), ...instantReviewLines(planned, c, planRoute(ctx.host))];
      if (planned.damage.length > 0) {
        say(`${planned.found.run.name} is damaged and is not started; Esc goes back.`, 'error');
        ctx.openReview({ title: `${planned.plan.title}: refused, the run is damaged`, lines, enter: null, onEnter: () => say(`${planned.found.run.name} is damaged and is not started. Pick another run.`, 'error'), onCancel: src.release });
        return;
      }
      say(`Read the steps and what it does not do: ${planned.name} keeps needing ${c.dest}.`);
      ctx.openReview({
        title: planned.plan.title,
        lines,
        enter: 'confirm',
        onEnter: () =>
          app.getState().pushDialog({
            kind: 'confirm',
            title: planned.plan.title,
            lines: [`Creates and starts ${planned.name} on ${planned.overlays.map((o) => o.path).join(', ')}; ${c.guest} is not touched.`, ...instantAfterLines(planned.name, c.dest)],
            yes: `start ${planned.name} from the backup`,
            onYes: () => {
              ctx.set({ review: null });
              runInstantJob(ctx, job, c, planned, src);
            },
          }),
        onCancel: src.release,
      });
    },
    (e) => {
      src.release();
      ctx.showError(`Could not plan ${c.asName} from ${c.run}`, e);
    },
  );
}

export function startRestore(ctx: PaneContext, job: PaneJob) {
  const { app, deps, get, say } = ctx;
  const dest = get().dest;
  const g = ctx.selectedGuest();
  const run = get().level === 'runs' ? ctx.selectedRun() : g?.last ? { name: g.last.name, run: g.last, status: 'good' as const } : null;
  // A run only on copy targets needs no destination: it is read where it is.
  const copyOnly = run?.status === 'copy';
  if ((!dest && !copyOnly) || !g || !run) return say(`${g?.guest ?? 'This guest'} has no run to restore; back it up first (b).`, 'error');
  if ((run.status !== 'good' || !run.run) && !copyOnly) return say(`${run.name} is ${run.status} and cannot be restored.`, 'error');
  if (!deps.restore || !deps.prepareRestore) return ctx.notWired('Restore', `virtdeck backup restore ${g.guest} ${run.name} --dest ${dest} [--as NEWNAME --to DIR]`);
  // A new guest's disks go next to the old ones by default; a block device source has no such directory.
  const source = run.run?.manifest.disks[0]?.sourcePath ?? '';
  const dir = source.startsWith('/') && !source.startsWith('/dev/') ? source.replace(/\/[^/]*$/, '') || '/' : '/var/lib/libvirt/images';
  const exists = app.getState().guests.some((x) => x.name === g.guest);
  // Where copies of the run are, From chooses where it is read (the CLI's --from).
  const holding = targetsHolding(ctx, g.guest, run.name);
  if (copyOnly && holding.length === 0) return say(`${run.name} is on no configured copy target any more; add the target back to backup.copyTargets.`, 'error');
  ctx.set({
    form: {
      title: `Restore ${g.guest} from ${run.name}`,
      lines: [
        'Same name: the guest must be shut off; its disks are moved aside, never overwritten.',
        'As a new guest: a copy with a new name, UUID and MACs; disks go into the directory given.',
        'From the backup now: a copy starts in seconds on overlays over the run; nothing is copied.',
        ...(holding.length > 0 ? [copiesLine(ctx, g.guest, run.name, holding)] : []),
      ],
      form: makeForm([
        ...(holding.length > 0 ? [fromField(copyOnly ? null : dest, holding)] : []),
        { id: 'mode', label: 'Restore', kind: 'choice', value: exists ? AS_NEW : SAME, options: [AS_NEW, SAME, ...(deps.prepareInstant && deps.runInstant ? [INSTANT] : [])].map((v) => ({ value: v, label: v })) },
        { id: 'name', label: 'New name', kind: 'text', value: `${g.guest}-restored`, showWhen: { field: 'mode', value: AS_NEW } },
        { id: 'toDir', label: 'Disks into dir', kind: 'text', value: dir, showWhen: { field: 'mode', value: AS_NEW } },
        { id: 'old', label: 'Current disks', kind: 'choice', value: KEEP_OLD, options: [KEEP_OLD, DELETE_OLD].map((v) => ({ value: v, label: v })), showWhen: { field: 'mode', value: SAME } },
        { id: 'instantName', label: 'New name', kind: 'text', value: instantName(g.guest), showWhen: { field: 'mode', value: INSTANT } },
        { id: 'overlayDir', label: 'Overlays into dir', kind: 'text', value: OVERLAY_DIR, showWhen: { field: 'mode', value: INSTANT } },
        { id: 'isolated', label: 'Isolated', kind: 'choice', value: NOT_ISOLATED, options: [NOT_ISOLATED, ISOLATED].map((v) => ({ value: v, label: v })), showWhen: { field: 'mode', value: INSTANT } },
      ]),
      submit: ({ from, mode, name, toDir, old, instantName: iname, overlayDir, isolated }) => {
        const reach = (next: (src: RunSource) => void) => reachRun(ctx, job, { dest: dest ?? '', guest: g.guest, run: run.name, from }, next);
        if (mode === INSTANT) {
          if (!iname) throw new UserError('The copy needs a name.', `Type a name that no guest has yet, e.g. ${instantName(g.guest)}.`);
          if (!overlayDir?.startsWith('/')) throw new UserError('The overlays need an absolute directory on the host.', 'Type a path such as /var/lib/libvirt/images.');
          return reach((src) => reviewInstant(ctx, job, { guest: g.guest, run: src.run, dest: src.dest, asName: iname, dir: overlayDir, isolated: isolated === ISOLATED }, src));
        }
        const asNew = mode === AS_NEW;
        if (asNew && !name) throw new UserError('The new guest needs a name.', 'Type a name that no guest has yet, e.g. web-restored.');
        if (asNew && !toDir?.startsWith('/')) throw new UserError('The disks need an absolute directory on the host.', 'Type a path such as /var/lib/libvirt/images.');
        reach((src) => reviewRestore(ctx, job, { guest: g.guest, run: src.run, asName: asNew ? (name ?? null) : null, toDir: asNew ? (toDir ?? null) : null, deleteOld: !asNew && old === DELETE_OLD }, src));
      },
    },
  });
}
