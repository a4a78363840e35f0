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
import { HOST_TIMEOUT_MS, listWithin } from '../host/hostRound.js';
import { hostSession } from '../host/session.js';
import type { GuestRow, GuestsWithStats } from '../host/virsh.js';
import * as virsh from '../host/virsh.js';
import { defineEdited } from '../jobs/defineEdited.js';
import { checkIsoOnHost } from '../jobs/isoCheck.js';
import { getSettings, hasGuestAgentChannel, parseDomainXml, serializeDomainXml } from '../model/domainXml.js';
import type { Env } from '../model/env.js';
import { isActive } from '../model/guest.js';
import { hostCpuBusyPct, type NodeCpuTimes } from '../model/hostLoad.js';
import { kept, keptMap, keptRows, sameData } from '../model/keptData.js';
import { isStale } from '../model/refreshAge.js';
import { computeUsage, type GuestUsage, nextSortKey, sameUsage, sortByUsage, type UsageSample, type UsageSortKey } from '../model/usage.js';
import { historyCapacity, recordUsage, type UsageHistory } from '../model/usageHistory.js';
import { UserError } from '../model/userError.js';
import { createFleet, type Fleet, hostStateOf, mergeUsage, otherHosts, tagRows } from './allHosts.js';
import type { AppState, AppStore } from './appState.js';
import { coalesced } from './coalesced.js';
import { type DialogHost, dialogOwner } from './dialogs/dialogKeys.js';
import { refusalOf } from './dialogs/formDialogs.js';
import { withError } from './form.js';
import { createAgentInfoController } from './guestAgentInfo.js';
import type { GuestsPaneController } from './guestsPane.js';
import { type KeyOwner, paneScopes, pressKey as pressOwner } from './keys/owners.js';
import { commonPrefix, completeCommand, parseCommand } from './keys/router.js';
import { createLoadSampler } from './loadSampler.js';
import { type OnFirstUse, onFirstUse, openOnFirstUse } from './onFirstUse.js';
import { PANE_FACTORIES, type PaneFactories } from './paneFactories.js';
import { PANES, type PaneId, paneFilters } from './paneIds.js';
import { guestForAction, isRow, modeFor, rowKey, selectedGuest, visibleGuests } from './selectors.js';
import { applySettingsForm, buildSettingsForm } from './settingsForm.js';
import { toShownError } from './shownError.js';
import type { AccelShown, AppData, Dialog, HandOff, HostState, ListedGuest, SettingsDialog, TermSize } from './types.js';
import { unifiedDiff } from './xmlDiff.js';


// Each wizard is loaded the first time it is opened (store/onFirstUse.ts).
const WIZARDS = {
  import: onFirstUse(() => import('./wizards/import/importWizard.js')),
  mergeide: onFirstUse(() => import('./wizards/mergeide/mergeIdeWizard.js')),
  migrate: onFirstUse(() => import('./wizards/migrate/migrateWizard.js')),
  evacuate: onFirstUse(() => import('./wizards/evacuate/evacuateWizard.js')),
  p2v: onFirstUse(() => import('./wizards/p2v/p2vWizard.js')),
  newGuest: onFirstUse(() => import('./wizards/newGuest/newGuestWizard.js')),
};

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
  /** How long the selection rests before its guest agent is asked (0 in tests: at once). */
  agentSettleMs?: number;
  /** When a domstats sample was taken (tests step it to get rates without waiting). */
  clock?: () => number;
  /** Open in the all-hosts view (`A`). */
  allHosts?: boolean;
  /** How long one host of the all-hosts view may take to answer a refresh before it shows as unreachable. */
  hostTimeoutMs?: number;
}

const DEFAULT_SIZE: TermSize = { columns: 80, rows: 24 };

async function defaultDetectAccel(exec: Executor): Promise<AccelShown> {
  // Loaded lazily: the header works (showing "accel unknown") even if the check cannot run.
  const kvm = (await import('../host/kvm.js')) as { detectAccel: (e: Executor) => Promise<AccelShown> };
  return kvm.detectAccel(exec);
}

/**
 * Where the selection goes when the list changes: it stays on its guest (on its host, in the
 * all-hosts view); when that guest vanished, on the row that took its place.
 */
function keptSelection(prev: AppData, listed: ListedGuest[]): Pick<AppData, 'selected' | 'selectedHost'> {
  const next = visibleGuests({ guests: listed, filter: prev.filter });
  const at = (g: ListedGuest | undefined) => ({ selected: g?.name ?? null, selectedHost: g?.host ?? null });
  const same = prev.selected ? next.find((g) => isRow(g, prev.selected, prev.selectedHost)) : undefined;
  if (same) return at(same);
  const oldIndex = visibleGuests(prev).findIndex((g) => isRow(g, prev.selected, prev.selectedHost));
  const index = Math.min(Math.max(oldIndex, 0), next.length - 1);
  return at(next[index]);
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
  // Set by every refresh but the poll's: the next round reads every guest's XML afresh.
  let freshWanted = false;
  let pollRound: (() => Promise<void>) | null = null;
  const fresh = (round: () => Promise<void>) => {
    pollRound = round;
    return () => {
      freshWanted = true;
      return round();
    };
  };
  let lastSample: UsageSample | null = null;
  let lastCpuTimes: NodeCpuTimes | null = null;
  const history: UsageHistory = new Map();
  // Made when the all-hosts view is first shown: a console on one host never reaches the others.
  let fleet: Fleet | null = null;
  let known: { name: string; uri: string }[] | null = null;
  const hostTimeoutMs = opts.hostTimeoutMs ?? HOST_TIMEOUT_MS;

  const agentInfo = createAgentInfoController({ host, publish: (guestAgent) => store.setState({ guestAgent }), ...(opts.agentSettleMs !== undefined ? { settleMs: opts.agentSettleMs } : {}) });

  // A read that ends while a round runs rides in the round's own update (applyHere takes `latest`),
  // and one that ended before it is already on screen: no second frame either way.
  let inRound = false;
  const loadSampler = createLoadSampler({
    host,
    publish: (load) => {
      if (inRound) return;
      if (!sameData(store.getState().hostLoad.load, load)) store.setState((s) => ({ hostLoad: { ...s.hostLoad, load } }));
    },
  });

  const store = createStore<AppState>()((set, get) => {
    const setDialogs = (dialogs: Dialog[]) => set((s) => ({ dialogs, mode: modeFor(dialogs, s.inputMode) }));
    const setInputMode = (inputMode: AppData['inputMode']) => set((s) => ({ inputMode, mode: modeFor(s.dialogs, inputMode) }));
    const row = (name: string) => get().guestRow(name);

    const showError: AppState['showError'] = (...args) => get().showError(...args);
    const openLoaded = <M>(m: OnFirstUse<M>, what: string, open: (m: M) => void) => openOnFirstUse(store, m, what, open);

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
      allHosts: () => get().allHosts,
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

    /** This host's answer: the list, the usage and the meters every pane reads. */
    const applyHere = (listed: GuestsWithStats, keepSelection: boolean) => {
      let usage = get().usage;
      let cpuPct = get().hostLoad.cpuPct;
      let recorded = false;
      if (!lastSample || listed.stats.at - lastSample.at >= MIN_RATE_MS) {
        // What reads as before stays the same object: only what changed is drawn again (model/keptData.ts).
        usage = keptMap(usage, computeUsage(lastSample, listed.stats, listed.hostCpus ?? 0), sameUsage);
        cpuPct = hostCpuBusyPct(lastCpuTimes, listed.hostCpuTimes);
        lastSample = listed.stats;
        lastCpuTimes = listed.hostCpuTimes;
        recordUsage(history, usage, historyCapacity(pollMs));
        recorded = true;
      }
      const guestAgent = agentInfo.keepOnly(listed.guests);
      set((s) => {
        const guests = keptRows(s.guests, sortByUsage(listed.guests, s.sortKey, usage), (g) => g.name);
        const hostSize = kept(s.hostSize, { cpus: listed.hostCpus, memKiB: listed.hostMemKiB });
        return {
          guests,
          usage,
          hostSize,
          hostLoad: kept(s.hostLoad, { cpuPct, load: loadSampler.latest() ?? s.hostLoad.load }),
          ...(recorded ? { usageRound: s.usageRound + 1 } : {}),
          lastRefresh: Date.now(),
          refreshStale: false,
          refreshError: null,
          ...(guestAgent ? { guestAgent } : {}),
          ...(keepSelection ? keptSelection(s, guests) : {}),
        };
      });
    };

    /** The all-hosts view's order: by host (this one first), by name within a host; or busiest first across hosts. */
    const sortListed = (rows: ListedGuest[], sortKey: AppData['sortKey'], usage: ReadonlyMap<string, GuestUsage>) =>
      sortByUsage(
        rows.map((g) => ({ name: rowKey(g.host, g.name), g })),
        sortKey,
        usage,
      ).map((k) => k.g);

    // Why the config file's hosts could not be read, when they could not: said instead of "only host".
    let fleetRefusal: UserError | null = null;
    const theFleet = (): Fleet => {
      if (!fleet) {
        const read = opts.hosts ?? configHosts();
        if (read instanceof UserError) fleetRefusal = read;
        fleet = createFleet(host, read instanceof UserError ? [] : read, opts.connect ?? createHostContext);
      }
      return fleet;
    };

    /**
     * Each host's last answer (its rows and usage) and state: a round publishes every host's answer
     * as it comes, so a host that hangs until its deadline delays only its own row.
     */
    const answered = new Map<string, { guests: GuestRow[]; usage: ReadonlyMap<string, GuestUsage> }>();
    const states = new Map<string, HostState>();

    const publish = (f: Fleet) => {
      const order = [{ name: host.name, uri: host.uri }, ...f.members];
      const hostStates = order.map((h) => states.get(h.name) ?? hostStateOf(h.name, h.uri, null, null));
      const shown = order.flatMap((h) => {
        const a = answered.get(h.name);
        return a ? [{ host: h.name, ...a }] : [];
      });
      const allUsage = mergeUsage(shown);
      set((s) => {
        const allGuests = sortListed(tagRows(shown), s.sortKey, allUsage);
        return { allGuests, allUsage, hostStates, usageRound: s.usageRound + 1, lastRefresh: Date.now(), refreshStale: false, ...(s.allHosts ? keptSelection(s, allGuests) : {}) };
      });
    };

    /** Another host's guest changed: one refresh for a burst of events, as for this host's. */
    const memberEvent = () => {
      if (debounce) clearTimeout(debounce);
      debounce = setTimeout(() => void get().refresh(), eventDebounceMs);
    };

    /**
     * One round over every host at once, each under its own deadline (host/hostRound.ts). The poll
     * may reuse XML on every host, as the one-host view does: otherwise each round re-reads and
     * re-parses every guest of every host, and the hosts' parsing queues on this one thread.
     */
    const refreshAll = async (reuseXml: boolean) => {
      const f = theFleet();
      const capacity = historyCapacity(pollMs);
      const listOpts = { reuseXml };
      for (const m of f.members) if (m.refusal) states.set(m.name, hostStateOf(m.name, m.uri, null, m.refusal));
      const here = listWithin(host, hostTimeoutMs, opts.clock, listOpts).then((a) => {
        if (a.ok) {
          applyHere(a.listed, false);
          answered.set(host.name, { guests: a.listed.guests, usage: get().usage });
        } else {
          set({ refreshError: toShownError(a.error) });
          answered.delete(host.name);
        }
        states.set(host.name, hostStateOf(host.name, host.uri, a, null));
        publish(f);
      });
      const others = f.members.map((m) => {
        if (!m.host) return Promise.resolve();
        return listWithin(m.host, hostTimeoutMs, opts.clock, listOpts).then((a) => {
          if (a.ok) {
            if (started && opts.live !== false) f.watch(m.name, memberEvent);
            // Too soon for a rate: the host keeps the rates of its previous round.
            const usage = f.usageOf(m.name, a.listed, MIN_RATE_MS, capacity) ?? answered.get(m.name)?.usage ?? new Map();
            answered.set(m.name, { guests: a.listed.guests, usage });
          } else {
            answered.delete(m.name);
          }
          states.set(m.name, hostStateOf(m.name, m.uri, a, null));
          publish(f);
        });
      });
      await Promise.all([here, ...others]);
    };

    const guestFor = (name: string | null | undefined): string | null => {
      const picked = guestForAction(get(), name);
      if ('name' in picked) return picked.name;
      get().setMessage(picked.problem, 'error');
      return null;
    };

    return {
      guests: [],
      allHosts: opts.allHosts ?? false,
      allGuests: [],
      allUsage: new Map(),
      hostStates: [],
      selectedHost: null,
      usage: new Map(),
      hostSize: { cpus: null, memKiB: null },
      hostLoad: { cpuPct: null, load: null },
      sortKey: 'name',
      guestAgent: new Map(),
      usageRound: 0,
      lastRefresh: null,
      refreshStale: false,
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
        // The poll alone may reuse guests' XML: a refresh after an action, an event or `r` reads afresh.
        // The poll's tick also tells a stale screen: a round that hangs sets nothing, so no refresh would.
        poll = setInterval(() => {
          const s = get();
          const stale = isStale(s.lastRefresh, Date.now(), pollMs);
          if (stale !== s.refreshStale) set({ refreshStale: stale });
          void pollRound?.();
        }, pollMs);
        poll.unref?.();
      },

      dispose() {
        agentInfo.dispose();
        loadSampler.dispose();
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
        const others = fleet?.close();
        stopped = Promise.all([session.close(), others]).then(() => undefined);
      },

      whenStopped() {
        return stopped;
      },

      refresh: fresh(coalesced(async () => {
        inRound = true;
        try {
          loadSampler.sample();
          const reuseXml = !freshWanted;
          freshWanted = false;
          if (get().allHosts) return await refreshAll(reuseXml);
          try {
            applyHere(await virsh.listGuestsWithStats(host, opts.clock, { reuseXml }), true);
          } catch (e) {
            set((s) => ({ refreshError: toShownError(e), hostLoad: kept(s.hostLoad, { ...s.hostLoad, load: loadSampler.latest() ?? s.hostLoad.load }) }));
          }
        } finally {
          inRound = false;
        }
      })),

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
        const current = rows.indexOf(selectedGuest(get()) as ListedGuest);
        const next = rows[Math.min(Math.max(current + delta, 0), rows.length - 1)];
        if (next) set({ selected: next.name, selectedHost: next.host ?? null });
      },
      selectEdge(edge) {
        const rows = visibleGuests(get());
        const g = edge === 'top' ? rows[0] : rows[rows.length - 1];
        if (g) set({ selected: g.name, selectedHost: g.host ?? null });
      },
      select(name, onHost) {
        set({ selected: name, selectedHost: onHost ?? null });
      },
      cycleSort() {
        const sortKey = nextSortKey(get().sortKey);
        // Selection is by name (and host), so the selected guest stays selected wherever it moves.
        set((s) => ({
          sortKey,
          guests: sortByUsage(byName(s.guests), sortKey, s.usage),
          allGuests: sortListed(tagRows(s.hostStates.map((h) => ({ host: h.name, guests: s.allGuests.filter((g) => g.host === h.name) }))), sortKey, s.allUsage),
        }));
        get().setMessage(`Sorted by ${SORT_NAMES[sortKey]}${sortKey === 'name' ? '' : ', busiest first'} (o: next column).`);
      },
      usageHistory(name, last) {
        const s = get();
        if (s.allHosts && s.selectedHost && s.selectedHost !== host.name) return fleet?.history(s.selectedHost)?.get(name)?.values(last) ?? [];
        return history.get(name)?.values(last) ?? [];
      },

      knownHosts() {
        if (!known) {
          const read = opts.hosts ?? configHosts();
          known = [{ name: host.name, uri: host.uri }, ...otherHosts(host, read instanceof UserError ? [] : read).map((h) => ({ name: h.name, uri: h.uri }))];
        }
        return known;
      },

      toggleAllHosts() {
        const s = get();
        if (s.allHosts) {
          set((st) => ({ allHosts: false, ...keptSelection({ ...st, selectedHost: st.selectedHost === host.name ? null : st.selectedHost }, st.guests) }));
          get().setMessage(`Showing the guests of ${host.name} only (A shows every host again).`);
          return;
        }
        if (theFleet().members.length === 0) {
          if (fleetRefusal) return get().setMessage(`${fleetRefusal.sentence} ${fleetRefusal.fix}`, 'error');
          get().setMessage(`${host.name} is the only host configured; add others under "hosts" in the config file to see them all in one table.`, 'error');
          return;
        }
        // A fresh start: rows kept from an earlier visit would show hosts as they were then.
        answered.clear();
        states.clear();
        set((st) => ({ allHosts: true, selectedHost: st.selected ? host.name : null, allGuests: [], allUsage: new Map(), hostStates: [] }));
        get().setMessage(`Asking ${theFleet().members.length + 1} hosts for their guests…`, 'busy');
        void get()
          .refresh()
          .then(() => {
            const states = get().hostStates;
            const down = states.filter((h) => h.answered === false).length;
            // The news first: a narrow status line cuts the end.
            // Each one's whole sentence follows, for `m`: the table's line for it is cut at the edge.
            const why = states.filter((h) => h.answered === false).map((h) => (h.error ? ` ${h.error.sentence} ${h.error.fix}` : ` ${h.name} did not answer.`));
            if (down) get().setMessage(`${down} of ${states.length} hosts did not answer; the rest are listed (A: only ${host.name}).${why.join('')}`, 'error');
            else get().setMessage(`Every host's guests (A: only ${host.name}; H narrows to one host).`);
          });
      },
      guestRow(name) {
        const s = get();
        if (!s.allHosts) return s.guests.find((g) => g.name === name);
        const picked = guestForAction(s, name);
        if (!('name' in picked)) return undefined;
        return s.allGuests.find((g) => isRow(g, picked.name, picked.host ?? null));
      },
      hostOfGuest(name) {
        const s = get();
        if (!s.allHosts) return host;
        const picked = guestForAction(s, name);
        if (!('name' in picked)) return null;
        return picked.host ? (fleet?.contextOf(picked.host) ?? null) : host;
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
        if (action === 'allHosts') return s.toggleAllHosts();
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
            return openLoaded(WIZARDS.import, 'the import wizard', (m) => {
              const store = m.createImportWizard({ host, width: get().size.columns, onClose: (d) => get().closeWizard(d), jobScreen: { quit: () => get().quit() } });
              get().pushDialog({ kind: 'wizard', which: 'import', owner: store.getState().owner, wizard: { which: 'import', store } });
            });
          case 'mergeIde':
            return withGuest((name) => {
              const running = isActive(row(name)?.state ?? 'shut off');
              const on = get().hostOfGuest(name);
              if (!on) return;
              openLoaded(WIZARDS.mergeide, 'MergeIDE', (m) => {
                const store = m.createMergeIdeWizard({ host: on, guest: name, running, width: get().size.columns, onClose: () => get().closeWizard(null), jobScreen: { quit: () => get().quit() } });
                get().pushDialog({ kind: 'wizard', which: 'mergeide', guest: name, owner: store.getState().owner, wizard: { which: 'mergeide', store } });
              });
            });
          case 'migrate': {
            // `:migrate NAME HOST`: the last word is the destination (guest names are one word here).
            const words = (guest ?? '').trim().split(/\s+/).filter(Boolean);
            const to = words.length > 1 ? words.pop() : undefined;
            return withGuest((name) => {
              openLoaded(WIZARDS.migrate, 'the migration wizard', (m) => {
                const store = m.createMigrateWizard({ host, guest: name, to, width: get().size.columns, onClose: () => get().closeWizard(null), jobScreen: { quit: () => get().quit() } });
                get().pushDialog({ kind: 'wizard', which: 'migrate', guest: name, owner: store.getState().owner, wizard: { which: 'migrate', store } });
              });
            }, words.join(' ') || null);
          }
          case 'evacuate': {
            // `:evacuate HOST` starts the review at once; `E` asks where to first.
            return openLoaded(WIZARDS.evacuate, 'the evacuation wizard', (m) => {
              const store = m.createEvacuateWizard({ host, to: guest?.trim() || undefined, width: get().size.columns, onClose: () => get().closeWizard(null), jobScreen: { quit: () => get().quit() } });
              get().pushDialog({ kind: 'wizard', which: 'evacuate', owner: store.getState().owner, wizard: { which: 'evacuate', store } });
            });
          }
          case 'p2v':
            return openLoaded(WIZARDS.p2v, 'the P2V wizard', (m) => {
              const store = m.createP2vWizard({ host, width: get().size.columns, onClose: (d) => get().closeWizard(d), jobScreen: { quit: () => get().quit() } });
              get().pushDialog({ kind: 'wizard', which: 'p2v', owner: store.getState().owner, wizard: { which: 'p2v', store } });
            });
        }
        // A guest command on another pane's `:` line (`:start web1` from Disks) is the Guests pane's.
        if (s.pane !== 'guests') s.panes.guests?.dispatch(action, guest);
      },

      async openSettings(name) {
        const on = get().hostOfGuest(name);
        if (!on) return get().setMessage(`virtdeck cannot tell which host's ${name} to edit; select its row first.`, 'error');
        try {
          const xml = await virsh.dumpXml(on, name, { inactive: true });
          const doc = parseDomainXml(xml);
          const form = buildSettingsForm(getSettings(doc), row(name)?.autostart ?? false, hasGuestAgentChannel(doc));
          get().pushDialog({ kind: 'settings', guest: name, xml, form, ...(on !== host ? { host: on.name } : {}) });
        } catch (e) {
          showError(`Could not read the settings of ${name}`, e);
        }
      },

      saveSettings() {
        const top = get().dialogs[get().dialogs.length - 1];
        if (top?.kind !== 'settings') return;
        const form: SettingsDialog = top;
        const name = form.guest;
        // The host the form was read from, whatever row is selected now.
        const on = form.host ? fleet?.contextOf(form.host) : host;
        if (!on) return get().setMessage(`${form.host} is no longer in the all-hosts view; ${name} is unchanged.`, 'error');
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
                  for (const e of edit.edits) if (e.kind === 'attachIso') await checkIsoOnHost(on, e.path);
                  // Read back after define: an edit libvirt silently drops (NUMA memory…) is an error, not "Saved".
                  if (xmlChanged) await defineEdited(on, before, after);
                  if (edit.autostart !== null) await virsh.setAutostart(on, name, edit.autostart);
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
        openLoaded(WIZARDS.newGuest, 'the new guest wizard', (m) => {
          const wizard = m.createNewGuestWizard({ host, onClose: (defined, o) => get().closeWizard(defined, o), jobScreen: { quit: () => get().quit() } });
          get().pushDialog({ kind: 'wizard', which: 'newGuest', owner: wizard.getState().owner, wizard: { which: 'newGuest', store: wizard } });
          wizard.getState().load();
        });
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
        const isHere = pickerHosts().some((h) => h.current && (h.name === wanted || h.uri === wanted));
        // H narrows the all-hosts view to one host: this one at once, another by switching to it.
        if (isHere && get().allHosts) return get().toggleAllHosts();
        if (isHere) {
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
  // The selected guest's agent is asked beside the refresh, never inside it: whenever the selection,
  // the guest's row (state, domain id, channel) or the pane changes; the controller decides whether to ask.
  store.subscribe((s, prev) => {
    // Each refresh too: a guest's row stays the same object while nothing changed, and its answer ages.
    if (s.selected !== prev.selected || s.guests !== prev.guests || s.lastRefresh !== prev.lastRefresh || s.pane !== prev.pane || s.filter !== prev.filter)
      agentInfo.select(s.pane === 'guests' ? selectedGuest(s) : null);
  });
  return store;
}
