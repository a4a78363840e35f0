/**
 * The Disks pane's state and actions: its own vanilla store (rows, selection by path, loading),
 * driven by keymap actions from the console. Dialogs, messages and the `/` filter are the
 * console's, used through the app store. Host work goes through the inventory and the disk jobs.
 */

import { createStore, type StoreApi } from 'zustand/vanilla';
import { loadConfig } from '../config/config.js';
import type { HostContext } from '../host/hostContext.js';
import type { GuestRow } from '../host/virsh.js';
import {
  ATTACH_BUSES,
  CREATE_FORMATS,
  createImage,
  deleteImage,
  deleteRefusal,
  deleteTargets,
  guestFacts,
  PREALLOCATIONS,
  planAttach,
  planDetach,
  runDiskPlan,
} from '../jobs/diskActions.js';
import { DiskInventory, defaultCacheFile, defaultWrittenDirsFile } from '../jobs/diskInventory.js';
import { countOf } from '../model/countText.js';
import { basename, type DiskRow, detailLines, dirname, filterRows } from '../model/diskInventory.js';
import { isActive } from '../model/guest.js';
import { UserError } from '../model/userError.js';
import type { AppStore } from './appState.js';
import { coalesced } from './coalesced.js';
import { type ChoiceOption, makeForm } from './form.js';
import type { ActionId } from './keys/table.js';
import { onFirstUse, openOnFirstUse } from './onFirstUse.js';
import type { PaneController } from './panes.js';
import { type Move, moveByKey, moveFor } from './selection.js';
import { toShownError } from './shownError.js';
import type { ShownError } from './types.js';


// The disk wizards are loaded the first time one is opened (store/onFirstUse.ts).
const CONVERT = onFirstUse(() => import('./wizards/convert/convertWizard.js'));
const EXPAND = onFirstUse(() => import('./wizards/expand/expandWizard.js'));

export interface DisksPaneData {
  rows: DiskRow[];
  guests: GuestRow[];
  selected: string | null;
  loading: boolean;
  lastRefresh: number | null;
  error: ShownError | null;
}

export type DisksPaneStore = StoreApi<DisksPaneData>;

/** What C and X open: the convert and expansion wizards register here when they are built. */
export interface DiskWizardLaunchers {
  convert?: (row: DiskRow) => void;
  expand?: (row: DiskRow) => void;
}

export interface DisksPaneOptions {
  inventory?: DiskInventory;
  imageDirs?: string[];
  cacheFile?: string | null;
  /** The list of directories virtdeck wrote images to; null: none (default: the state directory's). */
  writtenDirsFile?: string | null;
  launchers?: DiskWizardLaunchers;
}

export interface DisksPaneController extends PaneController {
  store: DisksPaneStore;
  refresh(): Promise<void>;
  visibleRows(): DiskRow[];
  selectedRow(): DiskRow | null;
}

/** The selection stays on its path; when that image is gone, on the row that took its place. */
export function keptSelection(prevRows: DiskRow[], nextRows: DiskRow[], selected: string | null): string | null {
  if (selected && nextRows.some((r) => r.path === selected)) return selected;
  const oldIndex = prevRows.findIndex((r) => r.path === selected);
  return nextRows[Math.min(Math.max(oldIndex, 0), nextRows.length - 1)]?.path ?? null;
}

export function createDisksPaneController(host: HostContext, app: AppStore, opts: DisksPaneOptions = {}): DisksPaneController {
  const inventory =
    opts.inventory ??
    new DiskInventory(host, {
      imageDirs: opts.imageDirs ?? safeImageDirs(),
      cacheFile: opts.cacheFile === undefined ? defaultCacheFile() : opts.cacheFile,
      writtenDirsFile: opts.writtenDirsFile === undefined ? defaultWrittenDirsFile() : opts.writtenDirsFile,
    });
  const store = createStore<DisksPaneData>()(() => ({ rows: [], guests: [], selected: null, loading: false, lastRefresh: null, error: null }));
  const launchers: DiskWizardLaunchers = opts.launchers ?? {
    convert: (row) =>
      openOnFirstUse(app, CONVERT, 'the convert wizard', ({ createConvertWizard }) => {
      const wizard = createConvertWizard({ host, imagePath: row.path, info: { format: row.format ?? undefined, virtualSize: row.virtualSize ?? undefined }, onClose: () => app.getState().closeWizard(null), jobScreen: { quit: () => app.getState().quit() } });
      const { owner, imagePath, info } = wizard.getState();
      app.getState().pushDialog({ kind: 'wizard', which: 'convert', imagePath, info, owner, wizard: { which: 'convert', store: wizard } });
      }),
    expand: (row) =>
      openOnFirstUse(app, EXPAND, 'the expansion wizard', ({ createExpandWizard }) => {
      const wizard = createExpandWizard({ host, path: row.path, onClose: () => app.getState().closeWizard(null), jobScreen: { quit: () => app.getState().quit() } });
      app.getState().pushDialog({ kind: 'wizard', which: 'expand', imagePath: row.path, owner: wizard.getState().owner, wizard: { which: 'expand', store: wizard } });
      }),
  };
  let activated = false;

  const visibleRows = () => filterRows(store.getState().rows, app.getState().filter);
  const selectedRow = (): DiskRow | null => {
    const rows = visibleRows();
    return rows.find((r) => r.path === store.getState().selected) ?? rows[0] ?? null;
  };
  const say = (text: string, kind: 'info' | 'error' | 'busy' = 'info') => app.getState().setMessage(text, kind);
  const showError = (title: string, e: unknown) => {
    app.getState().pushDialog({ kind: 'error', title, error: toShownError(e), showDetails: false });
  };

  const refresh = coalesced(async () => {
    store.setState({ loading: true });
    try {
      const snap = await inventory.refresh();
      store.setState((s) => ({
        rows: snap.rows,
        guests: snap.guests,
        selected: keptSelection(s.rows, snap.rows, s.selected),
        lastRefresh: Date.now(),
        error: null,
        loading: false,
      }));
    } catch (e) {
      store.setState({ error: toShownError(e), loading: false });
    }
  });

  /** busy line → job → refresh; failures become the error dialog. */
  const act = async (failTitle: string, busy: string, run: () => Promise<void>, done: string) => {
    say(busy, 'busy');
    try {
      await run();
      say(done);
    } catch (e) {
      app.getState().setMessage('', 'info');
      showError(failTitle, e);
    } finally {
      await refresh();
    }
  };

  const move = (m: Move) => {
    const rows = visibleRows();
    if (rows.length > 0) store.setState({ selected: moveByKey(rows.map((r) => r.path), selectedRow()?.path ?? null, m) });
  };

  const withRow = (run: (row: DiskRow) => unknown) => {
    const row = selectedRow();
    if (!row) return say(store.getState().lastRefresh === null ? 'The images are still being read.' : 'No image is selected.', 'error');
    void run(row);
  };

  const details = async (row: DiskRow) => {
    say(`Reading ${basename(row.path)}…`, 'busy');
    const info = row.file ? await inventory.infoText(row.path).catch((e) => `(${toShownError(e).sentence})`) : '(the file does not exist)';
    app.getState().setMessage('', 'info');
    const lines = [...detailLines(row)];
    if (row.warnings.length) lines.push('', 'Warnings:', ...row.warnings.map((w) => `  ! ${w}`));
    lines.push('', '── qemu-img info -U --backing-chain ──', ...info.trimEnd().split('\n'));
    app.getState().pushDialog({ kind: 'text', title: row.path, lines, offset: 0 });
  };

  const check = async (row: DiskRow) => {
    if (!row.file) return say(`${row.path} does not exist, so there is nothing to check.`, 'error');
    const inUse = row.usedBy.some((u) => u.running && u.device !== 'cdrom');
    say(`Checking ${basename(row.path)}${inUse ? ' read-only (a running guest uses it)' : ''}…`, 'busy');
    try {
      const c = await inventory.check(row.path, { forceShare: inUse });
      app.getState().setMessage('', 'info');
      const verdict = !c.supported
        ? `${row.format ?? 'This'} images have no metadata qemu-img can check; nothing to report.`
        : c.ok
          ? 'No errors were found.'
          : `Found ${c.corruptions} corruption(s), ${c.leaks} leaked cluster(s), ${c.checkErrors} check error(s).`;
      const lines = [verdict];
      if (inUse) lines.push('Checked with -U while the guest runs: writes in flight can show as leaks; check again with the guest shut down to be sure.');
      if (!c.ok && c.leaks && !c.corruptions) lines.push('Leaks only waste space: qemu-img check -r leaks reclaims it while no guest uses the image.');
      if (c.corruptions || c.checkErrors) lines.push('Corruption means lost or damaged data: restore from a backup, or repair a copy (qemu-img check -r all) and compare.');
      if (c.message) lines.push('', ...c.message.split('\n'));
      app.getState().pushDialog({ kind: 'text', title: `Check of ${basename(row.path)}`, lines, offset: 0 });
    } catch (e) {
      showError(`Could not check ${basename(row.path)}`, e);
    } finally {
      await refresh();
    }
  };

  const askCreate = () => {
    const dir = selectedRow() ? dirname((selectedRow() as DiskRow).path) : (inventoryDirs()[0] ?? '/var/lib/libvirt/images');
    app.getState().pushDialog({
      kind: 'form',
      title: 'New disk image',
      lines: ['An existing file is never overwritten. vmdk: off = growable (monolithicSparse), full = preallocated (monolithicFlat).'],
      form: makeForm([
        { id: 'path', label: 'Path', kind: 'text', value: `${dir}/new-disk.qcow2`, help: 'Absolute path of the new image file.' },
        { id: 'format', label: 'Format', kind: 'choice', value: 'qcow2', options: choices(CREATE_FORMATS) },
        { id: 'size', label: 'Size', kind: 'text', value: '10G', help: 'Virtual size: 512M, 10G, 1.5T (powers of 1024).' },
        { id: 'preallocation', label: 'Preallocation', kind: 'choice', value: 'off', options: choices(PREALLOCATIONS), help: 'off: sparse, grows as written; falloc/full: reserve all space now.' },
      ]),
      onSubmit: async (v) => {
        const spec = await createImage(host, { path: v.path ?? '', format: v.format ?? '', size: v.size ?? '', preallocation: v.preallocation });
        store.setState({ selected: spec.path });
        say(`Created ${spec.path}.`);
        await refresh();
      },
    });
  };

  const askAttach = (row: DiskRow) => {
    if (!row.file) return say(`${row.path} does not exist.`, 'error');
    const users = row.usedBy.filter((u) => u.device !== 'cdrom');
    if (users.length > 0 && !row.cdrom) {
      return showError(
        `Cannot attach ${basename(row.path)}`,
        new UserError(`${basename(row.path)} is already used by ${users.map((u) => `${u.guest} (${u.target})`).join(', ')}.`, 'Two guests writing one image corrupt it: detach it there first (T), or give the guest its own copy.'),
      );
    }
    const guests = store.getState().guests.map((g) => g.name);
    if (guests.length === 0) return say('There are no guests to attach it to.', 'error');
    const iso = /\.iso$/i.test(row.path);
    app.getState().pushDialog({
      kind: 'form',
      title: `Attach ${basename(row.path)}`,
      lines: [`${row.path} (${row.format ?? 'unknown format'})`, 'A running guest gets it now on virtio, scsi or usb; on ide or sata from its next start.'],
      form: makeForm([
        { id: 'guest', label: 'Guest', kind: 'choice', value: guests[0] as string, options: choices(guests) },
        { id: 'bus', label: 'Bus', kind: 'choice', value: iso ? 'sata' : 'virtio', options: choices(ATTACH_BUSES), help: 'virtio is fastest; Windows without virtio drivers needs sata or ide.' },
      ]),
      onSubmit: async (v) => {
        if (!row.format || row.facts?.error) throw new UserError(`qemu-img cannot read ${basename(row.path)}, so its format is unknown.`, 'Look at the details (Enter); only attach images qemu-img can open.');
        const guest = v.guest ?? '';
        const facts = await guestFacts(host, guest);
        const plan = planAttach(host, { guest, path: row.path, format: row.format, bus: v.bus ?? 'virtio' }, { inactiveXml: facts.inactiveXml, running: isActive(facts.row.state) });
        await act(`Could not attach ${basename(row.path)} to ${guest}`, `${plan.title}…`, () => runDiskPlan(host, plan), `${plan.title}: done.`);
      },
    });
  };

  const askDetach = (row: DiskRow) => {
    if (row.usedBy.length === 0) return say(`${basename(row.path)} is not attached to any guest.`, 'error');
    const detach = (guest: string, target: string) => {
      app.getState().pushDialog({
        kind: 'confirm',
        title: `Detach ${target} from ${guest}?`,
        lines: [`${guest} loses its disk ${target} (${row.path}).`, 'The image file is kept; a running guest loses it at once if its bus allows (virtio, scsi, usb).'],
        yes: 'detach',
        onYes: async () => {
          try {
            const facts = await guestFacts(host, guest);
            const plan = planDetach(host, guest, target, { guest: facts.row, inactiveXml: facts.inactiveXml });
            await act(`Could not detach ${target} from ${guest}`, `Detaching ${target} from ${guest}…`, () => runDiskPlan(host, plan), `Detached ${target} from ${guest}; ${basename(row.path)} is kept.`);
          } catch (e) {
            showError(`Could not detach ${target} from ${guest}`, e);
          }
        },
      });
    };
    const only = row.usedBy[0];
    if (row.usedBy.length === 1 && only) return detach(only.guest, only.target);
    const uses = row.usedBy.map((u) => `${u.guest}:${u.target}`);
    app.getState().pushDialog({
      kind: 'form',
      title: `Detach ${basename(row.path)}`,
      lines: ['Several guests use this image; pick the one to detach it from.'],
      form: makeForm([{ id: 'use', label: 'From', kind: 'choice', value: uses[0] as string, options: choices(uses) }]),
      onSubmit: (v) => {
        const [guest = '', target = ''] = (v.use ?? '').split(':');
        detach(guest, target);
      },
    });
  };

  const askDelete = (row: DiskRow) => {
    const refusal = deleteRefusal(row);
    if (refusal) return showError(`${basename(row.path)} is not deleted`, refusal);
    const name = basename(row.path);
    // The confirmation lists what the image itself names, read now (a descriptor naming a file outside refuses here).
    deleteTargets(host, row).then((files) => confirmDelete(row, name, files), (e) => showError(`${name} is not deleted`, e));
  };

  const confirmDelete = (row: DiskRow, name: string, files: string[]) => {
    app.getState().pushDialog({
      kind: 'typeName',
      title: `Delete ${name}?`,
      lines: [`This removes ${files.join(' and ')} from the disk. It cannot be undone.`, ...(row.pools.length ? [`The storage pool ${row.pools.join(', ')} is refreshed afterwards.`] : [])],
      name,
      typed: '',
      deleteDisks: false,
      focus: 'name',
      checkbox: null,
      enterText: `Enter deletes ${name} for good.`,
      onConfirm: () => act(`Could not delete ${name}`, `Deleting ${name}…`, async () => {
        await deleteImage(host, row, { confirmed: files });
      }, `Deleted ${files.map(basename).join(' and ')}.`),
    });
  };

  const wizard = (kind: 'convert' | 'expand', row: DiskRow) => {
    const launch = launchers[kind];
    if (launch) return launch(row);
    const cmd = kind === 'convert' ? `virtdeck disk convert ${row.path} …` : `virtdeck disk expand ${row.path} SIZE`;
    say(`Use ${cmd} (no ${kind} wizard in this build)`, 'error');
  };

  function inventoryDirs(): string[] {
    return opts.imageDirs ?? safeImageDirs();
  }

  // A disk wizard changes images: read them again when it closes.
  const stopWatching = app.subscribe((now, before) => {
    const wizardOpen = (dialogs: typeof now.dialogs) => dialogs.some((d) => d.kind === 'wizard' && d.which !== undefined && d.which !== 'newGuest');
    if (wizardOpen(before.dialogs) && !wizardOpen(now.dialogs)) void refresh();
  });

  const controller: DisksPaneController = {
    store,
    refresh,
    visibleRows,
    selectedRow,
    activate() {
      if (activated) return;
      activated = true;
      void refresh();
    },
    dispose() {
      activated = false;
      stopWatching();
    },
    completions() {
      return store.getState().rows.map((r) => r.path);
    },
    dispatch(action: ActionId): boolean {
      const m = moveFor(action);
      if (m !== null) {
        move(m);
        return true;
      }
      switch (action) {
        case 'refresh':
          say('Reading the images…', 'busy');
          void refresh().then(() => say(`${countOf(store.getState().rows.length, 'image')}.`));
          return true;
        case 'details':
          withRow(details);
          return true;
        case 'diskCheck':
          withRow(check);
          return true;
        case 'diskCreate':
          askCreate();
          return true;
        case 'diskAttach':
          withRow(askAttach);
          return true;
        case 'diskDetach':
          withRow(askDetach);
          return true;
        case 'diskDelete':
          withRow(askDelete);
          return true;
        case 'diskConvert':
          withRow((r) => wizard('convert', r));
          return true;
        case 'diskExpand':
          withRow((r) => wizard('expand', r));
          return true;
        default:
          return false;
      }
    },
  };
  return controller;
}

/** The configured image directories; a broken config file is reported by the console elsewhere. */
/** Options of a choice whose values are their own labels. */
const choices = (values: readonly string[]): ChoiceOption[] => values.map((v) => ({ value: v, label: v }));

function safeImageDirs(): string[] {
  try {
    return loadConfig().imageDirs;
  } catch {
    return ['/var/lib/libvirt/images'];
  }
}
