/**
 * One refresh round over several hosts: each host's listGuestsWithStats (its usual two virsh
 * processes), all hosts at once, each under its own deadline, so a host that hangs (a dead route,
 * an ssh waiting on a silent peer) costs its own row and never the others' refresh.
 */
import { HostError } from './errors.js';
import type { ExecOptions, Executor } from './exec.js';
import type { HostContext } from './hostContext.js';
import { type GuestsWithStats, listGuestsWithStats } from './virsh.js';

export type HostAnswer = { host: HostContext; ms: number } & ({ ok: true; listed: GuestsWithStats } | { ok: false; error: unknown });

/** How long one host may take to answer a round before it counts as unreachable. */
export const HOST_TIMEOUT_MS = 8_000;

/** The executor with every command also stopped by `deadline`: the process is killed, not just left behind. */
function underDeadline(exec: Executor, deadline: AbortSignal): Executor {
  return {
    get label() {
      return exec.label;
    },
    get local() {
      return exec.local;
    },
    run(argv: string[], opts: ExecOptions = {}) {
      return exec.run(argv, { ...opts, signal: opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline });
    },
    interactive: (argv, opts) => exec.interactive(argv, opts),
  };
}

export function timedOut(host: HostContext, ms: number): HostError {
  return new HostError({
    // The URI last: a narrow screen cuts it, not the news.
    sentence: `${host.name} is unreachable: no answer within ${Math.round(ms / 100) / 10} s from ${host.uri}.`,
    fix: 'Check that the host is up, that its libvirtd runs and that ssh reaches it; virtdeck keeps asking.',
    command: ['virsh', '-c', host.uri, 'list', '--all'],
    stderr: '',
    code: 'host-timeout',
  });
}

/**
 * Lists one host within `timeoutMs`: the answer, or why not (a refusal, an error, the deadline).
 * `reuseXml` as for listGuestsWithStats: the console's poll, so that a host of the all-hosts view
 * costs in steady state what the one-host view costs (its lists and domstats, no dumpxml).
 */
export async function listWithin(host: HostContext, timeoutMs: number, now: () => number = Date.now, opts: { reuseXml?: boolean } = {}): Promise<HostAnswer> {
  const started = Date.now();
  const deadline = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The race settles on time even with an executor that ignores the signal.
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      deadline.abort();
      reject(timedOut(host, timeoutMs));
    }, timeoutMs);
  });
  const bounded: HostContext = { ...host, virshExec: underDeadline(host.virshExec, deadline.signal) };
  try {
    const listed = await Promise.race([listGuestsWithStats(bounded, now, opts), late]);
    return { host, ms: Date.now() - started, ok: true, listed };
  } catch (e) {
    return { host, ms: Date.now() - started, ok: false, error: deadline.signal.aborted ? timedOut(host, timeoutMs) : e };
  } finally {
    clearTimeout(timer);
  }
}

/** Every host at once; the answers come back in the order of `hosts`. Never rejects. */
export function listOnEveryHost(hosts: readonly HostContext[], opts: { timeoutMs?: number; now?: () => number; reuseXml?: boolean } = {}): Promise<HostAnswer[]> {
  return Promise.all(hosts.map((h) => listWithin(h, opts.timeoutMs ?? HOST_TIMEOUT_MS, opts.now, { reuseXml: opts.reuseXml })));
}
