/**
 * The detail strip's lines from inside the guest: its addresses, name and OS right under the usage
 * line (the first thing an admin looks up), its file systems after the I/O line. Without an agent,
 * one line says how to get one. Every guest string was made safe in model/guestAgent.ts.
 */
import type { GuestAddress, GuestAgentInfo, GuestFilesystem } from '../../model/guestAgent.js';
import { formatBytes } from '../../model/units.js';

export interface AgentLines {
  /** Shown right after the usage line. */
  top: string[];
  /** Shown after the I/O line. */
  rest: string[];
}

const SOURCE: Record<string, string> = { agent: 'agent', lease: 'DHCP lease', arp: 'ARP' };

/** Loopback and link-local addresses say nothing about where to reach the guest. */
function reachable(a: GuestAddress): boolean {
  const ip = a.address.split('/')[0] ?? '';
  return !/^127\./.test(ip) && ip !== '::1' && !/^fe80:/i.test(ip) && !/^169\.254\./.test(ip);
}

function addressText(info: GuestAgentInfo): string | null {
  const shown = info.addresses.filter(reachable);
  if (shown.length === 0) return null;
  // IPv4 first: it is what an admin types into ssh.
  const ordered = [...shown.filter((a) => a.protocol === 'ipv4'), ...shown.filter((a) => a.protocol === 'ipv6')].map((a) => a.address.split('/')[0]);
  const first = ordered.slice(0, 2).join(', ');
  const more = ordered.length > 2 ? ` +${ordered.length - 2}` : '';
  return `${first}${more} (${SOURCE[info.addressSource ?? ''] ?? 'host'})`;
}

function used(fs: GuestFilesystem): number | null {
  return fs.usedBytes !== null && fs.totalBytes ? fs.usedBytes / fs.totalBytes : null;
}

/** Fullest first: the file system about to fill up is the one worth the room. */
function filesystemText(list: GuestFilesystem[]): string | null {
  if (list.length === 0) return null;
  const sorted = [...list].sort((a, b) => (used(b) ?? -1) - (used(a) ?? -1));
  return sorted.map((fs) => `${fs.mountpoint} ${used(fs) === null ? '?' : `${Math.round((used(fs) ?? 0) * 100)}%`} of ${formatBytes(fs.totalBytes ?? 0)}`).join(' · ');
}

/** The one line for a guest no agent answers for: how to get one, for the case at hand. */
export function noAgentHint(status: GuestAgentInfo['status']): string {
  return status === 'no-channel' ? 'agent none: e > Guest agent yes; in the guest: apt install qemu-guest-agent' : 'agent silent: in the guest: apt install qemu-guest-agent, then start it';
}

export function agentLines(info: GuestAgentInfo | undefined): AgentLines {
  if (!info) return { top: [], rest: [] };
  const ip = addressText(info);
  if (info.status !== 'answered') return { top: [...(ip ? [`ip   ${ip}`] : []), noAgentHint(info.status)], rest: [] };
  const head = [ip, info.hostname ? `host ${info.hostname}` : null, info.osName].filter((x): x is string => x !== null);
  const fs = filesystemText(info.filesystems);
  return { top: head.length ? [`${ip ? 'ip  ' : 'os  '} ${head.join(' · ')}`] : [], rest: fs ? [`fs   ${fs}`] : [] };
}

/** The usage lines (`use`, `io`) with the agent's lines in their places. */
export function withAgentLines(usage: string[], agent: AgentLines): string[] {
  const use = usage.filter((l) => l.startsWith('use '));
  const others = usage.filter((l) => !l.startsWith('use '));
  return [...use, ...agent.top, ...others, ...agent.rest];
}
