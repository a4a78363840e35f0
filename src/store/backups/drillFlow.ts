/**
 * K: a restore drill from the console, the twin of `virtdeck backup drill GUEST`. Asks first, then
 * a job of three rows (start the throwaway copy, wait for a sign of life, discard it); c cancels
 * the wait and the copy is discarded all the same. The result lands in drills.json, which the
 * strip under the list reads on the reload after the job.
 */
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { PaneJob } from './paneJob.js';

export function startDrill(ctx: PaneContext, job: PaneJob) {
  const { app, deps, get, say } = ctx;
  const dest = get().dest;
  const g = ctx.selectedGuest();
  if (!dest) return say('Choose a destination first (d).', 'error');
  if (!g?.last) return say(`${g?.guest ?? 'This guest'} has no run to drill; back it up first (b).`, 'error');
  const drill = deps.runDrill;
  if (!drill) return ctx.notWired('A restore drill', `virtdeck backup drill ${g.guest} --dest ${dest}`);
  const guest = g.guest;
  const run = g.last.name;
  const rows = { start: `start ${run} as a throwaway copy, links down`, wait: 'wait for the serial console or the guest agent', discard: 'discard the copy' };
  app.getState().pushDialog({
    kind: 'confirm',
    title: `Restore drill of ${guest}`,
    lines: [
      `Starts ${guest}'s newest run ${run} as a throwaway copy (${guest}-drill-XXXX) on overlays, every network link down: the backup is only read.`,
      'Waits for its first serial-console line or a guest-agent answer (up to 10 min without KVM, 3 min with), then discards the copy whatever happened.',
      `${guest} itself is not touched. The result shows under the list.`,
    ],
    yes: `drill ${guest}`,
    onYes: () =>
      job.run(
        { what: `the restore drill of ${guest}`, undo: 'The wait stops and the throwaway copy is discarded; the backup and the guest are not touched.', title: `Restore drill of ${guest} (${run})`, rows: Object.values(rows) },
        async (io) => {
          io.row(rows.start, { state: 'running' });
          let waiting = false;
          try {
            const r = await drill(ctx.host, {
              guest,
              dest,
              stateDir: deps.stateDir(),
              signal: io.signal,
              onWait: (s, t) => {
                if (!waiting) io.row(rows.start, { state: 'done' });
                waiting = true;
                io.row(rows.wait, { state: 'running', note: `${s} of ${t} s` });
              },
            });
            const started = !r.error?.startsWith('the copy did not start');
            io.row(rows.start, started ? { state: 'done' } : { state: 'failed', note: r.error ?? '' });
            if (started) io.row(rows.wait, r.ok ? { state: 'done', note: `booted in ${r.bootSeconds} s: ${r.evidence ?? ''}` } : { state: 'failed', note: r.error ?? 'no sign of life' });
            io.row(rows.discard, r.cleanedUp ? { state: 'done', note: `${r.name} is gone` } : { state: 'failed', note: `virtdeck backup instant discard ${r.name}` });
            const left = r.cleanedUp ? '' : ` The copy ${r.name} could not be discarded: D on it, or virtdeck backup instant discard ${r.name}.`;
            job.end(r.ok && r.cleanedUp ? 'done' : 'failed', r.ok ? `${guest} is restorable: ${run} booted in ${r.bootSeconds} s (${r.evidence}).${left}` : `The drill of ${guest} failed: ${r.error}.${left}`);
          } catch (e) {
            job.end(io.signal.aborted ? 'cancelled' : 'failed', toShownError(e).sentence);
            if (!io.signal.aborted) ctx.showError(`Could not drill ${guest}`, e);
          }
        },
      ),
  });
}
