/**
 * The one table of key bindings. The footer hints, the `?` help overlay and the `:` command
 * completions are all generated from it, so a binding cannot exist in one place and not another.
 */
export type PaneId = 'guests' | 'disks' | 'backups' | 'host' | 'jobs';

export const PANES: { id: PaneId; title: string }[] = [
  { id: 'guests', title: 'Guests' },
  { id: 'disks', title: 'Disks' },
  { id: 'backups', title: 'Backups' },
  { id: 'host', title: 'Host' },
  { id: 'jobs', title: 'Jobs' },
];

export type ActionId =
  | 'jobsOpen'
  | 'jobsCancel'
  | 'jobsLog'
  | 'jobsFinish'
  | 'jobsRollback'
  | 'hostPicker'
  | 'quit'
  | 'help'
  | 'filter'
  | 'command'
  | 'up'
  | 'down'
  | 'top'
  | 'bottom'
  | 'nextPane'
  | 'prevPane'
  | 'pane1'
  | 'pane2'
  | 'pane3'
  | 'pane4'
  | 'pane5'
  | 'refresh'
  | 'start'
  | 'shutdown'
  | 'forceOff'
  | 'reboot'
  | 'pauseResume'
  | 'autostart'
  | 'undefine'
  | 'edit'
  | 'editXml'
  | 'console'
  | 'vnc'
  | 'log'
  | 'newGuest'
  | 'importVmware'
  | 'mergeIde'
  | 'p2v'
  | 'details'
  | 'diskCheck'
  | 'diskCreate'
  | 'diskAttach'
  | 'diskDetach'
  | 'diskDelete'
  | 'diskConvert'
  | 'diskExpand'
  | 'backupsOpen'
  | 'backupsBack'
  | 'backupNow'
  | 'backupVerify'
  | 'backupRestore'
  | 'backupFiles'
  | 'backupPrune'
  | 'backupDest'
  | 'backupSchedule'
  | 'snapshotTake'
  | 'snapshotRevert'
  | 'snapshotDelete'
  | 'hostOpen'
  | 'hostFix'
  | 'hostLogs'
  | 'hostRecheck'
  | 'hostBack'
  | 'hostFollow'
  | 'hostNextMatch'
  | 'hostPrevMatch'
  | 'hostPageUp'
  | 'hostPageDown';

export interface KeyBinding {
  /** Key names as produced by keyName(): a printable character, or up/down/left/right/tab/enter/esc/… */
  keys: string[];
  action: ActionId;
  /** Short label for the footer. */
  hint: string;
  /** Sentence for the help overlay. */
  description: string;
  panes: PaneId[] | 'all';
  showInFooter: boolean;
  /** Name under which `:` runs this action; `guest` means it takes an optional guest NAME. */
  command?: { name: string; aliases?: string[]; guest: boolean };
}

export const KEYMAP: KeyBinding[] = [
  // Jobs pane: before the shared bindings so its Enter, c, L, f and R win there.
  { keys: ['enter'], action: 'jobsOpen', hint: 'details', description: "Show the selected job's steps with their states and commands", panes: ['jobs'], showInFooter: true },
  { keys: ['c'], action: 'jobsCancel', hint: 'cancel', description: 'Cancel the selected running job (asks first): the running step stops and what it did is undone', panes: ['jobs'], showInFooter: true },
  { keys: ['L'], action: 'jobsLog', hint: 'log', description: "Show the selected job's log, following new lines", panes: ['jobs'], showInFooter: true },
  { keys: ['f'], action: 'jobsFinish', hint: 'finish', description: 'Finish an interrupted job (its process is gone): the cut-off step runs again, then the rest', panes: ['jobs'], showInFooter: true },
  { keys: ['R'], action: 'jobsRollback', hint: 'roll back', description: 'Roll an interrupted job back: undo every step it started, newest first', panes: ['jobs'], showInFooter: true },
  { keys: ['r'], action: 'refresh', hint: 'refresh', description: 'Read the jobs again (the pane also follows them live)', panes: ['jobs'], showInFooter: false },
  // Every pane: the host picker; `:host NAME` switches directly (`:host` alone opens the Host pane).
  { keys: ['H'], action: 'hostPicker', hint: 'hosts', description: 'Pick the host to act on: this one or one from the config file (:host NAME switches directly)', panes: 'all', showInFooter: false, command: { name: 'hosts', guest: false } },
  // Host pane: before the shared bindings so its Enter, Esc, r and F win there.
  { keys: ['enter'], action: 'hostOpen', hint: 'fix', description: 'Show the full fix of the selected check; in the logs view, pick a guest whose QEMU log to show', panes: ['host'], showInFooter: true },
  { keys: ['f'], action: 'hostFix', hint: 'apply fix', description: 'Apply the safe fix of the selected check (sysctl or noatime), after a confirmation naming the file and line', panes: ['host'], showInFooter: true },
  { keys: ['L'], action: 'hostLogs', hint: 'logs', description: 'Open the logs view: the libvirtd log, followed live; Enter there picks a guest QEMU log', panes: ['host'], showInFooter: true },
  { keys: ['r'], action: 'hostRecheck', hint: 're-run', description: 'Run the host checks again (R too)', panes: ['host'], showInFooter: true },
  { keys: ['/'], action: 'filter', hint: 'search', description: 'Search the log (or filter the checks) as you type; Enter keeps it, Esc clears', panes: ['host'], showInFooter: true },
  { keys: ['esc', 'backspace'], action: 'hostBack', hint: 'back', description: 'Leave the logs view (or the guest picker); clears the search', panes: ['host'], showInFooter: false },
  { keys: ['F'], action: 'hostFollow', hint: 'follow', description: 'Logs view: follow new lines on or off', panes: ['host'], showInFooter: false },
  { keys: ['n'], action: 'hostNextMatch', hint: 'next match', description: 'Logs view: next line matching the search', panes: ['host'], showInFooter: false },
  { keys: ['N'], action: 'hostPrevMatch', hint: 'prev match', description: 'Logs view: previous line matching the search', panes: ['host'], showInFooter: false },
  { keys: ['pageup'], action: 'hostPageUp', hint: 'page up', description: 'Scroll a page up', panes: ['host'], showInFooter: false },
  { keys: ['pagedown', ' '], action: 'hostPageDown', hint: 'page down', description: 'Scroll a page down', panes: ['host'], showInFooter: false },
  { keys: ['enter'], action: 'backupsOpen', hint: 'runs', description: "Open the selected guest's runs and snapshots", panes: ['backups'], showInFooter: false },
  { keys: ['esc', 'backspace'], action: 'backupsBack', hint: 'back', description: 'Back to the guest list', panes: ['backups'], showInFooter: false },
  { keys: ['b'], action: 'backupNow', hint: 'back up', description: 'Back up now: the selected guest (in its runs), or every guest (from the guest list), with progress and cancel', panes: ['backups'], showInFooter: true, command: { name: 'backup', guest: false } },
  { keys: ['V'], action: 'backupVerify', hint: 'verify', description: 'Verify the selected run: qemu-img check of the chain and checksums', panes: ['backups'], showInFooter: true },
  { keys: ['R'], action: 'backupRestore', hint: 'restore', description: 'Restore the selected run: over the guest (same name) or as a new guest', panes: ['backups'], showInFooter: true },
  { keys: ['f'], action: 'backupFiles', hint: 'files', description: 'Browse the files inside the selected run (read-only) and extract some to the host', panes: ['backups'], showInFooter: true },
  { keys: ['P'], action: 'backupPrune', hint: 'prune', description: "Prune the guest's runs by the retention rules (shows what would go first)", panes: ['backups'], showInFooter: false },
  { keys: ['d'], action: 'backupDest', hint: 'destination', description: 'Choose the backup destination directory', panes: ['backups'], showInFooter: false },
  { keys: ['S'], action: 'backupSchedule', hint: 'schedule', description: 'Set, change or remove the nightly backup schedule (cron.d or a systemd timer); shows the file first', panes: ['backups'], showInFooter: false },
  { keys: ['t'], action: 'snapshotTake', hint: 'snapshot', description: 'Take a snapshot of the selected guest before a risky change', panes: ['backups'], showInFooter: true },
  { keys: ['T'], action: 'snapshotRevert', hint: 'revert', description: "Revert the guest to its current snapshot (says what is lost)", panes: ['backups'], showInFooter: false },
  { keys: ['X'], action: 'snapshotDelete', hint: 'del snap', description: "Delete the guest's current snapshot (external ones are merged back)", panes: ['backups'], showInFooter: false },
  { keys: ['r'], action: 'refresh', hint: 'refresh', description: 'Read the destination and the snapshots again', panes: ['backups'], showInFooter: false },
  { keys: ['s'], action: 'start', hint: 'start', description: 'Start the selected guest', panes: ['guests'], showInFooter: true, command: { name: 'start', guest: true } },
  { keys: ['S'], action: 'shutdown', hint: 'shutdown', description: 'Shut the guest down via ACPI (asks first; offers force off if it does not stop)', panes: ['guests'], showInFooter: true, command: { name: 'shutdown', guest: true } },
  { keys: ['F'], action: 'forceOff', hint: 'force off', description: 'Force the guest off, like pulling the plug (asks first)', panes: ['guests'], showInFooter: true, command: { name: 'destroy', aliases: ['forceoff'], guest: true } },
  { keys: ['r'], action: 'reboot', hint: 'reboot', description: 'Reboot the guest (asks first)', panes: ['guests'], showInFooter: false, command: { name: 'reboot', guest: true } },
  { keys: ['p'], action: 'pauseResume', hint: 'pause', description: 'Pause a running guest, or resume a paused one', panes: ['guests'], showInFooter: false, command: { name: 'pause', aliases: ['resume'], guest: true } },
  { keys: ['a'], action: 'autostart', hint: 'autostart', description: 'Turn starting with the host on or off', panes: ['guests'], showInFooter: false, command: { name: 'autostart', guest: true } },
  { keys: ['D'], action: 'undefine', hint: 'delete', description: 'Delete the guest definition (type its name; disks are kept unless you choose otherwise)', panes: ['guests'], showInFooter: false, command: { name: 'undefine', guest: true } },
  { keys: ['e'], action: 'edit', hint: 'edit', description: 'Edit settings: memory, vCPUs, MACs, VNC, boot order, ISO, disk bus, autostart', panes: ['guests'], showInFooter: true, command: { name: 'edit', guest: true } },
  { keys: ['x'], action: 'editXml', hint: 'XML', description: 'Edit the raw domain XML in $EDITOR; shows the diff before applying', panes: ['guests'], showInFooter: true, command: { name: 'xml', guest: true } },
  { keys: ['c'], action: 'console', hint: 'console', description: 'Open the serial console (virsh console); leave it with Ctrl-]', panes: ['guests'], showInFooter: true, command: { name: 'console', guest: true } },
  { keys: ['v'], action: 'vnc', hint: 'VNC', description: 'Show how to reach the guest screen over VNC through an SSH tunnel', panes: ['guests'], showInFooter: false, command: { name: 'vnc', guest: true } },
  { keys: ['L'], action: 'log', hint: 'log', description: "Show the last lines of the guest's QEMU log", panes: ['guests'], showInFooter: false, command: { name: 'log', guest: true } },
  { keys: ['I'], action: 'importVmware', hint: 'import', description: 'Import a VMware VM from its .vmx (wizard)', panes: ['guests'], showInFooter: false, command: { name: 'import', guest: false } },
  { keys: ['M'], action: 'mergeIde', hint: 'MergeIDE', description: 'Prepare the selected Windows guest to boot from IDE (MergeIDE): offline in its registry, or an ISO to run inside it', panes: ['guests'], showInFooter: false, command: { name: 'mergeide', guest: true } },
  { keys: ['P'], action: 'p2v', hint: 'P2V', description: 'Turn a physical machine (over SSH), a disk or a raw dump into a guest (wizard)', panes: ['guests'], showInFooter: false, command: { name: 'p2v', guest: false } },
  { keys: ['n'], action: 'newGuest', hint: 'new', description: 'Create a new guest with the wizard', panes: ['guests'], showInFooter: true, command: { name: 'new', guest: false } },
  { keys: ['enter'], action: 'details', hint: 'details', description: 'Show everything about the selected guest (Disks: the selected image, with qemu-img info)', panes: ['guests', 'disks'], showInFooter: false, command: { name: 'details', guest: true } },
  { keys: ['K'], action: 'diskCheck', hint: 'check', description: 'Check the selected image with qemu-img check (read-only; -U when a running guest uses it)', panes: ['disks'], showInFooter: true },
  { keys: ['N'], action: 'diskCreate', hint: 'new', description: 'Create an empty image: path, format (qcow2, raw, vmdk), size, preallocation', panes: ['disks'], showInFooter: true },
  { keys: ['A'], action: 'diskAttach', hint: 'attach', description: 'Attach the selected image to a guest (choose guest and bus)', panes: ['disks'], showInFooter: true },
  { keys: ['T'], action: 'diskDetach', hint: 'detach', description: 'Detach the selected image from the guest that uses it (asks first; the file is kept)', panes: ['disks'], showInFooter: true },
  { keys: ['D'], action: 'diskDelete', hint: 'delete', description: 'Delete the selected image file (refused while a guest uses it; type the file name)', panes: ['disks'], showInFooter: true },
  { keys: ['C'], action: 'diskConvert', hint: 'convert', description: 'Convert the selected image (raw, vmdk, qcow2) with the round-trip wizard', panes: ['disks'], showInFooter: true },
  { keys: ['X'], action: 'diskExpand', hint: 'expand', description: 'Grow the selected image and the partition inside it with the expansion wizard', panes: ['disks'], showInFooter: true },
  { keys: ['r'], action: 'refresh', hint: 'refresh', description: 'Read the images again (only new or changed files are queried)', panes: ['disks'], showInFooter: false },
  { keys: ['up', 'k'], action: 'up', hint: 'up', description: 'Move the selection up', panes: 'all', showInFooter: false },
  { keys: ['down', 'j'], action: 'down', hint: 'down', description: 'Move the selection down', panes: 'all', showInFooter: false },
  { keys: ['g', 'home'], action: 'top', hint: 'top', description: 'Jump to the first row', panes: 'all', showInFooter: false },
  { keys: ['G', 'end'], action: 'bottom', hint: 'bottom', description: 'Jump to the last row', panes: 'all', showInFooter: false },
  { keys: ['tab', 'l', 'right'], action: 'nextPane', hint: 'next pane', description: 'Next pane', panes: 'all', showInFooter: false },
  { keys: ['shift-tab', 'h', 'left'], action: 'prevPane', hint: 'prev pane', description: 'Previous pane', panes: 'all', showInFooter: false },
  { keys: ['1'], action: 'pane1', hint: 'guests', description: 'Guests pane', panes: 'all', showInFooter: false, command: { name: 'guests', guest: false } },
  { keys: ['2'], action: 'pane2', hint: 'disks', description: 'Disks pane', panes: 'all', showInFooter: false, command: { name: 'disks', guest: false } },
  { keys: ['3'], action: 'pane3', hint: 'backups', description: 'Backups pane', panes: 'all', showInFooter: false, command: { name: 'backups', guest: false } },
  { keys: ['4'], action: 'pane4', hint: 'host', description: 'Host pane', panes: 'all', showInFooter: false, command: { name: 'host', guest: false } },
  { keys: ['5'], action: 'pane5', hint: 'jobs', description: 'Jobs pane', panes: 'all', showInFooter: false, command: { name: 'jobs', guest: false } },
  { keys: ['ctrl-r'], action: 'refresh', hint: 'refresh', description: 'Refresh now', panes: 'all', showInFooter: false, command: { name: 'refresh', guest: false } },
  // R is restore in the Backups pane.
  { keys: ['R'], action: 'refresh', hint: 'refresh', description: 'Refresh now', panes: ['guests', 'disks', 'host'], showInFooter: false },
  { keys: ['/'], action: 'filter', hint: 'filter', description: 'Filter rows as you type; Esc clears, Enter keeps', panes: ['guests', 'disks'], showInFooter: true },
  { keys: [':'], action: 'command', hint: 'command', description: 'Command line, e.g. :start NAME, :shutdown NAME, :console NAME, :q', panes: 'all', showInFooter: true },
  { keys: ['?'], action: 'help', hint: 'help', description: 'This help', panes: 'all', showInFooter: true, command: { name: 'help', guest: false } },
  { keys: ['q', 'ctrl-c'], action: 'quit', hint: 'quit', description: 'Quit virtdeck', panes: 'all', showInFooter: true, command: { name: 'quit', aliases: ['q'], guest: false } },
];

/** The subset of Ink's Key we read; kept structural so tests and the store need no Ink import. */
export interface KeyFlags {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  home?: boolean;
  end?: boolean;
  return?: boolean;
  escape?: boolean;
  tab?: boolean;
  shift?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  backspace?: boolean;
  delete?: boolean;
}

/** One name per key press, the vocabulary of KEYMAP.keys. */
export function keyName(input: string, key: KeyFlags): string {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.return) return 'enter';
  if (key.escape) return 'esc';
  if (key.tab) return key.shift ? 'shift-tab' : 'tab';
  if (key.backspace || key.delete) return 'backspace';
  if (key.ctrl && input) return `ctrl-${input.toLowerCase()}`;
  return input;
}

export function appliesTo(binding: KeyBinding, pane: PaneId): boolean {
  return binding.panes === 'all' || binding.panes.includes(pane);
}

export function findBinding(pane: PaneId, name: string): KeyBinding | undefined {
  return KEYMAP.find((b) => appliesTo(b, pane) && b.keys.includes(name));
}

/** How a key is written for people: "Ctrl-C", "Enter", "Tab", "↑" stays a word for ASCII consoles. */
export function displayKey(name: string): string {
  const words: Record<string, string> = {
    up: 'Up',
    down: 'Down',
    left: 'Left',
    right: 'Right',
    enter: 'Enter',
    esc: 'Esc',
    tab: 'Tab',
    'shift-tab': 'Shift-Tab',
    home: 'Home',
    end: 'End',
  };
  if (words[name]) return words[name];
  if (name.startsWith('ctrl-')) return `Ctrl-${name.slice(5).toUpperCase()}`;
  return name;
}

export function footerBindings(pane: PaneId): KeyBinding[] {
  return KEYMAP.filter((b) => b.showInFooter && appliesTo(b, pane));
}

export function helpBindings(pane: PaneId): KeyBinding[] {
  return KEYMAP.filter((b) => appliesTo(b, pane));
}

export interface ParsedCommand {
  binding: KeyBinding;
  guest: string | null;
}

export function commandBindings(): KeyBinding[] {
  return KEYMAP.filter((b) => b.command);
}

/** `:start web1` → the start binding and guest "web1"; unknown names give null. */
export function parseCommand(line: string): ParsedCommand | null {
  const [word = '', ...rest] = line.trim().split(/\s+/);
  const name = word.toLowerCase();
  const binding = commandBindings().find((b) => b.command?.name === name || b.command?.aliases?.includes(name));
  if (!binding) return null;
  const guest = rest.join(' ').trim();
  return { binding, guest: guest || null };
}

/** Completions for what is typed after `:` — command names first, then guest names for commands that take one. */
export function completeCommand(line: string, guestNames: string[]): string[] {
  const m = line.match(/^(\S*)(\s+(.*))?$/);
  const word = (m?.[1] ?? '').toLowerCase();
  if (m?.[2] === undefined) {
    return commandBindings()
      .map((b) => b.command!.name)
      .filter((n) => n.startsWith(word));
  }
  const parsed = parseCommand(word);
  if (!parsed?.binding.command?.guest) return [];
  const partial = m[3] ?? '';
  return guestNames.filter((g) => g.startsWith(partial)).map((g) => `${parsed.binding.command!.name} ${g}`);
}

/** Keys inside dialogs and input lines: shown in the footer while that dialog or line is open. */
export const DIALOG_KEYS: Record<string, { keys: string; hint: string }[]> = {
  confirm: [
    { keys: 'y', hint: 'yes' },
    { keys: 'n/Esc', hint: 'no' },
  ],
  typeName: [
    { keys: 'Enter', hint: 'delete' },
    { keys: 'Tab', hint: 'next field' },
    { keys: 'Space', hint: 'tick box' },
    { keys: 'Esc', hint: 'cancel' },
  ],
  error: [
    { keys: 'd', hint: 'details' },
    { keys: 'Esc/Enter', hint: 'close' },
  ],
  text: [
    { keys: 'Up/Down PgUp/PgDn', hint: 'scroll' },
    { keys: 'Esc/q', hint: 'close' },
  ],
  help: [
    { keys: 'Up/Down', hint: 'scroll' },
    { keys: 'Esc/q/?', hint: 'close' },
  ],
  diff: [
    { keys: 'y/Enter', hint: 'apply' },
    { keys: 'Up/Down', hint: 'scroll' },
    { keys: 'n/Esc', hint: 'cancel' },
  ],
  settings: [
    { keys: 'Up/Down', hint: 'field' },
    { keys: 'Space', hint: 'choose' },
    { keys: 'Ctrl-S', hint: 'save' },
    { keys: 'Esc', hint: 'cancel' },
  ],
  filter: [
    { keys: 'Enter', hint: 'keep filter' },
    { keys: 'Esc', hint: 'clear' },
  ],
  command: [
    { keys: 'Enter', hint: 'run' },
    { keys: 'Tab', hint: 'complete' },
    { keys: 'Esc', hint: 'cancel' },
  ],
  wizard: [],
  hostPicker: [
    { keys: 'Up/Down', hint: 'host' },
    { keys: 'Enter', hint: 'switch' },
    { keys: 'Esc', hint: 'stay' },
  ],
  recovery: [
    { keys: 'Up/Down', hint: 'item' },
    { keys: 'f', hint: 'finish' },
    { keys: 'r', hint: 'roll back' },
    { keys: 'Esc', hint: 'leave the rest' },
  ],
  form: [
    { keys: 'Up/Down', hint: 'field' },
    { keys: 'Left/Right', hint: 'choose' },
    { keys: 'Enter', hint: 'ok' },
    { keys: 'Esc', hint: 'cancel' },
  ],
};
