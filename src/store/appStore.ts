/**
 * The console's state and every action the UI can dispatch. Made per HostContext, so tests hand in
 * a scripted host and get a fresh store; the UI never runs a process itself.
 */
import { createStore } from 'zustand/vanilla';
import type { HostEntry } from '../config/config.js';
import { createHostContext, type HostOptions } from '../config/connect.js';
import { configHosts, resolveHost } from '../config/resolveHost.js';
import type { Executor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import { hostSession } from '../host/session.js';
import type { GuestRow } from '../host/virsh.js';
import * as virsh from '../host/virsh.js';
import { defineEdited } from '../jobs/defineEdited.js';
import { checkIsoOnHost } from '../jobs/isoCheck.js';
import { getSettings, parseDomainXml, serializeDomainXml } from '../model/domainXml.js';
import type { Env } from '../model/env.js';
import { isActive } from '../model/guest.js';
import { computeUsage, nextSortKey, sortByUsage, type UsageSample, type UsageSortKey } from '../model/usage.js';
import { historyCapacity, recordUsage, type UsageHistory } from '../model/usageHistory.js';
import { UserError } from '../model/userError.js';
import type { AppState, AppStore } from './appState.js';
import { coalesced } from './coalesced.js';
import { type DialogHost, dialogOwner } from './dialogs/dialogKeys.js';
import { refusalOf } from './dialogs/formDialogs.js';
import { withError } from './form.js';
import type { GuestsPaneController } from './guestsPane.js';
import { type KeyOwner, paneScopes, pressKey as pressOwner } from './keys/owners.js';
import { commonPrefix, completeCommand, parseCommand } from './keys/router.js';
import { PANE_FACTORIES, type PaneFactories } from './paneFactories.js';
import { PANES, type PaneId, paneFilters } from './paneIds.js';
import { guestForAction, modeFor, selectedGuest, visibleGuests } from './selectors.js';
import { applySettingsForm, buildSettingsForm } from './settingsForm.js';
import { toShownError } from './shownError.js';
import type { AccelShown, AppData, Dialog, HandOff, SettingsDialog, TermSize } from './types.js';
import { createImportWizard } from './wizards/import/importWizard.js';
import { createMergeIdeWizard } from './wizards/mergeide/mergeIdeWizard.js';
import { createMigrateWizard } from './wizards/migrate/migrateWizard.js';
import { createNewGuestWizard } from './wizards/newGuest/newGuestWizard.js';
import { createP2vWizard } from './wizards/p2v/p2vWizard.js';
import { unifiedDiff } from './xmlDiff.js';

export type { AppActions, AppState, AppStore } from './appState.js';

export interface AppStoreOptions {
  initialPane?: PaneId;
  size?: TermSize;
  /** How long an ACPI shutdown may take before force off is offered. */
  shutdownTimeoutMs?: number;
  /** Slow poll that catches what the event stream misses. */
  pollMs?: number;
  /** Events come in bursts (a start emits several); one refresh per burst. */
  eventDebounceMs?: number;
  /** Off in tests that drive refresh by hand. */
  live?: boolean;
  handOff?: HandOff;
  env?: Env;
  detectAccel?: (exec: Executor) => Promise<AccelShown>;
  /** Panes beyond Guests; defaults to every pane built (store/paneFactories.ts). */
  paneFactories?: PaneFactories;
  /** Hosts of the config file, for the picker and `:host NAME` (read from the config when absent). */
  hosts?: HostEntry[];
  /** Makes the context of another host (throws a UserError for a URI it cannot use). */
  connect?: (target: HostOptions) => HostContext;
  /** Called with the new host before the console quits; the run loop starts it again on that host. */
  onSwitchHost?: (host: HostContext) => void;
  /** When a domstats sample was taken (tests step it to get rates without waiting). */
  clock?: () => number;
}

const DEFAULT_SIZE: TermSize = { columns: 80, rows: 24 };

async function defaultDetectAccel(exec: Executor): Promise<AccelShown> {
  // Loaded lazily: the header works (showing "accel unknown") even if the check cannot run.
  const kvm = (await import('../host/kvm.js')) as { detectAccel: (e: Executor) => Promise<AccelShown> };
  return kvm.detectAccel(exec);
}

/** Where the selection goes when the selected guest vanishes: the row that took its place. */
function keptSelection(prev: AppData, guests: GuestRow[]): string | null {
  const next = visibleGuests({ guests, filter: prev.filter });
  if (prev.selected && next.some((g) => g.name === prev.selected)) return prev.selected;
  const oldIndex = visibleGuests(prev).findIndex((g) => g.name === prev.selected);
  const index = Math.min(Math.max(oldIndex, 0), next.length - 1);
  return next[index]?.name ?? null;
}

/** Closer samples give rates made mostly of rounding (an event burst refreshes within ms). */
const MIN_RATE_MS = 1_000;

const SORT_NAMES: Record<UsageSortKey, string> = { name: 'name', cpu: 'CPU', mem: 'memory', disk: 'disk I/O', net: 'network I/O' };

function byName(guests: GuestRow[]): GuestRow[] {
  return [...guests].sort((a, b) => a.name.localeCompare(b.name));
}

export function createAppStore(given: HostContext, opts: AppStoreOptions = {}): AppStore {
  // Everything the console runs on the host goes through the session, so quitting stops it all.
  const session = hostSession(given);
  const host = session.host;
  let stopped: Promise<void> = Promise.resolve();
  const pollMs = opts.pollMs ?? 5_000;
  const eventDebounceMs = opts.eventDebounceMs ?? 300;
  const detectAccel = opts.detectAccel ?? defaultDetectAccel;

  let started = false;
  let stopEvents: (() => void) | null = null;
  let poll: ReturnType<typeof setInterval> | null = null;
  let debounce: ReturnType<typeof setTimeout> | null = null;
  let lastSample: UsageSample | null = null;
  const history: UsageHistory = new Map();

  const store = createStore<AppState>()((set, get) => {
    const setDialogs = (dialogs: Dialog[]) => set((s) => ({ dialogs, mode: modeFor(dialogs, s.inputMode) }));
    const setInputMode = (inputMode: AppData['inputMode']) => set((s) => ({ inputMode, mode: modeFor(s.dialogs, inputMode) }));
    const row = (name: string) => get().guests.find((g) => g.name === name);

    const showError: AppState['showError'] = (...args) => get().showError(...args);

    const dialogHost: DialogHost = {
      top: () => get().dialogs[get().dialogs.length - 1],
      size: () => get().size,
      pane: () => get().pane,
      popDialog: () => get().popDialog(),
      replaceTop: (d) => setDialogs([...get().dialogs.slice(0, -1), d]),
      pushDialog: (d) => get().pushDialog(d),
      saveSettings: () => get().saveSettings(),
      setMessage: (text) => get().setMessage(text),
      switchHost: (name) => get().switchHost(name),
      quit: () => get().quit(),
    };
    const paneOwner: KeyOwner = {
      scopes: () => paneScopes(get().pane),
      perform: (intent) => get().dispatch(intent.action),
    };
    const filterOwner: KeyOwner = {
      scopes: () => ['input:filter', 'console'],
      perform: ({ action, key }) => {
        const s = get();
        if (action === 'inputClear') s.clearFilter();
        else if (action === 'inputKeep') s.keepFilter();
        else if (action === 'inputErase') s.setFilter(s.filter.slice(0, -1));
        // Through dispatch, so the pane being filtered (Disks too) moves its own selection.
        else if (action === 'inputUp') s.dispatch('up');
        else if (action === 'inputDown') s.dispatch('down');
        else if (action === 'inputType') s.setFilter(s.filter + key.input);
        else if (action === 'quit') s.quit();
      },
    };
    const commandOwner: KeyOwner = {
      scopes: () => ['input:command', 'console'],
      perform: ({ action, key }) => {
        const s = get();
        if (action === 'inputClear') s.cancelCommand();
        else if (action === 'inputRun') s.runCommand(s.command);
        else if (action === 'inputErase') {
          if (s.command === '') s.cancelCommand();
          else s.setCommand(s.command.slice(0, -1));
        } else if (action === 'inputComplete') {
          const options = completeCommand(
            s.command,
            s.guests.map((g) => g.name),
            pickerHosts().map((h) => h.name),
          );
          const prefix = commonPrefix(options);
          if (options.length === 1) s.setCommand(`${options[0]} `);
          else if (prefix.length > s.command.length) s.setCommand(prefix);
        } else if (action === 'inputType') s.setCommand(s.command + key.input);
        else if (action === 'quit') s.quit();
      },
    };

    const act: AppState['act'] = (...args) => get().act(...args);

    /** The hosts `H` lists and `:host` takes: this one, the config file's, and the local system. */
    const pickerHosts = () => {
      const read = opts.hosts ?? configHosts();
      const hosts = read instanceof UserError ? [] : read; // a broken config file is reported where it is edited, not here
      const list = [{ name: host.name, uri: host.uri, current: true }, ...hosts.filter((h) => h.uri !== host.uri || h.name !== host.name).map((h) => ({ name: h.name, uri: h.uri, current: false }))];
      if (!list.some((h) => h.uri === 'qemu:///system')) list.push({ name: 'qemu:///system', uri: 'qemu:///system', current: false });
      return list;
    };

    const guestFor = (name: string | null | undefined): string | null => {
      const picked = guestForAction(get(), name);
      if ('name' in picked) return picked.name;
      get().setMessage(picked.problem, 'error');
      return null;
    };

    return {
      guests: [],
      usage: new Map(),
      hostSize: { cpus: null, memKiB: null },
      sortKey: 'name',
      lastRefresh: null,
      refreshError: null,
      versions: null,
      accel: null,
      pane: opts.initialPane ?? 'guests',
      inputMode: 'normal',
      mode: 'normal',
      filter: '',
      command: '',
      selected: null,
      dialogs: [],
      message: null,
      size: opts.size ?? DEFAULT_SIZE,
      quitRequested: false,
      redraw: 0,
      panes: {},

      init() {
        if (started) return;
        started = true;
        virsh.versions(host).then(
          (versions) => set({ versions }),
          (e) => set({ refreshError: toShownError(e) }),
        );
        detectAccel(host.sysExec).then(
          (a) => set({ accel: { accel: a.accel, reason: a.reason } }),
          () => set({ accel: null }),
        );
        const firstRefresh = get().refresh();
        if (opts.live === false) return;
        void firstRefresh.then(() => {
          for (const p of Object.values(get().panes)) p?.start?.();
        });
        try {
          stopEvents = virsh.watchEvents(host, () => {
            if (debounce) clearTimeout(debounce);
            debounce = setTimeout(() => void get().refresh(), eventDebounceMs);
          });
        } catch {
          // The poll below still keeps the list current, only slower.
          stopEvents = null;
        }
        poll = setInterval(() => void get().refresh(), pollMs);
        poll.unref?.();
      },

      dispose() {
        for (const p of Object.values(get().panes)) p?.dispose?.();
        stopEvents?.();
        stopEvents = null;
        if (poll) clearInterval(poll);
        if (debounce) clearTimeout(debounce);
        poll = null;
        debounce = null;
        for (const d of get().dialogs) if (d.kind === 'wizard') d.wizard?.store.getState().dispose();
        // Last: what the panes and wizards stopped has settled its own way; the rest (a refresh
        // round, a pane's read over ssh) is aborted here and nothing new starts.
        stopped = session.close();
      },

      whenStopped() {
        return stopped;
      },

      refresh: coalesced(async () => {
        try {
          const { guests: listed, stats, hostCpus, hostMemKiB } = await virsh.listGuestsWithStats(host, opts.clock);
          let usage = get().usage;
          if (!lastSample || stats.at - lastSample.at >= MIN_RATE_MS) {
            usage = computeUsage(lastSample, stats, hostCpus ?? 0);
            lastSample = stats;
            recordUsage(history, usage, historyCapacity(pollMs));
          }
          set((s) => {
            const guests = sortByUsage(listed, s.sortKey, usage);
            return { guests, usage, hostSize: { cpus: hostCpus, memKiB: hostMemKiB }, lastRefresh: Date.now(), refreshError: null, selected: keptSelection(s, guests) };
          });
        } catch (e) {
          set({ refreshError: toShownError(e) });
        }
      }),

      setSize(size) {
        set({ size });
      },
      setPane(pane) {
        set({ pane });
        get().panes[pane]?.activate?.();
      },
      cyclePane(step) {
        const i = PANES.findIndex((p) => p.id === get().pane);
        const next = PANES[(i + step + PANES.length) % PANES.length];
        if (next) get().setPane(next.id);
      },
      moveSelection(delta) {
        const rows = visibleGuests(get());
        if (rows.length === 0) return;
        const current = rows.findIndex((g) => g.name === selectedGuest(get())?.name);
        const next = rows[Math.min(Math.max(current + delta, 0), rows.length - 1)];
        if (next) set({ selected: next.name });
      },
      selectEdge(edge) {
        const rows = visibleGuests(get());
        const g = edge === 'top' ? rows[0] : rows[rows.length - 1];
        if (g) set({ selected: g.name });
      },
      select(name) {
        set({ selected: name });
      },
      cycleSort() {
        const sortKey = nextSortKey(get().sortKey);
        // Selection is by name, so the selected guest stays selected wherever it moves.
        set((s) => ({ sortKey, guests: sortByUsage(byName(s.guests), sortKey, s.usage) }));
        get().setMessage(`Sorted by ${SORT_NAMES[sortKey]}${sortKey === 'name' ? '' : ', busiest first'} (o: next column).`);
      },
      usageHistory(name) {
        return history.get(name)?.values() ?? [];
      },

      startFilter() {
        setInputMode('filter');
      },
      setFilter(filter) {
        set((s) => {
          const rows = visibleGuests({ guests: s.guests, filter });
          const keep = rows.some((g) => g.name === s.selected);
          return { filter, selected: keep ? s.selected : (rows[0]?.name ?? s.selected) };
        });
      },
      keepFilter() {
        setInputMode('normal');
      },
      clearFilter() {
        get().setFilter('');
        setInputMode('normal');
      },

      startCommand() {
        set({ command: '' });
        setInputMode('command');
      },
      setCommand(command) {
        set({ command });
      },
      cancelCommand() {
        set({ command: '' });
        setInputMode('normal');
      },
      runCommand(line) {
        get().cancelCommand();
        const text = line.trim().replace(/^:/, '');
        if (!text) return;
        const parsed = parseCommand(text);
        if (!parsed) {
          get().setMessage(`Unknown command ":${text.split(/\s+/)[0]}"; type :help to see the commands.`, 'error');
          return;
        }
        get().dispatch(parsed.binding.action, parsed.guest);
      },

      pressKey(key) {
        const s = get();
        const owner = s.keyOwner();
        if (owner) pressOwner(owner, key);
      },

      keyOwner() {
        const s = get();
        const top = s.dialogs[s.dialogs.length - 1];
        if (top) return dialogOwner(dialogHost);
        if (s.inputMode === 'filter') return filterOwner;
        if (s.inputMode === 'command') return commandOwner;
        // A pane's own screen (Backups' forms, review, file browser) takes keys before its list.
        return s.panes[s.pane]?.keyOwner?.() ?? paneOwner;
      },

      pushDialog(d) {
        setDialogs([...get().dialogs, d]);
      },
      popDialog() {
        setDialogs(get().dialogs.slice(0, -1));
      },
      updateDialog(kind, change) {
        const dialogs = get().dialogs;
        const top = dialogs[dialogs.length - 1];
        if (!top || top.kind !== kind) return;
        setDialogs([...dialogs.slice(0, -1), change(top as never)]);
      },
      setMessage(text, kind = 'info') {
        set({ message: { text, kind } });
      },
      showError(title, e, retry) {
        get().pushDialog({ kind: 'error', title, error: toShownError(e), showDetails: false, retry });
        set({ message: null });
      },
      async act(failTitle, busy, run, done) {
        get().setMessage(busy, 'busy');
        try {
          await run();
          get().setMessage(done);
        } catch (e) {
          get().showError(failTitle, e);
        } finally {
          void get().refresh();
        }
      },

      dispatch(action, guest) {
        const s = get();
        const withGuest = (run: (name: string) => unknown, wanted = guest) => {
          const name = guestFor(wanted);
          if (name) void run(name);
        };
        // `:host NAME` switches hosts; `:host` alone is the Host pane.
        if (action === 'pane4' && guest) return s.switchHost(guest);
        if (action === 'hostPicker') return s.openHostPicker();
        // The focused pane sees its keys first; it declines the ones the console handles.
        if (s.panes[s.pane]?.dispatch(action, guest)) return;
        switch (action) {
          case 'quit':
            return s.quit();
          case 'help':
            return s.pushDialog({ kind: 'help', offset: 0 });
          case 'showMessage':
            // The status line cuts a long message at the edge; the text dialog wraps it whole.
            if (!s.message?.text) return s.setMessage('There is no message to show.');
            return s.pushDialog({ kind: 'text', title: s.message.kind === 'error' ? 'Message (a problem)' : 'Message', lines: [s.message.text], offset: 0 });
          case 'filter': {
            if (paneFilters(s.pane)) return s.startFilter();
            const title = PANES.find((p) => p.id === s.pane)?.title ?? s.pane;
            return s.setMessage(`The ${title} pane has no filter: / filters the lists of Guests, Disks, Backups and Host.`, 'error');
          }
          case 'command':
            return s.startCommand();
          case 'nextPane':
            return s.cyclePane(1);
          case 'prevPane':
            return s.cyclePane(-1);
          case 'pane1':
          case 'pane2':
          case 'pane3':
          case 'pane4':
          case 'pane5': {
            const pane = PANES[Number(action.slice(4)) - 1];
            if (pane) s.setPane(pane.id);
            return;
          }
          case 'newGuest':
            return s.openWizard();
          case 'importVmware':
            {
            const store = createImportWizard({ host, width: s.size.columns, onClose: (d) => get().closeWizard(d), jobScreen: { quit: () => get().quit() } });
            return s.pushDialog({ kind: 'wizard', which: 'import', owner: store.getState().owner, wizard: { which: 'import', store } });
          }
          case 'mergeIde':
            return withGuest((name) => {
              const running = isActive(row(name)?.state ?? 'shut off');
              const store = createMergeIdeWizard({ host, guest: name, running, width: s.size.columns, onClose: () => get().closeWizard(null), jobScreen: { quit: () => get().quit() } });
              s.pushDialog({ kind: 'wizard', which: 'mergeide', guest: name, owner: store.getState().owner, wizard: { which: 'mergeide', store } });
            });
          case 'migrate': {
            // `:migrate NAME HOST`: the last word is the destination (guest names are one word here).
            const words = (guest ?? '').trim().split(/\s+/).filter(Boolean);
            const to = words.length > 1 ? words.pop() : undefined;
            return withGuest((name) => {
              const store = createMigrateWizard({ host, guest: name, to, width: s.size.columns, onClose: () => get().closeWizard(null), jobScreen: { quit: () => get().quit() } });
              s.pushDialog({ kind: 'wizard', which: 'migrate', guest: name, owner: store.getState().owner, wizard: { which: 'migrate', store } });
            }, words.join(' ') || null);
          }
          case 'p2v':
            {
            const store = createP2vWizard({ host, width: s.size.columns, onClose: (d) => get().closeWizard(d), jobScreen: { quit: () => get().quit() } });
            return s.pushDialog({ kind: 'wizard', which: 'p2v', owner: store.getState().owner, wizard: { which: 'p2v', store } });
          }
        }
        // A guest command on another pane's `:` line (`:start web1` from Disks) is the Guests pane's.
        if (s.pane !== 'guests') s.panes.guests?.dispatch(action, guest);
      },

      async openSettings(name) {
        try {
          const xml = await virsh.dumpXml(host, name, { inactive: true });
          const form = buildSettingsForm(getSettings(parseDomainXml(xml)), row(name)?.autostart ?? false);
          get().pushDialog({ kind: 'settings', guest: name, xml, form });
        } catch (e) {
          showError(`Could not read the settings of ${name}`, e);
        }
      },

      saveSettings() {
        const top = get().dialogs[get().dialogs.length - 1];
        if (top?.kind !== 'settings') return;
        const form: SettingsDialog = top;
        const name = form.guest;
        try {
          const original = parseDomainXml(form.xml);
          const edit = applySettingsForm(original, form.form);
          if (edit.changes.length === 0) {
            get().popDialog();
            get().setMessage(`Nothing changed in ${name}.`);
            return;
          }
          const before = serializeDomainXml(original);
          const after = serializeDomainXml(edit.doc);
          const xmlChanged = before !== after;
          const running = row(name)?.state === 'running';
          get().updateDialog('settings', (d) => ({ ...d, form: withError(d.form, null) }));
          get().pushDialog({
            kind: 'diff',
            title: `Apply to ${name}?`,
            summary: [edit.changes.join(' · '), ...(running && xmlChanged ? [`${name} is running: the changes apply at its next start.`] : [])],
            lines: xmlChanged ? unifiedDiff(name, before, after) : ['(the XML does not change)'],
            offset: 0,
            onApply: async () => {
              setDialogs(get().dialogs.filter((d) => d.kind !== 'diff' && d.kind !== 'settings'));
              await act(
                `Could not change ${name}`,
                `Applying the settings of ${name}…`,
                async () => {
                  for (const e of edit.edits) if (e.kind === 'attachIso') await checkIsoOnHost(host, e.path);
                  // Read back after define: an edit libvirt silently drops (NUMA memory…) is an error, not "Saved".
                  if (xmlChanged) await defineEdited(host, before, after);
                  if (edit.autostart !== null) await virsh.setAutostart(host, name, edit.autostart);
                },
                running && xmlChanged ? `Saved; ${name} uses the new settings from its next start.` : `Saved the settings of ${name}.`,
              );
            },
          });
        } catch (e) {
          if (e instanceof UserError) get().updateDialog('settings', (d) => ({ ...d, form: withError(d.form, refusalOf(e)) }));
          else showError(`Could not change ${name}`, e);
        }
      },

      openConsole(name) {
        return (get().panes.guests as GuestsPaneController | undefined)?.openConsole(name) ?? Promise.resolve();
      },

      openWizard() {
        const wizard = createNewGuestWizard({ host, onClose: (defined, o) => get().closeWizard(defined, o), jobScreen: { quit: () => get().quit() } });
        get().pushDialog({ kind: 'wizard', which: 'newGuest', owner: wizard.getState().owner, wizard: { which: 'newGuest', store: wizard } });
        wizard.getState().load();
      },

      closeWizard(defined, wopts) {
        setDialogs(get().dialogs.filter((d) => d.kind !== 'wizard'));
        // A disk wizard changed files the pane behind it lists.
        if (get().pane !== 'guests') get().panes[get().pane]?.dispatch('refresh');
        if (!defined) return;
        void get()
          .refresh()
          .then(() => {
            set({ selected: defined });
            // The host says whether the wizard also started it (New guest, Import, P2V can).
            const started = isActive(row(defined)?.state ?? 'shut off');
            get().setMessage(`${started ? 'Defined and started' : 'Defined'} ${defined}.`);
            if (wopts?.openConsole) void get().openConsole(defined);
          });
      },

      openHostPicker() {
        get().pushDialog({ kind: 'hostPicker', title: 'Hosts', hosts: pickerHosts(), index: 0 });
      },

      switchHost(nameOrUri) {
        const wanted = nameOrUri.trim();
        // Every name the picker lists is a name `:host` takes: this host's own too.
        if (pickerHosts().some((h) => h.current && (h.name === wanted || h.uri === wanted))) {
          get().setMessage(`Already on ${host.name} (${host.uri}).`);
          return;
        }
        const target = resolveHost(wanted, opts.hosts ?? configHosts(), 'the host field');
        if (target instanceof UserError) {
          get().setMessage(`${target.sentence} ${target.fix}`, 'error');
          return;
        }
        if (target.uri === host.uri && (target.name === undefined || target.name === host.name)) {
          get().setMessage(`Already on ${host.name} (${host.uri}).`);
          return;
        }
        let next: HostContext;
        try {
          next = (opts.connect ?? createHostContext)(target);
        } catch (e) {
          showError(`Could not switch to ${wanted}`, e);
          return;
        }
        if (!opts.onSwitchHost) {
          get().setMessage(`Switching hosts needs the full console (virtdeck --connect ${wanted}).`, 'error');
          return;
        }
        opts.onSwitchHost(next);
        get().quit();
      },

      quit() {
        get().dispose();
        set({ quitRequested: true });
      },
    };
  });
  const panes: AppData['panes'] = {};
  // The Guests pane is always there: tests that hand in other panes still list and act on guests.
  const factories: PaneFactories = { guests: PANE_FACTORIES.guests, ...(opts.paneFactories ?? PANE_FACTORIES) };
  const paneOpts = { shutdownTimeoutMs: opts.shutdownTimeoutMs, handOff: opts.handOff, env: opts.env };
  for (const [id, make] of Object.entries(factories)) {
    if (make) panes[id as PaneId] = make(host, store, paneOpts);
  }
  store.setState({ panes });
  store.getState().panes[store.getState().pane]?.activate?.();
  return store;
}
