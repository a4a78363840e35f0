/**
 * The guests started from a backup (`backup instant`, R's third mode): I lists them, F moves the
 * selected one home while it runs (a form for the directory, the plan, a confirm, the blockcopy as a
 * job with progress and cancel), D discards it (a confirm naming what is lost, then the job).
 */
import { planRoute } from '../../host/planRoute.js';
import type { InstantListEntry } from '../../jobs/instant.js';
import { instantListLines } from '../../model/instantRecovery.js';
import { describePlan } from '../../model/plan.js';
import { UserError } from '../../model/userError.js';
import type { ToneLine } from '../backupsText.js';
import { makeForm } from '../form.js';
import { planSpec } from '../jobs/runView.js';
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { PaneJob } from './paneJob.js';

/** Where `finish` puts the disks unless told otherwise: libvirt's default pool directory. */
const HOME_DIR = '/var/lib/libvirt/images';

/** The selected guest when it runs from a backup, else a message naming what to do instead. */
function selectedCopy(ctx: PaneContext, what: string): InstantListEntry | null {
  const g = ctx.selectedGuest();
  if (!g) {
    ctx.say(`Select the guest to ${what}.`, 'error');
    return null;
  }
  const entry = (ctx.get().instant ?? []).find((e) => e.name === g.guest);
  if (!entry) ctx.say(`${g.guest} was not started from a backup, so there is nothing to ${what}; I lists the guests that were.`, 'error');
  return entry ?? null;
}

/** I: every guest on this host running from a backup, read afresh. */
export function showInstantList(ctx: PaneContext) {
  const { app, deps } = ctx;
  const list = deps.listInstant;
  if (!list) return ctx.notWired('The list of instant copies', 'virtdeck backup instant list');
  ctx.say('Reading the guests started from a backup…', 'busy');
  list(ctx.host, { stateDir: deps.stateDir() }).then(
    (entries) => {
      ctx.set({ instant: entries });
      ctx.say(entries.length ? `${entries.length} guest${entries.length === 1 ? '' : 's'} run${entries.length === 1 ? 's' : ''} from a backup: select one, then F moves it home or D discards it.` : 'No guest runs from a backup.');
      app.getState().pushDialog({ kind: 'text', title: `Guests running from a backup on ${ctx.host.name}`, lines: instantListLines(entries, ctx.host.uri), offset: 0 });
    },
    (e) => ctx.showError('Could not list the guests started from a backup', e),
  );
}

function finishJob(ctx: PaneContext, job: PaneJob, entry: InstantListEntry, dir: string, plan: Parameters<typeof planSpec>[0]) {
  const { app, deps } = ctx;
  const doFinish = deps.finishInstant;
  if (!doFinish) return;
  const spec = planSpec(
    plan,
    `moving ${entry.name} home`,
    `The copy running now is stopped (QEMU's block job aborted) and the half-made file removed; ${entry.name} keeps running from the backup, unchanged.`,
  );
  job.run(spec, async (io) => {
    try {
      const r = await doFinish(ctx.host, entry.name, dir, { stateDir: deps.stateDir(), signal: io.signal, onEvent: io.onEvent });
      void app.getState().refresh();
      if (r.state === 'done') return job.end('done', `${entry.name} runs from ${dir} now and no longer needs ${entry.guest} ${entry.run}; its overlays are removed.`);
      if (r.state === 'running') return job.end('done', `Moving ${entry.name} home goes on in the background.`);
      const what = r.state === 'cancelled' ? 'was cancelled' : r.state === 'rollback-failed' ? 'failed and could not be fully undone (see the job journal)' : 'failed';
      job.end(r.state === 'cancelled' ? 'cancelled' : 'failed', `Moving ${entry.name} home ${what}${r.error ? `: ${r.error.sentence}` : '.'} It still runs from the backup; F tries again.`);
      if (r.error && r.state !== 'cancelled') ctx.showError(`Could not move ${entry.name} home`, r.error);
    } catch (e) {
      job.end(io.signal.aborted ? 'cancelled' : 'failed', `Moving ${entry.name} home did not start: ${toShownError(e).sentence}`);
      if (!io.signal.aborted) ctx.showError(`Could not move ${entry.name} home`, e);
    }
  });
}

/** F: a directory, the plan, a confirm, then the copy as a job (percent, bytes, rate, ETA; c cancels). */
export function startFinish(ctx: PaneContext, job: PaneJob) {
  const { app, deps } = ctx;
  const entry = selectedCopy(ctx, 'move home');
  if (!entry) return;
  const prepare = deps.prepareFinish;
  if (!prepare || !deps.finishInstant) return ctx.notWired('Moving a copy home', `virtdeck backup instant finish ${entry.name} --to DIR`);
  if (entry.state !== 'running') return ctx.say(`${entry.name} is ${entry.state}; its disks are moved home while it runs. Start it first, or D discards it.`, 'error');
  ctx.set({
    form: {
      title: `Move ${entry.name} home`,
      lines: [
        `Each disk (${entry.guest} ${entry.run} + its overlay) is copied into one qcow2 in the directory while ${entry.name} runs,`,
        'then the guest switches to it (virsh blockcopy --pivot). After that it no longer needs the backup.',
      ],
      form: makeForm([{ id: 'to', label: 'Disks into dir', kind: 'text', value: HOME_DIR }]),
      submit: ({ to }) => {
        if (!to?.startsWith('/')) throw new UserError('The disks need an absolute directory on the host.', `Type a path such as ${HOME_DIR}.`);
        ctx.say(`Planning the move of ${entry.name} to ${to}…`, 'busy');
        prepare(ctx.host, entry.name, to, { stateDir: deps.stateDir() }).then(
          ({ plan }) => {
            const lines: ToneLine[] = [
              { text: `${entry.name} runs from ${entry.guest} ${entry.run} in ${entry.dest}.`, tone: 'muted' },
              { text: '' },
              { text: 'Steps (journaled: a kill leaves it running from the backup; virtdeck recover finishes or undoes)', tone: 'bold' },
              ...describePlan(plan, planRoute(ctx.host)).map((text) => ({ text })),
            ];
            ctx.openReview({
              title: plan.title,
              lines,
              enter: 'confirm',
              onEnter: () =>
                app.getState().pushDialog({
                  kind: 'confirm',
                  title: plan.title,
                  lines: [
                    `Copies ${entry.name}'s disks into ${to} while it runs and switches to them; then removes the overlays ${entry.overlays.map((o) => o.path).join(', ')}.`,
                    `The backup is only read. Afterwards prune may remove ${entry.run} again.`,
                  ],
                  yes: `move ${entry.name} home`,
                  onYes: () => {
                    ctx.set({ review: null });
                    finishJob(ctx, job, entry, to, plan);
                  },
                }),
            });
          },
          (e) => ctx.showError(`Could not plan the move of ${entry.name}`, e),
        );
      },
    },
  });
}

/** D: asks first, naming what is lost (the copy's writes) and what is kept (the backup). */
export function startDiscard(ctx: PaneContext, job: PaneJob) {
  const { app, deps } = ctx;
  const entry = selectedCopy(ctx, 'discard');
  if (!entry) return;
  const prepare = deps.prepareDiscard;
  const doDiscard = deps.discardInstant;
  if (!prepare || !doDiscard) return ctx.notWired('Discarding a copy', `virtdeck backup instant discard ${entry.name}`);
  ctx.say(`Planning the discard of ${entry.name}…`, 'busy');
  prepare(ctx.host, entry.name, { stateDir: deps.stateDir() }).then(
    ({ plan, record }) => {
      ctx.say(`Discard ${entry.name}? It asks first.`);
      app.getState().pushDialog({
        kind: 'confirm',
        title: plan.title,
        lines: [
          `Stops ${entry.name} at once (like pulling the plug) and ${record.originalXml ? `puts back the definition ${entry.name} had before` : 'undefines it'}.`,
          `Deletes ${record.overlays.map((o) => o.path).join(', ')}: everything ${entry.name} wrote since it started is lost.`,
          `The backup ${entry.guest} ${entry.run} in ${entry.dest} is not touched.`,
        ],
        yes: `discard ${entry.name}`,
        onYes: () =>
          job.run(planSpec(plan, `the discard of ${entry.name}`), async (io) => {
            try {
              const r = await doDiscard(ctx.host, entry.name, { stateDir: deps.stateDir(), signal: io.signal, onEvent: io.onEvent });
              void app.getState().refresh();
              if (r.state === 'done') return job.end('done', `${entry.name} is gone: ${record.overlays.length} overlay${record.overlays.length === 1 ? '' : 's'} removed; the backup was not touched.`);
              job.end(r.state === 'cancelled' ? 'cancelled' : 'failed', `The discard of ${entry.name} stopped${r.error ? `: ${r.error.sentence}` : '.'} Each step is safe to repeat: D again.`);
              if (r.error && r.state !== 'cancelled') ctx.showError(`Could not discard ${entry.name}`, r.error);
            } catch (e) {
              job.end(io.signal.aborted ? 'cancelled' : 'failed', `The discard of ${entry.name} did not start: ${toShownError(e).sentence}`);
              if (!io.signal.aborted) ctx.showError(`Could not discard ${entry.name}`, e);
            }
          }),
      });
    },
    (e) => ctx.showError(`Could not plan the discard of ${entry.name}`, e),
  );
}
