/**
 * Where libvirt's logs are and how to read or follow them, on the host being managed (through
 * sysExec, so also over SSH): the journal when systemd runs, else /var/log/libvirt/libvirtd.log,
 * and /var/log/libvirt/qemu/GUEST.log per guest. Following keeps one `tail -F` (or `journalctl
 * -f`) alive and hands complete lines over as they come; each line gets its time.
 */
import { HostError } from './errors.js';
import type { Executor } from './exec.js';
import { qemuLogPath } from './virsh.js';

export type LogSource =
  | { kind: 'journal'; units: string[]; label: string }
  | { kind: 'file'; path: string; label: string }
  | { kind: 'none'; label: string; sentence: string; fix: string };

export interface LogLine {
  text: string;
  /** When the line was written: its own timestamp, else the previous line's, else when it arrived. */
  time: Date | null;
  /** The time was taken from an earlier line or the arrival, not from the line itself. */
  timeInherited: boolean;
}

export const LIBVIRTD_LOG_FILE = '/var/log/libvirt/libvirtd.log';
const JOURNAL_UNITS = ['libvirtd', 'virtqemud'];

/** libvirtd logs to the journal under systemd, to a file when configured, else nowhere readable. */
export async function libvirtdLogSource(exec: Executor, signal?: AbortSignal): Promise<LogSource> {
  const r = await exec.run(
    ['sh', '-c', 'if [ -d /run/systemd/system ] && command -v journalctl >/dev/null; then echo journal; elif [ -r "$1" ]; then echo file; else echo none; fi', 'virtdeck-logs', LIBVIRTD_LOG_FILE],
    { signal },
  );
  const kind = r.stdout.trim();
  if (kind === 'journal') return { kind: 'journal', units: JOURNAL_UNITS, label: `journal (${JOURNAL_UNITS.join(', ')})` };
  if (kind === 'file') return { kind: 'file', path: LIBVIRTD_LOG_FILE, label: LIBVIRTD_LOG_FILE };
  return {
    kind: 'none',
    label: 'libvirtd log',
    sentence: `libvirtd keeps no log here: systemd does not run and ${LIBVIRTD_LOG_FILE} does not exist.`,
    fix: `Add log_outputs="3:file:${LIBVIRTD_LOG_FILE}" to /etc/libvirt/libvirtd.conf and restart libvirtd; guest logs (/var/log/libvirt/qemu/) still work.`,
  };
}

export function guestLogSource(name: string): LogSource {
  const path = qemuLogPath(name);
  return { kind: 'file', path, label: path };
}

function noLog(source: Extract<LogSource, { kind: 'none' }>): HostError {
  return new HostError({ sentence: source.sentence, fix: source.fix, command: [], stderr: '', code: 'no-log' });
}

export function readArgv(source: LogSource, lines: number): string[] {
  if (source.kind === 'journal') return ['journalctl', '--no-pager', '-o', 'short-iso', '-n', String(lines), ...source.units.flatMap((u) => ['-u', u])];
  if (source.kind === 'file') return ['tail', '-n', String(lines), source.path];
  throw noLog(source);
}

export function followArgv(source: LogSource, lines: number): string[] {
  if (source.kind === 'journal') return ['journalctl', '--no-pager', '-o', 'short-iso', '-f', '-n', String(lines), ...source.units.flatMap((u) => ['-u', u])];
  // -F keeps following across virtlogd's rotation and a guest log that is recreated at start.
  if (source.kind === 'file') return ['tail', '-F', '-n', String(lines), source.path];
  throw noLog(source);
}

const ISO_STAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?/;
const SYSLOG_STAMP = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}:\d{2}:\d{2}) /;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Pure: the time a log line states at its start (QEMU/libvirtd ISO stamps, journal short-iso, syslog). */
export function lineTime(text: string, now: Date = new Date()): Date | null {
  const iso = text.match(ISO_STAMP);
  if (iso) {
    const zone = iso[4] ? (iso[4] === 'Z' ? 'Z' : iso[4].replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2')) : '';
    const d = new Date(`${iso[1]}T${iso[2]}${iso[3] ?? ''}${zone}`);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  const sys = text.match(SYSLOG_STAMP);
  if (sys) {
    const month = MONTHS.indexOf(sys[1] as string);
    if (month < 0) return null;
    const [h, m, s] = (sys[3] as string).split(':').map(Number);
    const d = new Date(now.getFullYear(), month, Number(sys[2]), h, m, s);
    // A December line read in January belongs to last year.
    if (d.getTime() > now.getTime() + 86_400_000) d.setFullYear(d.getFullYear() - 1);
    return d;
  }
  return null;
}

/** Pure: lines with times; a line without its own stamp (QEMU's stderr) takes the one before it, or `fallback`. */
export function timeLines(texts: string[], fallback: Date | null = null, previous: Date | null = null): LogLine[] {
  let last = previous;
  return texts.map((text) => {
    const own = lineTime(text);
    if (own) {
      last = own;
      return { text, time: own, timeInherited: false };
    }
    return { text, time: last ?? fallback, timeInherited: true };
  });
}

function splitLines(stdout: string): string[] {
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The last `lines` lines of a log. */
export async function readLog(exec: Executor, source: LogSource, lines = 200, signal?: AbortSignal): Promise<LogLine[]> {
  const r = await exec.run(readArgv(source, lines), { signal, timeoutMs: 30_000 });
  return timeLines(splitLines(r.stdout));
}

export interface LogFollower {
  stop(): void;
}

/**
 * Starts following a log: `onLines` receives complete lines (the last `lines` first, then new
 * ones as written); `onEnd` hears when the follower ends by itself (file gone for good, ssh
 * dropped), not after stop().
 */
export function followLog(
  exec: Executor,
  source: LogSource,
  lines: number,
  onLines: (lines: LogLine[]) => void,
  onEnd?: (error: HostError | null) => void,
): LogFollower {
  const controller = new AbortController();
  let pending = '';
  let last: Date | null = null;
  const emit = (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    if (parts.length === 0) return;
    const timed = timeLines(parts, new Date(), last);
    const stamped = [...timed].reverse().find((l) => l.time);
    if (stamped?.time) last = stamped.time;
    onLines(timed);
  };
  let argv: string[];
  try {
    argv = followArgv(source, lines);
  } catch (e) {
    queueMicrotask(() => onEnd?.(e as HostError));
    return { stop: () => undefined };
  }
  exec.run(argv, { timeoutMs: 0, signal: controller.signal, onStdout: emit }).then(
    () => {
      if (!controller.signal.aborted) onEnd?.(null);
    },
    (e: unknown) => {
      if (!controller.signal.aborted) onEnd?.(e instanceof HostError ? e : null);
    },
  );
  return { stop: () => controller.abort() };
}
