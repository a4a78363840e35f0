import { describe, expect, it } from 'vitest';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { getSettings, hasGuestAgentChannel, parseDomainXml, serializeDomainXml, setGuestAgentChannel } from '../../src/model/domainXml.js';
import { agentFailure, MAX_ITEMS, parseDomifaddr, parseGuestinfo } from '../../src/model/guestAgent.js';
import { hasControlCharacters } from '../../src/model/shown.js';
import { setField } from '../../src/store/form.js';
import { applySettingsForm, buildSettingsForm } from '../../src/store/settingsForm.js';

/** What libvirt 9.0's virsh prints (vshPrint of virDomainInterfaceAddresses; the layout of tools/virsh-domain.c). */
const DOMIFADDR = ` Name       MAC address          Protocol     Address
-------------------------------------------------------------------------------
 lo         00:00:00:00:00:00    ipv4         127.0.0.1/8
 -          -                    ipv6         ::1/128
 enp1s0     52:54:00:AB:cd:ef    ipv4         192.168.122.10/24
 -          -                    ipv6         fe80::5054:ff:feab:cdef/64

`;

const GUESTINFO = `os.id               : debian
os.name             : Debian GNU/Linux
os.pretty-name      : Debian GNU/Linux 12 (bookworm)
os.version          : 12 (bookworm)
os.version-id       : 12
os.machine          : x86_64
os.kernel-release   : 6.1.0-13-amd64
hostname            : web1
fs.count            : 3
fs.0.name           : vda1
fs.0.mountpoint     : /
fs.0.fstype         : ext4
fs.0.total-bytes    : 10724835328
fs.0.used-bytes     : 3217451008
fs.0.disk.count     : 1
fs.0.disk.0.alias   : vda
fs.1.name           : vda15
fs.1.mountpoint     : /boot/efi
fs.1.fstype         : vfat
fs.1.total-bytes    : 129718272
fs.1.used-bytes     : 6160384
fs.2.name           : tmpfs
fs.2.mountpoint     : /run/credentials
fs.2.fstype         : ramfs

`;

describe('parseDomifaddr', () => {
  it('reads every address with its interface; `-` rows belong to the interface above', () => {
    expect(parseDomifaddr(DOMIFADDR)).toEqual([
      { iface: 'lo', mac: '00:00:00:00:00:00', protocol: 'ipv4', address: '127.0.0.1/8' },
      { iface: 'lo', mac: '00:00:00:00:00:00', protocol: 'ipv6', address: '::1/128' },
      { iface: 'enp1s0', mac: '52:54:00:ab:cd:ef', protocol: 'ipv4', address: '192.168.122.10/24' },
      { iface: 'enp1s0', mac: '52:54:00:ab:cd:ef', protocol: 'ipv6', address: 'fe80::5054:ff:feab:cdef/64' },
    ]);
  });

  it('an empty table (no agent answer, no lease) is no address', () => {
    expect(parseDomifaddr(' Name       MAC address          Protocol     Address\n-------------------------------------------------------------------------------\n\n')).toEqual([]);
    expect(parseDomifaddr('')).toEqual([]);
  });

  it('hostile names: escapes and spaces stay text, long ones are cut, rows that are not addresses are dropped', () => {
    const evil = [
      ` e\u001b]2;pwned\u0007x  52:54:00:00:00:01  ipv4  10.0.0.5/24`,
      ` my nic     52:54:00:00:00:02    ipv4         10.0.0.6/24`,
      ` ${'x'.repeat(300)} 52:54:00:00:00:03 ipv4 10.0.0.7/8`,
      ' eth9  52:54:00:00:00:04  ipv4  999.1.1.1/24',
      ' eth9  52:54:00:00:00:04  ipv4  $(reboot)',
      ' eth9  not-a-mac  ipv7  10.0.0.8/24',
    ].join('\n');
    const got = parseDomifaddr(evil);
    expect(got.map((a) => a.address)).toEqual(['10.0.0.5/24', '10.0.0.6/24', '10.0.0.7/8']);
    expect(got.every((a) => !hasControlCharacters(a.iface))).toBe(true);
    expect(got[0]?.iface).toContain('\\x1b');
    expect(got[1]?.iface).toBe('my nic');
    expect(got[2]?.iface.length).toBeLessThanOrEqual(16);
  });

  it('a flood of addresses is capped', () => {
    const flood = Array.from({ length: 5000 }, (_, i) => ` eth${i} 52:54:00:00:00:01 ipv4 10.0.${i % 250}.1/24`).join('\n');
    expect(parseDomifaddr(flood)).toHaveLength(MAX_ITEMS);
  });
});

describe('parseGuestinfo', () => {
  it('reads the OS, hostname and the file systems that have a size', () => {
    expect(parseGuestinfo(GUESTINFO)).toEqual({
      osName: 'Debian GNU/Linux 12 (bookworm)',
      hostname: 'web1',
      filesystems: [
        { mountpoint: '/', fstype: 'ext4', totalBytes: 10724835328, usedBytes: 3217451008 },
        { mountpoint: '/boot/efi', fstype: 'vfat', totalBytes: 129718272, usedBytes: 6160384 },
      ],
    });
  });

  it('without a pretty name, name and version; Windows agents report no file-system sizes', () => {
    const win = 'os.id               : mswindows\nos.name             : Microsoft Windows\nos.version          : Microsoft Windows Server 2019\nhostname            : DC01\nfs.count            : 1\nfs.0.name           : \\\\?\\Volume{x}\\\nfs.0.mountpoint     : C:\\\nfs.0.fstype         : NTFS\n';
    expect(parseGuestinfo(win)).toEqual({ osName: 'Microsoft Windows Microsoft Windows Server 2019', hostname: 'DC01', filesystems: [] });
  });

  it('hostile values: control characters written out, lengths capped, a forged key keeps the first value, bad numbers dropped', () => {
    const evil = [
      'os.pretty-name      : \u001b[2J\u001b]52;c;cm0gLXJmIC8=\u0007Evil OS',
      `hostname            : ${'h'.repeat(500)}`,
      'hostname            : forged',
      'fs.count            : 99999999',
      'fs.0.mountpoint     : /\u202eevil',
      'fs.0.total-bytes    : 100',
      'fs.0.used-bytes     : 1e3',
      'fs.1.mountpoint     : /data',
      'fs.1.total-bytes    : -5',
    ].join('\n');
    const got = parseGuestinfo(evil);
    expect(hasControlCharacters(got.osName ?? '')).toBe(false);
    expect(got.osName).toContain('Evil OS');
    expect(got.hostname?.length).toBeLessThanOrEqual(64);
    expect(got.hostname?.startsWith('hhh')).toBe(true);
    expect(got.filesystems).toEqual([{ mountpoint: '/\\u202eevil', fstype: null, totalBytes: 100, usedBytes: null }]);
  });
});

describe('agentFailure', () => {
  it('"not configured" is a guest without the channel; anything else is an agent that does not answer', () => {
    expect(agentFailure('error: argument unsupported: QEMU guest agent is not configured\n').status).toBe('no-channel');
    expect(agentFailure('error: Failed to query for interfaces addresses\nerror: Guest agent is not responding: QEMU guest agent is not connected\n')).toEqual({
      status: 'silent',
      reason: 'Guest agent is not responding: QEMU guest agent is not connected',
    });
  });
});

const XML = `<domain type='qemu'>
  <name>web</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/web.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <serial type='pty'/>
    <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
  </devices>
</domain>
`;

describe('the guest agent channel in the domain XML', () => {
  it('is added with only its target (libvirt picks the socket path), once, and removed again', () => {
    const doc = parseDomainXml(XML);
    expect(hasGuestAgentChannel(doc)).toBe(false);
    const added = setGuestAgentChannel(doc, true);
    const xml = serializeDomainXml(added);
    expect(xml).toMatch(/<channel type='unix'>\s*<target type='virtio' name='org\.qemu\.guest_agent\.0'\/>\s*<\/channel>/);
    expect(xml).not.toContain('path=');
    expect(hasGuestAgentChannel(added)).toBe(true);
    expect(hasGuestAgentChannel(doc)).toBe(false); // the input is left alone
    expect(serializeDomainXml(setGuestAgentChannel(added, true))).toBe(xml);
    expect(xml).toContain('com.redhat.spice.0');
    const removed = setGuestAgentChannel(added, false);
    expect(hasGuestAgentChannel(removed)).toBe(false);
    expect(serializeDomainXml(removed)).toContain('com.redhat.spice.0');
  });

  it('the settings form adds it: Guest agent no → yes is one edit, described, and the XML gains the channel', () => {
    const doc = parseDomainXml(XML);
    const form = buildSettingsForm(getSettings(doc), false, hasGuestAgentChannel(doc));
    expect(form.fields.find((f) => f.id === 'guestAgent')?.value).toBe('no');
    const edit = applySettingsForm(doc, setField(form, 'guestAgent', 'yes'));
    expect(edit.changes).toEqual(['guest agent channel added']);
    expect(hasGuestAgentChannel(edit.doc)).toBe(true);
    // Unchanged, it is no edit.
    expect(applySettingsForm(doc, form).changes).toEqual([]);
  });

  it('the guest list reads the channel and, in the live XML, whether an agent opened it', () => {
    const live = (state: string) => XML.replace('</devices>', `<channel type='unix'><source mode='bind' path='/run/x'/><target type='virtio' name='org.qemu.guest_agent.0'${state}/></channel></devices>`);
    expect(summarizeDomainXml(XML).agentChannel).toBeUndefined();
    expect(summarizeDomainXml(live('')).agentChannel).toBe('present');
    expect(summarizeDomainXml(live(" state='connected'")).agentChannel).toBe('connected');
    expect(summarizeDomainXml(live(" state='disconnected'")).agentChannel).toBe('disconnected');
  });
});
