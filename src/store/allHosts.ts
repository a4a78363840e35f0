/**
 * The all-hosts view's hosts: this one (the console's own, whose round also feeds every other
 * pane) and each other host of the config file, each reached through a session of its own so
 * quitting stops their commands too. A host whose URI cannot be used stays in the list as
 * unreachable with its refusal: the admin sees it rather than a host silently missing.
 */
import type { HostEntry } from '../config/config.js';
import type { HostOptions } from '../config/connect.js';
import { resolveHost } from '../config/resolveHost.js';
import type { HostContext } from '../host/hostContext.js';
import type { HostAnswer } from '../host/hostRound.js';
import { hostSession } from '../host/session.js';
import { type GuestsWithStats, watchEvents } from '../host/virsh.js';
import { computeUsage, type GuestUsage, type UsageSample } from '../model/usage.js';
import { recordUsage, type UsageHistory } from '../model/usageHistory.js';
import { UserError } from '../model/userError.js';
import { rowKey } from './selectors.js';
import { toShownError } from './shownError.js';
import type { HostState, ListedGuest } from './types.js';

/** Pure: the config file's hosts other than `here` (same URI and name), each name once. */
export function otherHosts(here: { name: string; uri: string }, entries: readonly HostEntry[]): HostEntry[] {
  const seen = new Set([here.name]);
  const out: HostEntry[] = [];
  for (const e of entries) {
    if (e.uri === here.uri || seen.has(e.name)) continue;
    seen.add(e.name);
    out.push(e);
  }
  return out;
}

export interface FleetMember {
  name: string;
  uri: string;
  /** null when its URI was refused (the refusal says why). */
  host: HostContext | null;
  refusal: UserError | null;
}

/** Per host: the last counters and the usage history, so each host's rates come from its own samples. */
interface HostUsage {
  last: UsageSample | null;
  history: UsageHistory;
}

export interface Fleet {
  /** The other hosts, in the config file's order. */
  members: FleetMember[];
  /** The context of a host of the view by name (this host's included); null for an unknown or refused one. */
  contextOf(name: string): HostContext | null;
  /** Usage of one host's last round, computed against its previous sample. */
  usageOf(host: string, listed: GuestsWithStats, minRateMs: number, capacity: number): ReadonlyMap<string, GuestUsage> | null;
  history(host: string): UsageHistory | undefined;
  /**
   * Keeps a `virsh event` stream on that member (one at a time; a stream that ended is started
   * again): what lets its poll reuse guests' XML as this host's does (host/guestMemo.ts), so each
   * host of the view costs what one host costs. Asked after a round the host answered, so a host
   * that does not answer gets no new watcher every round.
   */
  watch(name: string, onEvent: () => void): void;
  close(): Promise<void>;
}

export function createFleet(here: HostContext, entries: readonly HostEntry[], connect: (target: HostOptions) => HostContext): Fleet {
  const sessions: { close(): Promise<void> }[] = [];
  const members: FleetMember[] = otherHosts(here, entries).map((e) => {
    try {
      const target = resolveHost(e.name, entries, 'the config file');
      if (target instanceof UserError) return { name: e.name, uri: e.uri, host: null, refusal: target };
      const session = hostSession(connect(target));
      sessions.push(session);
      // The view names it as the config file does, whatever the URI's host part.
      return { name: e.name, uri: e.uri, host: { ...session.host, name: e.name }, refusal: null };
    } catch (err) {
      const refusal = err instanceof UserError ? err : new UserError(`virtdeck cannot reach ${e.name} (${e.uri}).`, 'Correct its entry under "hosts" in the config file.');
      return { name: e.name, uri: e.uri, host: null, refusal };
    }
  });
  const usage = new Map<string, HostUsage>();
  const watchers = new Map<string, () => void>();
  let closed = false;
  return {
    members,
    contextOf(name) {
      if (name === here.name) return here;
      return members.find((m) => m.name === name)?.host ?? null;
    },
    usageOf(host, listed, minRateMs, capacity) {
      const u = usage.get(host) ?? { last: null, history: new Map() };
      usage.set(host, u);
      if (u.last && listed.stats.at - u.last.at < minRateMs) return null;
      const next = computeUsage(u.last, listed.stats, listed.hostCpus ?? 0);
      u.last = listed.stats;
      recordUsage(u.history, next, capacity);
      return next;
    },
    history: (host) => usage.get(host)?.history,
    watch(name, onEvent) {
      const m = members.find((x) => x.name === name);
      if (closed || !m?.host || watchers.has(name)) return;
      let stop: (() => void) | null = null;
      const ended = () => {
        if (watchers.get(name) === stop) watchers.delete(name);
      };
      try {
        stop = watchEvents(m.host, onEvent, ended);
      } catch {
        return; // its poll reads every guest, as without a stream
      }
      watchers.set(name, stop);
    },
    async close() {
      closed = true;
      for (const stop of watchers.values()) stop();
      watchers.clear();
      await Promise.all(sessions.map((s) => s.close()));
    },
  };
}

/** Pure: one host's state row from its answer, or from its refusal when it was never asked. */
export function hostStateOf(name: string, uri: string, answer: HostAnswer | null, refusal: UserError | null): HostState {
  if (refusal) return { name, uri, answered: false, error: toShownError(refusal), guests: 0, ms: null };
  if (!answer) return { name, uri, answered: null, error: null, guests: 0, ms: null };
  if (answer.ok) return { name, uri, answered: true, error: null, guests: answer.listed.guests.length, ms: answer.ms };
  return { name, uri, answered: false, error: toShownError(answer.error), guests: 0, ms: answer.ms };
}

/** Pure: the rows of every host that answered, each tagged with its host, in the order of `hosts`, by name within one. */
export function tagRows(answers: readonly { host: string; guests: readonly ListedGuest[] }[]): ListedGuest[] {
  return answers.flatMap((a) => [...a.guests].sort((x, y) => x.name.localeCompare(y.name)).map((g) => ({ ...g, host: a.host })));
}

/** Pure: the usage of every host merged under rowKey(host, name). */
export function mergeUsage(perHost: readonly { host: string; usage: ReadonlyMap<string, GuestUsage> }[]): Map<string, GuestUsage> {
  const out = new Map<string, GuestUsage>();
  for (const h of perHost) for (const [name, u] of h.usage) out.set(rowKey(h.host, name), u);
  return out;
}

/** Pure: "2/3 hosts" for the header, null while fewer than two hosts are listed or none has answered yet. */
export function hostsAnswering(states: readonly HostState[]): string | null {
  if (states.length < 2 || states.every((s) => s.answered === null)) return null;
  return `${states.filter((s) => s.answered).length}/${states.length} hosts`;
}
