/**
 * The nightly backup schedule as text: a line in /etc/cron.d/virtdeck, or a systemd timer and
 * service, both calling `virtdeck backup run --all --dest DIR && virtdeck backup prune --dest DIR`.
 * Each file carries the schedule as a JSON comment, so `schedule show` reads back exactly what was
 * set whichever form the host uses. Also when it next runs, computed from the schedule itself in
 * host local time. Pure.
 */
import { createHash } from 'node:crypto';
import { TARGET_NAME } from './copyTarget.js';
import { shellQuote } from './shellQuote.js';
import { hasControlCharacters, shown } from './shown.js';
import { UserError } from './userError.js';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface BackupSchedule {
  /** HH:MM, host local time. */
  at: string;
  /** Empty: every day. */
  days: Weekday[];
  dest: string;
  /** After backup and prune, a restore drill of every guest (`backup drill --all`): proof the new runs boot. */
  drill?: boolean;
  /** Copy targets (backup.copyTargets) each run is copied to after it, before the local prune. */
  copyTo?: string[];
}

export type SchedulerKind = 'cron' | 'systemd';

export const CRON_FILE = 'etc/cron.d/virtdeck';
export const SYSTEMD_SERVICE = 'etc/systemd/system/virtdeck-backup.service';
export const SYSTEMD_TIMER = 'etc/systemd/system/virtdeck-backup.timer';

/** The schedule's files (relative to the root) and the timer unit systemctl is told about. */
export interface ScheduleFiles {
  cron: string;
  service: string;
  timer: string;
  timerUnit: string;
  /** The service the timer starts (a timer's Unit= must name its own service, not the system one). */
  serviceUnit: string;
  /** Set for a VIRTDECK_HOME configuration: the scheduled run must see the same one. */
  home: string | null;
}

/**
 * The schedule's file names for a configuration and the host it backs up. The system one (no
 * VIRTDECK_HOME, this machine's libvirt) keeps the plain names; a VIRTDECK_HOME configuration gets
 * names tagged with a hash of its directory, so two configurations on one machine never overwrite
 * each other's schedule, and its runs are started with that VIRTDECK_HOME. A remote host's schedule
 * lives on this machine too (see schedulePlace), so its names carry the host and a hash of the
 * configuration and URI: one schedule per configuration and host. cron.d names allow only
 * [A-Za-z0-9_-], hence a hex tag, not the path.
 */
export function scheduleFiles(home: string | null | undefined, remote?: { uri: string; host: string } | null): ScheduleFiles {
  if (!home && !remote) {
    return { cron: CRON_FILE, service: SYSTEMD_SERVICE, timer: SYSTEMD_TIMER, timerUnit: 'virtdeck-backup.timer', serviceUnit: 'virtdeck-backup.service', home: null };
  }
  const hash = createHash('sha256').update(home ?? '');
  if (remote) hash.update(`\0${remote.uri}`);
  const tag = hash.digest('hex').slice(0, 8);
  // The host is shown in the name for people listing /etc/cron.d; the hash is what keeps names apart.
  const name = remote ? `${remote.host.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'host'}-${tag}` : tag;
  return {
    cron: `${CRON_FILE}-${name}`,
    service: `etc/systemd/system/virtdeck-backup-${name}.service`,
    timer: `etc/systemd/system/virtdeck-backup-${name}.timer`,
    timerUnit: `virtdeck-backup-${name}.timer`,
    serviceUnit: `virtdeck-backup-${name}.service`,
    home: home || null,
  };
}

/**
 * Which machine runs a host's schedule: always this one, the machine whose virtdeck, node, key
 * file and state directory the scheduled command names. For a remote host the run connects to it
 * (`--connect URI`) exactly as a run typed here would; writing the schedule on the remote host
 * would make it start a virtdeck it may not have, with paths and keys of this machine, and ssh to
 * itself.
 */
export interface SchedulePlace {
  /** The machine whose crontab (or systemd timer) changes: this one. */
  writtenOn: string;
  /** The host the scheduled run backs up when it is not this machine, else null. */
  connectsTo: string | null;
  /** The files' names on this machine. */
  files: ScheduleFiles;
  /** argv of the scheduled virtdeck: VIRTDECK_HOME when set, the invocation, `--connect URI` unless this machine's system libvirt. */
  virtdeck: string[];
}

export function schedulePlace(o: { uri: string; remoteHost: string | null; thisMachine: string; home: string | null | undefined; invocation: string[] }): SchedulePlace {
  const files = scheduleFiles(o.home, o.remoteHost ? { uri: o.uri, host: o.remoteHost } : null);
  // cron and systemd start the run without this shell's environment: it names its VIRTDECK_HOME itself.
  const base = files.home ? ['/usr/bin/env', `VIRTDECK_HOME=${files.home}`, ...o.invocation] : o.invocation;
  return {
    writtenOn: o.thisMachine,
    connectsTo: o.remoteHost,
    files,
    virtdeck: o.uri === 'qemu:///system' ? base : [...base, '--connect', o.uri],
  };
}

/** The line a dry-run and the review start with: which machine's schedule changes, and which host it backs up. */
export function schedulePlaceText(p: Pick<SchedulePlace, 'writtenOn' | 'connectsTo'>, kind: SchedulerKind, dryRun: boolean): string {
  const verb = dryRun ? 'Would write' : 'Wrote';
  if (!p.connectsTo) return `${verb} the ${kind} schedule on ${p.writtenOn}:`;
  return `${verb} the ${kind} schedule on this machine (${p.writtenOn}), not on ${p.connectsTo}: at the time set (${p.writtenOn}'s clock) it connects to ${p.connectsTo} and backs up its guests:`;
}

const MARK = '# virtdeck-schedule: ';

export function parseAt(text: string): { hour: number; minute: number } {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw new UserError(`--at ${text} is not a time of day.`, 'Write it as HH:MM in 24-hour host time, for example --at 02:30.');
  return { hour: Number(m[1]), minute: Number(m[2]) };
}

export function parseDays(text: string | undefined): Weekday[] {
  if (!text || text.trim() === '' || text.trim() === 'daily') return [];
  const days = text.split(',').map((d) => d.trim().toLowerCase().slice(0, 3));
  for (const d of days) {
    if (!(WEEKDAYS as readonly string[]).includes(d)) {
      throw new UserError(`--days ${text}: "${d}" is not a weekday.`, 'List days as mon,tue,wed,thu,fri,sat,sun (or leave --days out for every day).');
    }
  }
  // Sorted Monday first, without repeats, so the same schedule always gives the same file.
  const order = (d: string) => (WEEKDAYS.indexOf(d as Weekday) + 6) % 7;
  return [...new Set(days as Weekday[])].sort((a, b) => order(a) - order(b));
}

export function checkSchedule(s: BackupSchedule): BackupSchedule {
  const { hour, minute } = parseAt(s.at);
  if (!s.dest.startsWith('/')) throw new UserError(`The backup destination "${shown(s.dest)}" is not an absolute path.`, 'Give the full path, for example --dest /mnt/backup.');
  // % and $ are escaped for cron and systemd below; a backslash is not, as the two unescape it differently.
  if (hasControlCharacters(s.dest) || s.dest.includes('\\')) {
    throw new UserError(`The backup destination "${shown(s.dest)}" holds a control character or a backslash, which cron and systemd would not pass on as written.`, 'Choose a directory name without them, for example --dest /mnt/backup.');
  }
  for (const t of s.copyTo ?? []) {
    if (!TARGET_NAME.test(t)) throw new UserError(`"${shown(t)}" is not a copy target name.`, 'Give the names of backup.copyTargets in config.json, e.g. --copy-to nas,vault.');
  }
  const copyTo = [...new Set(s.copyTo ?? [])];
  return { at: `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`, days: parseDays(s.days.join(',')), dest: s.dest, ...(copyTo.length > 0 ? { copyTo } : {}), ...(s.drill ? { drill: true } : {}) };
}

/**
 * The shell command both forms run: back up every guest, then prune only if that succeeded, then
 * (with drill) prove the newest runs boot. Prune keeps every run an instant copy (a drill's too)
 * reads, so the order is safe either way; the drill goes last because it takes longest.
 */
export function backupCommand(virtdeck: string[], s: BackupSchedule): string {
  const v = virtdeck.map(shellQuote).join(' ');
  const dest = shellQuote(s.dest);
  const drill = s.drill ? ` && ${v} backup drill --all --dest ${dest}` : '';
  if (!s.copyTo?.length) return `${v} backup run --all --dest ${dest} && ${v} backup prune --dest ${dest}${drill}`;
  // Copied before the local prune, so no run is pruned here before it could leave; a failed copy
  // (the offsite disk away) does not stop the prune, or the destination would fill up.
  const copies = s.copyTo.map((t) => `${v} backup copy --all --dest ${dest} --to ${shellQuote(t)}; `).join('');
  return `${v} backup run --all --dest ${dest} && { ${copies}${v} backup prune --dest ${dest}; }${drill}`;
}

function markLine(s: BackupSchedule): string {
  return `${MARK}${JSON.stringify(s)}`;
}

export function cronExpression(s: BackupSchedule): string {
  const { hour, minute } = parseAt(s.at);
  const dow = s.days.length === 0 ? '*' : s.days.map((d) => WEEKDAYS.indexOf(d)).join(',');
  return `${minute} ${hour} * * ${dow}`;
}

/** cron turns an unescaped % of the command field into a newline (the rest becomes stdin); a backslash before it makes it a literal %. */
export function cronEscape(command: string): string {
  return command.replace(/%/g, '\\%');
}

/** systemd expands %-specifiers and $VARIABLES in ExecStart, quoted or not; `%%` and `$$` are the literal signs. */
export function systemdEscape(line: string): string {
  return line.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

/** /etc/cron.d/virtdeck: system crontab format (with the user field); output appended to a log. */
export function cronFileText(s: BackupSchedule, virtdeck: string[], logFile: string): string {
  return [
    '# Written by virtdeck (`virtdeck backup schedule`); edit with it, not by hand.',
    markLine(s),
    'SHELL=/bin/sh',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    `${cronExpression(s)} root ${cronEscape(`${backupCommand(virtdeck, s)} >> ${shellQuote(logFile)} 2>&1`)}`,
    '',
  ].join('\n');
}

const SYSTEMD_DAY: Record<Weekday, string> = { sun: 'Sun', mon: 'Mon', tue: 'Tue', wed: 'Wed', thu: 'Thu', fri: 'Fri', sat: 'Sat' };

export function onCalendar(s: BackupSchedule): string {
  const days = s.days.length === 0 ? '' : `${s.days.map((d) => SYSTEMD_DAY[d]).join(',')} `;
  return `${days}*-*-* ${s.at}:00`;
}

export function systemdUnits(s: BackupSchedule, virtdeck: string[], logFile: string, serviceUnit = 'virtdeck-backup.service'): { service: string; timer: string } {
  const service = [
    '# Written by virtdeck (`virtdeck backup schedule`); edit with it, not by hand.',
    markLine(s),
    '[Unit]',
    'Description=virtdeck nightly backup of every guest',
    'After=libvirtd.service',
    '',
    '[Service]',
    'Type=oneshot',
    `ExecStart=${systemdEscape(`/bin/sh -c ${shellQuote(`${backupCommand(virtdeck, s)} >> ${shellQuote(logFile)} 2>&1`)}`)}`,
    '',
  ].join('\n');
  const timer = [
    '# Written by virtdeck (`virtdeck backup schedule`); edit with it, not by hand.',
    markLine(s),
    '[Unit]',
    'Description=virtdeck nightly backup timer',
    '',
    '[Timer]',
    `OnCalendar=${onCalendar(s)}`,
    'Persistent=true',
    `Unit=${serviceUnit}`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { service, timer };
}

/** The schedule a file written by virtdeck carries, or null (no mark: not ours or edited away). */
export function readScheduleMark(text: string): BackupSchedule | null {
  const line = text.split('\n').find((l) => l.startsWith(MARK));
  if (!line) return null;
  try {
    const raw = JSON.parse(line.slice(MARK.length)) as BackupSchedule;
    return checkSchedule({ at: String(raw.at), days: Array.isArray(raw.days) ? raw.days : [], dest: String(raw.dest), drill: raw.drill === true, ...(Array.isArray(raw.copyTo) ? { copyTo: raw.copyTo.map(String) } : {}) });
  } catch {
    return null;
  }
}

/**
 * The first time strictly after `from` that the schedule fires, read straight from {at, days} in
 * host local time (as cron and systemd read it). Each calendar day from `from`'s on is tried at
 * `at`; within eight days one is a listed weekday. Local-time arithmetic handles month and year
 * ends; on a spring-forward night a time the clock skips fires when the clock reads past it (02:30
 * → 03:30), and on an autumn night a time the clock passes twice fires once, at the first.
 */
export function nextRun(s: BackupSchedule, from: Date): Date | null {
  const { hour, minute } = parseAt(s.at);
  for (let ahead = 0; ahead <= 7; ahead++) {
    // Weekdays step with calendar days; the fire time itself may be shifted by a DST gap.
    const weekday = WEEKDAYS[(from.getDay() + ahead) % 7] as Weekday;
    if (s.days.length > 0 && !s.days.includes(weekday)) continue;
    const t = new Date(from.getFullYear(), from.getMonth(), from.getDate() + ahead, hour, minute);
    if (t.getTime() > from.getTime()) return t;
  }
  return null; // only for days that are no weekday, which checkSchedule refuses
}
