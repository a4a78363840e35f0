/** Reading what the pane shows: the catalog of the destination, snapshot ages, the schedule. */
import { staleSnapshotWarning } from '../../model/snapshotPlan.js';
import { toShownError } from '../shownError.js';
import { setGuestNotes } from '../warnings.js';
import type { PaneContext } from './paneContext.js';

/** Too-old snapshots also show on the Guests pane, which reads them from these notes. */
function publishNotes(ctx: PaneContext) {
  const snaps = ctx.get().snapshots;
  setGuestNotes((guest) => {
    const w = staleSnapshotWarning(snaps[guest] ?? [], ctx.maxAgeDays());
    return w ? [w.charAt(0).toUpperCase() + w.slice(1)] : [];
  });
}

export async function loadSnapshots(ctx: PaneContext) {
  try {
    const map = await ctx.deps.snapshotsOf(ctx.host, ctx.app.getState().guests.map((g) => ({ name: g.name, uuid: g.uuid })));
    ctx.set({ snapshots: Object.fromEntries(map) });
    publishNotes(ctx);
  } catch {
    // Snapshot ages are a hint; a failure here must not block the pane.
  }
}

export async function loadSchedule(ctx: PaneContext) {
  const { deps, set } = ctx;
  if (!deps.scheduleStatus) return set({ schedule: { status: null, error: 'reading the schedule is not available in this build' } });
  try {
    set({ schedule: { status: await deps.scheduleStatus(ctx.host), error: null } });
  } catch (e) {
    set({ schedule: { status: null, error: toShownError(e).sentence } });
  }
}

/** The copies running from a backup and the drills: hints beside the catalog, so a failure only leaves them out. */
export async function loadRecovery(ctx: PaneContext) {
  const { deps, set } = ctx;
  const stateDir = deps.stateDir();
  const [instant, drills] = await Promise.all([
    deps.listInstant ? deps.listInstant(ctx.host, { stateDir }).catch(() => null) : Promise.resolve(null),
    deps.readDrills ? deps.readDrills(stateDir).catch(() => []) : Promise.resolve([]),
  ]);
  // drills.json holds every host's drills: this pane shows the host it is connected to.
  set({ instant, drills: drills.filter((d) => d.uri === ctx.host.uri) });
}

export async function reload(ctx: PaneContext) {
  const { deps, get, set } = ctx;
  const settings = deps.settings();
  const dest = get().dest ?? settings.defaultDestination ?? settings.destinations[0] ?? null;
  set({ dest, loading: Boolean(dest), error: dest ? null : 'No backup destination is configured: press d and type a directory (e.g. the mount point of a backup disk).' });
  void ctx.loadSnapshots();
  void ctx.loadSchedule();
  void loadRecovery(ctx);
  try {
    // Every configured target has its entry, so the strip says so when a run is on none of them.
    const known = Object.fromEntries((settings.copyTargets ?? []).map((t) => [t.name, []]));
    set({ copies: { ...known, ...(deps.readCopies?.(deps.stateDir()) ?? {}) } });
  } catch {
    // Where copies exist is a hint here; `backup copy --list` says why it cannot be read.
    set({ copies: {} });
  }
  if (!dest) return;
  try {
    set({ catalog: await deps.readCatalog(ctx.host, dest), loading: false });
  } catch (e) {
    set({ catalog: [], loading: false, error: toShownError(e).sentence });
  }
}
