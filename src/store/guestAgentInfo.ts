/**
 * What the selected guest says about itself (host/guestAgent.ts), kept out of the refresh: the
 * refresh lists every guest in its own processes and never waits for an agent. Only the selected
 * guest, only while it runs and its strip is on screen, is asked — once the selection has rested a
 * moment (scrolling past ten guests starts no ten queries), at most one query at a time (a new
 * selection aborts the old one), and again only when its answer is older than a short TTL or the
 * guest restarted (a new domain id). A guest whose XML has no agent channel, or whose live XML says
 * no agent opened it, is not asked through the agent at all: only the host's leases and ARP table.
 * Answers of guests the host no longer lists (undefined, renamed, or another guest under the same
 * name) are dropped after each refresh, so a long session keeps only what it can still show.
 */
import type { HostContext } from '../host/hostContext.js';
import { AGENT_TIMEOUT_MS, type AgentSkip, queryGuestAgent } from '../host/guestAgent.js';
import type { GuestRow } from '../host/virsh.js';
import type { GuestAgentInfo } from '../model/guestAgent.js';
import { sameData } from '../model/keptData.js';

export interface AgentInfoOptions {
  host: HostContext;
  /** Publishes the answers (the store's `guestAgent`). */
  publish: (answers: ReadonlyMap<string, GuestAgentInfo>) => void;
  now?: () => number;
  /** How long an answer stands: addresses and file-system use change slowly. */
  ttlMs?: number;
  /** A guest with no agent is asked again sooner: the admin may be installing it right now. */
  silentTtlMs?: number;
  /** How long a selection must rest before its guest is asked. */
  settleMs?: number;
  timeoutMs?: number;
}

interface Cached {
  /** Which guest answered: a guest defined again under the same name is another guest. */
  uuid: string;
  /** The guest's domain id when asked: a restart (new id) makes the answer stale. */
  id: number | null;
  at: number;
  info: GuestAgentInfo;
}

export interface AgentInfoController {
  /** The guest now selected (null: none, or its strip is not shown). */
  select(guest: GuestRow | null): void;
  /**
   * After a refresh: forgets the answers of guests not in `listed` (by name and UUID) and stops a
   * question to one. Returns the answers left when any was dropped (for the refresh's own store
   * update, not one more), null when nothing changed.
   */
  keepOnly(listed: readonly Pick<GuestRow, 'name' | 'uuid'>[]): ReadonlyMap<string, GuestAgentInfo> | null;
  dispose(): void;
}

const RUNNING = new Set(['running', 'idle', 'in shutdown']);

/** What the live XML already tells, so the agent is not asked in vain. */
export function skipFor(guest: Pick<GuestRow, 'agentChannel'>): AgentSkip | undefined {
  if (!guest.agentChannel) return { status: 'no-channel', reason: 'no guest agent channel' };
  if (guest.agentChannel === 'disconnected') return { status: 'silent', reason: 'no agent has opened its channel' };
  return undefined;
}

export function createAgentInfoController(o: AgentInfoOptions): AgentInfoController {
  const now = o.now ?? Date.now;
  const ttlMs = o.ttlMs ?? 30_000;
  const silentTtlMs = o.silentTtlMs ?? 15_000;
  const settleMs = o.settleMs ?? 300;
  const cache = new Map<string, Cached>();
  let inFlight: { name: string; abort: AbortController } | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let disposed = false;

  const answers = () => new Map([...cache].map(([name, c]) => [name, c.info]));
  const publish = () => o.publish(answers());

  const fresh = (guest: GuestRow): boolean => {
    const c = cache.get(guest.name);
    if (!c || c.id !== guest.id) return false;
    // The channel's state changed (an agent started or stopped) since the answer: ask again.
    const wasSkipped = c.info.status !== 'answered';
    if (wasSkipped && guest.agentChannel === 'connected') return false;
    return now() - c.at < (c.info.status === 'answered' ? ttlMs : silentTtlMs);
  };

  const ask = (guest: GuestRow) => {
    const abort = new AbortController();
    inFlight = { name: guest.name, abort };
    queryGuestAgent(o.host, guest.uuid, { signal: abort.signal, timeoutMs: o.timeoutMs ?? AGENT_TIMEOUT_MS, skipAgent: skipFor(guest) }).then(
      (info) => {
        if (inFlight?.abort === abort) inFlight = null;
        if (disposed || abort.signal.aborted) return;
        // The same answer again (a guest with no agent, every 15 s) keeps the shown object and
        // publishes nothing: a new but equal map would re-render the detail strip for no change.
        const before = cache.get(guest.name);
        const same = before !== undefined && sameData(before.info, info);
        cache.set(guest.name, { uuid: guest.uuid.toLowerCase(), id: guest.id, at: now(), info: same ? before.info : info });
        if (!same) publish();
      },
      () => {
        // Cancelled (another guest was selected, or the console quit): nothing to show.
        if (inFlight?.abort === abort) inFlight = null;
      },
    );
  };

  return {
    select(guest) {
      if (disposed) return;
      if (timer) clearTimeout(timer);
      timer = null;
      if (inFlight && inFlight.name !== guest?.name) {
        inFlight.abort.abort();
        inFlight = null;
      }
      if (!guest || !RUNNING.has(guest.state) || !/^[0-9a-f-]{36}$/i.test(guest.uuid)) return;
      if (inFlight || fresh(guest)) return;
      if (settleMs <= 0) ask(guest);
      else {
        timer = setTimeout(() => {
          timer = null;
          if (!disposed && !inFlight) ask(guest);
        }, settleMs);
        timer.unref?.();
      }
    },
    keepOnly(listed) {
      // Every refresh, for 200 guests: only the names it holds an answer or a question for are looked up.
      if (cache.size === 0 && !inFlight) return null;
      const uuidOf = new Map<string, string>();
      for (const g of listed) if (cache.has(g.name) || inFlight?.name === g.name) uuidOf.set(g.name, g.uuid.toLowerCase());
      if (inFlight && !uuidOf.has(inFlight.name)) {
        inFlight.abort.abort();
        inFlight = null;
      }
      let dropped = false;
      for (const [name, c] of cache) {
        if (uuidOf.get(name) === c.uuid) continue;
        cache.delete(name);
        dropped = true;
      }
      return dropped ? answers() : null;
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      inFlight?.abort.abort();
      inFlight = null;
    },
  };
}
