/**
 * New domain XML, built on the element tree of domainXml.ts and written by its serializer, so
 * every guest virtdeck defines (new guest, P2V, VMware import, demo) is escaped the one way and
 * laid out like `virsh dumpxml`. Each builder makes one device the way libvirt writes it; the
 * skeleton puts them in a <domain> with the order libvirt uses. Every value is checked for
 * characters XML cannot carry (checkXmlText) as it goes in: names and paths here often come from
 * outside (a .vmx, a physical host, the admin's typing).
 */
import { type BootDevice, type DomainDoc, diskSourceFor, serializeDomainXml, type XmlElement, type XmlNode } from './domainXml.js';
import { checkXmlText } from './xmlText.js';

type Attrs = Record<string, string | number | null | undefined>;

/** An element with checked attribute values; null and undefined attributes are left out. */
export function node(name: string, attrs: Attrs = {}, children: XmlNode[] = []): XmlElement {
  const checked: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) checked[k] = checkXmlText(String(v));
  return { kind: 'element', name, attrs: checked, children };
}

/** An element holding one checked text value: <name>web1</name>. */
export function textNode(name: string, text: string | number, attrs: Attrs = {}): XmlElement {
  return node(name, attrs, [{ kind: 'text', text: checkXmlText(String(text)) }]);
}

// ---------------------------------------------------------------- devices

export interface DiskSpec {
  device?: 'disk' | 'cdrom' | 'floppy';
  /** An image file or a block device (/dev/…); null is an empty drive. */
  path: string | null;
  format: string;
  target: string;
  bus: string;
  /** More <driver> attributes, after name and type: cache, discard… */
  driver?: Attrs;
  /** A drive slot kept from elsewhere (a .vmx): <address type='drive' …>. */
  address?: { controller: number; bus: number; unit: number };
}

export function diskDevice(d: DiskSpec): XmlElement {
  const device = d.device ?? 'disk';
  const { type, source } = d.path === null ? { type: 'file', source: null } : diskSourceFor(checkXmlText(d.path));
  const children: XmlElement[] = [node('driver', { name: 'qemu', type: d.format, ...d.driver })];
  if (source) children.push(source);
  children.push(node('target', { dev: d.target, bus: d.bus }));
  if (device === 'cdrom') children.push(node('readonly'));
  if (d.address) children.push(node('address', { type: 'drive', controller: d.address.controller, bus: d.address.bus, target: 0, unit: d.address.unit }));
  return node('disk', { type, device }, children);
}

export function controllerDevice(type: string, index: number, model?: string): XmlElement {
  return node('controller', { type, index, model });
}

export type NicSpec = { kind: 'bridge'; source: string } | { kind: 'network'; source: string } | { kind: 'user' };

/** A NIC in libvirt's own order: mac, source, model. A missing MAC is made by libvirt. */
export function interfaceDevice(nic: NicSpec, model: string, mac?: string | null): XmlElement {
  const children: XmlElement[] = [];
  if (mac) children.push(node('mac', { address: mac }));
  if (nic.kind === 'bridge') children.push(node('source', { bridge: nic.source }));
  if (nic.kind === 'network') children.push(node('source', { network: nic.source }));
  children.push(node('model', { type: model }));
  return node('interface', { type: nic.kind }, children);
}

/** A serial port on a pty and the console that shows it (`virsh console`). */
export function serialConsole(): XmlElement[] {
  return [
    node('serial', { type: 'pty' }, [node('target', { port: 0 })]),
    node('console', { type: 'pty' }, [node('target', { type: 'serial', port: 0 })]),
  ];
}

export function tabletInput(bus: 'usb' | 'virtio'): XmlElement {
  return node('input', { type: 'tablet', bus });
}

/** VNC on a port or 'auto'; libvirt wants the listen attribute and the first <listen> to agree. */
export function vncGraphics(port: number | 'auto', listen: string): XmlElement {
  const ports = port === 'auto' ? { port: -1, autoport: 'yes' } : { port, autoport: 'no' };
  return node('graphics', { type: 'vnc', ...ports, listen }, [node('listen', { type: 'address', address: listen })]);
}

export function videoDevice(model: string): XmlElement {
  return node('video', {}, [node('model', { type: model })]);
}

export function memballoonDevice(model: 'virtio' | 'none'): XmlElement {
  return node('memballoon', { model });
}

const LIBOSINFO_NS = 'http://libosinfo.org/xmlns/libvirt/domain/1.0';

/** The <metadata> child that tells virt-manager and the guest list which OS a guest runs. */
export function libosinfoMetadata(osId: string): XmlElement {
  return node('libosinfo:libosinfo', { 'xmlns:libosinfo': LIBOSINFO_NS }, [node('libosinfo:os', { id: osId })]);
}

// ---------------------------------------------------------------- the domain

export interface DomainSpec {
  type: 'kvm' | 'qemu';
  name: string;
  uuid?: string | null;
  title?: string;
  description?: string;
  /** Children of <metadata>; none leaves it out. */
  metadata?: XmlElement[];
  memoryMiB: number;
  /** <currentMemory> equal to <memory> (default true). */
  currentMemory?: boolean;
  vcpus: number;
  /** placement='static' on <vcpu> (default true). */
  staticPlacement?: boolean;
  machine: 'pc' | 'q35';
  /**
   * 'efi': OVMF, picked by libvirt from the host's firmware descriptors, with a variable store of
   * the guest's own (/var/lib/libvirt/qemu/nvram/NAME_VARS.fd) made at its first start.
   */
  firmware?: 'efi' | null;
  /**
   * With 'efi': true asks for the Secure Boot build with Microsoft's keys enrolled (q35 only; SMM
   * goes on, which that build needs); otherwise the build without Secure Boot is asked for by name,
   * since libvirt's own first choice on Debian is the Secure Boot one, which refuses an unsigned
   * boot loader ("Access Denied").
   */
  secureBoot?: boolean;
  /** A TPM 2.0 that libvirt backs with a swtpm process of the guest's own (state under /var/lib/libvirt/swtpm). */
  tpm?: boolean;
  boot: BootDevice[];
  pae?: boolean;
  /** Hyper-V enlightenments for Windows under KVM (relaxed, vapic, spinlocks; hypervclock). */
  hyperv?: boolean;
  /** host-model only means something with KVM; a topology keeps the guest's sockets/cores/threads. */
  cpu?: { hostModel: boolean; topology?: { sockets: number; cores: number; threads: number } } | null;
  clock: 'utc' | 'localtime';
  /** The timers libvirt and virt-install set for a modern guest (default: none, QEMU's defaults). */
  timers?: boolean;
  devices: (XmlElement | null | undefined | false)[];
}

function cpuElement(cpu: NonNullable<DomainSpec['cpu']>): XmlElement | null {
  const attrs = cpu.hostModel ? { mode: 'host-model', check: 'partial' } : {};
  const t = cpu.topology;
  if (!t) return cpu.hostModel ? node('cpu', attrs) : null;
  return node('cpu', attrs, [node('topology', { sockets: t.sockets, dies: 1, cores: t.cores, threads: t.threads })]);
}

function clockElement(s: DomainSpec): XmlElement {
  if (!s.timers) return node('clock', { offset: s.clock });
  const timers = [
    node('timer', { name: 'rtc', tickpolicy: 'catchup' }),
    node('timer', { name: 'pit', tickpolicy: 'delay' }),
    node('timer', { name: 'hpet', present: 'no' }),
  ];
  if (s.hyperv) timers.push(node('timer', { name: 'hypervclock', present: 'yes' }));
  return node('clock', { offset: s.clock }, timers);
}

function featuresElement(s: DomainSpec): XmlElement {
  const features = [node('acpi'), node('apic')];
  if (s.pae) features.push(node('pae'));
  if (s.hyperv) {
    features.push(
      node('hyperv', { mode: 'custom' }, [node('relaxed', { state: 'on' }), node('vapic', { state: 'on' }), node('spinlocks', { state: 'on', retries: 8191 })]),
    );
  }
  if (s.firmware === 'efi' && s.secureBoot) features.push(node('smm', { state: 'on' }));
  return node('features', {}, features);
}

/** <os>, with the firmware features libvirt's autoselection matches against the host's descriptors. */
function osElement(s: DomainSpec): XmlElement {
  if (s.secureBoot && s.firmware !== 'efi') throw new Error('Secure Boot needs UEFI firmware');
  if (s.secureBoot && s.machine !== 'q35') throw new Error('Secure Boot needs the q35 machine (SMM)');
  const children: XmlElement[] = [textNode('type', 'hvm', { arch: 'x86_64', machine: s.machine })];
  if (s.firmware === 'efi') {
    const features = s.secureBoot
      ? [node('feature', { enabled: 'yes', name: 'enrolled-keys' }), node('feature', { enabled: 'yes', name: 'secure-boot' })]
      : [node('feature', { enabled: 'no', name: 'secure-boot' })];
    children.push(node('firmware', {}, features));
  }
  children.push(...s.boot.map((dev) => node('boot', { dev })));
  return node('os', { firmware: s.firmware ?? null }, children);
}

/** CRB is the interface of a TPM 2.0 on q35 (what Windows 11 and virt-install use); TIS on i440fx. */
export function tpmDevice(machine: DomainSpec['machine']): XmlElement {
  return node('tpm', { model: machine === 'q35' ? 'tpm-crb' : 'tpm-tis' }, [node('backend', { type: 'emulator', version: '2.0' })]);
}

/** libvirt writes <tpm> after the inputs and before the graphics and everything that follows them. */
const AFTER_TPM = new Set(['graphics', 'sound', 'audio', 'video', 'hostdev', 'redirdev', 'redirfilter', 'hub', 'watchdog', 'memballoon', 'rng', 'panic']);

function devicesElement(s: DomainSpec): XmlElement {
  const devices = s.devices.filter((d): d is XmlElement => Boolean(d));
  if (s.tpm) {
    const at = devices.findIndex((d) => AFTER_TPM.has(d.name));
    devices.splice(at < 0 ? devices.length : at, 0, tpmDevice(s.machine));
  }
  return node('devices', {}, devices);
}

/** A whole new domain, in libvirt's element order. */
export function buildDomain(s: DomainSpec): DomainDoc {
  const children: (XmlElement | null)[] = [
    textNode('name', s.name),
    s.uuid ? textNode('uuid', s.uuid) : null,
    s.title !== undefined ? textNode('title', s.title) : null,
    s.description !== undefined ? textNode('description', s.description) : null,
    s.metadata?.length ? node('metadata', {}, s.metadata) : null,
    textNode('memory', s.memoryMiB, { unit: 'MiB' }),
    s.currentMemory === false ? null : textNode('currentMemory', s.memoryMiB, { unit: 'MiB' }),
    textNode('vcpu', s.vcpus, { placement: s.staticPlacement === false ? null : 'static' }),
    // x86_64 QEMU runs 32-bit guests too; i686 machine types would only limit memory.
    osElement(s),
    featuresElement(s),
    s.cpu ? cpuElement(s.cpu) : null,
    clockElement(s),
    textNode('on_poweroff', 'destroy'),
    textNode('on_reboot', 'restart'),
    textNode('on_crash', 'destroy'),
    devicesElement(s),
  ];
  return { nodes: [node('domain', { type: s.type }, children.filter((c): c is XmlElement => c !== null))] };
}

/** The domain as the text `virsh define` reads. */
export function renderDomain(s: DomainSpec): string {
  return serializeDomainXml(buildDomain(s));
}
