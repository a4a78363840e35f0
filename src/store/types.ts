import type { GuestRow, HostVersions } from '../host/virsh.js';
import type { RecoveryItem } from '../jobs/recovery.js';
import type { GuestAgentInfo } from '../model/guestAgent.js';
import type { LoadAverage } from '../model/hostLoad.js';
import type { GuestUsage, UsageSortKey } from '../model/usage.js';
import type { Form } from './form.js';
import type { KeyOwner } from './keys/owners.js';
import type { PaneId } from './paneIds.js';
import type { PaneController } from './panes.js';
import type { OpenWizard } from './wizards/openWizard.js';

export type Mode = 'normal' | 'filter' | 'command' | 'confirm' | 'dialog' | 'form';

/** What an error dialog shows: a HostError or UserError reduced to its parts, never a stack. */
export interface ShownError {
  sentence: string;
  fix: string;
  command: string[];
  stderr: string;
  /** The ssh destination the command ran on, when it was another machine. */
  ranOn?: string;
}

export interface ConfirmDialog {
  kind: 'confirm';
  title: string;
  lines: string[];
  /** Label of the yes choice, e.g. "shut down". */
  yes: string;
  onYes: () => void | Promise<void>;
  onNo?: () => void;
}

export interface TypeNameDialog {
  kind: 'typeName';
  title: string;
  lines: string[];
  name: string;
  typed: string;
  /** Undefine only: also delete the guest's disk images. */
  deleteDisks: boolean;
  focus: 'name' | 'deleteDisks';
  onConfirm: (deleteDisks: boolean) => void | Promise<void>;
  /** Label of the tick box; null hides it (deleting an image file has no second choice). */
  checkbox?: string | null;
  /** What Enter does once the name matches, e.g. "Enter deletes web.qcow2 for good." */
  enterText?: string;
}

export interface ErrorDialog {
  kind: 'error';
  title: string;
  error: ShownError;
  showDetails: boolean;
  retry?: { key: string; label: string; run: () => void | Promise<void> };
}

export interface TextDialog {
  kind: 'text';
  title: string;
  lines: string[];
  offset: number;
  /** Start scrolled to the end (logs). */
  follow?: boolean;
}

export interface DiffDialog {
  kind: 'diff';
  title: string;
  summary: string[];
  lines: string[];
  offset: number;
  onApply: () => void | Promise<void>;
  onCancel?: () => void;
}

export interface SettingsDialog {
  kind: 'settings';
  guest: string;
  /** In the all-hosts view: the host of the guest whose XML the form was read from (absent: this host). */
  host?: string;
  xml: string;
  /** Fields from buildSettingsForm; a refusal sits in form.error on its field. */
  form: Form;
}

export interface HelpDialog {
  kind: 'help';
  offset: number;
}

/** A small form a pane asks for (new image, attach to guest): text fields and choices. */
export interface FormDialog {
  kind: 'form';
  title: string;
  lines: string[];
  form: Form;
  /** Throws a UserError to keep the form open with the sentence shown under it (on its field when it names one). */
  onSubmit: (values: Record<string, string>) => void | Promise<void>;
}

/** A full-screen wizard: its state lives in its own store, whose owner takes the keys. */
export interface WizardDialog {
  kind: 'wizard';
  which: OpenWizard['which'];
  owner: KeyOwner;
  /** The wizard's store: App draws its view from it. */
  wizard: OpenWizard;
  /** The guest a guest wizard (MergeIDE) works on. */
  guest?: string;
  /** The image a disk wizard starts from (the Disks pane's selection). */
  imagePath?: string;
  info?: { format?: string; virtualSize?: number };
}

/** Start-up recovery: jobs an earlier virtdeck left half-done; per item finish, roll back or leave. */
export interface RecoveryDialog {
  kind: 'recovery';
  title: string;
  items: RecoveryItem[];
  index: number;
  /** Id of the item being resolved now. */
  busy: string | null;
  /** Outcome sentence per resolved item id. */
  results: Record<string, string>;
  onChoose: (item: RecoveryItem, how: 'finish' | 'rollback') => void;
}

/** `H`: the hosts virtdeck can act on (this one and the config file's); Enter switches. */
export interface HostPickerDialog {
  kind: 'hostPicker';
  title: string;
  hosts: { name: string; uri: string; current: boolean }[];
  index: number;
}

export type Dialog = HostPickerDialog | ConfirmDialog | TypeNameDialog | ErrorDialog | TextDialog | DiffDialog | SettingsDialog | HelpDialog | WizardDialog | FormDialog | RecoveryDialog;

export interface Message {
  text: string;
  kind: 'info' | 'error' | 'busy';
}

export interface AccelShown {
  accel: 'kvm' | 'tcg';
  reason: string;
}

export interface TermSize {
  columns: number;
  rows: number;
}

/** Runs an interactive child with the terminal handed over, and restores the TUI after. */
export type HandOff = <T>(run: () => Promise<T>) => Promise<T>;

/** A row of the all-hosts view: a guest and the name of the host it is on. */
export type ListedGuest = GuestRow & { host?: string };

/** One host of the all-hosts view as of its last refresh round. */
export interface HostState {
  name: string;
  uri: string;
  /** null until its first round has ended. */
  answered: boolean | null;
  /** Why it did not answer (its error sentence and fix). */
  error: ShownError | null;
  guests: number;
  /** How long its last answer took. */
  ms: number | null;
}

export interface AppData {
  /** This host's guests, in the order shown: by name, or by the usage column `sortKey` names. */
  guests: GuestRow[];
  /** `A`: the Guests pane shows every configured host's guests (allGuests) instead of this host's. */
  allHosts: boolean;
  /** Every answering host's guests, each row naming its host; this host's first. */
  allGuests: ListedGuest[];
  /** Usage of allGuests' rows, by rowKey(host, name). */
  allUsage: ReadonlyMap<string, GuestUsage>;
  /** This host and every other host of the config file, in the order the view lists them. */
  hostStates: HostState[];
  /** The host of the selected row in the all-hosts view (a name may be on two hosts). */
  selectedHost: string | null;
  /** Each guest's usage between the last two refreshes (model/usage.ts). */
  usage: ReadonlyMap<string, GuestUsage>;
  /** The host's CPUs and memory (nodeinfo) as of the last refresh: the header meters' scale. */
  hostSize: { cpus: number | null; memKiB: number | null };
  /** How busy the host itself is: CPU % between the last two refreshes (nodecpustats), load averages (store/loadSampler.ts). */
  hostLoad: { cpuPct: number | null; load: LoadAverage | null };
  sortKey: UsageSortKey;
  /** What the selected guests' agents (or the host's leases) said, by guest name (store/guestAgentInfo.ts). */
  guestAgent: ReadonlyMap<string, GuestAgentInfo>;
  /** Bumped whenever a usage sample joins the history: what draws sparklines follows it (usageHistory is a function). */
  usageRound: number;
  lastRefresh: number | null;
  /** No successful refresh for a few poll intervals (model/refreshAge.ts): the tabs line warns. Looked at on each poll tick. */
  refreshStale: boolean;
  refreshError: ShownError | null;
  versions: HostVersions | null;
  accel: AccelShown | null;
  pane: PaneId;
  inputMode: 'normal' | 'filter' | 'command';
  mode: Mode;
  filter: string;
  command: string;
  selected: string | null;
  dialogs: Dialog[];
  message: Message | null;
  size: TermSize;
  quitRequested: boolean;
  /** Bumped after a hand-off so the App renders again over the restored screen. */
  redraw: number;
  /** Controllers of the panes other than Guests, made once per store (see store/panes.ts). */
  panes: Partial<Record<PaneId, PaneController>>;
}
