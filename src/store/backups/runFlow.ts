/** Backup now (b) and verify (V): jobs that read the guests or the destination and report per row. */
import { toShownError } from '../shownError.js';
import type { PaneContext } from './context.js';
import type { PaneJob } from './paneJob.js';

/** b: the selected guest only. Backing up several guests is B (backupAll), which asks first. */
export function backupNow(ctx: PaneContext, job: PaneJob) {
  const g = ctx.selectedGuest()?.guest;
  if (!g) return ctx.say('Select a guest to back up (B backs up every guest shown).', 'error');
  startBackup(ctx, job, [g], g);
}

/** B: every guest the list shows (so the filter applies) that libvirt knows; asks first, naming how many. */
export function backupAll(ctx: PaneContext, job: PaneJob) {
  const { app, get, say } = ctx;
  if (!get().dest) return say('Choose a destination first (d).', 'error');
  const known = new Set(app.getState().guests.map((x) => x.name));
  const guests = ctx.guestLines().map((l) => l.guest).filter((name) => known.has(name));
  if (guests.length === 0) return say('No guest shown here to back up.', 'error');
  const filter = app.getState().filter.trim();
  const count = `${guests.length} guest${guests.length === 1 ? '' : 's'}`;
  app.getState().pushDialog({
    kind: 'confirm',
    title: `Back up ${count}${filter ? ` matching "${filter}"` : ''}`,
    lines: [`Each of these is backed up to ${get().dest}, one after the other:`, guests.join(', ')],
    yes: `back up ${count}`,
    onYes: () => startBackup(ctx, job, guests, count),
  });
}

function startBackup(ctx: PaneContext, job: PaneJob, guests: string[], label: string) {
  const { deps, get, say } = ctx;
  const dest = get().dest;
  if (!dest) return say('Choose a destination first (d).', 'error');
  const runBackup = deps.runBackup;
  if (!runBackup) return ctx.notWired('Backup', `virtdeck backup run --dest ${dest} ${guests.join(' ')}`);
  const spec = {
    what: `the backup of ${label}`,
    undo: 'The running step stops and what it made is removed; runs already finished are kept.',
    title: `Back up ${label} to ${dest}`,
    rows: [],
    // One guest is one journal a worker can take over; the rest of a B run has none yet.
    background: guests.length === 1,
  };
  job.run(spec, async (io) => {
    let current = '';
    try {
      const r = await runBackup(ctx.host, {
        guests,
        dest,
        signal: io.signal,
        onEvent: (e) => {
          if (e.type === 'guest-start') {
            current = e.guest;
            io.row(e.guest, { state: 'running', note: `${e.decision.kind} · ${e.decision.method} · ${e.decision.consistency}` });
          } else if (e.type === 'runner' && e.event.type === 'journal') {
            io.onEvent(e.event);
          } else if (e.type === 'runner' && e.event.type === 'progress') {
            io.row(current, { progress: e.event.progress });
            // One row per disk under the guest's (push backups report each disk).
            for (const part of e.event.progress.parts ?? []) io.row(`${current} ${part.label}`, { state: part.percent >= 100 ? 'done' : 'running', progress: part });
          } else if (e.type === 'guest-end') {
            const away = e.result.state === 'background';
            io.row(e.guest, { state: e.result.ok ? 'done' : away ? 'running' : 'failed', note: e.result.ok || away ? `${e.result.kind} ${e.result.run}` : e.result.error?.sentence });
          } else if (e.type === 'warning') {
            io.warn(e.line);
          }
        },
      });
      const failed = r.guests.filter((x) => !x.ok);
      const summary = failed.length
        ? `${failed.length} of ${r.guests.length} failed: ${failed.map((f) => `${f.guest} (${f.error?.sentence ?? f.state})`).join('; ')}`
        : `Backed up ${r.guests.length} guest${r.guests.length === 1 ? '' : 's'}.`;
      job.end(io.signal.aborted ? 'cancelled' : failed.length ? 'failed' : 'done', summary);
    } catch (e) {
      job.end(io.signal.aborted ? 'cancelled' : 'failed', toShownError(e).sentence);
    }
  });
}

export function verify(ctx: PaneContext, job: PaneJob) {
  const { deps, get, say } = ctx;
  const dest = get().dest;
  const g = ctx.selectedGuest();
  const run = get().level === 'runs' ? ctx.selectedRun() : g?.last ? { name: g.last.name, run: g.last, status: 'good' as const } : null;
  if (!dest || !g || !run) return say('Select a run to verify.', 'error');
  if (run.status === 'copy') return say(`${run.name} is only on copy targets, not in this destination: R restores it and f browses it from there (each read is checked against its manifest).`, 'error');
  if (run.status !== 'good') return say(`${run.name} is ${run.status}: there is nothing to verify.`, 'error');
  const check = deps.verify;
  if (!check) return ctx.notWired('Verify', `virtdeck backup verify --dest ${dest} ${g.guest} --run ${run.name}`);
  const spec = { what: `the verification of ${run.name}`, undo: 'It only reads the run, so nothing needs undoing.', title: `Verify ${g.guest} ${run.name}`, rows: [] };
  job.run(spec, async (io) => {
    io.row(run.name, { state: 'running', note: 'qemu-img check, checksums' });
    try {
      const reports = await check(ctx.host, { dest, guest: g.guest, run: run.name, signal: io.signal });
      for (const r of reports) io.row(r.run, { state: r.ok ? 'done' : 'failed', note: r.ok ? 'verified ✓' : r.findings[0] });
      const bad = reports.filter((r) => !r.ok);
      job.end(bad.length ? 'failed' : 'done', bad.length ? `${bad.length} run(s) failed verification: ${bad[0]?.findings[0] ?? ''}` : `${run.name} verified.`);
    } catch (e) {
      job.end(io.signal.aborted ? 'cancelled' : 'failed', toShownError(e).sentence);
    }
  });
}
