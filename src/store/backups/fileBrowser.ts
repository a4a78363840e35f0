/**
 * The file browser (f): one read-only libguestfs session per visit, since each launch costs
 * 15–20 s here; it lists directories, marks entries and extracts them to a host directory.
 */
import type { GuestBackups } from '../../jobs/backupCatalog.js';
import { recordedDamage } from '../../jobs/runCheck.js';
import { chainOf } from '../../model/backupManifest.js';
import type { CopyTarget } from '../../model/copyTarget.js';
import { UserError } from '../../model/userError.js';
import { makeForm } from '../form.js';
import type { KeyOwner } from '../keys/owners.js';
import type { ActionId } from '../keys/table.js';
import type { BackupFs } from './backupFs.js';
import type { PaneContext } from './context.js';
import { copiesLine, fromField, targetsHolding } from './copySource.js';
import { clampIndex } from './selectors.js';
import type { BrowserState } from './state.js';

export interface FileBrowser {
  open(): void;
  /** Leaving the browser ends its libguestfs session (or the start of one). */
  close(): void;
  /** Its keys while it is open (rows of the key table: pane:backups-browser, pane:backups-opening). */
  owner: KeyOwner;
}

function damageOf(backups: GuestBackups | null, run: string): string[] {
  // A run only on a copy target has no verify record here; it is checked against its manifest when read.
  if (!backups?.runs.some((r) => r.name === run)) return [];
  try {
    return backups ? recordedDamage(chainOf(backups.runs, run)).map((r) => r.sentence) : [];
  } catch (e) {
    return [e instanceof UserError ? e.sentence : String(e)];
  }
}

const join = (dir: string, name: string) => (dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`);
const parent = (dir: string) => dir.replace(/\/[^/]+\/?$/, '') || '/';

export function createFileBrowser(ctx: PaneContext): FileBrowser {
  const { get, set, say, showError } = ctx;
  let fs: BackupFs | null = null;
  let fsOpening: AbortController | null = null;
  /** What `backup verify` recorded against the open run (and its chain): shown, and extraction refused. */
  let damage: string[] = [];

  /** Lists `path` in the open session; `select` names the entry to put the cursor on (the directory left when going up). */
  const browse = async (path: string, select?: string) => {
    const session = fs;
    const b = get().browser;
    if (!b || !session) return;
    set({ browser: { ...b, loading: true } });
    try {
      const entries = await session.list(path);
      const cur = get().browser;
      if (!cur || fs !== session) return;
      const sorted = entries.sort((x, y) => (x.type === 'dir' ? 0 : 1) - (y.type === 'dir' ? 0 : 1) || x.name.localeCompare(y.name));
      set({ browser: { ...cur, path, entries: sorted, index: Math.max(0, sorted.findIndex((e) => e.name === select)), loading: false } });
    } catch (e) {
      const cur = get().browser;
      if (cur) set({ browser: { ...cur, loading: false } });
      showError(`Could not list ${path}`, e);
    }
  };

  const close = () => {
    const f = fs;
    fs = null;
    fsOpening?.abort();
    fsOpening = null;
    set({ browser: null });
    void f?.close().catch(() => undefined);
  };

  /** Opens the run from the destination, or from the copy target `from` (restic: through restic mount where FUSE works). */
  const openFrom = (dest: string, g: NonNullable<ReturnType<PaneContext['selectedGuest']>>, run: string, from: CopyTarget | undefined) => {
    const { deps } = ctx;
    const openFs = deps.openBackupFs;
    if (!openFs || fs || fsOpening) return;
    damage = damageOf(g.backups, run);
    const opening = new AbortController();
    fsOpening = opening;
    set({ browser: { guest: g.guest, run, path: '/', entries: [], index: 0, marked: [], loading: true, opening: true, ...(from ? { from: from.name } : {}) } });
    const reading = from ? (from.type === 'restic' ? ` from the copy on ${from.name} (restic mount where FUSE works, else restored first)` : ` from the copy on ${from.name}`) : '';
    say(`Opening the filesystems of ${g.guest} ${run}${reading} read-only (libguestfs, 15–20 s)…`, 'busy');
    openFs(ctx.host, { dest, guest: g.guest, run, signal: opening.signal, ...(from ? { from, stateDir: deps.stateDir() } : {}) }).then(
      (opened) => {
        fsOpening = null;
        // Esc while the appliance started: nobody browses it, so it goes at once.
        if (opening.signal.aborted || !get().browser) return void opened.close().catch(() => undefined);
        fs = opened;
        const b = get().browser as BrowserState;
        set({ browser: { ...b, opening: false, ...(opened.source ? { source: opened.source } : {}) } });
        if (damage[0]) say(`This run is damaged (${damage[0]}); browse with care, extracting is refused.`, 'error');
        else say(`Opened ${g.guest} ${run} read-only${opened.source ? `, ${opened.source}` : ''}.`);
        void browse('/');
      },
      (e) => {
        fsOpening = null;
        set({ browser: null });
        if (!opening.signal.aborted) showError(`Could not open the backup ${run}${from ? ` on ${from.name}` : ''} of ${g.guest}`, e);
        else say('Closed the file browser.');
      },
    );
  };

  const open = () => {
    const { deps } = ctx;
    const dest = get().dest;
    const g = ctx.selectedGuest();
    const run = get().level === 'runs' ? ctx.selectedRun() : g?.last ? { name: g.last.name, status: 'good' as const } : null;
    const copyOnly = run?.status === 'copy';
    if ((!dest && !copyOnly) || !g || !run) return say('Select a run to browse.', 'error');
    if (run.status !== 'good' && !copyOnly) return say(`${run.name} is ${run.status} and cannot be browsed.`, 'error');
    if (!deps.openBackupFs) return ctx.notWired('The file browser', `virtdeck backup files ${g.guest} ${run.name} --dest ${dest}`);
    if (fs || fsOpening) return;
    const holding = targetsHolding(ctx, g.guest, run.name);
    if (copyOnly && holding.length === 0) return say(`${run.name} is on no configured copy target any more; add the target back to backup.copyTargets.`, 'error');
    if (holding.length === 0) return openFrom(dest ?? '', g, run.name, undefined);
    // Copies exist: where to read it is the admin's choice (the destination may be the one that is gone).
    set({
      form: {
        title: `Browse the files of ${g.guest} ${run.name}`,
        lines: [copiesLine(ctx, g.guest, run.name, holding), 'A restic copy is read through restic mount where FUSE works, else restored into a private temp dir first.'],
        form: makeForm([fromField(copyOnly ? null : dest, holding)]),
        submit: ({ from }) => openFrom(dest ?? '', g, run.name, holding.find((t) => t.name === from)),
      },
    });
  };

  const askExtract = (b: BrowserState, paths: string[]) =>
    set({
      form: {
        title: `Extract ${paths.length} item${paths.length === 1 ? '' : 's'} from ${b.guest} ${b.run}`,
        lines: paths.slice(0, 6),
        form: makeForm([{ id: 'dir', label: 'To host directory', kind: 'text', value: '/tmp' }]),
        submit: ({ dir }) => {
          if (!dir?.startsWith('/')) throw new UserError(`"${dir ?? ''}" is not an absolute host directory.`, 'Type the full path, e.g. /root/restored.');
          const session = fs;
          if (!session) return;
          say(`Extracting to ${dir}…`, 'busy');
          const notes: string[] = [];
          session.extract(paths, dir, (n) => notes.push(n)).then(
            (written) => {
              const made = notes.length ? ` ${notes.length} change${notes.length === 1 ? '' : 's'} for safety: ${notes[0]}${notes.length > 1 ? ', …' : ''}` : '';
              say(`Extracted ${written.length} item${written.length === 1 ? '' : 's'} to ${dir}.${made}`);
              const cur = get().browser;
              if (cur) set({ browser: { ...cur, marked: [] } });
            },
            (e) => showError('Could not extract', e),
          );
        },
      },
    });

  const perform = (action: ActionId) => {
    const b = get().browser;
    if (!b) return;
    if (b.opening) {
      if (action === 'close') close();
      return;
    }
    const entry = b.entries[b.index];
    if (action === 'itemUp') set({ browser: { ...b, index: clampIndex(b.index - 1, b.entries.length) } });
    else if (action === 'itemDown') set({ browser: { ...b, index: clampIndex(b.index + 1, b.entries.length) } });
    else if (action === 'browseOpen' && entry?.type === 'dir') void browse(join(b.path, entry.name));
    else if (action === 'browseUp') {
      if (b.path !== '/') void browse(parent(b.path), b.path.split('/').filter(Boolean).pop());
    } else if (action === 'browseMark' && entry) {
      const p = join(b.path, entry.name);
      const marked = b.marked.includes(p) ? b.marked.filter((m) => m !== p) : [...b.marked, p];
      set({ browser: { ...b, marked, index: clampIndex(b.index + 1, b.entries.length) } });
    } else if (action === 'browseExtract') {
      if (damage[0]) {
        say(`${b.run} is damaged and nothing is extracted from it (${damage[0]}). Use another run, or \`virtdeck backup extract … --allow-damaged\`.`, 'error');
        return;
      }
      const paths = b.marked.length ? b.marked : entry ? [join(b.path, entry.name)] : [];
      if (paths.length > 0) askExtract(b, paths);
    } else if (action === 'close') close();
  };

  const owner: KeyOwner = {
    scopes: () => (get().browser?.opening ? ['pane:backups-opening'] : ['pane:backups-browser']),
    perform: ({ action }) => perform(action),
  };

  return { open, close, owner };
}
