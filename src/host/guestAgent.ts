/**
 * Asks one running guest about itself through its QEMU guest agent, and falls back to the host's
 * own knowledge of its addresses (libvirt's DHCP leases, then the ARP table) when the agent gives
 * none. The agent is asked in a virsh process of its own, killed after `timeoutMs` (2 s): libvirt
 * waits up to 5 s for an agent that is connected but stuck, and the console must not wait with it.
 * The leases and the ARP table are libvirt's own and answer at once: the console asks them through
 * its long-lived virsh (no process; a guest without an agent is asked every 15 s while selected).
 */
import { type AddressSource, agentFailure, type GuestAddress, type GuestAgentInfo, parseDomifaddr, parseGuestinfo } from '../model/guestAgent.js';
import { HostError } from './errors.js';
import type { HostContext } from './hostContext.js';

export const AGENT_TIMEOUT_MS = 2_000;

/** Splits the answers of one `;` batch; only a UUID and fixed words go into the batch string. */
const MARK = '@@virtdeck-agent@@';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function chunks(stdout: string): string[] {
  return stdout.split(new RegExp(`^${MARK}$`, 'm'));
}

export interface AgentQueryOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Skip the agent (the live XML says nobody listens on its channel): only leases and ARP are asked. */
  skipAgent?: AgentSkip;
}

export type AgentSkip = { status: 'no-channel' | 'silent'; reason: string };

async function batch(host: HostContext, commands: string[], opts: AgentQueryOptions): Promise<{ answers: string[]; stderr: string }> {
  const line = [...commands.flatMap((c) => [c, `echo ${MARK}`])].join('; ');
  const r = await host.virshExec.run(['virsh', '-c', host.uri, line], {
    virshErrorsAreAnswers: true,
    timeoutMs: opts.timeoutMs ?? AGENT_TIMEOUT_MS,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { answers: chunks(r.stdout), stderr: r.stderr };
}

const cancelled = () =>
  new HostError({ sentence: 'The question to the guest agent was cancelled.', fix: 'Nothing to do.', command: ['virsh', 'domifaddr'], stderr: '', code: 'cancelled' });

/**
 * A batch that never waits on a guest, through the host's long-lived virsh when it has one; when
 * that fails (it died, hung, lost libvirt) through a process of its own, as before. Never the
 * agent's questions: a stuck agent would hold up the refresh queued behind it on that virsh.
 */
async function hostBatch(host: HostContext, commands: string[], opts: AgentQueryOptions): Promise<{ answers: string[]; stderr: string }> {
  const channel = host.virshChannel;
  if (channel) {
    const signal = opts.signal;
    if (signal?.aborted) throw cancelled();
    let onAbort: (() => void) | undefined;
    try {
      const asked = channel.ask(
        commands.flatMap((c) => [c, `echo ${MARK}`]),
        { timeoutMs: opts.timeoutMs ?? AGENT_TIMEOUT_MS },
      );
      // A new selection stops waiting at once; the channel's answer, when it comes, is dropped.
      const stopped = new Promise<never>((_, reject) => {
        onAbort = () => reject(cancelled());
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      const a = await Promise.race([asked, stopped]);
      return { answers: chunks(a.stdout), stderr: a.stderr };
    } catch (e) {
      if (signal?.aborted) throw cancelled();
      if (e instanceof HostError && e.code === 'cancelled') throw e;
      // Asked again below by a virsh of its own.
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }
  return batch(host, commands, opts);
}

/** The first source, in order, that gives any address. */
async function hostAddresses(host: HostContext, uuid: string, opts: AgentQueryOptions): Promise<{ addresses: GuestAddress[]; source: AddressSource | null }> {
  const sources: AddressSource[] = ['lease', 'arp'];
  try {
    const { answers } = await hostBatch(
      host,
      sources.map((s) => `domifaddr --domain ${uuid} --source ${s}`),
      opts,
    );
    for (const [i, source] of sources.entries()) {
      const addresses = parseDomifaddr(answers[i] ?? '');
      if (addresses.length > 0) return { addresses, source };
    }
  } catch (e) {
    if (!(e instanceof HostError) || e.code === 'cancelled') throw e;
  }
  return { addresses: [], source: null };
}

/**
 * Everything the agent and the host can say about a running guest. Never throws for an agent that
 * is missing, silent or slow (that is an answer: `status`); throws only when cancelled.
 */
export async function queryGuestAgent(host: HostContext, uuid: string, opts: AgentQueryOptions = {}): Promise<GuestAgentInfo> {
  if (!UUID_RE.test(uuid)) throw new Error(`not a UUID: ${uuid}`);
  let info: GuestAgentInfo = { status: 'silent', reason: null, addresses: [], addressSource: null, osName: null, hostname: null, filesystems: [] };
  if (opts.skipAgent) info = { ...info, ...opts.skipAgent };
  else {
    try {
      const { answers, stderr } = await batch(host, [`domifaddr --domain ${uuid} --source agent`, `guestinfo --domain ${uuid} --os --hostname --filesystem`], opts);
      const addresses = parseDomifaddr(answers[0] ?? '');
      const parts = parseGuestinfo(answers[1] ?? '');
      const answered = addresses.length > 0 || parts.osName !== null || parts.hostname !== null || parts.filesystems.length > 0;
      info = answered ? { ...info, status: 'answered', reason: null, addresses, addressSource: addresses.length ? 'agent' : null, ...parts } : { ...info, ...agentFailure(stderr) };
    } catch (e) {
      if (!(e instanceof HostError) || e.code === 'cancelled') throw e;
      // Killed at the timeout: an agent that is connected but does not answer in time.
      info = { ...info, status: 'silent', reason: /timed out/.test(e.stderr) ? `no answer within ${(opts.timeoutMs ?? AGENT_TIMEOUT_MS) / 1000} s` : agentFailure(e.stderr).reason };
    }
  }
  if (info.addresses.length > 0) return info;
  const found = await hostAddresses(host, uuid, opts);
  return { ...info, addresses: found.addresses, addressSource: found.source };
}
