import { UserError } from './userError.js';

/**
 * MAC addresses. A guest moved between hypervisors keeps its MAC (Windows otherwise configures a
 * "new" NIC and loses its static IP), so the VMware prefixes matter as much as QEMU's own.
 */

export type MacVendor = 'kvm' | 'vmware-static' | 'vmware-generated' | 'other';

const MAC_RE = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i;

const FIX = 'Write six pairs of hex digits separated by colons, for example 52:54:00:12:34:56.';

/** Checks the syntax only and returns lower case with colons; accepts "-" as separator. */
export function normaliseMac(text: string): string {
  const m = MAC_RE.exec(text.trim());
  if (!m) throw new UserError(`"${text}" is not a MAC address.`, FIX);
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}

function firstOctet(mac: string): number {
  return Number.parseInt(mac.slice(0, 2), 16);
}

/** Normalises and checks that a NIC may carry it: unicast and not all zero. */
export function parseMac(text: string): string {
  const mac = normaliseMac(text);
  if (mac === '00:00:00:00:00:00') {
    throw new UserError(`"${text}" is the all-zero MAC, which no NIC may use.`, FIX);
  }
  if (firstOctet(mac) & 1) {
    throw new UserError(
      `"${text}" is a multicast MAC (the first octet is odd), which a NIC cannot use as its own address.`,
      'Use an address whose first octet is even, such as 52:54:00:xx:xx:xx.',
    );
  }
  return mac;
}

export function isValidUnicastMac(text: string): boolean {
  try {
    parseMac(text);
    return true;
  } catch {
    return false;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * kvm: 52:54:00 (QEMU's locally administered prefix, what virt-install uses).
 * vmware: 00:50:56 with the fourth octet 00–3F, the only range VMware accepts for static MACs.
 */
export function randomMac(kind: 'kvm' | 'vmware', rng: () => number = Math.random): string {
  const byte = (max = 256) => Math.min(max - 1, Math.floor(rng() * max));
  const prefix = kind === 'kvm' ? ['52', '54', '00'] : ['00', '50', '56'];
  const fourth = kind === 'vmware' ? byte(0x40) : byte();
  return [...prefix, hex(fourth), hex(byte()), hex(byte())].join(':');
}

/** Who handed out this MAC; 'other' for anything else, including text that is not a MAC. */
export function macVendor(text: string): MacVendor {
  let mac: string;
  try {
    mac = normaliseMac(text);
  } catch {
    return 'other';
  }
  if (mac.startsWith('52:54:00:')) return 'kvm';
  if (mac.startsWith('00:50:56:')) return 'vmware-static';
  if (mac.startsWith('00:0c:29:')) return 'vmware-generated';
  return 'other';
}
