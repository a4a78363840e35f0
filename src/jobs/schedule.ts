/**
 * Installs, reads and removes the backup schedule on this machine: /etc/cron.d/virtdeck where cron
 * is installed, else a systemd timer + service when systemd is PID 1. A remote host's schedule is
 * written here too and connects to the host when it runs (model/schedule.ts, schedulePlace); nothing
 * of it goes over ssh. Files are written under a `root` directory ('/' on a real host; a temp dir in
 * tests) to a temp name and renamed, keeping a .bak of what was there. Also what the Backups pane shows beside it: the next run time and the
 * last run per guest (newest run in the catalog, last result in the engine's log).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { parseLibvirtUri } from '../config/connect.js';
import { stateDir as defaultStateDir } from '../config/paths.js';
import { type Executor, LocalExecutor } from '../host/exec.js';
import type { HostContext } from '../host/hostContext.js';
import {
  type BackupSchedule,
  checkSchedule,
  cronFileText,
  nextRun,
  readScheduleMark,
  type SchedulePlace,
  type SchedulerKind,
  schedulePlace,
  systemdUnits,
} from '../model/schedule.js';
import { UserError } from '../model/userError.js';
import { readCatalog } from './backupCatalog.js';

export interface ScheduleOptions {
  /** Root of the filesystem the files go under (default '/'). */
  root?: string;
  /** Force cron or systemd instead of detecting. */
  kind?: SchedulerKind;
  /** argv that starts this virtdeck (default: the running one). */
  virtdeck?: string[];
  /** Where the scheduled runs' output goes (default STATE/logs/schedule.log). */
  logFile?: string;
  dryRun?: boolean;
  /** The VIRTDECK_HOME whose schedule this is (default: the environment's); names the files. */
  home?: string | null;
  /** systemctl daemon-reload / enable --now (default: only when root is '/'). */
  activate?: boolean;
  /** Runs commands on this machine when the host is remote (default: a LocalExecutor); tests inject one. */
  here?: Executor;
  signal?: AbortSignal;
}

const at = (root: string, rel: string) => posix.join(root, rel);

/** The remote host's name, or null when the URI is this machine's libvirt. */
function remoteHostOf(uri: string): string | null {
  try {
    return parseLibvirtUri(uri).host;
  } catch {
    return null;
  }
}

/** Which machine a host's schedule is on (this one) and which host it backs up: for the sentences around it. */
export function scheduleWhere(host: HostContext, o: ScheduleOptions = {}): { writtenOn: string; connectsTo: string | null } {
  const { place } = placeFor(host, o);
  return { writtenOn: place.writtenOn, connectsTo: place.connectsTo };
}

/** Where the schedule lives and what it runs (this machine, always), and the executor that reaches its files. */
function placeFor(host: HostContext, o: ScheduleOptions): { place: SchedulePlace; exec: Executor } {
  const remoteHost = remoteHostOf(host.uri);
  const place = schedulePlace({
    uri: host.uri,
    remoteHost: remoteHost === null ? null : host.name,
    thisMachine: hostname(),
    home: o.home === undefined ? process.env.VIRTDECK_HOME : o.home,
    invocation: o.virtdeck ?? virtdeckInvocation(),
  });
  // A local host's sysExec is this machine already (and a test's fake); a remote one's is ssh, never used here.
  return { place, exec: remoteHost === null ? host.sysExec : (o.here ?? new LocalExecutor()) };
}

/** The command that starts the running virtdeck from cron: node + the bundle (or bin/virtdeck.js in a checkout). */
export function virtdeckInvocation(argv1: string = process.argv[1] ?? '', node: string = process.execPath): string[] {
  const entry = resolve(argv1);
  if (/\.tsx?$/.test(entry)) {
    const bin = resolve(dirname(entry), '..', '..', 'bin', 'virtdeck.js');
    if (existsSync(bin)) return [node, bin];
  }
  return [node, entry];
}

async function present(exec: Executor, paths: string[], signal?: AbortSignal): Promise<string[]> {
  if (paths.length === 0) return [];
  const r = await exec.run(['sh', '-c', 'for f; do if [ -e "$f" ]; then echo "$f"; fi; done', 'sh', ...paths], { signal });
  return r.stdout.split('\n').filter(Boolean);
}

/** On this machine: cron when installed (the simplest to read and edit), else systemd when it is PID 1, else null. */
export async function detectScheduler(exec: Executor, root = '/', signal?: AbortSignal): Promise<SchedulerKind | null> {
  const found = await present(exec, [at(root, 'usr/sbin/cron'), at(root, 'usr/bin/crontab'), at(root, 'run/systemd/system')], signal);
  if (found.some((f) => f.endsWith('/cron') || f.endsWith('/crontab'))) return 'cron';
  if (found.some((f) => f.endsWith('run/systemd/system'))) return 'systemd';
  return null;
}

export interface InstalledSchedule {
  kind: SchedulerKind;
  schedule: BackupSchedule | null;
  files: string[];
  /** For a remote host: the machine the files are on (this one), and the host the run backs up. */
  writtenOn?: string;
  connectsTo?: string | null;
}

export async function readInstalledSchedule(host: HostContext, o: ScheduleOptions = {}): Promise<InstalledSchedule | null> {
  const root = o.root ?? '/';
  const { place, exec } = placeFor(host, o);
  const n = place.files;
  for (const [kind, files] of [
    ['cron', [at(root, n.cron)]],
    ['systemd', [at(root, n.timer), at(root, n.service)]],
  ] as [SchedulerKind, string[]][]) {
    const there = await present(exec, files, o.signal);
    if (there.length === 0) continue;
    const text = (await exec.run(['cat', '--', there[0] as string], { signal: o.signal })).stdout;
    // Only a remote host's schedule says where it is: a local one is where the host is.
    return { kind, schedule: readScheduleMark(text), files: there, ...(place.connectsTo ? { writtenOn: place.writtenOn, connectsTo: place.connectsTo } : {}) };
  }
  return null;
}

async function writeFileAtomic(exec: Executor, path: string, text: string, signal?: AbortSignal): Promise<void> {
  const script = [
    'set -e',
    'mkdir -p -- "$(dirname -- "$1")"',
    'cat > "$1.virtdeck-tmp"',
    'chmod 644 "$1.virtdeck-tmp"',
    'if [ -e "$1" ]; then cp -p -- "$1" "$1.bak"; fi',
    'mv -f -- "$1.virtdeck-tmp" "$1"',
  ].join('\n');
  await exec.run(['sh', '-c', script, 'sh', path], { input: text, signal });
}

export interface ScheduleChange {
  kind: SchedulerKind;
  schedule: BackupSchedule;
  files: { path: string; content: string }[];
  /** Commands run after writing (systemctl), or that would be. */
  commands: string[][];
  nextRun: Date | null;
  dryRun: boolean;
  /** The machine whose crontab or timers change (this one), and the host the run backs up when it is another. */
  writtenOn?: string;
  connectsTo?: string | null;
}

export async function installSchedule(host: HostContext, wanted: BackupSchedule, o: ScheduleOptions = {}): Promise<ScheduleChange> {
  const root = o.root ?? '/';
  const schedule = checkSchedule(wanted);
  const { place, exec } = placeFor(host, o);
  const kind = o.kind ?? (await detectScheduler(exec, root, o.signal));
  if (!kind) {
    const where = place.connectsTo ? `This machine (${place.writtenOn}), which runs the schedule of ${place.connectsTo},` : 'This host';
    throw new UserError(`${where} has neither cron nor systemd, so virtdeck cannot schedule backups here.`, 'Install cron (apt-get install cron) and run the command again.');
  }
  const n = place.files;
  const virtdeck = place.virtdeck;
  const logFile = o.logFile ?? join(defaultStateDir(), 'logs', 'schedule.log');
  const files =
    kind === 'cron'
      ? [{ path: at(root, n.cron), content: cronFileText(schedule, virtdeck, logFile) }]
      : (() => {
          const u = systemdUnits(schedule, virtdeck, logFile, n.serviceUnit);
          return [
            { path: at(root, n.service), content: u.service },
            { path: at(root, n.timer), content: u.timer },
          ];
        })();
  const activate = o.activate ?? root === '/';
  const commands = kind === 'systemd' && activate ? [['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', n.timerUnit]] : [];
  const change: ScheduleChange = {
    kind,
    schedule,
    files,
    commands,
    nextRun: nextRun(schedule, new Date()),
    dryRun: Boolean(o.dryRun),
    writtenOn: place.writtenOn,
    connectsTo: place.connectsTo,
  };
  if (o.dryRun) return change;
  // The other form is removed, so the host never runs the backup twice.
  const other = kind === 'cron' ? [at(root, n.timer), at(root, n.service)] : [at(root, n.cron)];
  if ((await present(exec, other, o.signal)).length > 0) await removeSchedule(host, { ...o, kind: kind === 'cron' ? 'systemd' : 'cron' });
  await exec.run(['mkdir', '-p', '--', posix.dirname(logFile)], { signal: o.signal });
  for (const f of files) await writeFileAtomic(exec, f.path, f.content, o.signal);
  for (const c of commands) await exec.run(c, { signal: o.signal });
  return change;
}

/** Removes the schedule files (a .bak of each is kept); returns the files removed. */
export async function removeSchedule(host: HostContext, o: ScheduleOptions = {}): Promise<string[]> {
  const root = o.root ?? '/';
  const { place, exec } = placeFor(host, o);
  const n = place.files;
  const candidates = o.kind === 'cron' ? [at(root, n.cron)] : o.kind === 'systemd' ? [at(root, n.timer), at(root, n.service)] : [at(root, n.cron), at(root, n.timer), at(root, n.service)];
  const there = await present(exec, candidates, o.signal);
  if (o.dryRun) return there;
  const activate = o.activate ?? root === '/';
  if (activate && there.some((f) => f.endsWith('.timer'))) {
    await exec.run(['systemctl', 'disable', '--now', n.timerUnit], { signal: o.signal, okExitCodes: [1, 5] });
  }
  for (const f of there) await exec.run(['mv', '-f', '--', f, `${f}.bak`], { signal: o.signal });
  if (activate && there.some((f) => f.endsWith('.timer'))) await exec.run(['systemctl', 'daemon-reload'], { signal: o.signal });
  return there;
}

// ------------------------------------------------------------------ last run per guest

export interface LoggedResult {
  at: string;
  guest: string;
  dest: string;
  ok: boolean;
  /** "ok 20261125T…-full backup-api …" or "failed: sentence". */
  text: string;
}

/** Pure: the engine's log lines ("ISO URI GUEST → DEST: ok RUN …" / "…: failed: …") → last result per guest. */
export function parseBackupLog(text: string): Map<string, LoggedResult> {
  const last = new Map<string, LoggedResult>();
  for (const line of text.split('\n')) {
    const m = /^(\S+) (\S+) (\S+) \u2192 (.*?): (.*)$/.exec(line);
    if (!m) continue;
    const [, when, , guest, dest, what] = m as unknown as [string, string, string, string, string, string];
    last.set(guest, { at: when, guest, dest, ok: what.startsWith('ok '), text: what });
  }
  return last;
}

/** The newest engine logs (STATE/logs/backup-DATE.log), oldest first, so later lines win. */
export function readBackupLogs(state: string = defaultStateDir(), days = 31): Map<string, LoggedResult> {
  const dir = join(state, 'logs');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^backup-\d{4}-\d{2}-\d{2}\.log$/.test(n)).sort().slice(-days);
  } catch {
    return new Map();
  }
  return parseBackupLog(names.map((n) => readFileSync(join(dir, n), 'utf8')).join('\n'));
}

export interface GuestLastRun {
  guest: string;
  /** Newest complete run in the catalog. */
  run: string | null;
  finishedAt: string | null;
  /** Last result the log recorded (a failure after the last good run shows here). */
  logged: LoggedResult | null;
}

export async function lastRuns(host: HostContext, dest: string, o: { stateDir?: string; signal?: AbortSignal } = {}): Promise<GuestLastRun[]> {
  const [catalog, log] = [await readCatalog(host.sysExec, dest, o.signal), readBackupLogs(o.stateDir)];
  const guests = new Set([...catalog.map((c) => c.guest), ...[...log.values()].filter((l) => l.dest === dest).map((l) => l.guest)]);
  return [...guests].sort().map((guest) => {
    const newest = catalog.find((c) => c.guest === guest)?.runs.at(-1);
    return { guest, run: newest?.name ?? null, finishedAt: newest?.manifest.finishedAt ?? null, logged: log.get(guest) ?? null };
  });
}

export interface ScheduleStatus {
  installed: InstalledSchedule | null;
  /** The scheduler of the machine that runs the schedule (this one). */
  scheduler: SchedulerKind | null;
  /** This machine, and the host its runs connect to when that is another one. */
  writtenOn?: string;
  connectsTo?: string | null;
  nextRun: Date | null;
  lastRuns: GuestLastRun[];
}

/** Everything `schedule show` and the Backups pane display. */
export async function scheduleStatus(host: HostContext, o: ScheduleOptions & { stateDir?: string } = {}): Promise<ScheduleStatus> {
  const installed = await readInstalledSchedule(host, o);
  const { place, exec } = placeFor(host, o);
  const scheduler = await detectScheduler(exec, o.root ?? '/', o.signal);
  const next = installed?.schedule ? nextRun(installed.schedule, new Date()) : null;
  const dest = installed?.schedule?.dest;
  const runs = dest ? await lastRuns(host, dest, o).catch(() => []) : [];
  return { installed, scheduler, writtenOn: place.writtenOn, connectsTo: place.connectsTo, nextRun: next, lastRuns: runs };
}
