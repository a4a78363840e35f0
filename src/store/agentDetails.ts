/**
 * The guest agent's part of a guest's full details (Enter on the Guests pane): every address with
 * its interface and where it came from, and every file system, where the detail strip has room for
 * the first few; without an agent, the whole recipe rather than the strip's one line. Guest text
 * was made safe in model/guestAgent.ts.
 */
import type { GuestRow } from '../model/guest.js';
import type { GuestAgentInfo } from '../model/guestAgent.js';
import { formatBytes } from '../model/units.js';

const SOURCE = { agent: 'the guest agent', lease: "libvirt's DHCP leases", arp: "the host's ARP table" } as const;

function recipe(info: GuestAgentInfo | undefined, guest: GuestRow): string[] {
  const install = [
    '  In the guest: apt install qemu-guest-agent (Debian, Ubuntu), dnf install qemu-guest-agent',
    '  (Fedora, RHEL), or the virtio-win guest tools (Windows); then systemctl enable --now qemu-guest-agent.',
  ];
  if (!guest.agentChannel || info?.status === 'no-channel') {
    return [
      'No guest agent channel (org.qemu.guest_agent.0) in its XML, so no agent can answer.',
      '  Add it: e, Guest agent yes, save; it takes effect when the guest is next started.',
      ...install,
    ];
  }
  return [`The channel is there but no agent answered${info?.reason ? ` (${info.reason})` : ''}.`, ...install];
}

export function agentDetailLines(guest: GuestRow, info: GuestAgentInfo | undefined): string[] {
  if (!isRunning(guest)) return [`Agent      ${guest.agentChannel ? 'channel present; asked while the guest runs' : 'no channel'}`];
  if (!info) return ['Agent      not asked yet'];
  const out: string[] = [];
  if (info.status === 'answered') {
    out.push(`Agent      answered${info.hostname ? `; hostname ${info.hostname}` : ''}`);
    if (info.osName) out.push(`Guest OS   ${info.osName}`);
  } else out.push(...recipe(info, guest));
  if (info.addresses.length > 0 && info.addressSource) {
    out.push(`Addresses  from ${SOURCE[info.addressSource]}:`);
    for (const a of info.addresses) out.push(`  ${a.iface.padEnd(16)} ${(a.mac ?? '-').padEnd(17)} ${a.address}`);
  } else out.push('Addresses  none known (no agent answer, DHCP lease or ARP entry)');
  if (info.filesystems.length > 0) {
    out.push('File systems:');
    for (const fs of info.filesystems) {
      const pct = fs.usedBytes !== null && fs.totalBytes ? ` ${Math.round((fs.usedBytes / fs.totalBytes) * 100)}% used of` : ' size';
      out.push(`  ${fs.mountpoint.padEnd(20)} ${(fs.fstype ?? '').padEnd(6)}${pct} ${formatBytes(fs.totalBytes ?? 0)}`);
    }
  }
  return out;
}

function isRunning(g: GuestRow): boolean {
  return g.state === 'running' || g.state === 'idle' || g.state === 'in shutdown';
}
