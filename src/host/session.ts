/**
 * The console's hold on a host: every command the console starts goes through it, so quitting
 * can stop them all at once. close() aborts what is in flight — an SshExecutor then stops the
 * remote process group (remoteGroup.ts), a local child is killed — and refuses every command
 * asked for afterwards without starting it, so a refresh round, a pane's next read or a poll that
 * fires late cannot reach the host once the admin has quit. Jobs that must outlive the console run
 * in workers with hosts of their own (jobs/detached.ts), never through a session.
 */
import { setMaxListeners } from 'node:events';
import { HostError } from './errors.js';
import type { ExecOptions, ExecResult, Executor, LiveChild, SpawnOptions } from './exec.js';
import type { HostContext } from './hostContext.js';
import { openVirshChannel } from './virshChannel.js';

export interface HostSession {
  host: HostContext;
  /** Commands started and not yet settled (the long-lived virsh not counted: it is there as long as the session). */
  inFlight(): number;
  /** Aborts every command in flight, refuses new ones; resolves once those in flight have settled (their remote groups stopped). */
  close(): Promise<void>;
  readonly closed: boolean;
}

function refused(argv: string[], label: string): HostError {
  return new HostError({
    sentence: `virtdeck has quit, so ${argv[0] ?? 'the command'} was not started on ${label}.`,
    fix: 'Nothing to do.',
    command: argv,
    stderr: '',
    code: 'cancelled',
  });
}

export function hostSession(host: HostContext): HostSession {
  const stop = new AbortController();
  // Every command in flight listens to it: a busy pane's reads are many at once, not a leak.
  setMaxListeners(0, stop.signal);
  const running = new Set<Promise<unknown>>();
  const live = new Set<LiveChild>();

  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    const done = () => running.delete(p);
    p.then(done, done);
    return p;
  };

  // The executor is looked up at each call, not captured: whoever holds the host object sees it
  // as it is now (tests swap an executor in on the fake host after the console was made).
  const wrap = (executor: () => Executor): Executor => ({
    get label() {
      return executor().label;
    },
    get local() {
      return executor().local;
    },
    run(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
      const inner = executor();
      if (stop.signal.aborted) return Promise.reject(refused(argv, inner.label));
      // One signal per command, stopped by the caller's or the session's; its listeners go when
      // it settles (the console lives for days, refreshing every few seconds).
      const own = new AbortController();
      const onAbort = () => own.abort();
      const sources = [stop.signal, ...(opts.signal ? [opts.signal] : [])];
      for (const s of sources) s.addEventListener('abort', onAbort, { once: true });
      if (opts.signal?.aborted) own.abort();
      const p = inner.run(argv, { ...opts, signal: own.signal });
      const detach = () => {
        for (const s of sources) s.removeEventListener('abort', onAbort);
      };
      p.then(detach, detach);
      return track(p);
    },
    interactive(argv: string[], opts?: { env?: Record<string, string> }): Promise<number> {
      const inner = executor();
      if (stop.signal.aborted) return Promise.reject(refused(argv, inner.label));
      return inner.interactive(argv, opts);
    },
    get spawn() {
      const inner = executor();
      if (!inner.spawn) return undefined;
      return (argv: string[], opts: SpawnOptions): LiveChild => {
        if (stop.signal.aborted) throw refused(argv, inner.label);
        const child = inner.spawn?.(argv, opts) as LiveChild;
        live.add(child);
        const gone = () => live.delete(child);
        child.exited.then(gone, gone);
        return child;
      };
    },
  });

  const sys = wrap(() => host.sysExec);
  const virsh = wrap(() => host.virshExec);
  // The refresh's long-lived virsh belongs to the session: quitting ends it with everything else.
  const channel = openVirshChannel(host.uri, virsh);
  return {
    host: { ...host, sysExec: sys, virshExec: virsh, virshChannel: channel },
    inFlight: () => running.size,
    get closed() {
      return stop.signal.aborted;
    },
    async close() {
      stop.abort();
      const children = [...live];
      for (const c of children) c.kill();
      await Promise.allSettled([...running, channel?.close(), ...children.map((c) => c.exited)]);
    },
  };
}
