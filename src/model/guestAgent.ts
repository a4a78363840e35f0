/**
 * What a guest says about itself through the QEMU guest agent (`virsh domifaddr`, `virsh guestinfo`),
 * or failing that what the host knows (DHCP leases, the ARP table). Every string here was written by
 * the guest, so it is hostile: names are made safe to print (control characters written out), every
 * value is capped in length, numbers and addresses must look like numbers and addresses, and a key
 * the guest repeats (a value with a newline of its own can fake one) keeps its first value.
 */
import { z } from 'zod';
import { shown } from './shown.js';

/** Where the addresses came from: the guest itself, libvirt's DHCP leases, or the host's ARP table. */
export type AddressSource = 'agent' | 'lease' | 'arp';

export interface GuestAddress {
  iface: string;
  mac: string | null;
  protocol: 'ipv4' | 'ipv6';
  /** With its prefix length, as virsh prints it: 192.168.122.10/24. */
  address: string;
}

export interface GuestFilesystem {
  mountpoint: string;
  fstype: string | null;
  totalBytes: number | null;
  usedBytes: number | null;
}

/**
 * - `answered`: the agent replied (OS, hostname, file systems, maybe addresses);
 * - `no-channel`: the guest has no org.qemu.guest_agent.0 channel, so no agent can ever answer;
 * - `silent`: the channel is there but no agent answered (not installed, not started, or too slow).
 */
export type AgentStatus = 'answered' | 'no-channel' | 'silent';

export interface GuestAgentInfo {
  status: AgentStatus;
  /** libvirt's reason when the agent did not answer ("QEMU guest agent is not connected"), made safe. */
  reason: string | null;
  addresses: GuestAddress[];
  addressSource: AddressSource | null;
  osName: string | null;
  hostname: string | null;
  filesystems: GuestFilesystem[];
}

/** Longest a guest-supplied string may be on screen or in JSON: an os-release PRETTY_NAME fits, a flood does not. */
export const MAX_TEXT = 64;
/** A guest that reports thousands of addresses or mounts (containers, bind mounts) is shown this many. */
export const MAX_ITEMS = 32;

/** Guest text made printable and short; empty or `-` is no value. */
export function guestText(value: string | undefined, max = MAX_TEXT): string | null {
  if (value === undefined) return null;
  const t = shown(value.trim());
  if (t === '' || t === '-') return null;
  return t.length > max ? `${t.slice(0, max - 1)}~` : t;
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IPV4_RE = /^(\d{1,3})(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6_RE = /^[0-9a-f:.]{2,45}(%[A-Za-z0-9_.-]{1,15})?(\/\d{1,3})?$/i;

const addressSchema = z.object({
  protocol: z.enum(['ipv4', 'ipv6']),
  address: z.string().max(64),
});

function validAddress(protocol: string, address: string): boolean {
  const parsed = addressSchema.safeParse({ protocol, address });
  if (!parsed.success) return false;
  if (protocol === 'ipv4') return IPV4_RE.test(address) && address.split('/')[0]?.split('.').every((o) => Number(o) <= 255) === true;
  return IPV6_RE.test(address) && address.includes(':');
}

/**
 * The table `virsh domifaddr` prints. The columns are read from the right (address, protocol, MAC),
 * so an interface name with spaces of its own (a guest can report anything) stays one name. A line
 * with `-` as name and MAC is another address of the interface above it. Rows that do not look like
 * an address are dropped, not guessed at.
 */
export function parseDomifaddr(text: string): GuestAddress[] {
  const out: GuestAddress[] = [];
  let iface = '';
  let mac: string | null = null;
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words.length < 4 || /^-+$/.test(line.trim()) || (words[0] === 'Name' && words[1] === 'MAC')) continue;
    const address = words[words.length - 1] ?? '';
    const protocol = words[words.length - 2] ?? '';
    const macWord = words[words.length - 3] ?? '';
    const name = words.slice(0, -3).join(' ');
    if (!validAddress(protocol, address)) continue;
    if (name !== '-') {
      iface = guestText(name, 16) ?? '?';
      mac = MAC_RE.test(macWord) ? macWord.toLowerCase() : null;
    } else if (MAC_RE.test(macWord)) mac = macWord.toLowerCase();
    out.push({ iface, mac, protocol: protocol as GuestAddress['protocol'], address });
    if (out.length >= MAX_ITEMS) break;
  }
  return out;
}

/** `key : value` lines of `virsh guestinfo`; the first value of a key wins. */
function guestinfoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-z0-9_.-]{1,48})\s*: ?(.*)$/i);
    if (!m) continue;
    const [, key = '', value = ''] = m;
    if (!fields.has(key)) fields.set(key, value);
  }
  return fields;
}

const byteCount = z.coerce.number().int().nonnegative().max(2 ** 63);

function bytes(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value.trim())) return null;
  const parsed = byteCount.safeParse(value.trim());
  return parsed.success ? parsed.data : null;
}

export interface GuestinfoParts {
  osName: string | null;
  hostname: string | null;
  filesystems: GuestFilesystem[];
}

/**
 * `virsh guestinfo --os --hostname --filesystem`: the OS's pretty name (else its name and
 * version), the hostname, and each file system with its size. Pseudo file systems the agent
 * reports without sizes are left out: a strip has room for the disks that fill up.
 */
export function parseGuestinfo(text: string): GuestinfoParts {
  const f = guestinfoFields(text);
  const pretty = guestText(f.get('os.pretty-name'));
  const named = [guestText(f.get('os.name')), guestText(f.get('os.version'))].filter(Boolean).join(' ');
  const count = Math.min(MAX_ITEMS, Number(f.get('fs.count') ?? 0) || 0);
  const filesystems: GuestFilesystem[] = [];
  for (let i = 0; i < count; i++) {
    const mountpoint = guestText(f.get(`fs.${i}.mountpoint`));
    const totalBytes = bytes(f.get(`fs.${i}.total-bytes`));
    if (!mountpoint || totalBytes === null || totalBytes === 0) continue;
    const used = bytes(f.get(`fs.${i}.used-bytes`));
    filesystems.push({ mountpoint, fstype: guestText(f.get(`fs.${i}.fstype`), 16), totalBytes, usedBytes: used !== null && used <= totalBytes ? used : null });
  }
  return { osName: pretty ?? (named || null), hostname: guestText(f.get('hostname')), filesystems };
}

/**
 * What libvirt said on stderr when the agent query failed, as the agent's status: "not
 * configured" means no channel at all; anything else (not connected, not responding, a timeout)
 * means a channel nobody answers on.
 */
export function agentFailure(stderr: string): { status: Exclude<AgentStatus, 'answered'>; reason: string | null } {
  if (/guest agent is not configured/i.test(stderr)) return { status: 'no-channel', reason: 'no guest agent channel' };
  const line = stderr
    .split('\n')
    .map((l) => l.replace(/^error:\s*/, '').trim())
    .filter((l) => l !== '' && !/^Failed to query for interfaces addresses$/i.test(l))[0];
  return { status: 'silent', reason: line ? guestText(line, 96) : null };
}

/** The guest agent's virtio-serial port name: the channel `virsh` and QEMU agree on. */
export const AGENT_CHANNEL = 'org.qemu.guest_agent.0';
