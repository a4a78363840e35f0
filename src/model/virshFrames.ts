/**
 * Framing for a long-lived interactive virsh (host/virshChannel.ts). Each question is one line:
 * an `echo` of a start mark, the commands, then an end mark echoed to stderr and to stdout. An
 * answer is what lies between the marks on stdout, and what stderr said since the last end mark.
 *
 * The marks hold a random session word, so text a guest controls (a name, a description in its
 * XML) cannot fake one. They are written in two quoted halves that virsh joins, so the interactive
 * shell echoing the command line back (readline does on a pipe) never shows a whole mark.
 */

export interface Answer {
  stdout: string;
  stderr: string;
}

const SESSION_RE = /^[a-z0-9]{16,}$/;

/** The start ('a') or end ('z') mark of question `seq`. */
export function frameMark(session: string, seq: number, end: 'a' | 'z'): string {
  return `${session}-${seq}-${end}`;
}

function split(mark: string): string {
  const half = Math.floor(mark.length / 2);
  return `"${mark.slice(0, half)}""${mark.slice(half)}"`;
}

/**
 * The line that asks question `seq`. Commands are fixed words and UUIDs (never a guest name: virsh
 * would read its own `;` in one); a line break would end the question early, so it is refused.
 */
export function frameRequest(session: string, seq: number, commands: string[]): string {
  if (!SESSION_RE.test(session)) throw new Error('virsh channel session word must be 16+ lowercase letters or digits');
  for (const c of commands) if (/[\r\n]/.test(c)) throw new Error('a virsh channel command may not hold a line break');
  const end = split(frameMark(session, seq, 'z'));
  // stdout's end mark first: once stderr's has come, the whole answer has been written (a child
  // whose stdout is a file is read then, see virshChannel.ts).
  return `${[`echo ${split(frameMark(session, seq, 'a'))}`, ...commands, `echo ${end}`, `echo --err ${end}`].join('; ')}\n`;
}

/** Collects both streams of the child and hands out complete answers. */
export class FrameReader {
  private out = '';
  private err = '';
  constructor(private readonly session: string) {}

  pushStdout(chunk: string): void {
    this.out += chunk;
  }

  pushStderr(chunk: string): void {
    this.err += chunk;
  }

  /**
   * The answer to question `seq` once both of its end marks have arrived, else null. What came
   * before its start mark on stdout (the banner, prompts, the echoed command line, the tail of an
   * answer nobody waits for any more) is dropped.
   */
  take(seq: number): Answer | null {
    // echo ends each mark with a newline: a mark is the whole rest of its line.
    const start = `${frameMark(this.session, seq, 'a')}\n`;
    const end = `${frameMark(this.session, seq, 'z')}\n`;
    const a = this.out.indexOf(start);
    if (a < 0) return null;
    const z = this.out.indexOf(end, a + start.length);
    const ze = this.err.indexOf(end);
    if (z < 0 || ze < 0) return null;
    const stdout = this.out.slice(a + start.length, z);
    // `echo --err` writes `error: MARK`: the prefix is the mark's, not an answer's.
    const stderr = this.err.slice(0, ze).replace(/error: $/, '');
    this.out = this.out.slice(z + end.length);
    this.err = this.err.slice(ze + end.length);
    return { stdout, stderr };
  }

  /** Whether stderr holds question `seq`'s end mark: the child has written all of that answer. */
  ended(seq: number): boolean {
    return this.err.includes(`${frameMark(this.session, seq, 'z')}\n`);
  }

  /** Drops everything held: after a restart nothing of the old child may reach a new answer. */
  reset(): void {
    this.out = '';
    this.err = '';
  }
}

/**
 * virsh lost its connection (libvirtd restarted, the ssh link of a qemu+ssh URI dropped): its
 * interactive shell says so on stderr and keeps running, answering every command with an error.
 */
export function connectionLost(stderr: string): boolean {
  return /^error: (Disconnected from |Failed to reconnect to the hypervisor|failed to connect to the hypervisor|no valid connection)/m.test(stderr);
}
