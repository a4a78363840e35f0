/**
 * A VMware guest (model/vmx.ts) as a libvirt domain for QEMU/KVM. What is carried over is what
 * the guest OS notices: the SMBIOS UUID, memory, vCPU topology, the disks in their slots on the
 * same kind of controller (Windows only boots from a controller it has a driver for), the NICs'
 * MACs and models (Windows binds its IP settings to the MAC; a new MAC is a "new" NIC without
 * them), a localtime clock for Windows. VMware-only hardware (vmxnet2, BusLogic, NVMe under libvirt
 * 9) becomes the closest QEMU device, each with a warning.
 */
import { controllerDevice, diskDevice, interfaceDevice, memballoonDevice, renderDomain, serialConsole, tabletInput, videoDevice, vncGraphics } from './domainBuild.js';
import type { XmlElement } from './domainXml.js';
import { UserError } from './userError.js';
import type { ScsiModel, VmxDisk, VmxGuest, VmxNic } from './vmx.js';

export type BusChoice = 'keep' | 'virtio' | 'sata' | 'ide';
export const BUS_CHOICES: BusChoice[] = ['keep', 'virtio', 'sata', 'ide'];

export type NicMapping = { kind: 'bridge'; source: string } | { kind: 'network'; source: string } | { kind: 'user' };

export interface DomainDiskFile {
  /** The .vmx slot (scsi0:0) of the hard disk this file replaces. */
  key: string;
  path: string;
  format: 'vmdk' | 'qcow2' | 'raw';
}

export interface VmxDomainOptions {
  name: string;
  domainType: 'kvm' | 'qemu';
  /** One per hard disk of the guest. */
  disks: DomainDiskFile[];
  bus: BusChoice;
  /** One per NIC of the guest, in the same order. */
  nics: NicMapping[];
}

export interface DomainDiskPlacement {
  key: string;
  device: 'disk' | 'cdrom';
  bus: 'scsi' | 'ide' | 'sata' | 'virtio';
  target: string;
}

export interface VmxDomain {
  xml: string;
  placements: DomainDiskPlacement[];
  warnings: string[];
}

/** QEMU has no BusLogic; LSI Logic is what Windows 2000 and later bring a driver for. */
const SCSI_MODEL: Record<ScsiModel, string> = { lsilogic: 'lsilogic', lsisas1068: 'lsisas1068', pvscsi: 'vmpvscsi', buslogic: 'lsilogic' };

/** vmxnet2 has no QEMU twin; e1000 has a driver in every Windows since 2000 and every Linux. */
const NIC_MODEL: Record<string, string> = { e1000: 'e1000', e1000e: 'e1000e', vmxnet3: 'vmxnet3', vlance: 'pcnet', vmxnet: 'e1000', vmxnet2: 'e1000' };

/** Windows before Vista has no use for Hyper-V enlightenments (and NT4/2000 mis-detect them). */
const PRE_VISTA = /^(win31|win95|win98|winme|nt4|win2000|winxp|winnet|whistler)/i;

function letters(index: number): string {
  let s = '';
  for (let i = index; i >= 0; i = Math.floor(i / 26) - 1) s = String.fromCharCode(97 + (i % 26)) + s;
  return s;
}

const PREFIX: Record<DomainDiskPlacement['bus'], string> = { scsi: 'sd', sata: 'sd', ide: 'hd', virtio: 'vd' };

interface Placed {
  disk: VmxDisk;
  bus: DomainDiskPlacement['bus'];
  /** For drive addresses: controller and unit on that bus (kept from the .vmx for 'keep'). */
  address: { controller: number; bus: number; unit: number } | null;
  target: string;
}

function nicDevice(nic: VmxNic, map: NicMapping, warnings: string[]): XmlElement {
  const model = nic.model ? (NIC_MODEL[nic.model] ?? 'e1000') : 'e1000';
  if (nic.model && NIC_MODEL[nic.model] !== nic.model) warnings.push(`ethernet${nic.index} is a VMware ${nic.model}, which QEMU does not have; it becomes ${model}.`);
  return interfaceDevice(map, model, nic.mac);
}

/** Where each hard disk and CD-ROM goes on the chosen bus. */
export function placeDisks(guest: VmxGuest, bus: BusChoice, machine: 'pc' | 'q35', warnings: string[]): Placed[] {
  const hard = guest.disks.filter((d) => d.device === 'disk');
  const optical = guest.disks.filter((d) => d.device === 'cdrom' || d.device === 'lun');
  const ideBus = machine === 'q35' ? 'sata' : 'ide';
  const keepBus = (d: VmxDisk): Placed['bus'] => {
    if (d.bus === 'ide') {
      if (machine === 'q35') warnings.push(`${d.key} is on IDE, which the q35 machine (needed for EFI) does not have; it goes on SATA.`);
      return ideBus;
    }
    if (d.bus === 'nvme') {
      warnings.push(`${d.key} is an NVMe disk; libvirt 9 has no NVMe disk bus, so it goes on SATA (Windows 8+ and Linux have the driver).`);
      return 'sata';
    }
    return d.bus === 'scsi' ? 'scsi' : 'sata';
  };
  const busFor = (d: VmxDisk): Placed['bus'] => {
    if (bus === 'keep') return keepBus(d);
    if (d.device !== 'disk') return bus === 'virtio' ? keepBus(d) : bus === 'ide' ? ideBus : 'sata';
    return bus === 'ide' ? ideBus : bus;
  };
  const placed: Placed[] = [];
  for (const d of [...hard, ...optical]) {
    const b = busFor(d);
    // Drives that stay on their .vmx bus keep their slot (a CD-ROM stays on IDE when disks go virtio).
    const keepAddress = b === d.bus && (bus === 'keep' || d.device !== 'disk');
    placed.push({ disk: d, bus: b, address: keepAddress ? (b === 'ide' ? { controller: 0, bus: d.controller, unit: d.unit } : { controller: d.controller, bus: 0, unit: d.unit }) : null, target: '' });
  }
  // IDE keeps the .vmx slot (hda = primary master: the disk Windows booted from); other buses count up.
  const used = new Set<string>();
  for (const p of placed) {
    if (p.bus === 'ide' && p.address) {
      p.target = `hd${letters(p.address.bus * 2 + p.address.unit)}`;
      used.add(p.target);
    }
  }
  const counters: Record<string, number> = {};
  for (const p of placed) {
    if (p.target) continue;
    const prefix = PREFIX[p.bus];
    let i = counters[prefix] ?? 0;
    while (used.has(`${prefix}${letters(i)}`)) i++;
    p.target = `${prefix}${letters(i)}`;
    used.add(p.target);
    counters[prefix] = i + 1;
  }
  const ideCount = placed.filter((p) => p.bus === 'ide').length;
  if (ideCount > 4) {
    throw new UserError(`The guest would have ${ideCount} IDE drives, but IDE has room for 4.`, 'Choose the SATA or virtio bus, or keep the buses the .vmx uses.');
  }
  return placed;
}

function cdromSource(d: VmxDisk, warnings: string[]): string | null {
  if (d.source.kind === 'file' && d.device === 'cdrom') return d.source.path;
  if (d.source.kind === 'block' || d.source.kind === 'auto') {
    warnings.push(`${d.key} used a drive of the VMware host (${d.fileName}); the CD-ROM starts empty here.`);
  }
  return null;
}

/** The domain XML and where each drive went. UserError when a hard disk has no file to use. */
export function vmxToDomainXml(guest: VmxGuest, opts: VmxDomainOptions): VmxDomain {
  const warnings: string[] = [];
  // OVMF's Secure Boot build needs SMM, which only q35 has; the plain build would run on i440fx too.
  const machine = guest.firmware === 'efi' ? 'q35' : 'pc';
  const placed = placeDisks(guest, opts.bus, machine, warnings);
  const files = new Map(opts.disks.map((f) => [f.key, f]));
  for (const d of guest.disks) {
    if (d.device === 'floppy') warnings.push(`${d.key} (a floppy drive) is left out.`);
  }
  if (opts.nics.length !== guest.nics.length) {
    throw new UserError(`The .vmx has ${guest.nics.length} network cards but ${opts.nics.length} were mapped.`, 'Map every network card to a bridge, a libvirt network, or user-mode networking.');
  }
  const efi = guest.firmware === 'efi';
  const secureBoot = efi && guest.secureBoot === true;
  if (efi) {
    warnings.push(
      "VMware's EFI variables (the .nvram file) are not carried over: the guest gets a fresh store, and with no boot entry OVMF starts the ESP's fallback \\EFI\\BOOT\\BOOTX64.EFI; a Linux guest without one stops in the boot manager (grub-install --force-extra-removable adds it).",
    );
  }
  if (guest.tpm) {
    warnings.push(
      "The VM had a virtual TPM; it gets a new, empty TPM 2.0 (swtpm): what VMware's held (BitLocker keys, Windows Hello) stays behind, so have the BitLocker recovery key at hand.",
    );
  }
  const windows = guest.windows;
  const hyperv = windows && opts.domainType === 'kvm' && !PRE_VISTA.test(guest.guestOS ?? '');

  const devices: XmlElement[] = [];
  for (const p of placed) {
    const d = p.disk;
    const address = p.address ?? undefined;
    if (d.device === 'disk') {
      const file = files.get(d.key);
      if (!file) throw new UserError(`No image was chosen for the hard disk ${d.key}.`, 'Give every hard disk of the .vmx a file to use.');
      devices.push(diskDevice({ path: file.path, format: file.format, target: p.target, bus: p.bus, driver: d.writeThrough ? { cache: 'writethrough' } : {}, address }));
    } else {
      devices.push(diskDevice({ device: 'cdrom', path: cdromSource(d, warnings), format: 'raw', target: p.target, bus: p.bus, address }));
    }
  }
  const scsiControllers = new Set(placed.filter((p) => p.bus === 'scsi').map((p) => (p.address ? p.address.controller : 0)));
  for (const index of [...scsiControllers].sort()) {
    const vmxModel = guest.controllers.find((c) => c.bus === 'scsi' && c.index === index)?.model ?? 'lsilogic';
    if (vmxModel === 'buslogic') warnings.push(`scsi${index} is a BusLogic controller, which QEMU does not have; it becomes LSI Logic (the guest needs its driver).`);
    devices.push(controllerDevice('scsi', index, SCSI_MODEL[vmxModel]));
  }
  guest.nics.forEach((nic, i) => {
    devices.push(nicDevice(nic, opts.nics[i] as NicMapping, warnings));
    if (!nic.mac) warnings.push(`ethernet${nic.index} had no MAC in the .vmx; libvirt makes a new one, so the guest sees a new network card.`);
  });
  if (guest.serials.length > 0) devices.push(...serialConsole());
  // Standard VGA: every OS has a driver; VMware's SVGA driver (from VMware Tools) would not match.
  devices.push(tabletInput('usb'), vncGraphics('auto', '127.0.0.1'), videoDevice('vga'), memballoonDevice('none'));
  const xml = renderDomain({
    type: opts.domainType,
    name: opts.name,
    // QEMU gives the domain UUID to the guest as its SMBIOS UUID, which is what VMware's uuid.bios was.
    uuid: guest.biosUuid,
    description: guest.description || undefined,
    memoryMiB: guest.memoryMiB,
    vcpus: guest.vcpus,
    machine,
    firmware: efi ? 'efi' : null,
    secureBoot,
    tpm: guest.tpm === true,
    boot: ['hd'],
    hyperv,
    cpu: guest.topology || opts.domainType === 'kvm' ? { hostModel: opts.domainType === 'kvm', topology: guest.topology ?? undefined } : null,
    // Windows keeps its hardware clock in local time, as VMware presented it.
    clock: windows ? 'localtime' : 'utc',
    timers: true,
    devices,
  });
  return {
    xml,
    placements: placed.map((p) => ({ key: p.disk.key, device: p.disk.device === 'disk' ? 'disk' : 'cdrom', bus: p.bus, target: p.target })),
    warnings,
  };
}
