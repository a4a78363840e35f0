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
import type { GuestRow } from '../host/virsh.js';
import * as virsh from '../host/virsh.js';
import { checkIsoOnHost } from '../jobs/isoCheck.js';
import { parseDomainXml, serializeDomainXml } from '../model/domainXml.js';
import { formatBytes } from '../model/units.js';
import { UserError } from '../model/userError.js';
import type { Env } from '../ui/theme.js';
import type { AppState, AppStore } from './appState.js';
import { coalesced } from './coalesced.js';
import { type DialogHost, dialogOwner, scopesOf } from './dialogs/dialogKeys.js';
import { editText } from './editor.js';
import { type KeyOwner, paneScopes, pressKey as pressOwner } from './keys/owners.js';
import { commonPrefix, completeCommand, parseCommand } from './keys/router.js';
import { PANE_FACTORIES, type PaneFactories } from './paneFactories.js';
import { PANES, type PaneId } from './paneIds.js';
import { modeFor, selectedGuest, visibleGuests } from './selectors.js';
import { applySettingsForm, buildSettingsForm, settingsOf } from './settingsForm.js';
import { toShownError } from './shownError.js';
import { sshTargetFor } from './sshTarget.js';
import type { AccelShown, AppData, Dialog, HandOff, SettingsDialog, TermSize } from './types.js';
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

export function createAppStore(host: HostContext, opts: AppStoreOptions = {}): AppStore {
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 60_000;
  const pollMs = opts.pollMs ?? 5_000;
  const eventDebounceMs = opts.eventDebounceMs ?? 300;
  const handOff: HandOff = opts.handOff ?? ((run) => run());
  const env = opts.env ?? process.env;
  const detectAccel = opts.detectAccel ?? defaultDetectAccel;

  let started = false;
  let stopEvents: (() => void) | null = null;
  let poll: ReturnType<typeof setInterval> | null = null;
  let debounce: ReturnType<typeof setTimeout> | null = null;
  const waits = new Set<AbortController>();

  const store = createStore<AppState>()((set, get) => {
    const setDialogs = (dialogs: Dialog[]) => set((s) => ({ dialogs, mode: modeFor(dialogs, s.inputMode) }));
    const setInputMode = (inputMode: AppData['inputMode']) => set((s) => ({ inputMode, mode: modeFor(s.dialogs, inputMode) }));
    const row = (name: string) => get().guests.find((g) => g.name === name);

    const showError = (title: string, e: unknown, retry?: { key: string; label: string; run: () => void | Promise<void> }) => {
      get().pushDialog({ kind: 'error', title, error: toShownError(e), showDetails: false, retry });
      set({ message: null });
    };

    /** A dialog that still handles its own keys: its scopes name its hints; only Ctrl-C is the console's. */
    const ownKeysDialog = (top: Dialog): KeyOwner => ({
      scopes: () => scopesOf(top),
      perform: ({ scope }) => {
        if (scope === 'console') get().quit();
      },
    });
    const dialogHost: DialogHost = {
      top: () => get().dialogs[get().dialogs.length - 1],
      size: () => get().size,
      pane: () => get().pane,
      popDialog: () => get().popDialog(),
      replaceTop: (d) => setDialogs([...get().dialogs.slice(0, -1), d]),
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
          const options = completeCommand(s.command, s.guests.map((g) => g.name));
          const prefix = commonPrefix(options);
          if (options.length === 1) s.setCommand(`${options[0]} `);
          else if (prefix.length > s.command.length) s.setCommand(prefix);
        } else if (action === 'inputType') s.setCommand(s.command + key.input);
        else if (action === 'quit') s.quit();
      },
    };

    /** confirm → busy line → host call → refresh; failures become the error dialog. */
    const act = async (failTitle: string, busy: string, run: () => Promise<void>, done: string) => {
      get().setMessage(busy, 'busy');
      try {
        await run();
        get().setMessage(done);
      } catch (e) {
        showError(failTitle, e);
      } finally {
        void get().refresh();
      }
    };

    const forceOff = (name: string) =>
      act(`Could not force ${name} off`, `Forcing ${name} off…`, () => virsh.destroy(host, name), `${name} is off.`);

    const waitForShutdown = async (name: string) => {
      const abort = new AbortController();
      waits.add(abort);
      try {
        const stopped = await virsh.waitForState(host, name, 'shut off', shutdownTimeoutMs, abort.signal);
        if (abort.signal.aborted) return;
        void get().refresh();
        if (stopped) {
          get().setMessage(`${name} is shut off.`);
          return;
        }
        get().pushDialog({
          kind: 'confirm',
          title: `${name} is still running`,
          lines: [
            `${name} did not shut down within ${Math.round(shutdownTimeoutMs / 1000)} s of the ACPI request.`,
            'The guest may have no ACPI support, or it is busy or asking a question on its screen.',
            'Forcing it off is like pulling the power cord: unsaved data in the guest is lost.',
          ],
          yes: 'force off',
          onYes: () => forceOff(name),
          onNo: () => get().setMessage(`${name} was left running.`),
        });
      } catch (e) {
        if (!abort.signal.aborted) showError(`Could not follow ${name}'s shutdown`, e);
      } finally {
        waits.delete(abort);
      }
    };

    const guestFor = (name: string | null | undefined): string | null => {
      const chosen = name ?? selectedGuest(get())?.name ?? null;
      if (!chosen) {
        get().setMessage('No guest is selected.', 'error');
        return null;
      }
      if (!row(chosen)) {
        get().setMessage(`There is no guest called "${chosen}".`, 'error');
        return null;
      }
      return chosen;
    };

    return {
      guests: [],
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
        for (const w of waits) w.abort();
        waits.clear();
      },

      refresh: coalesced(async () => {
        try {
          const guests = await virsh.listGuests(host);
          set((s) => ({ guests, lastRefresh: Date.now(), refreshError: null, selected: keptSelection(s, guests) }));
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
        if (top) {
          if ('owner' in top && top.owner) return top.owner;
          if (top.kind === 'wizard') return null;
          return dialogOwner(dialogHost) ?? ownKeysDialog(top);
        }
        if (s.inputMode === 'filter') return filterOwner;
        if (s.inputMode === 'command') return commandOwner;
        // A pane's own screen (Backups' forms, review, file browser) takes keys before its list.
        const focused = s.pane === 'guests' ? undefined : s.panes[s.pane];
        return focused?.keyOwner?.() ?? paneOwner;
      },

      keysRouted() {
        const top = get().dialogs[get().dialogs.length - 1];
        if (!top || ('owner' in top && top.owner)) return true;
        return dialogOwner(dialogHost) !== null;
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

      dispatch(action, guest) {
        const s = get();
        const withGuest = (run: (name: string) => unknown) => {
          const name = guestFor(guest);
          if (name) void run(name);
        };
        // `:host NAME` switches hosts; `:host` alone is the Host pane.
        if (action === 'pane4' && guest) return s.switchHost(guest);
        if (action === 'hostPicker') return s.openHostPicker();
        // The focused pane sees its keys first; it declines the ones the console handles.
        const focused = s.pane === 'guests' ? undefined : s.panes[s.pane];
        if (focused?.dispatch(action)) return;
        switch (action) {
          case 'quit':
            return s.quit();
          case 'help':
            return s.pushDialog({ kind: 'help', offset: 0 });
          case 'filter':
            return s.startFilter();
          case 'command':
            return s.startCommand();
          case 'up':
            return s.moveSelection(-1);
          case 'down':
            return s.moveSelection(1);
          case 'top':
            return s.selectEdge('top');
          case 'bottom':
            return s.selectEdge('bottom');
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
          case 'refresh':
            s.setMessage('Refreshing…', 'busy');
            void s.refresh().then(() => get().setMessage('Refreshed.'));
            return;
          case 'start':
            return withGuest(s.start);
          case 'shutdown':
            return withGuest(s.askShutdown);
          case 'forceOff':
            return withGuest(s.askForceOff);
          case 'reboot':
            return withGuest(s.askReboot);
          case 'pauseResume':
            return withGuest(s.pauseResume);
          case 'autostart':
            return withGuest(s.toggleAutostart);
          case 'undefine':
            return withGuest(s.askUndefine);
          case 'edit':
            return withGuest(s.openSettings);
          case 'editXml':
            return withGuest((n) => s.editXml(n));
          case 'console':
            return withGuest(s.openConsole);
          case 'vnc':
            return withGuest(s.showVnc);
          case 'log':
            return withGuest(s.showLog);
          case 'details':
            return withGuest(s.showDetails);
          case 'newGuest':
            return s.openWizard();
          case 'importVmware':
            return s.pushDialog({ kind: 'wizard', which: 'import' });
          case 'mergeIde':
            return withGuest((name) => s.pushDialog({ kind: 'wizard', which: 'mergeide', guest: name }));
          case 'p2v':
            return s.pushDialog({ kind: 'wizard', which: 'p2v' });
        }
      },

      async start(name) {
        if (row(name)?.state === 'running') return get().setMessage(`${name} is already running.`);
        await act(`Could not start ${name}`, `Starting ${name}…`, () => virsh.start(host, name), `${name} started.`);
      },

      askShutdown(name) {
        if (row(name)?.state === 'shut off') return get().setMessage(`${name} is already shut off.`);
        get().pushDialog({
          kind: 'confirm',
          title: `Shut down ${name}?`,
          lines: [
            `virtdeck asks ${name} to shut down (ACPI power button) and waits up to ${Math.round(shutdownTimeoutMs / 1000)} s.`,
            'If it is still running then, you can force it off.',
          ],
          yes: 'shut down',
          onYes: async () => {
            get().setMessage(`Shutting down ${name}… waiting up to ${Math.round(shutdownTimeoutMs / 1000)} s.`, 'busy');
            try {
              await virsh.shutdown(host, name);
            } catch (e) {
              showError(`Could not shut down ${name}`, e);
              void get().refresh();
              return;
            }
            void get().refresh();
            await waitForShutdown(name);
          },
        });
      },

      askForceOff(name) {
        if (row(name)?.state === 'shut off') return get().setMessage(`${name} is already shut off.`);
        get().pushDialog({
          kind: 'confirm',
          title: `Force ${name} off?`,
          lines: [`This cuts the power of ${name} at once, like pulling the cord.`, 'Unsaved data in the guest is lost; its disks may need a check at next boot.'],
          yes: 'force off',
          onYes: () => forceOff(name),
        });
      },

      askReboot(name) {
        if (row(name)?.state !== 'running') return get().setMessage(`${name} is not running, so it cannot be rebooted.`, 'error');
        get().pushDialog({
          kind: 'confirm',
          title: `Reboot ${name}?`,
          lines: [`virtdeck asks ${name} to restart (ACPI); the guest decides how fast.`],
          yes: 'reboot',
          onYes: () => act(`Could not reboot ${name}`, `Rebooting ${name}…`, () => virsh.reboot(host, name), `${name} is rebooting.`),
        });
      },

      async pauseResume(name) {
        const state = row(name)?.state;
        if (state === 'paused') {
          await act(`Could not resume ${name}`, `Resuming ${name}…`, () => virsh.resume(host, name), `${name} is running again.`);
        } else if (state === 'running' || state === 'idle') {
          await act(`Could not pause ${name}`, `Pausing ${name}…`, () => virsh.suspend(host, name), `${name} is paused; press p again to resume.`);
        } else {
          get().setMessage(`${name} is ${state ?? 'unknown'}; only a running guest can be paused.`, 'error');
        }
      },

      async toggleAutostart(name) {
        const on = !row(name)?.autostart;
        await act(
          `Could not change autostart of ${name}`,
          `${on ? 'Enabling' : 'Disabling'} autostart of ${name}…`,
          () => virsh.setAutostart(host, name, on),
          on ? `${name} now starts with the host.` : `${name} no longer starts with the host.`,
        );
      },

      askUndefine(name) {
        const running = row(name)?.state !== 'shut off';
        get().pushDialog({
          kind: 'typeName',
          title: `Delete ${name}?`,
          lines: [
            `This removes the definition of ${name} from libvirt.`,
            running ? `${name} is running: it keeps running until it stops, then it is gone.` : 'Its disk images are kept unless you tick the box.',
          ],
          name,
          typed: '',
          deleteDisks: false,
          focus: 'name',
          onConfirm: async (deleteDisks) => {
            if (deleteDisks && row(name)?.state !== 'shut off') {
              showError(`Could not delete ${name}`, new UserError(`${name} is still running, so its disks are in use.`, `Shut ${name} down first (S), then delete it with its disks.`));
              return;
            }
            await act(
              `Could not delete ${name}`,
              `Deleting ${name}…`,
              () => virsh.undefine(host, name, { removeStorage: deleteDisks, nvram: true }),
              deleteDisks ? `${name} and its disks are deleted.` : `${name} is deleted; its disk images are kept.`,
            );
          },
        });
      },

      async openSettings(name) {
        try {
          const xml = await virsh.dumpXml(host, name, { inactive: true });
          const fields = buildSettingsForm(settingsOf(parseDomainXml(xml)), row(name)?.autostart ?? false);
          get().pushDialog({ kind: 'settings', guest: name, xml, fields, focus: 0, error: null });
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
          const edit = applySettingsForm(original, form.fields);
          if (edit.changes.length === 0) {
            get().popDialog();
            get().setMessage(`Nothing changed in ${name}.`);
            return;
          }
          const before = serializeDomainXml(original);
          const after = serializeDomainXml(edit.doc);
          const xmlChanged = before !== after;
          const running = row(name)?.state === 'running';
          get().updateDialog('settings', (d) => ({ ...d, error: null }));
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
                  const iso = form.fields.find((f) => f.id === 'iso' && f.value.trim() && f.value !== f.original);
                  if (iso) await checkIsoOnHost(host, iso.value.trim());
                  if (xmlChanged) await virsh.defineXml(host, after, { validate: true });
                  if (edit.autostart !== null) await virsh.setAutostart(host, name, edit.autostart);
                },
                running && xmlChanged ? `Saved; ${name} uses the new settings from its next start.` : `Saved the settings of ${name}.`,
              );
            },
          });
        } catch (e) {
          if (e instanceof UserError) get().updateDialog('settings', (d) => ({ ...d, error: { sentence: e.sentence, fix: e.fix } }));
          else showError(`Could not change ${name}`, e);
        }
      },

      async editXml(name, draft) {
        let current: string;
        try {
          current = await virsh.dumpXml(host, name, { inactive: true });
        } catch (e) {
          showError(`Could not read the XML of ${name}`, e);
          return;
        }
        let edited: { text: string; exitCode: number };
        try {
          edited = await editText(host.virshExec, handOff, draft ?? current, `${name}.xml`, env);
        } catch (e) {
          showError('Could not run the editor', e);
          return;
        } finally {
          set((s) => ({ redraw: s.redraw + 1 }));
        }
        if (edited.exitCode !== 0) return get().setMessage(`The editor exited with code ${edited.exitCode}; ${name} is unchanged.`, 'error');
        if (edited.text === current) return get().setMessage(`No changes to the XML of ${name}.`);
        const reopen = {
          key: 'e',
          label: 're-open the editor with your text',
          run: () => {
            get().popDialog();
            void get().editXml(name, edited.text);
          },
        };
        try {
          // The admin's text is read like any outside XML: a DOCTYPE or entity is refused before virsh sees it.
          parseDomainXml(edited.text, { source: 'The XML you edited' });
        } catch (e) {
          showError(`Could not define ${name}`, e, reopen);
          return;
        }
        get().pushDialog({
          kind: 'diff',
          title: `Define ${name} from your XML?`,
          summary: ['virsh define --validate checks it against the schema first.'],
          lines: unifiedDiff(name, current, edited.text),
          offset: 0,
          onApply: async () => {
            get().popDialog();
            get().setMessage(`Defining ${name}…`, 'busy');
            try {
              await virsh.defineXml(host, edited.text, { validate: true });
              get().setMessage(`Defined ${name} from your XML.`);
            } catch (e) {
              showError(`Could not define ${name}`, e, reopen);
            } finally {
              void get().refresh();
            }
          },
        });
      },

      async openConsole(name) {
        const g = row(name);
        if (g && g.state !== 'running' && g.state !== 'paused') return get().setMessage(`${name} is ${g.state}; start it (s) before opening its console.`, 'error');
        if (g && !g.hasSerial) return get().setMessage(`${name} has no serial console; use VNC (v) to see its screen.`, 'error');
        try {
          const code = await handOff(() => host.virshExec.interactive(['virsh', '-c', host.uri, 'console', name]));
          get().setMessage(code === 0 ? `Left the console of ${name}.` : `virsh console ended with code ${code}.`, code === 0 ? 'info' : 'error');
        } catch (e) {
          showError(`Could not open the console of ${name}`, e);
        } finally {
          set((s) => ({ redraw: s.redraw + 1 }));
          void get().refresh();
        }
      },

      async showVnc(name) {
        const g = row(name);
        if (!g) return;
        if (!g.vnc) {
          get().pushDialog({ kind: 'text', title: `VNC of ${name}`, lines: [`${name} has no VNC display.`, 'Press e and set VNC port to auto to add one.'], offset: 0 });
          return;
        }
        let port: number | null = typeof g.vnc.port === 'number' ? g.vnc.port : null;
        if (g.state === 'running') {
          try {
            const display = await virsh.vncDisplay(host, name);
            const n = display?.match(/:(\d+)$/)?.[1];
            if (n !== undefined) port = 5900 + Number(n);
          } catch (e) {
            showError(`Could not ask libvirt for the VNC display of ${name}`, e);
            return;
          }
        }
        const listen = g.vnc.listen ?? '127.0.0.1';
        const lines = [`Listen  ${listen}`, `Port    ${port ?? 'chosen by libvirt when the guest starts (auto)'}`];
        if (port !== null) {
          const remote = listen === '0.0.0.0' || listen === '::' ? '127.0.0.1' : listen;
          const target = sshTargetFor(host.uri, get().versions?.hostname ?? host.name);
          lines.push('', 'From your desktop, open a tunnel and point a viewer at it:', `  ssh -L ${port}:${remote}:${port} ${target}`, `  vncviewer localhost:${port}`);
          if (remote !== listen) lines.push('', `It also listens on every address, so vncviewer ${target.replace(/^.*@/, '')}:${port} works without the tunnel.`);
        } else {
          lines.push('', 'Start the guest, then press v again for the port and the tunnel command.');
        }
        get().pushDialog({ kind: 'text', title: `VNC of ${name}`, lines, offset: 0 });
      },

      async showLog(name) {
        get().setMessage(`Reading the QEMU log of ${name}…`, 'busy');
        try {
          const path = virsh.qemuLogPath(name, host.uri);
          const text = (await virsh.readQemuLog(host, name, 200)).replace(/\n$/, '');
          const lines = text === '' ? [] : text.split('\n');
          set({ message: null });
          get().pushDialog({ kind: 'text', title: `${path} (last ${lines.length} lines)`, lines: lines.length ? lines : ['(the log is empty)'], offset: Number.MAX_SAFE_INTEGER, follow: true });
        } catch (e) {
          showError(`Could not read the QEMU log of ${name}`, e);
        }
      },

      showDetails(name) {
        const g = row(name);
        if (!g) return;
        const lines = [
          `State      ${g.state}${g.id !== null ? ` (id ${g.id})` : ''}${g.persistent ? '' : ', transient'}`,
          `UUID       ${g.uuid}`,
          `CPU, RAM   ${g.vcpus} vCPU, ${formatBytes(g.memoryKiB * 1024)}`,
          `OS         ${g.osType ?? 'not recorded'}`,
          `Autostart  ${g.autostart ? 'yes' : 'no'}`,
          `VNC        ${g.vnc ? `${g.vnc.port} on ${g.vnc.listen ?? '127.0.0.1'}` : 'none'}`,
          `Serial     ${g.hasSerial ? 'yes (c opens it)' : 'none'}`,
          '',
          ...g.disks.map((d) => `${d.target.padEnd(5)} ${d.device.padEnd(6)} ${d.bus.padEnd(7)} ${d.format ?? '-'}  ${d.source ?? '(empty)'}`),
          ...g.nics.map((n) => `net   ${n.mac}  ${n.type} ${n.source ?? ''}  ${n.model ?? ''}`),
        ];
        get().pushDialog({ kind: 'text', title: name, lines, offset: 0 });
      },

      openWizard() {
        get().pushDialog({ kind: 'wizard' });
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
            get().setMessage(`Defined ${defined}.`);
            if (wopts?.openConsole) void get().openConsole(defined);
          });
      },

      openHostPicker() {
        const read = opts.hosts ?? configHosts();
        const hosts = read instanceof UserError ? [] : read; // a broken config file is reported where it is edited, not here
        const list = [{ name: host.name, uri: host.uri, current: true }, ...hosts.filter((h) => h.uri !== host.uri || h.name !== host.name).map((h) => ({ name: h.name, uri: h.uri, current: false }))];
        if (!list.some((h) => h.uri === 'qemu:///system')) list.push({ name: 'qemu:///system', uri: 'qemu:///system', current: false });
        get().pushDialog({ kind: 'hostPicker', title: 'Hosts', hosts: list, index: 0 });
      },

      switchHost(nameOrUri) {
        const wanted = nameOrUri.trim();
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
  for (const [id, make] of Object.entries(opts.paneFactories ?? PANE_FACTORIES)) {
    if (make) panes[id as PaneId] = make(host, store);
  }
  store.setState({ panes });
  store.getState().panes[store.getState().pane]?.activate?.();
  return store;
}
