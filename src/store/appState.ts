/**
 * The console store's shape: its data (types.ts) and every action the UI can dispatch. Apart from
 * appStore.ts, which builds it, so panes and flows that receive the store need only its type and
 * never import the module that imports them (paneFactories).
 */
import type { StoreApi } from 'zustand/vanilla';
import type { HostContext } from '../host/hostContext.js';
import type { GuestUsage } from '../model/usage.js';
import type { KeyPress } from './keys/keyName.js';
import type { KeyOwner } from './keys/owners.js';
import type { ActionId } from './keys/table.js';
import type { PaneId } from './paneIds.js';
import type { AppData, Dialog, ListedGuest, Message, TermSize } from './types.js';

export interface AppActions {
  /** Loads the header, refreshes, and starts the event watch and the poll. */
  init(): void;
  /** Stops the event watch, the poll and any wait in progress, aborts every host command in flight and refuses new ones. */
  dispose(): void;
  /** Resolves once the commands dispose aborted have ended (a remote one: its process group stopped). */
  whenStopped(): Promise<void>;
  refresh(): Promise<void>;
  setSize(size: TermSize): void;
  setPane(pane: PaneId): void;
  cyclePane(step: 1 | -1): void;
  moveSelection(delta: number): void;
  selectEdge(edge: 'top' | 'bottom'): void;
  /** Selects a guest; `onHost` names its host in the all-hosts view. */
  select(name: string, onHost?: string | null): void;
  /** Orders the guests by the next usage column (name → cpu → mem → disk → net); the selection stays on its guest. */
  cycleSort(): void;
  /** The selected guest's last hour of usage, oldest first (for sparklines). */
  /** The newest `last` samples (all by default), oldest first. */
  usageHistory(name: string, last?: number): GuestUsage[];
  /** This host and the config file's others (read once): the Jobs pane names each job's host by it. */
  knownHosts(): { name: string; uri: string }[];
  /** `A`: every configured host's guests in one table, or this host's again. */
  toggleAllHosts(): void;
  /** The row an action on guest `name` is for: in the all-hosts view, the selected row's host's when two hosts have the name. */
  guestRow(name: string): ListedGuest | undefined;
  /** The host an action on guest `name` goes to: its row's; null when no host can be told (a name on two hosts, none selected). */
  hostOfGuest(name: string): HostContext | null;
  startFilter(): void;
  setFilter(text: string): void;
  keepFilter(): void;
  clearFilter(): void;
  startCommand(): void;
  setCommand(text: string): void;
  cancelCommand(): void;
  runCommand(line: string): void;
  /** The one entry of every key press (ui/keyInput.ts): routed against what the store shows now. */
  pressKey(key: KeyPress): void;
  /** What has the keys now; null while an unported screen handles its own. */
  keyOwner(): KeyOwner | null;
  pushDialog(d: Dialog): void;
  popDialog(): void;
  /** Replaces the top dialog (keeps its kind); a no-op when the top is another kind. */
  updateDialog<K extends Dialog['kind']>(kind: K, change: (d: Extract<Dialog, { kind: K }>) => Extract<Dialog, { kind: K }>): void;
  setMessage(text: string, kind?: Message['kind']): void;
  /** The error dialog for a failed action (sentence, fix, command; never a stack), clearing the busy line. */
  showError(title: string, e: unknown, retry?: { key: string; label: string; run: () => void | Promise<void> }): void;
  /** busy line → host call → done line, or the error dialog; the guest list is read again either way. */
  act(failTitle: string, busy: string, run: () => Promise<void>, done: string): Promise<void>;
  /** Runs a keymap action: the focused pane's, else the console's; a `:` command's guest NAME goes along. */
  dispatch(action: ActionId, guest?: string | null): void;
  openSettings(name: string): Promise<void>;
  saveSettings(): void;
  /** The Guests pane's serial console (closeWizard opens it for a new guest). */
  openConsole(name: string): Promise<void>;
  openWizard(): void;
  closeWizard(defined: string | null, opts?: { openConsole?: boolean }): void;
  /** `H`: the host picker (this host and the config file's). */
  openHostPicker(): void;
  /** `:host NAME` (a config name or a libvirt URI): the console starts again on that host. */
  switchHost(nameOrUri: string): void;
  quit(): void;
}

export type AppState = AppData & AppActions;
export type AppStore = StoreApi<AppState>;
