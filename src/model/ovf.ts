/**
 * OVF descriptors (DMTF DSP0243 1.x as VMware's ovftool and vSphere export them, and the 2.0
 * envelope), read into the SAME guest model a .vmx becomes (model/vmx.ts), so that vmxToDomain maps
 * an OVA's hardware exactly as it maps a .vmx: each disk keeps its controller kind and slot under
 * the .vmx name it would have had (scsi0:1, sata0:0, nvme0:0, ide1:0), NICs keep their MAC and model.
 *
 * Pure. The descriptor is hostile input: every file name it gives is checked here to be a plain
 * name in the package (no directory part, no "..", no URL); disk formats other than VMware's
 * sparse vmdk (streamOptimized, monolithicSparse) are refused before anything reads the disks.
 */
import { XMLParser } from 'fast-xml-parser';
import { normaliseMac } from './mac.js';
import { shown } from './shown.js';
import { UserError } from './userError.js';
import { indexToDiskSuffix, isWindowsGuestOS, type ScsiModel, type VmxBus, type VmxController, type VmxDisk, type VmxGuest, type VmxNic } from './vmx.js';
import { decodeEntities, parseOutsideXml } from './xmlText.js';

/** A file of the package (References/File). */
export interface OvfFile {
  id: string;
  href: string;
  /** ovf:size in bytes, when given. */
  size: number | null;
}

export type OvfDiskFormat = 'streamOptimized' | 'monolithicSparse';

export interface OvfDisk {
  /** The .vmx slot name the disk has in the guest model (scsi0:0). */
  key: string;
  diskId: string;
  /** The package file holding it (a plain name). */
  href: string;
  format: OvfDiskFormat;
  capacityBytes: number;
}

export interface OvfGuest {
  ovfVersion: 1 | 2;
  /** Hard disks' sources are their package file names until the job puts real paths in. */
  guest: VmxGuest;
  disks: OvfDisk[];
  files: OvfFile[];
  /** vmw:Config uefi.secureBoot.enabled. */
  secureBoot: boolean;
  /** A virtual TPM device (vmware.vtpm). */
  tpm: boolean;
}

const FIX_EXPORT = 'Export the VM again from VMware (File > Export OVF Template, or ovftool) and import that.';

function refuse(source: string, what: string, fix = FIX_EXPORT): UserError {
  return new UserError(`${source} ${what}.`, fix);
}

/** Package file names: one plain name beside the descriptor, nothing a path could escape with. */
export function packageNameProblem(name: string): string | null {
  if (name === '') return 'is empty';
  if (/^[a-z][a-z0-9+.-]*:/i.test(name)) return 'is a URL, not a file of the package';
  if (name.startsWith('/')) return 'is an absolute path';
  if (name.includes('/') || name.includes('\\')) return 'has a directory part';
  if (name === '.' || name === '..') return 'is a directory name';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'has control characters';
  if (name.length > 255) return 'is longer than 255 characters';
  return null;
}

export function checkPackageName(name: string, source: string, what: string): string {
  const p = packageNameProblem(name);
  if (p) throw refuse(source, `names ${what} "${shown(name)}", which ${p}`, 'virtdeck reads only files that lie beside the descriptor, by plain name; export the VM again.');
  return name;
}

const UNIT_WORDS: Record<string, number> = {
  byte: 1,
  bytes: 1,
  kilobytes: 2 ** 10,
  kb: 2 ** 10,
  megabytes: 2 ** 20,
  mb: 2 ** 20,
  gigabytes: 2 ** 30,
  gb: 2 ** 30,
  terabytes: 2 ** 40,
  tb: 2 ** 40,
};

/**
 * DMTF programmatic units ("byte * 2^20", "byte * 1024^3", "byte*2^30") and the words older
 * exporters write ("MegaBytes", "GB"). null when not understood.
 */
export function allocationUnitBytes(text: string): number | null {
  const t = text.trim().toLowerCase().replace(/\s+/g, '');
  if (t in UNIT_WORDS) return UNIT_WORDS[t] as number;
  const m = /^bytes?(?:\*(\d+)\^(\d+))?(?:\*(\d+))?$/.exec(t);
  if (!m) return null;
  const pow = m[1] && m[2] ? Number(m[1]) ** Number(m[2]) : 1;
  const mul = m[3] ? Number(m[3]) : 1;
  const n = pow * mul;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

const VMDK_FORMAT_RE = /^https?:\/\/www\.vmware\.com\/(?:interfaces\/specifications|specifications)\/vmdk\.html#(streamoptimized|sparse|monolithicsparse)$/i;

function diskFormat(uri: string | null, source: string, diskId: string): OvfDiskFormat {
  const m = uri ? VMDK_FORMAT_RE.exec(uri.trim()) : null;
  if (!m) {
    throw refuse(
      source,
      `gives the disk ${shown(diskId)} in the format ${uri ? `"${shown(uri)}"` : '(none given)'}, which virtdeck does not read; it reads VMware's vmdk (streamOptimized or sparse)`,
      'Export the VM from VMware (it writes streamOptimized vmdk), or convert the disk to vmdk with qemu-img and import its .vmx.',
    );
  }
  return (m[1] as string).toLowerCase() === 'streamoptimized' ? 'streamOptimized' : 'monolithicSparse';
}

// ---------------------------------------------------------------- XML access

type Node = Record<string, unknown>;

const ARRAYS = new Set(['File', 'Disk', 'Network', 'Item', 'StorageItem', 'EthernetPortItem', 'Config', 'ExtraConfig', 'VirtualSystem', 'VirtualHardwareSection', 'HostResource', 'Connection']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // ovf:, rasd:, vmw:, vssd: prefixes are whatever the exporter declared; the local names are the standard's.
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: false,
  htmlEntities: false,
  isArray: (name) => ARRAYS.has(name),
});

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(n: unknown, name: string): Node | undefined {
  if (!isNode(n)) return undefined;
  const v = n[name];
  if (Array.isArray(v)) return v.find(isNode);
  return isNode(v) ? v : typeof v === 'string' ? { '#text': v } : undefined;
}

function children(n: unknown, name: string): Node[] {
  if (!isNode(n)) return [];
  const v = n[name];
  const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return list.map((x) => (isNode(x) ? x : { '#text': String(x) }));
}

class Reader {
  constructor(readonly source: string) {}

  text(n: unknown, name?: string): string | null {
    const v = name === undefined ? n : isNode(n) ? n[name] : undefined;
    const one = Array.isArray(v) ? v[0] : v;
    if (one === undefined || one === null) return null;
    const raw = isNode(one) ? one['#text'] : one;
    if (raw === undefined || raw === null) return null;
    return decodeEntities(String(raw), this.source);
  }

  attr(n: unknown, name: string): string | null {
    if (!isNode(n)) return null;
    const v = n[`@_${name}`];
    return v === undefined ? null : decodeEntities(String(v), this.source);
  }

  int(n: unknown, name: string, what: string): number | null {
    const t = this.text(n, name);
    if (t === null || t === '') return null;
    if (!/^\d+$/.test(t)) throw refuse(this.source, `gives ${what} as "${shown(t)}", not a whole number`);
    const v = Number(t);
    if (!Number.isSafeInteger(v)) throw refuse(this.source, `gives ${what} as ${shown(t)}, which is too large`);
    return v;
  }
}

// ---------------------------------------------------------------- the hardware

interface Item {
  node: Node;
  instanceId: string;
  type: number;
  subType: string;
  name: string;
}

type ControllerBus = 'ide' | 'scsi' | 'sata' | 'nvme';

interface Controller {
  bus: ControllerBus;
  index: number;
  model: ScsiModel | null;
}

const SCSI_SUBTYPES: Record<string, ScsiModel> = { lsilogic: 'lsilogic', lsilogicsas: 'lsisas1068', virtualscsi: 'pvscsi', pvscsi: 'pvscsi', buslogic: 'buslogic' };

/** rasd:ResourceSubType of a NIC (VMware writes E1000, E1000e, VmxNet3, PCNet32) → the .vmx virtualDev. */
const NIC_SUBTYPES: Record<string, string> = { e1000: 'e1000', e1000e: 'e1000e', vmxnet: 'vmxnet', vmxnet2: 'vmxnet2', vmxnet3: 'vmxnet3', pcnet32: 'vlance', vlance: 'vlance' };

/** Units per controller, as the .vmx slot names count them (model/vmx.ts `slots`). */
const TARGET_BASE: Record<ControllerBus, (c: number, u: number) => string> = {
  scsi: (c, u) => `sd${indexToDiskSuffix(c * 15 + (u < 7 ? u : u - 1))}`,
  ide: (c, u) => `hd${indexToDiskSuffix(c * 2 + u)}`,
  sata: (c, u) => `sd${indexToDiskSuffix(c * 30 + u)}`,
  nvme: (c, u) => `nvme${c}n${u + 1}`,
};

const UNITS: Record<ControllerBus, number> = { scsi: 16, ide: 2, sata: 30, nvme: 15 };

/** VMware's vim guest id (windows9_64Guest, ubuntu64Guest) → the .vmx guestOS (windows9-64, ubuntu-64). */
export function vimGuestIdToVmx(id: string): string {
  return id.replace(/Guest$/, '').replace(/_?64$/, '-64');
}

function readItems(r: Reader, hw: Node): Item[] {
  const nodes = [...children(hw, 'Item'), ...children(hw, 'StorageItem'), ...children(hw, 'EthernetPortItem')];
  return nodes.map((node) => {
    const type = r.int(node, 'ResourceType', 'a ResourceType');
    return {
      node,
      instanceId: r.text(node, 'InstanceID') ?? '',
      type: type ?? 0,
      subType: (r.text(node, 'ResourceSubType') ?? '').trim(),
      name: r.text(node, 'ElementName') ?? r.text(node, 'Caption') ?? '',
    };
  });
}

function controllerOf(item: Item): ControllerBus | null {
  const sub = item.subType.toLowerCase();
  if (item.type === 5) return 'ide';
  if (item.type === 6) return 'scsi';
  if (item.type === 20) return sub.includes('nvme') ? 'nvme' : 'sata';
  return null;
}

/** Reads an OVF descriptor into the guest model. UserError naming the descriptor on what cannot be imported. */
export function parseOvf(xml: string, opts: { source?: string } = {}): OvfGuest {
  const source = opts.source ?? 'The OVF descriptor';
  const r = new Reader(source);
  const doc = parseOutsideXml((x) => parser.parse(x) as Node, xml, source);
  const env = child(doc, 'Envelope');
  if (!env) throw refuse(source, 'is not an OVF descriptor (no Envelope element)', 'Give the .ovf file of the export (or the .ova that holds it).');
  const ovfVersion: 1 | 2 = /dmtf\.org\/ovf\/envelope\/2/.test(xml) ? 2 : 1;

  const files: OvfFile[] = children(child(env, 'References'), 'File').map((f) => {
    const id = r.attr(f, 'id') ?? '';
    const href = checkPackageName(r.attr(f, 'href') ?? '', source, `the file ${shown(id)} as`);
    if (r.attr(f, 'compression')) throw refuse(source, `has the file ${shown(href)} compressed (${shown(r.attr(f, 'compression') ?? '')})`, 'Export without compression (ovftool without --compress).');
    if (r.attr(f, 'chunkSize')) throw refuse(source, `splits the file ${shown(href)} into chunks`, 'Export without --chunkSize.');
    const size = r.attr(f, 'size');
    return { id, href, size: size && /^\d+$/.test(size) ? Number(size) : null };
  });
  const diskSection = child(env, 'DiskSection') ?? child(env, 'DiskSection_Type');
  const diskRefs = new Map<string, { fileRef: string | null; capacity: number; format: string | null }>();
  for (const d of children(diskSection, 'Disk')) {
    const diskId = r.attr(d, 'diskId') ?? '';
    const capacityText = r.attr(d, 'capacity') ?? '';
    const unitText = r.attr(d, 'capacityAllocationUnits') ?? 'byte';
    const unit = allocationUnitBytes(unitText);
    if (!/^\d+$/.test(capacityText) || unit === null) throw refuse(source, `gives the disk ${shown(diskId)} the capacity "${shown(capacityText)}" in "${shown(unitText)}", which virtdeck cannot read`);
    const capacity = Number(capacityText) * unit;
    if (!Number.isSafeInteger(capacity)) throw refuse(source, `gives the disk ${shown(diskId)} a capacity too large to be real`);
    diskRefs.set(diskId, { fileRef: r.attr(d, 'fileRef'), capacity, format: r.attr(d, 'format') });
  }

  const collection = child(env, 'VirtualSystemCollection');
  const systems = children(env, 'VirtualSystem');
  if (collection || systems.length !== 1) {
    const n = collection ? children(collection, 'VirtualSystem').length : systems.length;
    throw refuse(source, `holds ${n} virtual machines${collection ? ' (a vApp)' : ''}; virtdeck imports one at a time`, 'Export each VM of the vApp on its own.');
  }
  const vs = systems[0] as Node;
  const hw = children(vs, 'VirtualHardwareSection')[0];
  if (!hw) throw refuse(source, 'has no VirtualHardwareSection (no hardware)');
  const name = r.text(vs, 'Name') ?? r.attr(vs, 'id');
  const annotation = r.text(child(vs, 'AnnotationSection'), 'Annotation');
  const osSection = child(vs, 'OperatingSystemSection');
  const osType = r.attr(osSection, 'osType');
  const guestOS = osType ? vimGuestIdToVmx(osType) : null;
  const systemType = r.text(child(hw, 'System'), 'VirtualSystemType') ?? '';
  const hwMatch = /vmx-(\d+)/i.exec(systemType);
  const virtualHW = hwMatch ? Number(hwMatch[1]) : null;

  const warnings: string[] = [];
  const ignored: string[] = [];
  const config = new Map<string, string>();
  for (const c of [...children(hw, 'Config'), ...children(hw, 'ExtraConfig')]) {
    const key = r.attr(c, 'key');
    if (key) config.set(key.toLowerCase(), r.attr(c, 'value') ?? '');
  }
  const used = new Set<string>();
  const cfg = (key: string) => {
    used.add(key.toLowerCase());
    return config.get(key.toLowerCase()) ?? null;
  };
  const firmware = (cfg('firmware') ?? '').toLowerCase() === 'efi' ? 'efi' : 'bios';
  const secureBoot = (cfg('uefi.secureBoot.enabled') ?? '').toLowerCase() === 'true';
  if (secureBoot && firmware !== 'efi') warnings.push('Secure Boot is on but the firmware is not EFI; it is ignored.');

  const items = readItems(r, hw);
  let vcpus = 1;
  let topology: VmxGuest['topology'] = null;
  let memoryMiB = 32;
  let tpm = false;
  const controllers = new Map<string, Controller>();
  const counters: Record<ControllerBus, number> = { ide: 0, scsi: 0, sata: 0, nvme: 0 };
  const vmxControllers: VmxController[] = [];
  for (const it of items) {
    const bus = controllerOf(it);
    if (!bus) continue;
    const address = r.int(it.node, 'Address', `the address of controller ${shown(it.name)}`);
    const index = address ?? counters[bus];
    counters[bus] = Math.max(counters[bus], index + 1);
    let model: ScsiModel | null = null;
    if (bus === 'scsi') {
      model = SCSI_SUBTYPES[it.subType.toLowerCase()] ?? null;
      if (!model) throw refuse(source, `has the SCSI controller "${shown(it.subType)}", which virtdeck does not know`, `Change it in VMware to one of LSI Logic, LSI Logic SAS or VMware Paravirtual and export again.`);
    }
    if ([...controllers.values()].some((c) => c.bus === bus && c.index === index)) throw refuse(source, `has two ${bus.toUpperCase()} controllers at address ${index}`);
    controllers.set(it.instanceId, { bus, index, model });
    if (bus !== 'ide') vmxControllers.push({ bus, index, model });
  }

  const disks: VmxDisk[] = [];
  const ovfDisks: OvfDisk[] = [];
  const nics: VmxNic[] = [];
  const usedSlots = new Set<string>();
  for (const it of items) {
    switch (it.type) {
      case 3: {
        vcpus = r.int(it.node, 'VirtualQuantity', 'the number of vCPUs') ?? 1;
        if (vcpus < 1) throw refuse(source, 'gives 0 vCPUs');
        const cores = r.int(it.node, 'CoresPerSocket', 'the cores per socket');
        if (cores !== null) {
          if (cores < 1 || vcpus % cores !== 0) throw refuse(source, `gives ${cores} cores per socket, which does not divide ${vcpus} vCPUs`);
          topology = { sockets: vcpus / cores, cores, threads: 1 };
        }
        break;
      }
      case 4: {
        const q = r.int(it.node, 'VirtualQuantity', 'the memory size') ?? 0;
        const unitText = r.text(it.node, 'AllocationUnits') ?? 'byte * 2^20';
        const unit = allocationUnitBytes(unitText);
        if (unit === null) throw refuse(source, `gives the memory in "${shown(unitText)}", a unit virtdeck cannot read`);
        memoryMiB = Math.floor((q * unit) / 2 ** 20);
        if (memoryMiB < 1) throw refuse(source, `gives the memory as ${q} × ${shown(unitText)}, less than 1 MiB`);
        break;
      }
      case 17:
      case 15:
      case 16: {
        const parent = controllers.get(r.text(it.node, 'Parent') ?? '');
        if (!parent) throw refuse(source, `has the drive "${shown(it.name)}" on a controller it does not describe`);
        const unit = r.int(it.node, 'AddressOnParent', `the slot of ${shown(it.name)}`) ?? 0;
        if (unit >= UNITS[parent.bus] || (parent.bus === 'scsi' && unit === 7)) throw refuse(source, `puts "${shown(it.name)}" in slot ${unit} of ${parent.bus}${parent.index}, which does not exist`);
        const key = `${parent.bus}${parent.index}:${unit}`;
        if (usedSlots.has(key)) throw refuse(source, `puts two drives in ${key}`);
        usedSlots.add(key);
        const base = { key, bus: parent.bus as VmxBus, controller: parent.index, unit, target: TARGET_BASE[parent.bus](parent.index, unit), transient: false, writeThrough: false };
        const hostResource = r.text(it.node, 'HostResource');
        if (it.type !== 17) {
          if (hostResource) warnings.push(`${key}: the CD-ROM image of the export (${shown(hostResource)}) is not attached; the drive starts empty.`);
          disks.push({ ...base, device: 'cdrom', source: { kind: 'none' }, fileName: null });
          break;
        }
        const m = /^(?:ovf:)?\/disk\/(.+)$/.exec(hostResource ?? '');
        const diskId = m?.[1] ?? '';
        const ref = diskRefs.get(diskId);
        if (!ref) throw refuse(source, `has the hard disk "${shown(it.name)}" with HostResource "${shown(hostResource ?? '')}", which names no disk of its DiskSection`);
        const file = files.find((f) => f.id === ref.fileRef);
        if (!file) throw refuse(source, `has the disk ${shown(diskId)} without a file in References (an empty disk)`, 'Export the VM with its disks.');
        const format = diskFormat(ref.format, source, diskId);
        disks.push({ ...base, device: 'disk', source: { kind: 'file', path: file.href }, fileName: file.href });
        ovfDisks.push({ key, diskId, href: file.href, format, capacityBytes: ref.capacity });
        break;
      }
      case 14:
        warnings.push(`The floppy drive "${shown(it.name)}" is left out.`);
        break;
      case 10: {
        const index = nics.length;
        const ns = `ethernet${index}`;
        const addr = r.text(it.node, 'Address');
        let mac: string | null = null;
        if (addr) {
          try {
            mac = normaliseMac(addr);
          } catch {
            throw refuse(source, `gives the network card "${shown(it.name)}" the address "${shown(addr)}", which is not a MAC address`);
          }
          if (mac === '00:00:00:00:00:00') {
            mac = null;
            warnings.push(`${ns} has the placeholder MAC 00:00:00:00:00:00; it gets a generated MAC, so the guest sees a new network card.`);
          }
        } else warnings.push(`${ns} has no MAC in the export (ovftool leaves it out unless asked); it gets a new MAC, so Windows will see a new network card.`);
        const sub = it.subType.toLowerCase();
        const model = sub ? (NIC_SUBTYPES[sub] ?? null) : null;
        if (sub && !model) warnings.push(`${ns} is a "${shown(it.subType)}" network card, which virtdeck does not know; it becomes e1000.`);
        const networkName = r.text(it.node, 'Connection');
        nics.push({ index, mac, macType: mac ? 'static' : 'generated', checkMac: true, model, connection: networkName ? 'bridged' : 'none', networkName: networkName || null, vnet: null, switchId: null, portgroup: null });
        break;
      }
      default:
        if (it.subType.toLowerCase() === 'vmware.vtpm' || /\bTPM\b/i.test(it.name)) tpm = true;
        else if (!controllerOf(it)) ignored.push(`${it.name || `ResourceType ${it.type}`}${it.subType ? ` (${it.subType})` : ''}`);
    }
  }
  for (const [k, v] of config) if (!used.has(k)) ignored.push(`${k} = ${v}`);
  return {
    ovfVersion,
    guest: {
      name,
      description: annotation,
      biosUuid: null,
      vcUuid: null,
      memoryMiB,
      vcpus,
      topology,
      guestOS,
      // Without VMware's osType, x86_64: it runs 32-bit guests too, while i686 cannot run a 64-bit one.
      arch: guestOS === null || guestOS.endsWith('-64') ? 'x86_64' : 'i686',
      windows: isWindowsGuestOS(guestOS),
      firmware,
      // The same fields the .vmx reader fills, so vmxToDomainXml gives an export the same
      // Secure Boot OVMF build and swtpm TPM as a .vmx with uefi.secureBoot.enabled / vtpm.present.
      secureBoot: secureBoot && firmware === 'efi',
      tpm,
      virtualHW,
      controllers: vmxControllers,
      disks,
      nics,
      serials: [],
      ignored,
      disabled: [],
      warnings,
    },
    disks: ovfDisks,
    files,
    secureBoot: secureBoot && firmware === 'efi',
    tpm,
  };
}
