/**
 * One long-lived interactive `virsh -c URI` per host connection, so that a refresh starts no
 * process and opens no connection: questions go in on stdin, answers are cut out of its output
 * by random marks (model/virshFrames.ts). virsh runs on this machine for every URI (qemu+ssh://
 * does its own remoting), so the executor is always a local one.
 *
 * Nothing here can wedge the console: a question that is not answered in time kills the child
 * and fails, and so does a child that died or lost its connection; the next question starts a
 * new one. Callers fall back to a one-shot virsh for the round that failed (virsh.ts).
 */
import { randomBytes } from 'node:crypto';
import { type Answer, connectionLost, FrameReader, frameRequest, markWord } from '../model/virshFrames.js';
import { HostError } from './errors.js';
import type { Executor, LiveChild } from './exec.js';

export type { Answer };

export interface VirshChannel {
  /** Runs the commands in the channel's virsh, one question at a time; see virshFrames.ts for what they may hold. */
  ask(commands: string[], opts?: { timeoutMs?: number }): Promise<Answer>;
  /** Kills the child and refuses every later question (the console quit). */
  close(): Promise<void>;
  /** The running child's pid, or null between children. */
  readonly pid: number | null;
  /** Children started so far: 1 in steady state, one more per restart. */
  readonly starts: number;
}

/** Long enough for domstate + dumpxml of some hundreds of guests on a loaded host. */
const DEFAULT_TIMEOUT_MS = 15_000;

interface Pending {
  seq: number;
  settle: (e: HostError | null, a?: Answer) => void;
}

/** A channel over `exec`, or null when the executor cannot hold a long-lived child (tests' fake hosts). */
export function openVirshChannel(uri: string, exec: Executor, opts: { timeoutMs?: number } = {}): VirshChannel | null {
  if (!exec.spawn) return null;
  const argv = ['virsh', '-c', uri];
  // 80 bits: unguessable to text a guest controls. Short, as the interactive shell reads its input
  // a byte at a time (readline): every character of a question costs virsh some 3 µs of CPU.
  const session = markWord(randomBytes(10));
  const reader = new FrameReader(session);
  let child: LiveChild | null = null;
  let pending: Pending | null = null;
  let seq = 0;
  let starts = 0;
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  // What the child said last on stderr, for the error when it ends (a refused connection).
  let lastErr = '';

  const failure = (sentence: string, stderr = '', code = 'virsh-channel'): HostError =>
    new HostError({ sentence, fix: 'Nothing to do: virtdeck asks again with a new virsh.', command: argv, stderr, code });

  const drop = (c: LiveChild) => {
    if (child !== c) return;
    child = null;
    reader.reset();
    c.kill();
  };

  const deliver = () => {
    if (!pending || !child) return;
    if (child.drainStdout) {
      // Its stdout is a file, read once the question is over (virsh then only waits for input).
      if (!reader.ended(pending.seq)) return;
      reader.pushStdout(child.drainStdout());
    }
    const answer = reader.take(pending.seq);
    if (answer) pending.settle(null, answer);
  };

  const start = (): LiveChild => {
    const spawn = exec.spawn;
    if (!spawn) throw failure('This executor cannot keep a virsh running.');
    starts++;
    reader.reset();
    lastErr = '';
    const c = spawn(argv, {
      // Interactive virsh writes every line and every newline on its own: through a pipe each
      // write woke this process, which then cost about as much CPU as virsh itself.
      stdoutToFile: true,
      onStdout: (s) => {
        if (child !== c) return;
        reader.pushStdout(s);
        deliver();
      },
      onStderr: (s) => {
        if (child !== c) return;
        lastErr = (lastErr + s).slice(-2_000);
        reader.pushStderr(s);
        deliver();
      },
    });
    child = c;
    void c.exited.then((code) => {
      if (child !== c) return;
      child = null;
      reader.reset();
      pending?.settle(failure(`The long-lived virsh ended (exit code ${code}).`, lastErr));
    });
    return c;
  };

  const askNow = (commands: string[], timeoutMs: number): Promise<Answer> => {
    if (closed) return Promise.reject(failure('virtdeck has quit, so its virsh channel takes no more questions.', '', 'cancelled'));
    const c = child ?? start();
    const mySeq = ++seq;
    const line = frameRequest(session, mySeq, commands);
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        drop(c);
        settle(failure(`The long-lived virsh did not answer within ${timeoutMs} ms.`, '', 'timed-out'));
      }, timeoutMs);
      timer.unref?.();
      function settle(e: HostError | null, a?: Answer) {
        if (pending?.seq !== mySeq) return;
        pending = null;
        clearTimeout(timer);
        if (e) return reject(e);
        const answer = a as Answer;
        if (connectionLost(answer.stderr)) {
          // virsh keeps its shell open without a connection; a new child connects afresh.
          drop(c);
          return reject(failure('The long-lived virsh lost its connection to libvirt.', answer.stderr, 'connection-lost'));
        }
        resolve(answer);
      }
      pending = { seq: mySeq, settle };
      c.write(line);
    });
  };

  return {
    ask(commands, o = {}) {
      const p = queue.then(() => askNow(commands, o.timeoutMs ?? opts.timeoutMs ?? DEFAULT_TIMEOUT_MS));
      queue = p.catch(() => {});
      return p;
    },
    async close() {
      closed = true;
      const c = child;
      if (!c) return;
      drop(c);
      pending?.settle(failure('virtdeck has quit, so its virsh channel takes no more questions.', '', 'cancelled'));
      await c.exited;
    },
    get pid() {
      return child?.pid ?? null;
    },
    get starts() {
      return starts;
    },
  };
}
