import {
  diskDevice,
  interfaceDevice,
  libosinfoMetadata,
  memballoonDevice,
  type NicSpec,
  renderDomain,
  serialConsole,
  tabletInput,
  videoDevice,
  vncGraphics,
} from './domainBuild.js';
import type { XmlElement } from './domainXml.js';
import { type FirmwareChoice, firmwareOfChoice } from './guestFirmware.js';
import { guestNameProblem } from './guestName.js';
import { parseMac } from './mac.js';
import type { CommandSpec, Plan, PlanStep } from './plan.js';
import { UserError } from './userError.js';

/**
 * The New Guest plan, pure: what the admin asked for (NewGuestSpec), what the host looks like
 * (NewGuestFacts), the refusals, the domain XML and the exact commands. The job gathers facts and
 * runs the plan; the wizard shows both.
 */

export type OsType = 'windows' | 'linux' | 'other';
export type ImageFormat = 'qcow2' | 'raw';
export type DiskBus = 'virtio' | 'sata' | 'ide';
export type NicModel = 'virtio' | 'e1000' | 'e1000e' | 'rtl8139';
export type DomainType = 'kvm' | 'qemu';

export type InstallSource =
  | { kind: 'iso'; isoPath: string }
  /**
   * Images with an installed system. `formats` is filled by the job from `qemu-img info`; the
   * format is never guessed, since a qcow2 defined as raw would be overwritten by the guest.
   */
  | { kind: 'existing'; diskPaths: string[]; formats?: Record<string, string> }
  | { kind: 'none' };

export interface NewGuestSpec {
  name: string;
  osType: OsType;
  /** libosinfo short id: win2k3, winxp, win7, win10, debian12… */
  variant?: string;
  memoryMiB: number;
  vcpus: number;
  install: InstallSource;
  newDisk?: { path: string; format: ImageFormat; sizeBytes: number };
  network: { kind: 'bridge' | 'network' | 'user'; source?: string; mac: string; model?: NicModel };
  graphics: { vnc: 'auto' | number | 'none'; listen: string };
  serial: boolean;
  domainType: DomainType;
  /** Default 'bios'. */
  firmware?: FirmwareChoice;
  /** A TPM 2.0 on swtpm (default none). */
  tpm?: boolean;
}

/** Which wizard step a refusal belongs to, so it is shown where it can be fixed. */
export type SpecField = 'name' | 'os' | 'resources' | 'install' | 'storage' | 'network' | 'display';

export class SpecProblem extends UserError {
  constructor(
    readonly field: SpecField,
    sentence: string,
    fix: string,
  ) {
    super(sentence, fix);
    this.name = 'SpecProblem';
  }
}

export type PathKind = 'file' | 'dir' | 'block' | 'other';

export interface NewGuestFacts {
  existingNames: Iterable<string>;
  /** Disk image path → the guest that already uses it as a disk (CD-ROMs are shareable, not listed). */
  guestDiskUsers: Map<string, string>;
  /** What exists at a path on the host, or null when nothing does. */
  pathKind: (path: string) => PathKind | null;
  hostMemoryMiB: number;
  bridges: string[];
  networks: { name: string; active: boolean }[];
}

export interface OsDefaults {
  machine: 'q35' | 'pc';
  diskBus: DiskBus;
  cdromBus: 'sata' | 'ide';
  nicModel: NicModel;
  clock: 'localtime' | 'utc';
  /** Hyper-V enlightenments; only meaningful (and only offered) with KVM. */
  hyperv: boolean;
  tablet: 'usb' | 'virtio';
  video: 'vga' | 'virtio';
  memoryMiB: number;
  vcpus: number;
  diskSizeGiB: number;
  serial: boolean;
  firmware: FirmwareChoice;
  tpm: boolean;
}

/** Windows that ships neither AHCI nor Intel e1000 drivers and does not boot on q35. */
const OLD_WINDOWS = new Set(['win2k', 'winxp', 'win2k3', 'win2k3r2']);
/** rtl8139 is the only NIC XP and 2003 drive out of the box. */
const RTL8139_WINDOWS = new Set(['winxp', 'win2k3', 'win2k3r2', 'win2k']);

export function isOldWindows(osType: OsType, variant?: string): boolean {
  return osType === 'windows' && variant !== undefined && OLD_WINDOWS.has(variant);
}

export function osDefaults(osType: OsType, variant?: string, domainType: DomainType = 'kvm'): OsDefaults {
  if (osType === 'linux') {
    return {
      machine: 'q35', diskBus: 'virtio', cdromBus: 'sata', nicModel: 'virtio', clock: 'utc', hyperv: false,
      tablet: 'virtio', video: 'virtio', memoryMiB: 1024, vcpus: 1, diskSizeGiB: 20, serial: true, firmware: 'bios', tpm: false,
    };
  }
  if (osType === 'windows') {
    const old = isOldWindows(osType, variant);
    return {
      machine: old ? 'pc' : 'q35',
      diskBus: old ? 'ide' : 'sata',
      cdromBus: old ? 'ide' : 'sata',
      nicModel: variant && RTL8139_WINDOWS.has(variant) ? 'rtl8139' : 'e1000',
      // Windows keeps the hardware clock in local time; UTC makes it an hour or more off.
      clock: 'localtime',
      hyperv: domainType === 'kvm',
      // Windows has no virtio-input driver of its own; a USB tablet keeps the VNC pointer in step.
      tablet: 'usb',
      video: 'vga',
      memoryMiB: old ? 512 : 2048,
      vcpus: old ? 1 : 2,
      diskSizeGiB: old ? 16 : 60,
      serial: false,
      // Windows 11 will not install without UEFI, Secure Boot and a TPM 2.0; its disk stays on SATA
      // (AHCI, driver in the box) until the virtio drivers are installed.
      firmware: variant === 'win11' ? 'uefi-secure' : 'bios',
      tpm: variant === 'win11',
    };
  }
  return {
    machine: 'pc', diskBus: 'ide', cdromBus: 'ide', nicModel: 'e1000', clock: 'utc', hyperv: false,
    tablet: 'usb', video: 'vga', memoryMiB: 512, vcpus: 1, diskSizeGiB: 10, serial: true, firmware: 'bios', tpm: false,
  };
}

/** libosinfo ids, so the guest list can show what a guest runs (virt-manager writes the same). */
const LIBOSINFO_IDS: Record<string, string> = {
  win2k: 'http://microsoft.com/win/2k',
  winxp: 'http://microsoft.com/win/xp',
  win2k3: 'http://microsoft.com/win/2k3',
  win2k3r2: 'http://microsoft.com/win/2k3r2',
  win7: 'http://microsoft.com/win/7',
  win2k8r2: 'http://microsoft.com/win/2k8r2',
  win10: 'http://microsoft.com/win/10',
  win11: 'http://microsoft.com/win/11',
  win2k19: 'http://microsoft.com/win/2k19',
  win2k22: 'http://microsoft.com/win/2k22',
  debian11: 'http://debian.org/debian/11',
  debian12: 'http://debian.org/debian/12',
  'ubuntu22.04': 'http://ubuntu.com/ubuntu/22.04',
  'ubuntu24.04': 'http://ubuntu.com/ubuntu/24.04',
  rhel9: 'http://redhat.com/rhel/9.0',
  linux2022: 'http://libosinfo.org/linux/2022',
};

export function libosinfoId(spec: Pick<NewGuestSpec, 'osType' | 'variant'>): string | null {
  if (spec.variant && LIBOSINFO_IDS[spec.variant]) return LIBOSINFO_IDS[spec.variant] ?? null;
  if (spec.osType === 'linux') return LIBOSINFO_IDS.linux2022 ?? null;
  return null;
}

export const DEFAULT_IMAGE_DIR = '/var/lib/libvirt/images';

export function defaultDiskPath(name: string, format: ImageFormat): string {
  return `${DEFAULT_IMAGE_DIR}/${name || 'guest'}.${format === 'qcow2' ? 'qcow2' : 'img'}`;
}

function parentDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
function isListenAddress(text: string): boolean {
  return IPV4_RE.test(text) || (/^[0-9a-fA-F:]+$/.test(text) && text.includes(':'));
}

/** Disks the guest will have, in target order: the existing images first (they hold the system). */
export function guestDisks(spec: NewGuestSpec): { path: string; format: string | null; created: boolean }[] {
  const disks: { path: string; format: string | null; created: boolean }[] = [];
  if (spec.install.kind === 'existing') {
    for (const p of spec.install.diskPaths) disks.push({ path: p, format: spec.install.formats?.[p] ?? null, created: false });
  }
  if (spec.newDisk) disks.push({ path: spec.newDisk.path, format: spec.newDisk.format, created: true });
  return disks;
}

/** Every reason to refuse the spec on this host; empty when it may be defined. */
export function validateSpec(spec: NewGuestSpec, facts: NewGuestFacts): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const refuse = (field: SpecField, sentence: string, fix: string) => problems.push(new SpecProblem(field, sentence, fix));
  const defaults = osDefaults(spec.osType, spec.variant, spec.domainType);

  // name
  const nameProblem = guestNameProblem(spec.name);
  if (nameProblem) refuse('name', nameProblem.sentence, nameProblem.fix);
  else if ([...facts.existingNames].includes(spec.name)) {
    refuse('name', `A guest called ${spec.name} already exists on this host.`, 'Choose another name, or remove the old guest first.');
  }

  // resources
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 16) {
    refuse('resources', 'The guest needs at least 16 MiB of memory.', 'Give the RAM in MiB or with a unit, for example 1024 or 2G.');
  } else if (facts.hostMemoryMiB > 0 && spec.memoryMiB > facts.hostMemoryMiB) {
    refuse('resources', `${spec.memoryMiB} MiB of RAM is more than this host has (${facts.hostMemoryMiB} MiB in total).`,
      `Give the guest less memory, at most ${facts.hostMemoryMiB} MiB.`);
  }
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > 255) {
    refuse('resources', 'The number of virtual CPUs must be a whole number from 1 to 255.', 'Type for example 1 or 2.');
  }
  const firmware = spec.firmware ?? 'bios';
  if (firmware !== 'bios' && isOldWindows(spec.osType, spec.variant)) {
    refuse('resources', 'Windows 2000, XP and Server 2003 start only from a BIOS, not from UEFI.', 'Choose BIOS firmware.');
  } else if (firmware === 'uefi-secure' && defaults.machine !== 'q35') {
    refuse('resources', 'Secure Boot needs the q35 machine type, and this OS choice runs on i440fx with IDE disks.', 'Choose UEFI without Secure Boot, or pick the OS on the list that matches (e.g. Linux or Windows 10).');
  }

  // install source
  const install = spec.install;
  if (install.kind === 'iso') {
    const kind = install.isoPath ? facts.pathKind(install.isoPath) : null;
    if (!install.isoPath) refuse('install', 'No ISO image was given.', 'Type the full path of the installer ISO, e.g. /var/lib/libvirt/images/debian-12.iso.');
    else if (kind === null) refuse('install', `The ISO image ${install.isoPath} does not exist on this host.`, 'Check the path, or copy the ISO to the host first.');
    else if (kind !== 'file' && kind !== 'block') refuse('install', `${install.isoPath} is not a file.`, 'Give the path of the .iso file itself.');
  } else if (install.kind === 'existing') {
    if (install.diskPaths.length === 0) refuse('install', 'No disk image was given.', 'Type the path of the image that holds the installed system.');
    const seen = new Set<string>();
    for (const p of install.diskPaths) {
      const kind = facts.pathKind(p);
      const user = facts.guestDiskUsers.get(p);
      if (seen.has(p)) refuse('install', `The disk image ${p} is listed twice.`, 'Give each image once.');
      seen.add(p);
      if (kind === null) refuse('install', `The disk image ${p} does not exist on this host.`, 'Check the path (it must be the full path on the host).');
      else if (kind !== 'file' && kind !== 'block') refuse('install', `${p} is not a disk image file or block device.`, 'Give the path of the image file itself.');
      else if (user) {
        refuse('install', `The disk image ${p} is already used by the guest ${user}.`,
          `Give this guest its own copy of the image, or remove the disk from ${user} first.`);
      }
    }
  }

  // storage
  if (spec.newDisk) {
    const d = spec.newDisk;
    const dirKind = facts.pathKind(parentDir(d.path));
    if (!d.path.startsWith('/')) refuse('storage', `The disk path ${d.path} is not a full path.`, `Give a path starting with /, e.g. ${defaultDiskPath(spec.name, d.format)}.`);
    else if (facts.pathKind(d.path) !== null) {
      refuse('storage', `${d.path} already exists; virtdeck never overwrites a file with a new disk.`,
        'Choose another file name, or pick "I have a disk image" to use the existing one.');
    } else if (dirKind !== 'dir') refuse('storage', `The folder ${parentDir(d.path)} does not exist on this host.`, 'Create it first, or put the disk in /var/lib/libvirt/images.');
    else if (facts.guestDiskUsers.has(d.path)) refuse('storage', `${d.path} is already a disk of the guest ${facts.guestDiskUsers.get(d.path)}.`, 'Choose another file name.');
    if (!Number.isSafeInteger(d.sizeBytes) || d.sizeBytes < 1024 * 1024) refuse('storage', 'The new disk must be at least 1 MiB.', 'Give a size such as 20G.');
  }
  const diskCount = guestDisks(spec).length + (install.kind === 'iso' ? 1 : 0);
  if (defaults.diskBus === 'ide' && diskCount > 4) {
    refuse('storage', `An IDE guest holds at most 4 drives, and this one would have ${diskCount}.`, 'Leave out the new disk or one of the images.');
  }

  // network
  const net = spec.network;
  try {
    parseMac(net.mac);
  } catch (e) {
    if (e instanceof UserError) refuse('network', e.sentence, e.fix);
    else throw e;
  }
  if (net.kind === 'bridge') {
    if (!net.source || !facts.bridges.includes(net.source)) {
      refuse('network', net.source ? `There is no bridge ${net.source} on this host.` : 'No bridge was chosen.',
        facts.bridges.length ? `Choose one of: ${facts.bridges.join(', ')}.` : 'Create a bridge first, or use user-mode networking.');
    }
  } else if (net.kind === 'network') {
    const found = facts.networks.find((n) => n.name === net.source);
    if (!found) {
      const names = facts.networks.map((n) => n.name);
      refuse('network', net.source ? `There is no libvirt network ${net.source} on this host.` : 'No libvirt network was chosen.',
        names.length ? `Choose one of: ${names.join(', ')}.` : 'Define one with virsh net-define, or use user-mode networking.');
    } else if (!found.active) {
      refuse('network', `The libvirt network ${found.name} is not running.`, `Start it with: virsh net-start ${found.name} (and net-autostart to keep it).`);
    }
  }

  // display
  const vnc = spec.graphics.vnc;
  if (typeof vnc === 'number' && (!Number.isInteger(vnc) || vnc < 5900 || vnc > 65535)) {
    refuse('display', `VNC port ${vnc} is outside 5900–65535.`, 'Use "auto", or a port such as 5901 (display :1).');
  }
  if (vnc !== 'none' && !isListenAddress(spec.graphics.listen)) {
    refuse('display', `"${spec.graphics.listen}" is not an IP address to listen on.`,
      'Use 127.0.0.1 (reach it through an SSH tunnel) or 0.0.0.0 (every network).');
  }
  if (vnc === 'none' && !spec.serial) {
    refuse('display', 'The guest would have neither a screen nor a serial console.', 'Turn on VNC or the serial console.');
  }
  return problems;
}

// ---------------------------------------------------------------- XML

const TARGET_PREFIX: Record<DiskBus, string> = { virtio: 'vd', sata: 'sd', ide: 'hd' };

function targetName(bus: DiskBus | 'sata' | 'ide', index: number): string {
  return `${TARGET_PREFIX[bus]}${String.fromCharCode(97 + index)}`;
}

function diskFormatFor(disk: { path: string; format: string | null }): string {
  if (!disk.format) {
    throw new UserError(`The format of ${disk.path} is not known yet.`, 'Let virtdeck read it with qemu-img info before building the guest.');
  }
  return disk.format;
}

/** The libvirt domain XML for the spec (model/domainBuild.ts escapes and checks every value). */
export function buildDomainXml(spec: NewGuestSpec): string {
  const d = osDefaults(spec.osType, spec.variant, spec.domainType);
  const osinfo = libosinfoId(spec);
  const disks = guestDisks(spec);
  const devices: XmlElement[] = disks.map((disk, i) =>
    diskDevice({
      path: disk.path,
      format: diskFormatFor(disk),
      target: targetName(d.diskBus, i),
      bus: d.diskBus,
      driver: d.diskBus === 'virtio' ? { discard: 'unmap' } : {},
    }),
  );
  if (spec.install.kind === 'iso') {
    // The CD-ROM shares the bus with the disks when they are IDE or SATA, so it takes the next letter.
    const index = d.cdromBus === d.diskBus ? Math.max(disks.length, d.cdromBus === 'ide' ? 2 : 0) : 0;
    devices.push(diskDevice({ device: 'cdrom', path: spec.install.isoPath, format: 'raw', target: targetName(d.cdromBus, index), bus: d.cdromBus }));
  }
  const net = spec.network;
  const nic: NicSpec = net.kind === 'user' ? { kind: 'user' } : { kind: net.kind, source: net.source ?? '' };
  devices.push(interfaceDevice(nic, net.model ?? d.nicModel, parseMac(net.mac)));
  if (spec.serial) devices.push(...serialConsole());
  devices.push(tabletInput(d.tablet));
  const vnc = spec.graphics.vnc;
  if (vnc !== 'none') devices.push(vncGraphics(vnc, spec.graphics.listen), videoDevice(d.video));
  devices.push(memballoonDevice(spec.osType === 'linux' ? 'virtio' : 'none'));
  const fw = firmwareOfChoice(spec.firmware ?? 'bios', spec.tpm === true);
  return renderDomain({
    type: spec.domainType,
    name: spec.name,
    metadata: osinfo ? [libosinfoMetadata(osinfo)] : [],
    memoryMiB: spec.memoryMiB,
    vcpus: spec.vcpus,
    machine: d.machine,
    firmware: fw.firmware === 'efi' ? 'efi' : null,
    secureBoot: fw.secureBoot,
    tpm: fw.tpm,
    boot: spec.install.kind === 'iso' ? ['cdrom', 'hd'] : ['hd'],
    pae: spec.osType === 'windows' && d.machine === 'pc',
    hyperv: d.hyperv,
    // host-model only means something with KVM; under TCG QEMU's default CPU is the portable choice.
    cpu: spec.domainType === 'kvm' ? { hostModel: true } : null,
    clock: d.clock,
    timers: true,
    devices,
  });
}

// ---------------------------------------------------------------- plan

/** qemu-img reads suffixes as powers of 1024, so a whole number of GiB is shown as "20G". */
export function qemuImgSize(bytes: number): string {
  for (const [suffix, unit] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes % unit === 0) return `${bytes / unit}${suffix}`;
  }
  return String(bytes);
}

/** Stable ids of the New Guest steps; the job and tests find steps by them. */
export type NewGuestStepId = 'create-disk' | 'define' | 'start';

/** A virsh start or define can wait on a busy libvirtd; two minutes, as for any single command. */
const STEP_TIMEOUT_MS = 120_000;

/**
 * The job as a plan for runner.ts. `xmlFile` is the local file `virsh define --file` reads (virsh
 * cannot read /dev/stdin when Node's stdin is a socket pair); the job puts it in a fresh private
 * directory, so the runner's write can never go through someone else's file or symlink.
 */
export function planNewGuest(spec: NewGuestSpec, opts: { uri: string; start: boolean; xmlFile: string }): Plan {
  const virsh = (...args: string[]): CommandSpec => ({ runsOn: 'virsh', argv: ['virsh', '-c', opts.uri, ...args], timeoutMs: STEP_TIMEOUT_MS });
  const steps: PlanStep[] = [];
  if (spec.newDisk) {
    const { path, format, sizeBytes } = spec.newDisk;
    steps.push({
      id: 'create-disk' satisfies NewGuestStepId,
      title: `create the ${qemuImgSize(sizeBytes)} ${format} disk ${path}`,
      command: { runsOn: 'sys', argv: ['qemu-img', 'create', '-q', '-f', format, path, qemuImgSize(sizeBytes)], timeoutMs: STEP_TIMEOUT_MS },
      // Not `partial`: validation refused an existing path, but if qemu-img failed because a file
      // appeared there meanwhile, that file is someone else's.
      undo: { title: `remove the new disk ${path}`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', path] } },
    });
  }
  steps.push({
    id: 'define' satisfies NewGuestStepId,
    title: `define the guest ${spec.name}`,
    command: virsh('define', '--file', opts.xmlFile),
    writesFile: { path: opts.xmlFile, content: buildDomainXml(spec) },
    // Once started, a UEFI guest has a variable store of its own, and libvirt keeps the guest unless told to remove it.
    undo: { title: `undefine ${spec.name}`, command: virsh('undefine', '--domain', spec.name, ...((spec.firmware ?? 'bios') !== 'bios' ? ['--nvram'] : [])) },
  });
  if (opts.start) {
    steps.push({
      id: 'start' satisfies NewGuestStepId,
      title: `start ${spec.name}`,
      command: virsh('start', '--domain', spec.name),
      undo: { title: `stop ${spec.name}`, command: virsh('destroy', '--domain', spec.name) },
    });
  }
  return {
    kind: 'new-guest',
    title: `create the guest ${spec.name}`,
    targets: { guests: [spec.name], images: spec.newDisk ? [spec.newDisk.path] : [] },
    steps,
  };
}
