/**
 * The one table of keys. Every key of every screen is a row here with the scope it works in; the
 * router (router.ts) picks the row for a key from the scopes on screen, and the footer hints, the
 * `?` help and the `:` completions are generated from the same rows, so a key cannot exist in one
 * place and not in another, and no hint is written by hand anywhere else.
 *
 * Scopes are listed most specific first by whoever owns the screen (see activeScopes in the app
 * store): a row of an earlier scope wins over a row of a later one for the same key.
 */

export type Scope =
  /** Under everything but a wizard: Ctrl-C quits. */
  | 'console'
  /** Every pane while its list is shown (navigation, panes, quit). */
  | 'panes'
  | 'pane:guests'
  | 'pane:disks'
  | 'pane:backups'
  | 'pane:host'
  | 'pane:jobs'
  /** Backups: a small form (destination, restore, prune, schedule, extract). */
  | 'pane:backups-form'
  /** Backups form: the focused field is a choice (h/l cycle it too). */
  | 'pane:backups-choice'
  /** Backups: a review of what will run, scrolled; Enter goes on, Esc cancels. */
  | 'pane:backups-review'
  /** The review's Enter, by what it does (its hint says so). */
  | 'pane:backups-review-confirm'
  | 'pane:backups-review-delete'
  | 'pane:backups-review-write'
  | 'pane:backups-review-close'
  /** Backups: the file browser of a run; while its appliance starts, only leaving. */
  | 'pane:backups-browser'
  | 'pane:backups-opening'
  /** Backups: a job runs (c asks to cancel, as everywhere). */
  | 'pane:backups-job'
  /** Host: the logs view and its guest picker. */
  | 'pane:host-logs'
  | 'pane:host-pick'
  /** The filter and command lines under a pane. */
  | 'input:filter'
  | 'input:command'
  /** The Host logs view's search line: its own text, never the pane's list filter. */
  | 'input:search'
  | 'dialog:confirm'
  | 'dialog:typeName'
  /** Type-the-name: the name field has focus. */
  | 'dialog:typeName-name'
  /** Type-the-name: the tick box has focus. */
  | 'dialog:typeName-box'
  | 'dialog:error'
  | 'dialog:text'
  | 'dialog:help'
  | 'dialog:diff'
  | 'dialog:hostPicker'
  | 'dialog:recovery'
  /** The recovery item shown can be rolled back. */
  | 'dialog:recovery-rollback'
  | 'dialog:form'
  | 'dialog:settings'
  /** The settings form's Save row has focus: Enter shows the diff. */
  | 'dialog:settings-save'
  /** Any form (settings, a pane's small form, a wizard step's fields): moving between fields. */
  | 'form'
  /** The focused field is a text field: typing edits it. */
  | 'form:text'
  /** The focused field is a choice: Left/Right/Space cycle it. */
  | 'form:choice'
  /** The focused field is a MAC generator (settings): k/w make a new address. */
  | 'form:macgen'
  /** A step of a wizard (Ctrl-C leaves, Esc goes back). */
  | 'wizard:step'
  /** A wizard step that takes Enter to go on (its fields or its page). */
  | 'wizard:next'
  /** A page that scrolls (review, long step). */
  | 'wizard:scroll'
  /** The review of a plan: run it, save it as a script, run it in the background. */
  | 'wizard:review'
  | 'wizard:review-quit'
  | 'wizard:review-script'
  | 'wizard:review-background'
  /** A wizard step is busy on the host; Esc stops it. */
  | 'wizard:busy'
  /** A wizard step is busy on the host and cannot be stopped; only Ctrl-C leaves. */
  | 'wizard:busy-wait'
  | 'wizard:result'
  /** A job runs on screen (wizard, Backups job view). */
  | 'job:running'
  /** The job on screen may go on in the background. */
  | 'job:background'
  /** The cancel question is up. */
  | 'job:asking'
  /** q works on the job screen: it asks what to do with the job (the screen lends the console's quit). */
  | 'job:quit'
  /** q's question is up: wait, background (job:quitting-background) or cancel. */
  | 'job:quitting'
  | 'job:quitting-background'
  /** The job on screen has ended; its summary waits to be closed. */
  | 'job:done'
  // New guest wizard
  /** Reading the host before the first step: q leaves. */
  | 'wizard:newGuest-loading'
  /** The host could not be read: r tries again. */
  | 'wizard:newGuest-loadFailed'
  /** The operating system list: ↑↓ (j/k) choose, 1–9 pick, Enter goes on, q leaves. */
  | 'wizard:newGuest-os'
  /** The review's options: s start now, c open the console after start. */
  | 'wizard:newGuest-review'
  /** Creating the guest failed: Esc goes back to the review. */
  | 'wizard:newGuest-failed'
  // Disk wizards (Convert, Expand): keys and words of their own screens.
  /** Expand: the image could not be read; r reads it again. */
  | 'expand:load-failed'
  /** Expand: the job failed or was stopped; Esc goes back to the review. */
  | 'expand:failed'
  /** Expand: the guest-side step, when growing offline is possible. */
  | 'expand:guest-side'
  /** Expand: the summary of a finished expansion (Ctrl-C closes it too). */
  | 'expand:done'
  /** Expand: the review of a grow in place, where a copy of the original can be kept first. */
  | 'expand:keep-copy'
  // ── Import VMware, P2V, MergeIDE ──
  /** The import wizard's host file browser (pick the .vmx). */
  | 'wizard:files'
  /** A wizard page where q leaves (P2V's "what was found"). */
  | 'wizard:quit'
  /** A wizard's pick list (Import's ESXi VMs): ↑↓ (j/k) move, PgUp/PgDn a page. */
  | 'wizard:list';

export type ActionId =
  // panes and the console
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
  | 'migrate'
  | 'evacuate'
  | 'p2v'
  | 'details'
  | 'sortCycle'
  | 'allHosts'
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
  | 'backupAll'
  | 'backupVerify'
  | 'backupRestore'
  | 'backupFiles'
  | 'backupPrune'
  | 'backupCopy'
  | 'backupDest'
  | 'backupSchedule'
  | 'snapshotTake'
  | 'snapshotRevert'
  | 'snapshotDelete'
  | 'backupInstantList'
  | 'backupInstantFinish'
  | 'backupInstantDiscard'
  | 'backupDrill'
  | 'hostOpen'
  | 'hostFix'
  | 'hostLogs'
  | 'hostRecheck'
  | 'hostBack'
  | 'hostFollow'
  | 'hostNextMatch'
  | 'hostPrevMatch'
  | 'hostSearch'
  | 'hostPageUp'
  | 'hostPageDown'
  | 'hostShiftLeft'
  | 'backupDetails'
  | 'showMessage'
  | 'hostShiftRight'
  | 'browseOpen'
  | 'browseUp'
  | 'browseMark'
  | 'browseExtract'
  // input lines
  | 'inputKeep'
  | 'inputClear'
  | 'inputRun'
  | 'inputComplete'
  | 'inputErase'
  | 'inputType'
  | 'inputUp'
  | 'inputDown'
  // dialogs
  | 'yes'
  | 'no'
  | 'close'
  | 'errorDetails'
  | 'errorRetry'
  | 'scrollUp'
  | 'scrollDown'
  | 'pageUp'
  | 'pageDown'
  | 'scrollTop'
  | 'scrollBottom'
  | 'apply'
  | 'save'
  | 'choose'
  | 'itemUp'
  | 'itemDown'
  | 'finish'
  | 'rollback'
  | 'tick'
  // forms
  | 'fieldNext'
  | 'fieldPrev'
  | 'choiceNext'
  | 'choicePrev'
  | 'cursorLeft'
  | 'cursorRight'
  | 'cursorHome'
  | 'cursorEnd'
  | 'erase'
  | 'eraseToStart'
  | 'type'
  | 'macKvm'
  | 'macVmware'
  | 'submit'
  | 'cancel'
  // wizards
  | 'wizardCancel'
  | 'wizardBack'
  | 'wizardNext'
  | 'wizardRun'
  | 'wizardSaveScript'
  | 'wizardBackground'
  | 'wizardQuit'
  | 'wizardStopBusy'
  | 'wizardClose'
  // a running job
  | 'jobAskCancel'
  | 'jobConfirmCancel'
  | 'jobKeepGoing'
  | 'jobBackground'
  | 'jobClose'
  | 'jobQuit'
  | 'jobQuitWait'
  | 'jobQuitBackground'
  | 'jobQuitCancel'
  // New guest wizard
  | 'newGuestOsPrev'
  | 'newGuestOsNext'
  | 'newGuestOsNumber'
  | 'newGuestStartNow'
  | 'newGuestOpenConsole'
  | 'newGuestRetry'
  // disk wizards
  | 'wizardRetry'
  | 'expandToggleRoute'
  | 'expandToggleKeepCopy'
  // Import VMware, P2V, MergeIDE
  | 'browseOpen'
  | 'browseParent'
  | 'browseComplete';

export interface KeyRow {
  /** Key names (keyName.ts); 'printable' stands for any one printable character. */
  keys: readonly string[];
  action: ActionId;
  scopes: readonly Scope[];
  /** Short label for the footer and the hint lines; `{what}` is the job on screen (see HintVars). */
  hint: string;
  /** Sentence for the help overlay. */
  description: string;
  /** Shown in the footer or hint line of its scope. */
  footer?: boolean;
  /** How the keys are written in a hint when not the first key's name ("↑↓", "Esc/Ctrl-C"). */
  shown?: string;
  /** Name under which `:` runs this action; `guest` means it takes an optional guest NAME. */
  command?: { name: string; aliases?: string[]; guest: boolean };
}

export const KEY_TABLE: readonly KeyRow[] = [
  // ── Panes ──────────────────────────────────────────────────────────────────────────────
  // Jobs pane
  { keys: ['enter'], action: 'jobsOpen', hint: 'details', description: "Show the selected job's steps with their states and commands", scopes: ['pane:jobs'], footer: true },
  { keys: ['c'], action: 'jobsCancel', hint: 'cancel', description: 'Cancel the selected running job (asks first): the running step stops and what it did is undone', scopes: ['pane:jobs'], footer: true },
  { keys: ['L'], action: 'jobsLog', hint: 'log', description: "Show the selected job's log, following new lines", scopes: ['pane:jobs'], footer: true },
  { keys: ['f'], action: 'jobsFinish', hint: 'finish', description: 'Finish an interrupted job (its process is gone): the cut-off step runs again, then the rest', scopes: ['pane:jobs'], footer: true },
  { keys: ['R'], action: 'jobsRollback', hint: 'roll back', description: 'Roll an interrupted job back: undo every step it started, newest first', scopes: ['pane:jobs'], footer: true },
  { keys: ['r'], action: 'refresh', hint: 'refresh', description: 'Read the jobs again (the pane also follows them live)', scopes: ['pane:jobs'] },
  // Every pane: the host picker; `:host NAME` switches directly (`:host` alone opens the Host pane).
  { keys: ['H'], action: 'hostPicker', hint: 'hosts', description: 'Pick the host to act on: this one or one from the config file (:host NAME switches directly)', scopes: ['panes'], command: { name: 'hosts', guest: false } },
  // Host pane
  { keys: ['enter'], action: 'hostOpen', hint: 'fix', description: 'Show the full fix of the selected check; in the logs view, pick a guest whose QEMU log to show', scopes: ['pane:host'], footer: true },
  { keys: ['f'], action: 'hostFix', hint: 'apply fix', description: 'Apply the safe fix of the selected check (sysctl or noatime), after a confirmation naming the file and line', scopes: ['pane:host'], footer: true },
  { keys: ['L'], action: 'hostLogs', hint: 'logs', description: 'Open the logs view: the libvirtd log, followed live; Enter there picks a guest QEMU log', scopes: ['pane:host'], footer: true },
  { keys: ['E'], action: 'evacuate', hint: 'evacuate', description: 'Evacuate this host for maintenance: move every running guest (and, if asked, the shut-off ones) to another host one at a time, after a review and a confirmation; or bring home the guests an evacuation moved', scopes: ['pane:host'], footer: true, command: { name: 'evacuate', guest: false } },
  { keys: ['r'], action: 'hostRecheck', hint: 're-run', description: 'Run the host checks again (R too)', scopes: ['pane:host'], footer: true },
  { keys: ['/'], action: 'filter', hint: 'filter', description: 'Filter the checks (title, detail or status) as you type; Enter keeps it, Esc clears', scopes: ['pane:host'], footer: true },
  { keys: ['esc', 'backspace'], action: 'hostBack', hint: 'back', description: 'Clear the filter of the checks', scopes: ['pane:host'] },
  { keys: ['F'], action: 'hostFollow', hint: 'follow', description: 'Logs view: follow new lines on or off', scopes: ['pane:host'] },
  { keys: ['n'], action: 'hostNextMatch', hint: 'next match', description: 'Logs view: next line matching the search', scopes: ['pane:host'] },
  { keys: ['N'], action: 'hostPrevMatch', hint: 'prev match', description: 'Logs view: previous line matching the search', scopes: ['pane:host'] },
  { keys: ['pageup'], action: 'hostPageUp', hint: 'page up', description: 'Scroll a page up', scopes: ['pane:host'] },
  { keys: ['pagedown', ' '], action: 'hostPageDown', hint: 'page down', description: 'Scroll a page down', scopes: ['pane:host'] },
  { keys: ['enter'], action: 'backupsOpen', hint: 'runs', description: "Open the selected guest's runs and snapshots", scopes: ['pane:backups'] },
  { keys: ['esc', 'backspace'], action: 'backupsBack', hint: 'back', description: 'Back to the guest list', scopes: ['pane:backups'] },
  { keys: ['b'], action: 'backupNow', hint: 'back up', description: 'Back up the selected guest now, with progress and cancel (`:backup all` is B)', scopes: ['pane:backups'], footer: true, command: { name: 'backup', guest: false } },
  { keys: ['B'], action: 'backupAll', hint: 'back up all', description: 'Back up every guest the list shows (the filter applies); asks first, naming how many', scopes: ['pane:backups'], command: { name: 'backup-all', guest: false } },
  { keys: ['V'], action: 'backupVerify', hint: 'verify', description: 'Verify the selected run: qemu-img check of the chain and checksums', scopes: ['pane:backups'], footer: true },
  { keys: ['R'], action: 'backupRestore', hint: 'restore', description: 'Restore the selected run: over the guest (same name), as a new guest, or run it from the backup now (instant); from the destination or a copy target holding the run', scopes: ['pane:backups'], footer: true },
  { keys: ['f'], action: 'backupFiles', hint: 'files', description: 'Browse the files inside the selected run (read-only; from the destination or a copy target holding it) and extract some to the host', scopes: ['pane:backups'], footer: true },
  { keys: ['P'], action: 'backupPrune', hint: 'prune', description: "Prune the guest's runs by the retention rules (shows what would go first)", scopes: ['pane:backups'] },
  { keys: ['I'], action: 'backupInstantList', hint: 'instant copies', description: 'List the guests running from a backup (instant recovery): which runs they read, their overlays, since when', scopes: ['pane:backups'] },
  { keys: ['F'], action: 'backupInstantFinish', hint: 'move home', description: 'Move the selected guest that runs from a backup home while it runs (blockcopy with progress; asks first)', scopes: ['pane:backups'] },
  { keys: ['D'], action: 'backupInstantDiscard', hint: 'discard copy', description: 'Discard the selected guest that runs from a backup: stop it, remove its overlays (asks first, naming what is lost)', scopes: ['pane:backups'] },
  { keys: ['K'], action: 'backupDrill', hint: 'drill', description: "Restore drill: start the guest's newest run as a throwaway isolated copy, wait for it to boot, discard it; the result shows under the list (asks first)", scopes: ['pane:backups'] },
  { keys: ['O'], action: 'backupCopy', hint: 'copy offsite', description: 'Copy the selected run (and the runs it builds on) to a copy target from backup.copyTargets, verified there; asks first', scopes: ['pane:backups'] },
  { keys: ['d'], action: 'backupDest', hint: 'destination', description: 'Choose the backup destination directory', scopes: ['pane:backups'] },
  { keys: ['S'], action: 'backupSchedule', hint: 'schedule', description: 'Set, change or remove the nightly backup schedule (cron.d or a systemd timer); shows the file first', scopes: ['pane:backups'] },
  { keys: ['t'], action: 'snapshotTake', hint: 'snapshot', description: 'Take a snapshot of the selected guest before a risky change', scopes: ['pane:backups'], footer: true },
  { keys: ['T'], action: 'snapshotRevert', hint: 'revert', description: "Revert the guest to its current snapshot (says what is lost)", scopes: ['pane:backups'] },
  { keys: ['X'], action: 'snapshotDelete', hint: 'del snap', description: "Delete the guest's current snapshot (external ones are merged back)", scopes: ['pane:backups'] },
  { keys: ['r'], action: 'refresh', hint: 'refresh', description: 'Read the destination and the snapshots again', scopes: ['pane:backups'] },
  { keys: ['i'], action: 'backupDetails', hint: 'details', description: "Show in full what the strip under the list cuts: the selected guest's or run's summary, snapshots and warnings", scopes: ['pane:backups'] },
  // Backups pane: its own screens (form, review, file browser, job)
  { keys: ['enter'], action: 'submit', hint: 'OK', description: 'Go on with the values typed', scopes: ['pane:backups-form'], footer: true },
  { keys: ['esc'], action: 'cancel', hint: 'cancel', description: 'Close the form; nothing is changed', scopes: ['pane:backups-form'], footer: true },
  { keys: ['l'], action: 'choiceNext', hint: 'choose', description: 'Next choice', scopes: ['pane:backups-choice'] },
  { keys: ['h'], action: 'choicePrev', hint: 'choose', description: 'Previous choice', scopes: ['pane:backups-choice'] },
  { keys: ['enter'], action: 'submit', hint: 'confirm', description: 'Go on: asks to confirm before anything runs', scopes: ['pane:backups-review-confirm'], footer: true },
  { keys: ['enter'], action: 'submit', hint: 'delete (asks first)', description: 'Delete what the dry run lists (asks first)', scopes: ['pane:backups-review-delete'], footer: true },
  { keys: ['enter'], action: 'submit', hint: 'write it', description: 'Write the file shown', scopes: ['pane:backups-review-write'], footer: true },
  { keys: ['enter'], action: 'submit', hint: 'close', description: 'Close the review', scopes: ['pane:backups-review-close'], footer: true },
  { keys: ['enter'], action: 'submit', hint: 'go on', description: 'Go on with what the review shows', scopes: ['pane:backups-review'] },
  { keys: ['up', 'k'], action: 'scrollUp', hint: 'scroll', description: 'Scroll up a line', scopes: ['pane:backups-review'], footer: true, shown: '↑↓' },
  { keys: ['down', 'j'], action: 'scrollDown', hint: 'scroll', description: 'Scroll down a line', scopes: ['pane:backups-review'] },
  { keys: ['pageup'], action: 'pageUp', hint: 'page up', description: 'Scroll up a page', scopes: ['pane:backups-review'] },
  { keys: ['pagedown', ' '], action: 'pageDown', hint: 'page down', description: 'Scroll down a page', scopes: ['pane:backups-review'] },
  { keys: ['home', 'g'], action: 'scrollTop', hint: 'top', description: 'Go to the first line', scopes: ['pane:backups-review'] },
  { keys: ['end', 'G'], action: 'scrollBottom', hint: 'end', description: 'Go to the last page', scopes: ['pane:backups-review'] },
  { keys: ['esc', 'q'], action: 'cancel', hint: 'cancel', description: 'Leave the review; nothing is changed', scopes: ['pane:backups-review'], footer: true, shown: 'Esc' },
  { keys: ['up', 'k'], action: 'itemUp', hint: 'up', description: 'Previous entry', scopes: ['pane:backups-browser'] },
  { keys: ['down', 'j'], action: 'itemDown', hint: 'down', description: 'Next entry', scopes: ['pane:backups-browser'] },
  { keys: ['enter', 'l', 'right'], action: 'browseOpen', hint: 'open', description: 'Open the selected directory', scopes: ['pane:backups-browser'], footer: true },
  { keys: ['backspace', 'h', 'left'], action: 'browseUp', hint: 'up', description: 'Go up to the parent directory', scopes: ['pane:backups-browser'], footer: true },
  { keys: [' '], action: 'browseMark', hint: 'mark', description: 'Mark or unmark the selected entry', scopes: ['pane:backups-browser'], footer: true },
  { keys: ['x'], action: 'browseExtract', hint: 'extract', description: 'Extract the marked entries (or the selected one) to a host directory', scopes: ['pane:backups-browser'], footer: true },
  { keys: ['esc', 'q'], action: 'close', hint: 'close', description: 'Close the file browser (ends its libguestfs session)', scopes: ['pane:backups-browser'], footer: true, shown: 'Esc' },
  { keys: ['esc', 'q'], action: 'close', hint: 'cancel', description: 'Stop opening the backup', scopes: ['pane:backups-opening'], footer: true, shown: 'Esc' },
  { keys: ['c', 'esc', 'ctrl-c'], action: 'jobAskCancel', hint: 'cancel', description: 'Cancel the job (asks first, naming what the undo does)', scopes: ['pane:backups-job'], footer: true },
  // Host pane: the logs view and the guest picker (their keys above are also the help's)
  { keys: ['F'], action: 'hostFollow', hint: 'follow', description: 'Follow new lines on or off', scopes: ['pane:host-logs'], footer: true },
  { keys: ['/'], action: 'hostSearch', hint: 'search', description: "Search the log as you type (its own search: the checks' filter stays); Enter keeps it, Esc clears", scopes: ['pane:host-logs'], footer: true },
  { keys: ['n'], action: 'hostNextMatch', hint: 'match', description: 'Next line matching the search', scopes: ['pane:host-logs'], footer: true, shown: 'n/N' },
  { keys: ['N'], action: 'hostPrevMatch', hint: 'prev match', description: 'Previous line matching the search', scopes: ['pane:host-logs'] },
  { keys: ['enter'], action: 'hostOpen', hint: 'guest log', description: 'Pick a guest whose QEMU log to show', scopes: ['pane:host-logs'], footer: true },
  { keys: ['L'], action: 'hostLogs', hint: 'libvirtd', description: 'Back to the libvirtd log', scopes: ['pane:host-logs'], footer: true },
  { keys: ['pageup'], action: 'hostPageUp', hint: 'page up', description: 'Scroll a page up', scopes: ['pane:host-logs'] },
  { keys: ['pagedown', ' '], action: 'hostPageDown', hint: 'page down', description: 'Scroll a page down', scopes: ['pane:host-logs'] },
  { keys: ['right'], action: 'hostShiftRight', hint: 'sideways', description: 'Scroll long lines sideways, to the right', scopes: ['pane:host-logs'], footer: true, shown: '←→' },
  { keys: ['left'], action: 'hostShiftLeft', hint: 'sideways', description: 'Scroll long lines back to the left', scopes: ['pane:host-logs'] },
  { keys: ['esc', 'backspace'], action: 'hostBack', hint: 'back', description: 'Leave the logs view; clears the search', scopes: ['pane:host-logs'], footer: true },
  { keys: ['enter'], action: 'hostOpen', hint: 'show its log', description: "Show the selected guest's QEMU log", scopes: ['pane:host-pick'], footer: true },
  { keys: ['esc', 'backspace'], action: 'hostBack', hint: 'back', description: 'Back to the log', scopes: ['pane:host-pick'], footer: true },
  { keys: ['s'], action: 'start', hint: 'start', description: 'Start the selected guest', scopes: ['pane:guests'], footer: true, command: { name: 'start', guest: true } },
  { keys: ['S'], action: 'shutdown', hint: 'shutdown', description: 'Shut the guest down via ACPI (asks first; offers force off if it does not stop)', scopes: ['pane:guests'], footer: true, command: { name: 'shutdown', guest: true } },
  { keys: ['F'], action: 'forceOff', hint: 'force off', description: 'Force the guest off, like pulling the plug (asks first)', scopes: ['pane:guests'], footer: true, command: { name: 'destroy', aliases: ['forceoff'], guest: true } },
  { keys: ['r'], action: 'reboot', hint: 'reboot', description: 'Reboot the guest (asks first)', scopes: ['pane:guests'], command: { name: 'reboot', guest: true } },
  { keys: ['p'], action: 'pauseResume', hint: 'pause', description: 'Pause a running guest, or resume a paused one', scopes: ['pane:guests'], command: { name: 'pause', aliases: ['resume'], guest: true } },
  { keys: ['a'], action: 'autostart', hint: 'autostart', description: 'Turn starting with the host on or off', scopes: ['pane:guests'], command: { name: 'autostart', guest: true } },
  { keys: ['D'], action: 'undefine', hint: 'delete', description: 'Delete the guest definition (type its name; disks are kept unless you choose otherwise)', scopes: ['pane:guests'], command: { name: 'undefine', guest: true } },
  { keys: ['e'], action: 'edit', hint: 'edit', description: 'Edit settings: memory, vCPUs, MACs, VNC, boot order, ISO, disk bus, autostart', scopes: ['pane:guests'], footer: true, command: { name: 'edit', guest: true } },
  { keys: ['x'], action: 'editXml', hint: 'XML', description: 'Edit the raw domain XML in $EDITOR; shows the diff before applying', scopes: ['pane:guests'], footer: true, command: { name: 'xml', guest: true } },
  { keys: ['c'], action: 'console', hint: 'console', description: 'Open the serial console (virsh console); leave it with Ctrl-]', scopes: ['pane:guests'], footer: true, command: { name: 'console', guest: true } },
  { keys: ['v'], action: 'vnc', hint: 'VNC', description: 'Show how to reach the guest screen over VNC through an SSH tunnel', scopes: ['pane:guests'], command: { name: 'vnc', guest: true } },
  { keys: ['L'], action: 'log', hint: 'log', description: "Show the last lines of the guest's QEMU log", scopes: ['pane:guests'], command: { name: 'log', guest: true } },
  { keys: ['I'], action: 'importVmware', hint: 'import', description: 'Import a VMware VM from its .vmx (wizard)', scopes: ['pane:guests'], command: { name: 'import', guest: false } },
  { keys: ['M'], action: 'mergeIde', hint: 'MergeIDE', description: 'Prepare the selected Windows guest to boot from IDE (MergeIDE): offline in its registry, or an ISO to run inside it', scopes: ['pane:guests'], command: { name: 'mergeide', guest: true } },
  { keys: ['m'], action: 'migrate', hint: 'migrate', description: 'Move the selected guest to another host (wizard: destination, checks, options, reviewed plan); :migrate NAME HOST checks at once', scopes: ['pane:guests'], command: { name: 'migrate', guest: true } },
  { keys: ['P'], action: 'p2v', hint: 'P2V', description: 'Turn a physical machine (over SSH), a disk or a raw dump into a guest (wizard)', scopes: ['pane:guests'], command: { name: 'p2v', guest: false } },
  { keys: ['n'], action: 'newGuest', hint: 'new', description: 'Create a new guest with the wizard', scopes: ['pane:guests'], footer: true, command: { name: 'new', guest: false } },
  { keys: ['A'], action: 'allHosts', hint: 'all hosts', description: "Show every configured host's guests in one table (a HOST column), or only this host's again; H narrows to one host", scopes: ['pane:guests'], command: { name: 'all-hosts', aliases: ['allhosts'], guest: false } },
  { keys: ['o'], action: 'sortCycle', hint: 'sort', description: 'Sort by the next column: name, CPU, memory, disk, network (busiest first; the selection stays)', scopes: ['pane:guests'] },
  { keys: ['enter'], action: 'details', hint: 'details', description: 'Show everything about the selected guest (Disks: the selected image, with qemu-img info)', scopes: ['pane:guests', 'pane:disks'], command: { name: 'details', guest: true } },
  { keys: ['K'], action: 'diskCheck', hint: 'check', description: 'Check the selected image with qemu-img check (read-only; -U when a running guest uses it)', scopes: ['pane:disks'], footer: true },
  { keys: ['N'], action: 'diskCreate', hint: 'new', description: 'Create an empty image: path, format (qcow2, raw, vmdk), size, preallocation', scopes: ['pane:disks'], footer: true },
  { keys: ['A'], action: 'diskAttach', hint: 'attach', description: 'Attach the selected image to a guest (choose guest and bus)', scopes: ['pane:disks'], footer: true },
  { keys: ['T'], action: 'diskDetach', hint: 'detach', description: 'Detach the selected image from the guest that uses it (asks first; the file is kept)', scopes: ['pane:disks'], footer: true },
  { keys: ['D'], action: 'diskDelete', hint: 'delete', description: 'Delete the selected image file (refused while a guest uses it; type the file name)', scopes: ['pane:disks'], footer: true },
  { keys: ['C'], action: 'diskConvert', hint: 'convert', description: 'Convert the selected image (raw, vmdk, qcow2) with the round-trip wizard', scopes: ['pane:disks'], footer: true },
  { keys: ['X'], action: 'diskExpand', hint: 'expand', description: 'Grow the selected image and the partition inside it with the expansion wizard', scopes: ['pane:disks'], footer: true },
  { keys: ['r'], action: 'refresh', hint: 'refresh', description: 'Read the images again (only new or changed files are queried)', scopes: ['pane:disks'] },
  { keys: ['up', 'k'], action: 'up', hint: 'up', description: 'Move the selection up', scopes: ['panes'] },
  { keys: ['down', 'j'], action: 'down', hint: 'down', description: 'Move the selection down', scopes: ['panes'] },
  { keys: ['g', 'home'], action: 'top', hint: 'top', description: 'Jump to the first row', scopes: ['panes'] },
  { keys: ['G', 'end'], action: 'bottom', hint: 'bottom', description: 'Jump to the last row', scopes: ['panes'] },
  { keys: ['tab', 'l', 'right'], action: 'nextPane', hint: 'next pane', description: 'Next pane', scopes: ['panes'] },
  { keys: ['shift-tab', 'h', 'left'], action: 'prevPane', hint: 'prev pane', description: 'Previous pane', scopes: ['panes'] },
  { keys: ['1'], action: 'pane1', hint: 'guests', description: 'Guests pane', scopes: ['panes'], command: { name: 'guests', guest: false } },
  { keys: ['2'], action: 'pane2', hint: 'disks', description: 'Disks pane', scopes: ['panes'], command: { name: 'disks', guest: false } },
  { keys: ['3'], action: 'pane3', hint: 'backups', description: 'Backups pane', scopes: ['panes'], command: { name: 'backups', guest: false } },
  { keys: ['4'], action: 'pane4', hint: 'host', description: 'Host pane', scopes: ['panes'], command: { name: 'host', guest: false } },
  { keys: ['5'], action: 'pane5', hint: 'jobs', description: 'Jobs pane', scopes: ['panes'], command: { name: 'jobs', guest: false } },
  { keys: ['ctrl-r'], action: 'refresh', hint: 'refresh', description: 'Refresh now', scopes: ['panes'], command: { name: 'refresh', guest: false } },
  // R is restore in the Backups pane.
  { keys: ['R'], action: 'refresh', hint: 'refresh', description: 'Refresh now', scopes: ['pane:guests', 'pane:disks', 'pane:host'] },
  { keys: ['/'], action: 'filter', hint: 'filter', description: 'Filter rows as you type; Esc clears, Enter keeps', scopes: ['pane:guests', 'pane:disks', 'pane:backups'], footer: true },
  { keys: ['/'], action: 'filter', hint: 'filter', description: 'The Jobs pane has no list filter: says so', scopes: ['pane:jobs'] },
  { keys: [':'], action: 'command', hint: 'command', description: 'Command line, e.g. :start NAME, :shutdown NAME, :console NAME, :q', scopes: ['panes'], footer: true },
  { keys: ['?'], action: 'help', hint: 'help', description: 'This help', scopes: ['panes'], footer: true, command: { name: 'help', guest: false } },
  { keys: ['m'], action: 'showMessage', hint: 'message', description: "Show the status line's message in full (a long one is cut at the edge and ends in (m); in Guests, where m migrates, :message)", scopes: ['pane:disks', 'pane:backups', 'pane:host', 'pane:jobs'], command: { name: 'message', guest: false } },
  { keys: ['q', 'ctrl-c'], action: 'quit', hint: 'quit', description: 'Quit virtdeck', scopes: ['panes'], footer: true, command: { name: 'quit', aliases: ['q'], guest: false } },

  { keys: ['ctrl-c'], action: 'quit', scopes: ['console'], hint: 'quit', description: 'Quit virtdeck (a running wizard takes Ctrl-C to cancel its own step)' },

  // ── Filter and command lines ───────────────────────────────────────────────────────────
  { keys: ['enter'], action: 'inputKeep', scopes: ['input:search'], hint: 'keep search', description: 'Keep the search (n/N go to the next or previous match)', footer: true },
  { keys: ['esc'], action: 'inputClear', scopes: ['input:search'], hint: 'clear', description: 'Clear the search', footer: true },
  { keys: ['enter'], action: 'inputKeep', scopes: ['input:filter'], hint: 'keep filter', description: 'Keep the filter and go back to the list', footer: true },
  { keys: ['esc'], action: 'inputClear', scopes: ['input:filter'], hint: 'clear', description: 'Clear the filter', footer: true },
  { keys: ['up'], action: 'inputUp', scopes: ['input:filter'], hint: 'up', description: 'Move the selection up in the filtered list' },
  { keys: ['down'], action: 'inputDown', scopes: ['input:filter'], hint: 'down', description: 'Move the selection down in the filtered list' },
  { keys: ['enter'], action: 'inputRun', scopes: ['input:command'], hint: 'run', description: 'Run the command', footer: true },
  { keys: ['tab'], action: 'inputComplete', scopes: ['input:command'], hint: 'complete', description: 'Complete the command or guest name', footer: true },
  { keys: ['esc'], action: 'inputClear', scopes: ['input:command'], hint: 'cancel', description: 'Leave the command line', footer: true },
  { keys: ['backspace'], action: 'inputErase', scopes: ['input:filter', 'input:command', 'input:search'], hint: 'erase', description: 'Erase the last character' },
  { keys: ['printable'], action: 'inputType', scopes: ['input:filter', 'input:command', 'input:search'], hint: 'type', description: 'Type the filter or the command' },

  // ── Dialogs ────────────────────────────────────────────────────────────────────────────
  { keys: ['y', 'Y'], action: 'yes', scopes: ['dialog:confirm'], hint: '{yes}', description: 'Do it', footer: true },
  { keys: ['n', 'N', 'esc', 'q'], action: 'no', scopes: ['dialog:confirm'], hint: 'keep as is', description: 'Leave everything as it is', footer: true, shown: 'n/Esc' },
  { keys: ['enter'], action: 'submit', scopes: ['dialog:typeName'], hint: 'delete', description: 'Delete, once the name typed matches', footer: true },
  { keys: ['tab', 'shift-tab', 'up', 'down'], action: 'fieldNext', scopes: ['dialog:typeName'], hint: 'next field', description: 'Move between the name and the tick box', footer: true },
  { keys: [' ', 'x'], action: 'tick', scopes: ['dialog:typeName-box'], hint: 'tick box', description: 'Tick or clear the box', footer: true, shown: 'Space' },
  { keys: ['esc'], action: 'cancel', scopes: ['dialog:typeName'], hint: 'cancel', description: 'Leave everything as it is', footer: true },
  { keys: ['backspace'], action: 'erase', scopes: ['dialog:typeName-name'], hint: 'erase', description: 'Erase the last character of the name' },
  { keys: ['printable'], action: 'type', scopes: ['dialog:typeName-name'], hint: 'type', description: 'Type the name' },
  { keys: ['d'], action: 'errorDetails', scopes: ['dialog:error'], hint: 'details', description: 'Show or hide the command and what it printed', footer: true },
  { keys: ['esc', 'enter', 'q'], action: 'close', scopes: ['dialog:error'], hint: 'close', description: 'Close the message', footer: true, shown: 'Esc/Enter' },
  { keys: ['printable'], action: 'errorRetry', scopes: ['dialog:error'], hint: 'retry', description: 'The key the message names runs the action again' },
  { keys: ['up', 'k'], action: 'scrollUp', scopes: ['dialog:text', 'dialog:help', 'dialog:diff'], hint: 'scroll', description: 'Scroll up a line', footer: true, shown: 'Up/Down PgUp/PgDn' },
  { keys: ['down', 'j'], action: 'scrollDown', scopes: ['dialog:text', 'dialog:help', 'dialog:diff'], hint: 'scroll', description: 'Scroll down a line' },
  { keys: ['pageup'], action: 'pageUp', scopes: ['dialog:text', 'dialog:help', 'dialog:diff'], hint: 'page up', description: 'Scroll up a page' },
  { keys: ['pagedown', ' '], action: 'pageDown', scopes: ['dialog:text', 'dialog:help', 'dialog:diff'], hint: 'page down', description: 'Scroll down a page' },
  { keys: ['g', 'home'], action: 'scrollTop', scopes: ['dialog:text', 'dialog:help', 'dialog:diff'], hint: 'top', description: 'Go to the first line' },
  { keys: ['G', 'end'], action: 'scrollBottom', scopes: ['dialog:text', 'dialog:help', 'dialog:diff'], hint: 'end', description: 'Go to the last line' },
  { keys: ['esc', 'q', 'enter'], action: 'close', scopes: ['dialog:text'], hint: 'close', description: 'Close', footer: true, shown: 'Esc/q' },
  { keys: ['esc', 'q', '?', 'enter'], action: 'close', scopes: ['dialog:help'], hint: 'close', description: 'Close the help', footer: true, shown: 'Esc/q/?' },
  { keys: ['y', 'enter'], action: 'apply', scopes: ['dialog:diff'], hint: 'apply', description: 'Apply the change shown', footer: true, shown: 'y/Enter' },
  { keys: ['n', 'esc', 'q'], action: 'no', scopes: ['dialog:diff'], hint: 'cancel', description: 'Apply nothing', footer: true, shown: 'n/Esc' },
  { keys: ['up', 'k'], action: 'itemUp', scopes: ['dialog:hostPicker', 'dialog:recovery'], hint: 'move', description: 'Previous entry', footer: true, shown: 'Up/Down' },
  { keys: ['down', 'j'], action: 'itemDown', scopes: ['dialog:hostPicker', 'dialog:recovery'], hint: 'down', description: 'Next entry' },
  { keys: ['enter'], action: 'choose', scopes: ['dialog:hostPicker'], hint: 'switch', description: 'Act on the chosen host from now on', footer: true },
  { keys: ['esc', 'q'], action: 'close', scopes: ['dialog:hostPicker'], hint: 'stay', description: 'Stay on this host', footer: true, shown: 'Esc' },
  { keys: ['f'], action: 'finish', scopes: ['dialog:recovery'], hint: 'finish', description: 'Finish the interrupted job: the cut-off step runs again, then the rest', footer: true },
  { keys: ['r'], action: 'rollback', scopes: ['dialog:recovery-rollback'], hint: 'roll back', description: 'Roll the interrupted job back: undo every step it started, newest first', footer: true },
  { keys: ['esc', 'q', 'enter'], action: 'close', scopes: ['dialog:recovery'], hint: 'leave the rest for later', description: 'Leave the remaining jobs for later (virtdeck recover)', footer: true, shown: 'Esc' },
  { keys: ['ctrl-s'], action: 'save', scopes: ['dialog:settings'], hint: 'save', description: 'Save the settings (shows the change first)', footer: true },
  { keys: ['enter'], action: 'save', scopes: ['dialog:settings-save'], hint: 'save', description: 'Show the XML diff of the changes; nothing is applied before it' },
  { keys: ['enter'], action: 'fieldNext', scopes: ['dialog:settings'], hint: 'next field', description: 'Next field (on the Save row: show the changes)' },
  { keys: ['esc'], action: 'cancel', scopes: ['dialog:settings'], hint: 'cancel', description: 'Close without saving', footer: true },
  { keys: ['enter'], action: 'submit', scopes: ['dialog:form'], hint: 'ok', description: 'Submit the form', footer: true },
  { keys: ['esc'], action: 'cancel', scopes: ['dialog:form'], hint: 'cancel', description: 'Close the form; nothing is changed', footer: true },
  // A text field takes h and l as letters; on a choice they cycle it, as in the lists.
  { keys: ['l'], action: 'choiceNext', scopes: ['dialog:settings', 'dialog:form'], hint: 'choose', description: 'Next choice (on a choice field)' },
  { keys: ['h'], action: 'choicePrev', scopes: ['dialog:settings', 'dialog:form'], hint: 'choose', description: 'Previous choice (on a choice field)' },

  // ── Forms (settings, pane forms, wizard fields) ────────────────────────────────────────
  { keys: ['down', 'tab'], action: 'fieldNext', scopes: ['form'], hint: 'field', description: 'Next field', footer: true, shown: '↑↓' },
  { keys: ['up', 'shift-tab'], action: 'fieldPrev', scopes: ['form'], hint: 'field', description: 'Previous field' },
  { keys: ['right', ' '], action: 'choiceNext', scopes: ['form:choice'], hint: 'choose', description: 'Next choice', footer: true, shown: '←→' },
  { keys: ['left'], action: 'choicePrev', scopes: ['form:choice'], hint: 'choose', description: 'Previous choice' },
  { keys: ['k'], action: 'macKvm', scopes: ['form:macgen'], hint: 'KVM MAC', description: 'A new 52:54:00 (KVM) address', footer: true },
  { keys: ['w'], action: 'macVmware', scopes: ['form:macgen'], hint: 'VMware MAC', description: 'A new 00:50:56 (VMware) address', footer: true },
  { keys: ['left'], action: 'cursorLeft', scopes: ['form:text'], hint: 'cursor', description: 'Move the cursor left' },
  { keys: ['right'], action: 'cursorRight', scopes: ['form:text'], hint: 'cursor', description: 'Move the cursor right' },
  { keys: ['ctrl-a', 'home'], action: 'cursorHome', scopes: ['form:text'], hint: 'start', description: 'Cursor to the start of the field' },
  { keys: ['ctrl-e', 'end'], action: 'cursorEnd', scopes: ['form:text'], hint: 'end', description: 'Cursor to the end of the field' },
  { keys: ['backspace'], action: 'erase', scopes: ['form:text'], hint: 'erase', description: 'Erase the character before the cursor' },
  { keys: ['ctrl-u'], action: 'eraseToStart', scopes: ['form:text'], hint: 'erase all', description: 'Erase everything before the cursor' },
  { keys: ['printable'], action: 'type', scopes: ['form:text'], hint: 'type', description: 'Type into the field' },

  // ── Wizards ────────────────────────────────────────────────────────────────────────────
  { keys: ['ctrl-c'], action: 'wizardCancel', scopes: ['wizard:step', 'wizard:busy', 'wizard:busy-wait'], hint: 'cancel', description: 'Leave the wizard; nothing is changed', footer: true },
  { keys: ['esc'], action: 'wizardStopBusy', scopes: ['wizard:busy'], hint: 'stop looking', description: 'Stop what the step is doing on the host', footer: true },
  { keys: ['esc'], action: 'wizardBack', scopes: ['wizard:step'], hint: 'back', description: 'Back to the step before (the first step closes the wizard)', footer: true },
  { keys: ['enter'], action: 'wizardNext', scopes: ['wizard:next'], hint: 'next', description: 'Check this step and go on', footer: true },
  { keys: ['up'], action: 'scrollUp', scopes: ['wizard:scroll'], hint: 'scroll', description: 'Scroll up', footer: true, shown: '↑↓' },
  { keys: ['down'], action: 'scrollDown', scopes: ['wizard:scroll'], hint: 'scroll', description: 'Scroll down' },
  { keys: ['pageup'], action: 'pageUp', scopes: ['wizard:scroll'], hint: 'page up', description: 'Scroll up a page' },
  { keys: ['pagedown'], action: 'pageDown', scopes: ['wizard:scroll'], hint: 'page down', description: 'Scroll down a page' },
  { keys: ['enter'], action: 'wizardRun', scopes: ['wizard:review'], hint: 'run', description: 'Run the plan shown', footer: true },
  { keys: ['w'], action: 'wizardSaveScript', scopes: ['wizard:review-script'], hint: 'save as script', description: 'Save the plan as a shell script to read or run by hand', footer: true },
  { keys: ['b'], action: 'wizardBackground', scopes: ['wizard:review-background'], hint: 'run in background', description: 'Run the plan as a background job (it outlives the console; see the Jobs pane)', footer: true },
  { keys: ['q'], action: 'wizardQuit', scopes: ['wizard:review-quit'], hint: 'cancel', description: 'Leave the wizard; nothing is changed', footer: true },
  { keys: ['enter', 'esc', 'q'], action: 'wizardClose', scopes: ['wizard:result'], hint: 'close', description: 'Close the wizard', footer: true, shown: 'Enter' },

  // ── A running job (wizards, the Backups job view) ──────────────────────────────────────
  { keys: ['esc', 'ctrl-c', 'c'], action: 'jobAskCancel', scopes: ['job:running'], hint: 'cancel', description: 'Cancel the job (asks first, naming what the undo does)', footer: true, shown: 'Esc/Ctrl-C' },
  { keys: ['b'], action: 'jobBackground', scopes: ['job:background'], hint: 'background', description: 'Leave the job running in the background, in a worker that outlives the console and the SSH session (a job run here starts its running step again there); the Jobs pane follows it', footer: true },
  { keys: ['y'], action: 'jobConfirmCancel', scopes: ['job:asking'], hint: 'cancel {what}', description: 'Cancel: the running step stops and what the job did is undone', footer: true },
  { keys: ['n', 'esc'], action: 'jobKeepGoing', scopes: ['job:asking'], hint: 'keep going', description: 'Let the job go on', footer: true, shown: 'n' },
  { keys: ['q'], action: 'jobQuit', scopes: ['job:quit'], hint: 'quit', description: 'Quit virtdeck: asks whether to wait for the job, leave it running in the background, or cancel it', footer: true },
  { keys: ['w'], action: 'jobQuitWait', scopes: ['job:quitting'], hint: 'wait, then quit', description: 'Let the job finish; the console quits when it has ended well (a failure stays on screen)', footer: true },
  { keys: ['b'], action: 'jobQuitBackground', scopes: ['job:quitting-background'], hint: 'background, quit', description: 'Hand the job to a worker that outlives the console, then quit', footer: true },
  { keys: ['c'], action: 'jobQuitCancel', scopes: ['job:quitting'], hint: 'cancel {what}, quit', description: 'Cancel the job (its undo runs), then quit', footer: true },
  { keys: ['n', 'esc'], action: 'jobKeepGoing', scopes: ['job:quitting'], hint: 'stay', description: 'Do not quit; the job goes on here', footer: true, shown: 'Esc' },
  { keys: ['enter', 'esc', 'q'], action: 'jobClose', scopes: ['job:done'], hint: 'close', description: 'Close the job view', footer: true, shown: 'Enter/Esc' },

  // ── New guest wizard ───────────────────────────────────────────────────────────────────
  { keys: ['r'], action: 'newGuestRetry', scopes: ['wizard:newGuest-loadFailed'], hint: 'retry', description: 'Read the host again', footer: true },
  { keys: ['esc', 'q', 'ctrl-c'], action: 'wizardClose', scopes: ['wizard:newGuest-loadFailed'], hint: 'close', description: 'Close the wizard', footer: true, shown: 'Esc/q' },
  { keys: ['up', 'k'], action: 'newGuestOsPrev', scopes: ['wizard:newGuest-os'], hint: 'choose', description: 'The operating system above', footer: true, shown: '↑↓' },
  { keys: ['down', 'j'], action: 'newGuestOsNext', scopes: ['wizard:newGuest-os'], hint: 'choose', description: 'The operating system below' },
  { keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9'], action: 'newGuestOsNumber', scopes: ['wizard:newGuest-os'], hint: 'pick', description: 'Pick the operating system with that number and go on' },
  { keys: ['enter'], action: 'wizardNext', scopes: ['wizard:newGuest-os'], hint: 'next', description: 'Take the operating system chosen (it brings its defaults) and go on', footer: true },
  { keys: ['q'], action: 'wizardQuit', scopes: ['wizard:newGuest-loading', 'wizard:newGuest-os'], hint: 'cancel', description: 'Leave the wizard; nothing is changed', footer: true },
  { keys: ['s'], action: 'newGuestStartNow', scopes: ['wizard:newGuest-review'], hint: 'options', description: 'Start the guest once it is defined, or not', footer: true, shown: 's/c' },
  { keys: ['c'], action: 'newGuestOpenConsole', scopes: ['wizard:newGuest-review'], hint: 'console', description: 'Open the serial console after the start, or not' },
  { keys: ['esc'], action: 'wizardBack', scopes: ['wizard:newGuest-failed'], hint: 'back', description: 'Back to the step (or the review) to change what failed', footer: true },
  { keys: ['q', 'ctrl-c'], action: 'wizardClose', scopes: ['wizard:newGuest-failed'], hint: 'close', description: 'Close the wizard', footer: true },
  // ── Disk wizards (Convert, Expand) ─────────────────────────────────────────────────────
  { keys: ['r'], action: 'wizardRetry', scopes: ['expand:load-failed'], hint: 'retry', description: 'Read the image again', footer: true },
  { keys: ['esc', 'q'], action: 'wizardClose', scopes: ['expand:load-failed'], hint: 'close', description: 'Close the wizard; nothing is changed', footer: true, shown: 'Esc/q' },
  { keys: ['esc'], action: 'wizardBack', scopes: ['expand:failed'], hint: 'back to the review', description: 'Back to the review, to run it again or change it', footer: true },
  { keys: ['q'], action: 'wizardClose', scopes: ['expand:failed'], hint: 'close', description: 'Close the wizard', footer: true },
  { keys: ['ctrl-c'], action: 'wizardCancel', scopes: ['expand:load-failed', 'expand:failed'], hint: 'cancel', description: 'Leave the wizard' },
  { keys: ['left', 'right', 'up', 'down', ' '], action: 'expandToggleRoute', scopes: ['expand:guest-side'], hint: 'choose', description: 'Grow offline now, or only show the steps to run inside the guest', footer: true, shown: '←→' },
  { keys: ['ctrl-c'], action: 'jobClose', scopes: ['expand:done'], hint: 'close', description: 'Close the summary' },
  { keys: ['c'], action: 'expandToggleKeepCopy', scopes: ['expand:keep-copy'], hint: 'copy first', description: 'Keep a verified copy of the original beside it before growing in place, or not', footer: true },

  // ── Import VMware, P2V, MergeIDE ───────────────────────────────────────────────────────
  { keys: ['enter', 'right'], action: 'browseOpen', scopes: ['wizard:files'], hint: 'open/pick', description: 'Open the directory, or pick the file: the typed path, else the highlighted entry (→ only opens directories)', footer: true, shown: 'Enter' },
  { keys: ['tab'], action: 'browseComplete', scopes: ['wizard:files'], hint: 'complete', description: 'Complete the typed name, as a shell does; when several names fit, list them', footer: true },
  { keys: ['left', 'backspace'], action: 'browseParent', scopes: ['wizard:files'], hint: 'parent', description: 'Go to the parent directory (until a path is typed: then they edit it)', footer: true, shown: '←' },
  { keys: ['up'], action: 'itemUp', scopes: ['wizard:files'], hint: 'move', description: 'Previous entry', footer: true, shown: '↑↓' },
  { keys: ['down'], action: 'itemDown', scopes: ['wizard:files'], hint: 'move', description: 'Next entry' },
  { keys: ['pageup'], action: 'pageUp', scopes: ['wizard:files'], hint: 'page up', description: 'A page of entries up' },
  { keys: ['pagedown'], action: 'pageDown', scopes: ['wizard:files'], hint: 'page down', description: 'A page of entries down' },
  { keys: ['q'], action: 'wizardQuit', scopes: ['wizard:quit'], hint: 'cancel', description: 'Leave the wizard; nothing is changed', footer: true },
  { keys: ['up', 'k'], action: 'itemUp', scopes: ['wizard:list'], hint: 'choose', description: 'The entry above', footer: true, shown: '↑↓' },
  { keys: ['down', 'j'], action: 'itemDown', scopes: ['wizard:list'], hint: 'choose', description: 'The entry below' },
  { keys: ['pageup'], action: 'pageUp', scopes: ['wizard:list'], hint: 'page up', description: 'A page of entries up' },
  { keys: ['pagedown'], action: 'pageDown', scopes: ['wizard:list'], hint: 'page down', description: 'A page of entries down' },
];
