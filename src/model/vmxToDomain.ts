/**
 * A VMware guest (model/vmx.ts) as a libvirt domain for QEMU/KVM. What is carried over is what
 * the guest OS notices: the SMBIOS UUID, memory, vCPU topology, the disks in their slots on the
 * same kind of controller (Windows only boots from a controller it has a driver for), the NICs'
 * MACs and models (Windows binds its IP settings to the MAC; a new MAC is a "new" NIC without
 * them), a localtime clock for Windows. VMware-only hardware (vmxnet2, BusLogic, NVMe under libvirt
 * 9) becomes the closest QEMU device, each with a warning.
 */
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

function esc(text: string | number): string {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
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

function nicXml(nic: VmxNic, map: NicMapping, warnings: string[]): string[] {
  const lines: string[] = [];
  lines.push(`    <interface type='${map.kind}'>`);
  if (nic.mac) lines.push(`      <mac address='${esc(nic.mac)}'/>`);
  if (map.kind === 'bridge') lines.push(`      <source bridge='${esc(map.source)}'/>`);
  if (map.kind === 'network') lines.push(`      <source network='${esc(map.source)}'/>`);
  const model = nic.model ? (NIC_MODEL[nic.model] ?? 'e1000') : 'e1000';
  if (nic.model && NIC_MODEL[nic.model] !== nic.model) warnings.push(`ethernet${nic.index} is a VMware ${nic.model}, which QEMU does not have; it becomes ${model}.`);
  lines.push(`      <model type='${model}'/>`);
  lines.push('    </interface>');
  return lines;
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

function cdromSourceXml(d: VmxDisk, warnings: string[]): { type: 'file'; source: string | null } {
  if (d.source.kind === 'file' && d.device === 'cdrom') return { type: 'file', source: d.source.path };
  if (d.source.kind === 'block' || d.source.kind === 'auto') {
    warnings.push(`${d.key} used a drive of the VMware host (${d.fileName}); the CD-ROM starts empty here.`);
  }
  return { type: 'file', source: null };
}

/** The domain XML and where each drive went. UserError when a hard disk has no file to use. */
export function vmxToDomainXml(guest: VmxGuest, opts: VmxDomainOptions): VmxDomain {
  const warnings: string[] = [];
  const machine = guest.firmware === 'efi' ? 'q35' : 'pc';
  const placed = placeDisks(guest, opts.bus, machine, warnings);
  const files = new Map(opts.disks.map((f) => [f.key, f]));
  for (const d of guest.disks) {
    if (d.device === 'floppy') warnings.push(`${d.key} (a floppy drive) is left out.`);
  }
  if (opts.nics.length !== guest.nics.length) {
    throw new UserError(`The .vmx has ${guest.nics.length} network cards but ${opts.nics.length} were mapped.`, 'Map every network card to a bridge, a libvirt network, or user-mode networking.');
  }
  const windows = guest.windows;
  const hyperv = windows && opts.domainType === 'kvm' && !PRE_VISTA.test(guest.guestOS ?? '');

  const out: string[] = [];
  const add = (line: string) => out.push(line);
  add(`<domain type='${opts.domainType}'>`);
  add(`  <name>${esc(opts.name)}</name>`);
  // QEMU gives the domain UUID to the guest as its SMBIOS UUID, which is what VMware's uuid.bios was.
  if (guest.biosUuid) add(`  <uuid>${esc(guest.biosUuid)}</uuid>`);
  if (guest.description) add(`  <description>${esc(guest.description)}</description>`);
  add(`  <memory unit='MiB'>${guest.memoryMiB}</memory>`);
  add(`  <currentMemory unit='MiB'>${guest.memoryMiB}</currentMemory>`);
  add(`  <vcpu placement='static'>${guest.vcpus}</vcpu>`);
  add(guest.firmware === 'efi' ? `  <os firmware='efi'>` : '  <os>');
  // x86_64 QEMU runs 32-bit guests too; i686 machine types would only limit memory.
  add(`    <type arch='x86_64' machine='${machine}'>hvm</type>`);
  add(`    <boot dev='hd'/>`);
  add('  </os>');
  add('  <features>');
  add('    <acpi/>');
  add('    <apic/>');
  if (hyperv) {
    add(`    <hyperv mode='custom'>`);
    add(`      <relaxed state='on'/>`);
    add(`      <vapic state='on'/>`);
    add(`      <spinlocks state='on' retries='8191'/>`);
    add('    </hyperv>');
  }
  add('  </features>');
  if (guest.topology) {
    add(opts.domainType === 'kvm' ? `  <cpu mode='host-model' check='partial'>` : '  <cpu>');
    add(`    <topology sockets='${guest.topology.sockets}' dies='1' cores='${guest.topology.cores}' threads='${guest.topology.threads}'/>`);
    add('  </cpu>');
  } else if (opts.domainType === 'kvm') add(`  <cpu mode='host-model' check='partial'/>`);
  // Windows keeps its hardware clock in local time, as VMware presented it.
  add(`  <clock offset='${windows ? 'localtime' : 'utc'}'>`);
  add(`    <timer name='rtc' tickpolicy='catchup'/>`);
  add(`    <timer name='pit' tickpolicy='delay'/>`);
  add(`    <timer name='hpet' present='no'/>`);
  if (hyperv) add(`    <timer name='hypervclock' present='yes'/>`);
  add('  </clock>');
  add('  <on_poweroff>destroy</on_poweroff>');
  add('  <on_reboot>restart</on_reboot>');
  add('  <on_crash>destroy</on_crash>');
  add('  <devices>');
  for (const p of placed) {
    const d = p.disk;
    const address = p.address ? `      <address type='drive' controller='${p.address.controller}' bus='${p.address.bus}' target='0' unit='${p.address.unit}'/>` : null;
    if (d.device === 'disk') {
      const file = files.get(d.key);
      if (!file) throw new UserError(`No image was chosen for the hard disk ${d.key}.`, 'Give every hard disk of the .vmx a file to use.');
      add(`    <disk type='file' device='disk'>`);
      add(`      <driver name='qemu' type='${file.format}'${d.writeThrough ? ` cache='writethrough'` : ''}/>`);
      add(`      <source file='${esc(file.path)}'/>`);
      add(`      <target dev='${p.target}' bus='${p.bus}'/>`);
      if (address) add(address);
      add('    </disk>');
    } else {
      const { source } = cdromSourceXml(d, warnings);
      add(`    <disk type='file' device='cdrom'>`);
      add(`      <driver name='qemu' type='raw'/>`);
      if (source) add(`      <source file='${esc(source)}'/>`);
      add(`      <target dev='${p.target}' bus='${p.bus}'/>`);
      add('      <readonly/>');
      if (address) add(address);
      add('    </disk>');
    }
  }
  const scsiControllers = new Set(placed.filter((p) => p.bus === 'scsi').map((p) => (p.address ? p.address.controller : 0)));
  for (const index of [...scsiControllers].sort()) {
    const vmxModel = guest.controllers.find((c) => c.bus === 'scsi' && c.index === index)?.model ?? 'lsilogic';
    if (vmxModel === 'buslogic') warnings.push(`scsi${index} is a BusLogic controller, which QEMU does not have; it becomes LSI Logic (the guest needs its driver).`);
    add(`    <controller type='scsi' index='${index}' model='${SCSI_MODEL[vmxModel]}'/>`);
  }
  guest.nics.forEach((nic, i) => {
    for (const line of nicXml(nic, opts.nics[i] as NicMapping, warnings)) add(line);
    if (!nic.mac) warnings.push(`ethernet${nic.index} had no MAC in the .vmx; libvirt makes a new one, so the guest sees a new network card.`);
  });
  if (guest.serials.length > 0) {
    add(`    <serial type='pty'>`);
    add(`      <target port='0'/>`);
    add('    </serial>');
    add(`    <console type='pty'>`);
    add(`      <target type='serial' port='0'/>`);
    add('    </console>');
  }
  add(`    <input type='tablet' bus='usb'/>`);
  add(`    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>`);
  add(`      <listen type='address' address='127.0.0.1'/>`);
  add('    </graphics>');
  add('    <video>');
  // Standard VGA: every OS has a driver; VMware's SVGA driver (from VMware Tools) would not match.
  add(`      <model type='vga'/>`);
  add('    </video>');
  add(`    <memballoon model='none'/>`);
  add('  </devices>');
  add('</domain>');
  return {
    xml: `${out.join('\n')}\n`,
    placements: placed.map((p) => ({ key: p.disk.key, device: p.disk.device === 'disk' ? 'disk' : 'cdrom', bus: p.bus, target: p.target })),
    warnings,
  };
}
