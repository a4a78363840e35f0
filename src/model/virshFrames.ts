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

/**
 * 80 random bits (10 bytes) as 16 base-36 characters, 4 fewer than hex: the interactive virsh reads
 * every character of a question with three system calls, and marks are a third of the steady poll's.
 */
export function markWord(random: Uint8Array): string {
  if (random.length !== 10) throw new Error('a mark word takes 10 random bytes');
  return BigInt(`0x${Buffer.from(random).toString('hex')}`)
    .toString(36)
    .padStart(16, '0');
}

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

/**
 * Collects both streams of the child and hands out complete answers. A domstats answer for 200
 * guests is ~400 KiB in some dozens of pipe chunks: the chunks are kept as they came and joined once,
 * when both end marks of a question have arrived; only each new chunk (with the end of the one
 * before, for a mark cut in two) is searched for marks. Searching the growing whole on every chunk
 * copied it each time (a flat copy per search): a sixth of the console's garbage (bench/top.ts).
 */
export class FrameReader {
  private readonly out = new StreamParts();
  private readonly err = new StreamParts();
  private readonly endMark: RegExp;
  constructor(private readonly session: string) {
    this.endMark = new RegExp(`${session}-(\\d+)-z\n`, 'g');
  }

  pushStdout(chunk: string): void {
    this.out.push(chunk, this.endMark);
  }

  pushStderr(chunk: string): void {
    this.err.push(chunk, this.endMark);
  }

  /**
   * The answer to question `seq` once both of its end marks have arrived, else null. What came
   * before its start mark on stdout (the banner, prompts, the echoed command line, the tail of an
   * answer nobody waits for any more) is dropped.
   */
  take(seq: number): Answer | null {
    if (!this.out.ended.has(seq) || !this.err.ended.has(seq)) return null;
    // echo ends each mark with a newline: a mark is the whole rest of its line.
    const start = `${frameMark(this.session, seq, 'a')}\n`;
    const end = `${frameMark(this.session, seq, 'z')}\n`;
    const out = this.out.joined();
    const err = this.err.joined();
    const a = out.indexOf(start);
    if (a < 0) return null;
    const z = out.indexOf(end, a + start.length);
    const ze = err.indexOf(end);
    if (z < 0 || ze < 0) return null;
    const stdout = out.slice(a + start.length, z);
    // `echo --err` writes `error: MARK`: the prefix is the mark's, not an answer's.
    const stderr = err.slice(0, ze).replace(/error: $/, '');
    this.out.keep(out.slice(z + end.length), seq);
    this.err.keep(err.slice(ze + end.length), seq);
    return { stdout, stderr };
  }

  /** Whether stderr holds question `seq`'s end mark: the child has written all of that answer. */
  ended(seq: number): boolean {
    return this.err.ended.has(seq);
  }

  /** Drops everything held: after a restart nothing of the old child may reach a new answer. */
  reset(): void {
    this.out.keep('', Number.POSITIVE_INFINITY);
    this.err.keep('', Number.POSITIVE_INFINITY);
  }
}

/** One stream's text since the last answer, as it came, and the questions whose end mark it holds. */
class StreamParts {
  private parts: string[] = [];
  /** The end of the stream so far, long enough to complete a mark cut between two chunks. */
  private tail = '';
  readonly ended = new Set<number>();

  push(chunk: string, endMark: RegExp): void {
    this.parts.push(chunk);
    const text = this.tail + chunk;
    for (const m of text.matchAll(endMark)) this.ended.add(Number(m[1]));
    this.tail = text.slice(-MARK_TAIL);
  }

  joined(): string {
    if (this.parts.length > 1) this.parts = [this.parts.join('')];
    return this.parts[0] ?? '';
  }

  /** After an answer: what followed it, and no end marks of it or of questions before it. */
  keep(rest: string, upTo: number): void {
    this.parts = rest ? [rest] : [];
    this.tail = rest.slice(-MARK_TAIL);
    for (const seq of this.ended) if (seq <= upTo) this.ended.delete(seq);
  }
}

/** Longer than any mark line (a session word of some dozens of characters, a sequence number). */
const MARK_TAIL = 128;

/**
 * virsh lost its connection (libvirtd restarted, the ssh link of a qemu+ssh URI dropped): its
 * interactive shell says so on stderr and keeps running, answering every command with an error.
 */
export function connectionLost(stderr: string): boolean {
  return /^error: (Disconnected from |Failed to reconnect to the hypervisor|failed to connect to the hypervisor|no valid connection)/m.test(stderr);
}
