/** Backup now (b) and verify (V): jobs that read the guests or the destination and report per row. */
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { JobView } from './jobView.js';

export function backupNow(ctx: PaneContext, job: JobView) {
  const { app, deps, get, say } = ctx;
  const dest = get().dest;
  if (!dest) return say('Choose a destination first (d).', 'error');
  if (!deps.runBackup) return ctx.notWired('Backup', `virtdeck backup run --all --dest ${dest}`);
  // From the guest list b backs up every guest; from one guest's runs, only that guest.
  const g = get().level === 'runs' || app.getState().guests.length === 0 ? ctx.selectedGuest()?.guest : null;
  const guests = g ? [g] : [];
  const signal = job.start(`Back up ${g ?? 'all guests'} to ${dest}`, []);
  let current = '';
  deps
    .runBackup(ctx.host, {
      guests,
      dest,
      signal,
      onEvent: (e) => {
        if (e.type === 'guest-start') {
          current = e.guest;
          job.updateRow(e.guest, { state: 'running', note: `${e.decision.kind} · ${e.decision.method} · ${e.decision.consistency}` });
        } else if (e.type === 'runner' && e.event.type === 'progress') {
          job.updateRow(current, { progress: e.event.progress });
          // One row per disk under the guest's (push backups report each disk).
          for (const part of e.event.progress.parts ?? []) job.updateRow(`${current} ${part.label}`, { state: part.percent >= 100 ? 'done' : 'running', progress: part });
        } else if (e.type === 'guest-end') {
          job.updateRow(e.guest, { state: e.result.ok ? 'done' : 'failed', note: e.result.ok ? `${e.result.kind} ${e.result.run}` : e.result.error?.sentence });
        } else if (e.type === 'warning') {
          say(e.line, 'error');
        }
      },
    })
    .then(
      (r) => {
        const failed = r.guests.filter((x) => !x.ok);
        job.end(failed.length ? `${failed.length} of ${r.guests.length} failed: ${failed.map((f) => `${f.guest} (${f.error?.sentence ?? f.state})`).join('; ')}` : `Backed up ${r.guests.length} guest${r.guests.length === 1 ? '' : 's'}.`);
      },
      (e) => job.end(toShownError(e).sentence),
    );
}

export function verify(ctx: PaneContext, job: JobView) {
  const { deps, get, say } = ctx;
  const dest = get().dest;
  const g = ctx.selectedGuest();
  const run = get().level === 'runs' ? ctx.selectedRun() : g?.last ? { name: g.last.name, run: g.last, status: 'good' as const } : null;
  if (!dest || !g || !run) return say('Select a run to verify.', 'error');
  if (run.status !== 'good') return say(`${run.name} is ${run.status}: there is nothing to verify.`, 'error');
  if (!deps.verify) return ctx.notWired('Verify', `virtdeck backup verify --dest ${dest} ${g.guest} --run ${run.name}`);
  const signal = job.start(`Verify ${g.guest} ${run.name}`, [{ label: run.name, state: 'running', progress: null, note: 'qemu-img check, checksums' }]);
  deps.verify(ctx.host, { dest, guest: g.guest, run: run.name, signal }).then(
    (reports) => {
      for (const r of reports) job.updateRow(r.run, { state: r.ok ? 'done' : 'failed', note: r.ok ? 'verified ✓' : r.findings[0] });
      const bad = reports.filter((r) => !r.ok);
      job.end(bad.length ? `${bad.length} run(s) failed verification: ${bad[0]?.findings[0] ?? ''}` : `${run.name} verified.`);
    },
    (e) => job.end(toShownError(e).sentence),
  );
}
