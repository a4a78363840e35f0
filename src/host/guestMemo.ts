/**
 * What the console's refreshes learned of each guest's XML, so that a refresh in steady state
 * asks only the lists and `domstats` (one cheap question) instead of a `dumpxml` per guest.
 *
 * Reusing a guest's XML is safe only while something would say it changed: a `virsh event`
 * stream on the same host (libvirt reports every define, undefine, rename, device and lifecycle
 * change) and the guest's state in this round's domstats, unchanged. Anything else re-reads:
 * any event (a whole round re-reads, as events come in bursts and name guests loosely), no
 * stream watching, an entry learned before the stream had surely connected, or one older than
 * MAX_AGE_MS (a last net under a missed event).
 */
import type { DomainSummary } from '../model/domainSummary.js';
import type { GuestState } from '../model/guest.js';
import type { VirshChannel } from './virshChannel.js';

export interface KnownGuest {
  summary: DomainSummary;
  state: GuestState;
  /** domstats' `state.state` when the XML was read: a start or stop changes it (and the XML). */
  statsState: string | undefined;
  at: number;
}

/**
 * libvirt sends events on the stream's own connection, and a lost connection ends the stream (and
 * with it all reuse), so this bounds only the unforeseen. Each full re-read costs a dumpxml and a
 * parse per guest (a third of a second at 200 guests), so it is not done every 30 s.
 */
const MAX_AGE_MS = 120_000;
/** `virsh event` connects and registers after it starts: a change meanwhile would go unheard. */
const WATCH_SETTLE_MS = 2_000;

export class GuestMemo {
  private readonly known = new Map<string, KnownGuest>();
  private watchingSince: number | null = null;
  private stale = true;

  watchStarted(at: number): void {
    this.watchingSince = at;
  }

  watchEnded(): void {
    this.watchingSince = null;
  }

  /** An event arrived: the next round re-reads every guest. */
  changed(): void {
    this.stale = true;
  }

  /**
   * Starts a refresh round at `at`: returns which remembered guest (by UUID) may be reused, given
   * the state domstats reports now for its name. An event during the round marks the next one stale.
   */
  round(at: number): (uuid: string, statsStateOf: (name: string) => string | undefined) => KnownGuest | null {
    const since = this.watchingSince;
    const trusted = since !== null && !this.stale;
    this.stale = false;
    return (uuid, statsStateOf) => {
      const k = trusted ? this.known.get(uuid) : undefined;
      if (!k || since === null) return null;
      if (k.at < since + WATCH_SETTLE_MS || at - k.at > MAX_AGE_MS) return null;
      return k.statsState !== undefined && statsStateOf(k.summary.name) === k.statsState ? k : null;
    };
  }

  remember(uuid: string, k: KnownGuest): void {
    this.known.set(uuid, k);
  }

  /** Forgets guests no longer listed. */
  keepOnly(uuids: Set<string>): void {
    for (const u of this.known.keys()) if (!uuids.has(u)) this.known.delete(u);
  }
}

// Per long-lived virsh, so per console session: the CLI (no channel) always reads everything.
const memos = new WeakMap<VirshChannel, GuestMemo>();

export function guestMemo(channel: VirshChannel | null | undefined): GuestMemo | null {
  if (!channel) return null;
  let m = memos.get(channel);
  if (!m) {
    m = new GuestMemo();
    memos.set(channel, m);
  }
  return m;
}
