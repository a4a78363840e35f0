/**
 * One key per turn of the event loop. Over a slow SSH link, on a busy host or from tmux
 * send-keys, several keys reach Node in one read ("\r5": Enter, then 5). Ink hands a run of
 * plain text to every useInput handler as one input, so a dialog waiting for Enter sees "\r5",
 * knows neither key, and both are lost. Even split, the second key would reach the handlers of
 * the screen the first key is closing: handlers are re-bound only after React has rendered.
 *
 * So the input stream is paced: each read hands Ink one key, and the next read waits for a
 * timer, which runs after React's render and effects for the previous key.
 */

const ESC = '\u001B';

const isCsiParam = (c: number) => c >= 0x20 && c <= 0x3f;
const isFinal = (c: number) => c >= 0x40 && c <= 0x7e;

/** Length of the escape sequence at `i` (ESC [ … final, ESC O x, ESC ESC …, ESC x), or 0 when the chunk ends inside it. */
function escapeLength(s: string, i: number): number {
  const kind = s[i + 1];
  if (kind === undefined) return 0;
  if (kind === ESC) {
    // Meta + a sequence (some terminals send Alt-arrow as ESC ESC [ A).
    const inner = escapeLength(s, i + 1);
    return inner === 0 ? 0 : inner + 1;
  }
  if (kind === '[') {
    let j = i + 2;
    if (s[j] === '[') j++; // the Linux console's F1–F5: ESC [ [ A
    for (; j < s.length; j++) {
      const c = s.charCodeAt(j);
      if (isFinal(c)) return j - i + 1;
      if (!isCsiParam(c)) return j - i; // malformed: stop before the odd byte
    }
    return 0;
  }
  if (kind === 'O') return i + 2 < s.length ? 3 : 0;
  // Alt + a character.
  const cp = s.codePointAt(i + 1) as number;
  return cp > 0xffff ? 3 : 2;
}

export interface SplitKeys {
  keys: string[];
  /** The chunk ended inside an escape sequence: its last element is the start of one, the rest is still on the way. */
  partial: boolean;
}

/** A chunk of terminal input as the keys it holds: escape sequences whole, every other character alone. */
export function splitKeys(chunk: string): SplitKeys {
  const keys: string[] = [];
  let i = 0;
  while (i < chunk.length) {
    if (chunk[i] === ESC) {
      const n = escapeLength(chunk, i);
      if (n === 0) return { keys: [...keys, chunk.slice(i)], partial: true };
      keys.push(chunk.slice(i, i + n));
      i += n;
      continue;
    }
    const cp = chunk.codePointAt(i) as number;
    const n = cp > 0xffff ? 2 : 1;
    keys.push(chunk.slice(i, i + n));
    i += n;
  }
  return { keys, partial: false };
}

/** What Ink uses of its input stream, and what pacing needs. */
export interface KeyStream {
  read(size?: number): string | Buffer | null;
  emit(event: 'readable'): boolean;
}

/**
 * How long the start of an escape sequence waits for its rest before it counts as the Escape key
 * (a terminal's "escape time"; tmux uses 500 ms, vim 100). Bytes of one sequence normally arrive
 * together; over a slow link they may not, and an arrow must not turn into Escape, [ and A.
 */
export const ESCAPE_WAIT_MS = 20;

/**
 * Makes `stdin.read()` return one key at a time, each only after a timer has fired since it
 * arrived or since the key before: by then React has rendered for the key before (or for whatever
 * else changed the screen) and re-bound its handlers. The stream itself is always read until it
 * is empty, as a 'readable' stream must be to announce its next data; what Ink may not have yet
 * waits here. Returns the function that puts the stream back as it was (keys still waiting are
 * dropped: they were typed at a console going away).
 */
export function paceKeys(stdin: KeyStream): () => void {
  // biome-ignore lint/suspicious/noExplicitAny: the stream's own read, whatever its exact signature
  const target = stdin as any;
  const ownRead = Object.hasOwn(target, 'read') ? target.read : undefined;
  const original: () => string | Buffer | null = target.read.bind(stdin);
  let waiting = '';
  let holding = false;
  // A timer has fired since the first waiting key arrived (or since the key before it went out).
  let due = false;
  // The waiting text is the start of an escape sequence, and it has had its wait for the rest.
  let escapeWaited = false;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const hold = (ms: number) => {
    holding = true;
    timer = setTimeout(release, ms);
  };
  function release() {
    timer = null;
    holding = false;
    due = waiting !== '';
    if (due) stdin.emit('readable');
  }

  target.read = (): string | Buffer | null => {
    for (let chunk = original(); chunk !== null && chunk !== undefined; chunk = original()) {
      waiting += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    }
    if (holding || waiting === '') return null;
    const { keys, partial } = splitKeys(waiting);
    const lonePartial = partial && keys.length === 1;
    if (!due) {
      hold(0);
      return null;
    }
    if (lonePartial && !escapeWaited) {
      escapeWaited = true;
      hold(ESCAPE_WAIT_MS);
      return null;
    }
    const key = keys[0] as string;
    waiting = waiting.slice(key.length);
    escapeWaited = false;
    hold(0);
    return key;
  };

  return () => {
    if (timer) clearTimeout(timer);
    waiting = '';
    if (ownRead) target.read = ownRead;
    else delete target.read;
  };
}
