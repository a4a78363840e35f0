/**
 * One guestfish launch whose later commands depend on what it answered earlier (the roots
 * inspect-os finds, the filesystems an image holds), without ever feeding its answers back to it
 * as script text.
 *
 * guestfish reads its script from stdin line by line and flushes its output after every command,
 * so the script is written in rounds: each round's commands, then an echo of a marker with a
 * random nonce (the guest cannot print it first), and the next round is composed in TypeScript
 * from everything printed so far once that marker appears. Every word of a later round goes
 * through gfWord, so a name from the image stays one argument. This replaces the `cmd | sed > f`
 * + `<! cat f` idiom, which turned guest-chosen names into script lines (a btrfs subvolume called
 * `x | touch /root.owned` ran that on the host). A second appliance launch would also be safe but
 * costs 15–60 s; `guestfish --listen` (guestfsBrowse.ts) costs a host process per command and
 * leaves a server behind when virtdeck is killed.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { gfScript } from '../model/guestfishWords.js';
import type { ExecOptions, ExecResult, Executor } from './exec.js';

/** The commands of one round, from what guestfish printed before it (all earlier rounds' output). */
export type GuestfishRound = (stdoutSoFar: string) => string[][];

export interface ConversationOptions extends Pick<ExecOptions, 'env' | 'signal' | 'timeoutMs' | 'okExitCodes'> {}

/** A marker no guest can predict, for `echo` lines that split guestfish's output. */
export function newMark(prefix = 'virtdeck'): string {
  return `@@${prefix}-${randomBytes(6).toString('hex')}@@`;
}

/**
 * The lines after each `MARK name` line of a run's output, up to the next line of the same marker
 * or a conversation round's end marker: how every batched guestfish run is read back.
 */
export function markedSections(stdout: string, mark: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${mark} `)) {
      current = [];
      out.set(line.slice(mark.length + 1), current);
    } else if (line.startsWith('@@virtdeck-round-')) current = null;
    else if (current && line.trim() !== '') current.push(line.trim());
  }
  return out;
}

function hasLine(text: string, line: string): boolean {
  return text.startsWith(`${line}\n`) || text.includes(`\n${line}\n`);
}

/**
 * Runs argv (a guestfish with its disks added, reading its script from stdin) through the rounds:
 * the first is written at once, each next one when the previous round's end marker is printed,
 * and stdin is closed after the last. Resolves like exec.run when guestfish exits.
 */
export async function guestfishConversation(exec: Executor, argv: string[], rounds: GuestfishRound[], opts: ConversationOptions = {}): Promise<ExecResult> {
  const mark = newMark('virtdeck-round');
  const stdin = new PassThrough();
  let stdout = '';
  let next = 0;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stdin.end();
  };
  const send = () => {
    const round = rounds[next] as GuestfishRound;
    const text = gfScript([...round(stdout), ['echo', mark, String(next)]]);
    next++;
    stdin.write(text);
    if (next === rounds.length) close();
  };
  // A round that throws (a name gfWord refuses) ends the script there; its error is the result.
  let failure: unknown = null;
  const onStdout = (chunk: string) => {
    stdout += chunk;
    try {
      // One round at a time: the next is written only after guestfish finished the one before.
      while (!closed && next < rounds.length && hasLine(stdout, `${mark} ${next - 1}`)) send();
    } catch (e) {
      failure ??= e;
      close();
    }
  };
  if (rounds.length === 0) close();
  else send();
  try {
    const r = await exec.run(argv, { ...opts, inputStream: stdin, onStdout });
    if (failure) throw failure;
    return r;
  } finally {
    close();
  }
}
