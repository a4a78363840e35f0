/**
 * What the console's refreshes learned of each guest's XML, so that a refresh in steady state
 * asks only the autostart list and `domstats` (one short question) instead of the guest lists
 * and a `dumpxml` per guest.
 *
 * Reusing a guest's XML is safe only while something would say it changed: a `virsh event`
 * stream on the same host (libvirt reports every define, undefine, rename, device and lifecycle
 * change) and the guest's state in this round's domstats, unchanged (a shut-off guest: still not
 * among the running ones, which are all a steady round's domstats names). Anything else re-reads:
 * any event (a whole round re-reads, as events come in bursts and name guests loosely), no
 * stream watching, an entry learned before the stream had surely connected, or one older than
 * MAX_AGE_MS (a last net under a missed event).
 */
import type { DomainSummary } from '../model/domainSummary.js';
import type { GuestRow, GuestState } from '../model/guest.js';
import { type DomStatFields, DomstatsParser } from '../model/usage.js';
import type { VirshChannel } from './virshChannel.js';

export interface KnownGuest {
  summary: DomainSummary;
  state: GuestState;
  /** domstats' `state.state` when the XML was read: a start or stop changes it (and the XML). */
  statsState: string | undefined;
  at: number;
  /**
   * Not transient, as the last listing said: only a define or an undefine changes it, and both are
   * events, so a trusted round need not list transient guests again.
   */
  persistent: boolean;
  /** The row last built from it: handed out again while autostart and persistence are the same. */
  row?: GuestRow;
}

/** The host's size (nodeinfo): it changes only with hardware, bounded like the XML by MAX_AGE_MS. */
export interface KnownNode {
  hostCpus: number | null;
  hostMemKiB: number | null;
  at: number;
}

/** What a refresh round may take from the memo. */
export interface MemoRound {
  /**
   * Nothing was heard since the last round and the stream watches: the round may skip listing
   * guests and asking nodeinfo, and check its domstats names against `byName` instead.
   */
  readonly trusted: boolean;
  /** The remembered guest with this UUID if it may be reused, given the state domstats reports now for it. */
  reuse(uuid: string, statsState: string | undefined): KnownGuest | null;
  /** Every remembered guest by UUID (none when the round is not trusted). */
  guests(): ReadonlyMap<string, KnownGuest>;
  /** The shut-off guests' domstats (state only) as last asked, by name: a steady round asks only the running ones'. */
  readonly shutOffStats: ReadonlyMap<string, DomStatFields>;
  /** The remembered nodeinfo, when the round is trusted and it is young enough. */
  node(): KnownNode | null;
}

/**
 * libvirt sends events on the stream's own connection, and a lost connection ends the stream (and
 * with it all reuse), so this bounds only the unforeseen. Each full re-read costs a dumpxml and a
 * parse per guest (a third of a second at 200 guests), so it is not done every 30 s.
 */
const MAX_AGE_MS = 120_000;
/** `virsh event` connects and registers after it starts: a change meanwhile would go unheard. */
const WATCH_SETTLE_MS = 2_000;
const NONE: ReadonlyMap<string, KnownGuest> = new Map();

export class GuestMemo {
  /** Each poll's domstats, parsed only where a guest's lines changed. */
  readonly domstats = new DomstatsParser();
  private readonly known = new Map<string, KnownGuest>();
  private watchingSince: number | null = null;
  private stale = true;
  private knownNode: KnownNode | null = null;
  private shutOff: ReadonlyMap<string, DomStatFields> = new Map();

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
   * Starts a refresh round at `at`: what of the remembered guests (by UUID) may be reused, given
   * the state domstats reports now for each name. An event during the round marks the next one stale.
   */
  round(at: number): MemoRound {
    const since = this.watchingSince;
    const trusted = since !== null && !this.stale;
    this.stale = false;
    const reuse = (uuid: string, statsState: string | undefined): KnownGuest | null => {
      const k = trusted ? this.known.get(uuid) : undefined;
      if (!k || since === null) return null;
      if (k.at < since + WATCH_SETTLE_MS || at - k.at > MAX_AGE_MS) return null;
      return k.statsState !== undefined && statsState === k.statsState ? k : null;
    };
    return {
      trusted,
      reuse,
      guests: () => (trusted ? this.known : NONE),
      shutOffStats: this.shutOff,
      node: () => {
        const n = this.knownNode;
        return trusted && since !== null && n && n.at >= since && at - n.at <= MAX_AGE_MS ? n : null;
      },
    };
  }

  remember(uuid: string, k: KnownGuest): void {
    this.known.set(uuid, k);
  }

  rememberNode(n: KnownNode): void {
    this.knownNode = n;
  }

  /** The shut-off guests' domstats of a round that asked them (a full one). */
  rememberShutOff(stats: ReadonlyMap<string, DomStatFields>): void {
    this.shutOff = stats;
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
