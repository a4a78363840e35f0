import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getSettings, parseDomainXml, serializeDomainXml, type XmlElement } from '../../src/model/domainXml.js';
import { checkRestoreXml } from '../../src/model/restoreXml.js';
import { UserError } from '../../src/model/userError.js';

const SOURCE = '/mnt/b/web/20260601T020000Z-full/domain.xml';

/** What virt-install/virt-manager define, and `virsh dumpxml --inactive` gives back. */
function domain(devices: string, os = "<type arch='x86_64' machine='pc-q35-8.2'>hvm</type><boot dev='hd'/>", top = ''): string {
  return `<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>web</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
  <metadata><x:note xmlns:x='urn:x'>/any/path is fine here</x:note></metadata>
  <memory unit='KiB'>1048576</memory><vcpu placement='static'>1</vcpu>
  <os>${os}</os>
  <features><acpi/><apic/></features><cpu mode='host-passthrough'/>
  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>
  <on_poweroff>destroy</on_poweroff><pm><suspend-to-mem enabled='no'/></pm>
  ${top}
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/web.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/var/lib/libvirt/images/base.qcow2'/></backingStore><target dev='vda' bus='virtio'/><address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/></disk>
    <controller type='usb' model='qemu-xhci' ports='15'/>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/><model type='virtio'/></interface>
    <serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
    <input type='tablet' bus='usb'/>
    <graphics type='spice' autoport='yes'><listen type='address'/><image compression='off'/></graphics>
    <sound model='ich9'/><audio id='1' type='spice'/>
    <video><model type='virtio' heads='1' primary='yes'/></video>
    <redirdev bus='usb' type='spicevmc'/>
    <memballoon model='virtio'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
    ${devices}
  </devices>
</domain>`;
}

const opts = { source: SOURCE, restored: ['vda'], asNew: true, currentSources: [] as string[] };
const check = (xml: string, o: Partial<typeof opts> = {}) => checkRestoreXml(parseDomainXml(xml), { ...opts, ...o });

function refusal(xml: string, o: Partial<typeof opts> = {}): UserError {
  try {
    check(xml, o);
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('checkRestoreXml: what a run of virt-install guest carries comes through', () => {
  it('keeps a usual guest, drops only the standard emulator', () => {
    const r = check(domain(''));
    const xml = serializeDomainXml(r.doc);
    expect(xml).not.toContain('<emulator>');
    expect(xml).not.toContain('xmlns:qemu');
    for (const kept of ['org.qemu.guest_agent.0', 'spicevmc', '/dev/urandom', "type='emulator'", 'qemu-xhci', '/any/path is fine here']) expect(xml).toContain(kept);
    expect(r.notes).toEqual([]);
  });

  it('a UEFI guest: loader and nvram become firmware=efi, with a note', () => {
    const r = check(domain('', "<type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader><nvram template='/usr/share/OVMF/OVMF_VARS_4M.fd'>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram>"));
    const xml = serializeDomainXml(r.doc);
    expect(xml).toContain("firmware='efi'");
    expect(xml).not.toMatch(/OVMF|nvram/);
    expect(r.notes.join(' ')).toMatch(/UEFI firmware/);
  });

  it('a cdrom media, seclabels, an interface target and a channel socket path are dropped with a note', () => {
    const r = check(
      domain(
        "<disk type='file' device='cdrom'><source file='/etc/shadow'/><target dev='sda' bus='sata'/><readonly/></disk><interface type='bridge'><source bridge='br0'/><target dev='vnet7'/></interface><channel type='unix'><source mode='bind' path='/etc/cron.d/x'/><target type='virtio' name='x.0'/></channel>",
        undefined,
        "<seclabel type='none' model='dac'/><seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>",
      ),
    );
    const xml = serializeDomainXml(r.doc);
    expect(xml).not.toMatch(/shadow|seclabel|vnet7|cron/);
    expect(getSettings(r.doc).disks.find((d) => d.target === 'sda')?.source).toBeNull();
    expect(r.notes.join(' ')).toContain('/etc/shadow was left out');
    expect(r.notes.join(' ')).toContain('<seclabel>');
  });

  it('same-name restore keeps a disk the guest has now, refuses one it does not', () => {
    const extra = "<disk type='file' device='disk'><source file='/var/lib/libvirt/images/web-data.qcow2'/><target dev='vdb' bus='virtio'/></disk>";
    expect(serializeDomainXml(check(domain(extra), { asNew: false, currentSources: ['/var/lib/libvirt/images/web-data.qcow2'] }).doc)).toContain('web-data');
    expect(refusal(domain(extra), { asNew: false, currentSources: [] }).sentence).toMatch(/vdb/);
    const r = check(domain(extra));
    expect(serializeDomainXml(r.doc)).not.toContain('web-data');
    expect(r.notes.join(' ')).toMatch(/left out of the new guest: vdb/);
  });
});

const QEMU_NS = "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";
/** [what, the hostile XML, what the refusal must name]. */
const REFUSED: [string, string, RegExp][] = [
  ['qemu:commandline', domain('', undefined, "<qemu:commandline><qemu:arg value='-chardev'/><qemu:arg value='file,id=x,path=/tmp/m'/></qemu:commandline>"), /<qemu:commandline>/],
  ['qemu:capabilities', domain('', undefined, "<qemu:capabilities><qemu:add capability='blockdev'/></qemu:capabilities>"), /<qemu:capabilities>/],
  ['qemu:override', domain('', undefined, "<qemu:override><qemu:device alias='x'/></qemu:override>"), /<qemu:override>/],
  ['qemu: in devices', domain(`<qemu:x ${QEMU_NS}/>`), /<qemu:x>/],
  ['emulator script', domain('').replace('/usr/bin/qemu-system-x86_64', '/tmp/evil.sh'), /<emulator>\/tmp\/evil\.sh/],
  ['lun', domain("<disk type='block' device='lun'><source dev='/dev/sda'/><target dev='sdb' bus='scsi'/></disk>"), /device='lun'/],
  ['filesystem', domain("<filesystem type='mount' accessmode='passthrough'><source dir='/'/><target dir='root'/></filesystem>"), /<filesystem>/],
  ['hostdev', domain("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/></source></hostdev>"), /<hostdev>/],
  ['shmem', domain("<shmem name='x'><server path='/tmp/s'/></shmem>"), /<shmem>/],
  ['smartcard', domain("<smartcard mode='host'/>"), /<smartcard>/],
  ['lease', domain("<lease><lockspace>x</lockspace><key>k</key><target path='/etc/passwd'/></lease>"), /<lease>/],
  ['serial file', domain("<serial type='file'><source path='/etc/passwd'/><target port='1'/></serial>"), /<serial type='file'>/],
  ['serial dev', domain("<serial type='dev'><source path='/dev/ttyS0'/></serial>"), /<serial type='dev'>/],
  ['console pipe', domain("<console type='pipe'><source path='/tmp/p'/></console>"), /<console type='pipe'>/],
  ['parallel file', domain("<parallel type='file'><source path='/tmp/p'/></parallel>"), /<parallel type='file'>/],
  ['channel unix connect', domain("<channel type='unix'><source mode='connect' path='/run/x.sock'/><target type='virtio' name='a'/></channel>"), /socket/],
  ['serial tcp', domain("<serial type='tcp'><source mode='bind' host='0.0.0.0' service='2445'/></serial>"), /<serial type='tcp'>/],
  ['pty log', domain("<serial type='pty'><log file='/etc/passwd' append='on'/></serial>"), /<log>/],
  ['kernel', domain('', "<type arch='x86_64'>hvm</type><kernel>/boot/vmlinuz</kernel>"), /<kernel>\/boot\/vmlinuz/],
  ['initrd', domain('', "<type arch='x86_64'>hvm</type><initrd>/etc/shadow</initrd>"), /<initrd>/],
  ['dtb', domain('', "<type arch='x86_64'>hvm</type><dtb>/etc/shadow</dtb>"), /<dtb>/],
  ['acpi table', domain('', "<type arch='x86_64'>hvm</type><acpi><table type='slic'>/etc/shadow</table></acpi>"), /<acpi>/],
  ['ethernet script', domain("<interface type='ethernet'><script path='/tmp/x.sh'/><target dev='eth0'/></interface>"), /<interface type='ethernet'>/],
  ['bridge with script', domain("<interface type='bridge'><source bridge='br0'/><script path='/tmp/x.sh'/></interface>"), /<script>/],
  ['vhostuser', domain("<interface type='vhostuser'><source type='unix' path='/tmp/v' mode='client'/></interface>"), /vhostuser/],
  ['backend tap', domain("<interface type='network'><source network='default'/><backend tap='/dev/net/tun' vhost='/dev/vhost-net'/></interface>"), /<backend>/],
  ['nic rom file', domain("<interface type='network'><source network='default'/><rom file='/etc/shadow'/></interface>"), /rom file='\/etc\/shadow'/],
  ['tpm passthrough', domain("<tpm model='tpm-tis'><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"), /passthrough/],
  ['redirdev tcp', domain("<redirdev bus='usb' type='tcp'><source mode='connect' host='x' service='1'/></redirdev>"), /redirdev type='tcp'/],
  ['input passthrough', domain("<input type='passthrough' bus='virtio'><source evdev='/dev/input/event1'/></input>"), /<input type='passthrough'>/],
  ['rng file', domain("<rng model='virtio'><backend model='random'>/etc/shadow</backend></rng>"), /\/etc\/shadow/],
  ['rng egd file', domain("<rng model='virtio'><backend model='egd' type='file'><source path='/etc/x'/></backend></rng>"), /egd/],
  ['nvdimm', domain("<memory model='nvdimm'><source><path>/etc/shadow</path></source><target><size unit='KiB'>1024</size></target></memory>"), /\/etc\/shadow/],
  ['vnc socket', domain("<graphics type='vnc' socket='/etc/cron.d/x'/>"), /socket='\/etc\/cron\.d\/x'/],
  ['sdl xauth', domain("<graphics type='sdl' display=':0' xauth='/root/.Xauthority'/>"), /graphics type='sdl'/],
  ['audio file', domain("<audio id='2' type='file' path='/etc/x'/>"), /audio type='file'/],
  ['sysinfo fwcfg file', domain('', undefined, "<sysinfo type='fwcfg'><entry name='opt/x' file='/etc/shadow'/></sysinfo>"), /<sysinfo>/],
  ['bootloader', domain('', undefined, '<bootloader>/usr/bin/pygrub</bootloader>'), /<bootloader>/],
  ['blkiotune device', domain('', undefined, '<blkiotune><device><path>/dev/sda</path><weight>500</weight></device></blkiotune>'), /\/dev\/sda/],
  ['unknown device', domain("<panic-button path='/x'/>"), /<panic-button>/],
  ['unknown top level', domain('', undefined, '<whatever/>'), /<whatever>/],
  ['disk mirror', domain('').replace("<target dev='vda'", "<mirror type='file' file='/etc/shadow'/><target dev='vda'"), /<mirror>/],
];

describe('checkRestoreXml refuses what reaches the host, naming the element and the run', () => {
  for (const [what, xml, names] of REFUSED) {
    it(what, () => {
      const e = refusal(xml);
      expect(e.sentence).toMatch(names);
      expect(e.sentence).toContain(SOURCE);
      // The same for a restore over the guest itself.
      expect(refusal(xml, { asNew: false, currentSources: ['/var/lib/libvirt/images/web.qcow2'] }).sentence).toMatch(names);
    });
  }

  it('a disk not restored whose source is a host file or device: refused over the guest, left out of a new guest', () => {
    for (const disk of ["<disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vdb' bus='virtio'/></disk>", "<disk type='block' device='disk'><source dev='/dev/sda'/><target dev='vdb' bus='virtio'/></disk>"]) {
      expect(refusal(domain(disk), { asNew: false, currentSources: ['/var/lib/libvirt/images/web.qcow2'] }).sentence).toMatch(/vdb.*(\/etc\/shadow|\/dev\/sda)/);
      const r = check(domain(disk));
      expect(serializeDomainXml(r.doc)).not.toMatch(/shadow|sda/);
      expect(r.notes.join(' ')).toMatch(/left out of the new guest: vdb/);
    }
  });
});

describe('checkRestoreXml shows outside text, never obeys it', () => {
  it('an escape sequence in a refused element or a dropped media path is written out visibly', () => {
    const e = refusal(domain("<serial type='file'><source path='/tmp/\u001b]2;owned\u0007'/></serial>").replace("type='file'", "type='file\u001b[31m'"));
    expect(e.sentence).not.toContain('\u001b');
    const r = check(domain("<disk type='file' device='cdrom'><source file='/iso/\u001b]2;x\u0007.iso'/><target dev='sda' bus='sata'/></disk>"));
    expect(r.notes.join(' ')).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('checkRestoreXml on any element tree: a result or a UserError, and no host path survives', () => {
  const names = ['disk', 'source', 'target', 'serial', 'channel', 'interface', 'emulator', 'os', 'kernel', 'loader', 'nvram', 'qemu:arg', 'filesystem', 'hostdev', 'rng', 'backend', 'graphics', 'log', 'seclabel', 'metadata', 'devices', 'driver', 'rom', 'x'];
  const values = ['/etc/shadow', 'file', 'pty', 'unix', 'bind', 'connect', 'cdrom', 'disk', 'vda', 'vdb', 'network', 'ethernet', 'spicevmc', '/dev/urandom', ' /x'];
  const tree: fc.Memo<XmlElement> = fc.memo((n) =>
    fc.record({
      kind: fc.constant('element' as const),
      name: fc.constantFrom(...names),
      attrs: fc.dictionary(fc.constantFrom('type', 'device', 'file', 'path', 'dev', 'mode', 'dir'), fc.constantFrom(...values), { maxKeys: 3 }),
      children: n <= 1 ? fc.constant([]) : fc.array(fc.oneof(tree(n - 1), fc.record({ kind: fc.constant('text' as const), text: fc.constantFrom(...values) })), { maxLength: 3 }),
    }),
  );
  it('holds', () => {
    fc.assert(
      fc.property(fc.array(tree(4), { maxLength: 4 }), fc.boolean(), (devices, asNew) => {
        const base = parseDomainXml(domain(''));
        const root = base.nodes.find((x): x is XmlElement => x.kind === 'element') as XmlElement;
        const devs = root.children.find((c): c is XmlElement => c.kind === 'element' && c.name === 'devices') as XmlElement;
        devs.children.push(...devices);
        let r: ReturnType<typeof checkRestoreXml>;
        try {
          r = checkRestoreXml(base, { ...opts, asNew, currentSources: [] });
        } catch (e) {
          expect(e).toBeInstanceOf(UserError);
          return;
        }
        // <metadata> is data libvirt keeps and never reads as a path, wherever the tree put it (the domain's
        // own, or one nested in a device by the generator): leave every one out of the check.
        let xml = serializeDomainXml(r.doc);
        for (let before = ''; before !== xml; ) {
          before = xml;
          xml = xml.replace(/<metadata\b[^>]*\/>|<metadata\b[^>]*>(?:(?!<metadata\b)[\s\S])*?<\/metadata>/, '');
        }
        const vda = xml.indexOf("<target dev='vda'");
        // Outside the restored disk (whose source virtdeck replaces) no attribute or text is a host path, but the rng's.
        const rest = xml.replace(/<disk[^>]*>(?:(?!<\/disk>)[\s\S])*<target dev='vda'(?:(?!<\/disk>)[\s\S])*<\/disk>/, '');
        expect(vda).toBeGreaterThan(0);
        expect(rest.replace(/>\/dev\/urandom</g, '><')).not.toMatch(/='\s*\/|>\s*\//);
      }),
      { numRuns: 300 },
    );
  });
});
