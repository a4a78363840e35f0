/** Snapshots (t, T, X): take one before a risky change, revert to it, delete it when done. */
import type { SnapshotInfo } from '../../host/snapshots.js';
import { formatAge, revertLoss } from '../../model/snapshotPlan.js';
import { makeForm } from '../form.js';
import type { PaneContext } from './context.js';

/** The snapshot revert and delete act on: the current one, else the newest. */
function snapshotOf(ctx: PaneContext, guest: string): SnapshotInfo | null {
  const snaps = ctx.get().snapshots[guest] ?? [];
  return snaps.find((s) => s.current) ?? snaps[snaps.length - 1] ?? null;
}

function runSnapshotJob(ctx: PaneContext, what: string, run: () => Promise<unknown>, done: string) {
  ctx.say(`${what}…`, 'busy');
  run().then(
    () => {
      ctx.say(done);
      void ctx.loadSnapshots();
      void ctx.app.getState().refresh();
    },
    (e) => ctx.showError(`Could not ${what.charAt(0).toLowerCase()}${what.slice(1)}`, e),
  );
}

export function takeSnapshot(ctx: PaneContext) {
  const { deps, host } = ctx;
  const g = ctx.selectedGuest();
  if (!g) return;
  ctx.set({
    form: {
      title: `Take a snapshot of ${g.guest}`,
      lines: ['A way back before a risky change; delete it when the change worked (it slows the disk while kept).'],
      form: makeForm([
        { id: 'name', label: 'Name', kind: 'text', value: `before-${new Date().toISOString().slice(0, 10)}` },
        { id: 'description', label: 'Description', kind: 'text', value: '' },
      ]),
      submit: ({ name, description }) =>
        runSnapshotJob(ctx, `Snapshot ${g.guest} as ${name}`, () => deps.createSnapshot(host, g.guest, { name: name ?? '', description: description || undefined }, { stateDir: deps.stateDir() }), `Snapshot "${name}" of ${g.guest} taken.`),
    },
  });
}

export function revertToSnapshot(ctx: PaneContext) {
  const { app, deps, host } = ctx;
  const g = ctx.selectedGuest();
  const snap = g ? snapshotOf(ctx, g.guest) : null;
  if (!g || !snap) return ctx.say(`${g?.guest ?? 'The guest'} has no snapshot to revert to.`, 'error');
  const row = app.getState().guests.find((x) => x.name === g.guest);
  const lines = [revertLoss(g.guest, snap, row?.state ?? 'shut off')];
  if (snap.location === 'external') {
    lines.push('libvirt 9.0 cannot revert external snapshots, so virtdeck does it: the guest is turned off and gets a new overlay on the files the snapshot froze.', 'The overlay with the newer writes is kept on disk (delete it by hand or with the CLI --remove-overlay).');
  }
  app.getState().pushDialog({
    kind: 'confirm',
    title: `Revert ${g.guest} to "${snap.name}"`,
    lines,
    yes: 'revert',
    onYes: () => runSnapshotJob(ctx, `Revert ${g.guest} to ${snap.name}`, () => deps.revertSnapshot(host, g.guest, snap.name, { stateDir: deps.stateDir() }), `${g.guest} is back at "${snap.name}".`),
  });
}

export function removeSnapshot(ctx: PaneContext) {
  const { deps, host } = ctx;
  const g = ctx.selectedGuest();
  const snap = g ? snapshotOf(ctx, g.guest) : null;
  if (!g || !snap) return ctx.say(`${g?.guest ?? 'The guest'} has no snapshot to delete.`, 'error');
  ctx.app.getState().pushDialog({
    kind: 'confirm',
    title: `Delete snapshot "${snap.name}" of ${g.guest}`,
    lines: [
      `The way back to ${formatAge(Date.now() - snap.createdAt.getTime())} ago goes; ${g.guest} keeps everything it wrote since.`,
      ...(snap.location === 'external' ? ['The overlay is merged back into the original image (blockcommit while running) and deleted.'] : []),
    ],
    yes: 'delete snapshot',
    onYes: () => runSnapshotJob(ctx, `Delete snapshot ${snap.name} of ${g.guest}`, () => deps.deleteSnapshot(host, g.guest, snap.name, { stateDir: deps.stateDir() }), `Snapshot "${snap.name}" of ${g.guest} deleted.`),
  });
}
