/**
 * Stopping a command that runs on another host. Killing the local ssh client does not stop the
 * remote side: sshd only notices when the command next writes, so a quiet `qemu-img convert`
 * keeps writing the file a job's undo is about to remove. So every remote command runs as the
 * leader of its own process group and announces that group on stderr before it starts; a cancel
 * then signals the whole group over a second, short ssh. Pure: only strings and a stream filter.
 */
import { shellQuote } from '../model/shellQuote.js';

/** The one line the remote side writes to stderr before the command; never shown to anyone. */
export const PGID_MARKER = 'virtdeck-pgid';

const ANNOUNCE_AND_RUN = `printf '${PGID_MARKER} %s\\n' "$$" >&2; exec "$@"`;

/*
 * sshd runs a command without a tty as a session leader, so the shell is already the leader of a
 * group of its own (field 5 of /proc/$$/stat is the group) and exec keeps that group: no extra
 * process. Only where that is not so does setsid(1) make one, with -w so the exit status still
 * travels back.
 */
const LEAD_GROUP = [
  // A remote command does not inherit virtdeck's umask: what it writes there is private too.
  'umask 077',
  '{ read -r _ _ _ _ g _ </proc/$$/stat; } 2>/dev/null',
  `if [ "$g" = "$$" ]; then ${ANNOUNCE_AND_RUN}; fi`,
  `exec setsid -w sh -c ${shellQuote(ANNOUNCE_AND_RUN)} sh "$@"`,
].join('; ');

/** The line handed to the remote login shell: argv runs unchanged (exec), every word quoted. */
export function remoteCommandLine(argv: string[]): string {
  return ['exec', 'sh', '-c', LEAD_GROUP, 'sh', ...argv].map(shellQuote).join(' ');
}

export interface StopTiming {
  /** How long the group has after TERM before it gets KILL. */
  graceMs: number;
  /** How long after KILL virtdeck still waits (a process in uninterruptible I/O) before it gives up. */
  afterKillMs: number;
}

export const DEFAULT_STOP_TIMING: StopTiming = { graceMs: 5_000, afterKillMs: 30_000 };

const POLL_MS = 100;

/*
 * dash's kill builtin takes no `--`, but a negative number right after the signal name is read as a
 * group. Exits 0 once no process of the group is left (also when there was none), 1 on giving up.
 */
const STOP_GROUP = [
  'kill -TERM -"$1" 2>/dev/null || exit 0',
  'n=0',
  'while kill -0 -"$1" 2>/dev/null',
  'do n=$((n + 1))',
  'if [ "$n" -eq "$2" ]; then kill -KILL -"$1" 2>/dev/null; fi',
  'if [ "$n" -ge "$3" ]; then exit 1; fi',
  `sleep ${POLL_MS / 1000}`,
  'done',
].join('; ');

/** A group id that is safe to signal: `kill -TERM -1` (or -0) would hit every process of the user. */
export function isSignalableGroup(pgid: number): boolean {
  return Number.isSafeInteger(pgid) && pgid > 1;
}

/** The line that stops a remote group: TERM, KILL after the grace period, and waits until it is gone. */
export function remoteStopCommandLine(pgid: number, timing: StopTiming = DEFAULT_STOP_TIMING): string {
  if (!isSignalableGroup(pgid)) throw new Error(`refusing to signal process group ${pgid}`);
  const killAt = Math.max(1, Math.ceil(timing.graceMs / POLL_MS));
  const giveUpAt = killAt + Math.max(1, Math.ceil(timing.afterKillMs / POLL_MS));
  return ['sh', '-c', STOP_GROUP, 'sh', String(pgid), String(killAt), String(giveUpAt)].map(shellQuote).join(' ');
}

const MARKER_LINE = new RegExp(`^${PGID_MARKER} (\\d+)$`);

/**
 * Takes the marker line out of a remote stderr stream and keeps the group id. Text before the
 * marker (a login script's noise) passes through; so does everything after it, untouched.
 */
export class PgidMarkerFilter {
  pgid: number | null = null;
  private pending = '';
  private found = false;
  constructor(private readonly onPgid?: (pgid: number) => void) {}

  /** Returns the part of chunk that belongs to the command's own stderr. */
  push(chunk: string): string {
    if (this.found) return chunk;
    this.pending += chunk;
    let out = '';
    for (;;) {
      const nl = this.pending.indexOf('\n');
      if (nl < 0) return out;
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      const m = MARKER_LINE.exec(line);
      const pgid = m ? Number(m[1]) : Number.NaN;
      if (m && isSignalableGroup(pgid)) {
        this.found = true;
        this.pgid = pgid;
        this.onPgid?.(pgid);
        const rest = this.pending;
        this.pending = '';
        return out + rest;
      }
      out += `${line}\n`;
    }
  }

  /** What is still held back at the end of the stream (an unfinished line before any marker). */
  end(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}

/** The same filtering over a whole stderr text, for the buffered result. */
export function withoutPgidMarker(stderr: string): string {
  const f = new PgidMarkerFilter();
  return f.push(stderr) + f.end();
}
