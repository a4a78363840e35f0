import type { DomainDoc, XmlElement, XmlNode } from './domainXml.js';
import { shown } from './shown.js';
import { UserError } from './userError.js';

/**
 * A backup run's domain.xml is outside input (a run may have sat on a NAS for a year), yet a
 * restore hands it to libvirt, which runs QEMU as root's delegate: an element that names a host
 * file, device, socket or program would give whoever wrote the run the host. This is the one gate
 * a run's XML passes before a restore defines anything from it. It keeps, element by element, what
 * virtdeck needs to bring a guest back, and decides the rest:
 *
 * Refused (UserError naming the element and the run's domain.xml; nothing is defined):
 * - any element of another namespace (`qemu:commandline`, `qemu:capabilities`, `qemu:override`…)
 *   outside <metadata>: raw QEMU arguments can read, write or run anything;
 * - an `<emulator>` that is not named like a QEMU system emulator (a tampered run: libvirt would
 *   execute it);
 * - `<os>` `<kernel>`, `<initrd>`, `<dtb>`, `<acpi><table>`: host files handed to the guest;
 * - devices that reach the host: `<hostdev>`, `<filesystem>`, `<shmem>`, `<smartcard>`, `<lease>`,
 *   `<memory>` with a host path, a `lun` disk, `<tpm>` other than the emulator backend,
 *   `<interface>` of type ethernet/vhostuser/hostdev/vdpa/server/client/mcast/udp (or with a
 *   `<script>`, `<downscript>` or `<backend>` naming devices), character devices
 *   (serial/console/channel/parallel, an egd `<rng>`, a `<redirdev>`) of any type but pty, null,
 *   vc, spicevmc, spiceport, qemu-vdagent or a unix socket libvirt names itself;
 * - a disk (device=disk) not restored whose source is not a disk of the guest as defined now
 *   (same-name restore): its source is the run's word only;
 * - an element virtdeck does not know at the top level or in <devices>;
 * - last, as a net under all of the above: any attribute or text left that is an absolute path
 *   (outside <metadata>, <title>, <description>), except the restored disks' sources (virtdeck
 *   sets them), disks the guest has now, and the usual `<rng>` sources (/dev/urandom…).
 *
 * Dropped, with a note in the plan (harmless to lose, and libvirt or virtdeck puts in its own):
 * - a standard `<emulator>` (libvirt picks this host's; no note: the same binary by another path);
 * - every `<seclabel>` (libvirt applies the host's default confinement, never the run's "none"
 *   or relabel="no");
 * - `<loader>` and `<nvram>` (UEFI becomes `<os firmware='efi'>`, libvirt picks the host's
 *   firmware and makes a fresh variable store at its own path), `<resource>` (cgroup partition);
 * - a cdrom's or floppy's media (the drive stays, empty), an interface's `<target dev>`, a unix
 *   channel's socket path;
 * - for a new guest, disks not in the backup (as before).
 */

export interface RestoreXmlOptions {
  /** The run's domain.xml path, named in refusals. */
  source: string;
  /** Targets of the disks the restore puts back (their sources are set by virtdeck). */
  restored: string[];
  /** Restore as a new guest: disks not restored are left out, not kept. */
  asNew: boolean;
  /** Disk sources of the guest as libvirt defines it now (trusted); empty for a new guest. */
  currentSources: string[];
}

export interface RestoreXmlResult {
  doc: DomainDoc;
  notes: string[];
}

const TOP_LEVEL = new Set([
  'name', 'uuid', 'genid', 'title', 'description', 'metadata', 'memory', 'currentMemory', 'maxMemory', 'vcpu', 'vcpus',
  'iothreads', 'iothreadids', 'cputune', 'memtune', 'blkiotune', 'numatune', 'memoryBacking', 'os', 'features', 'cpu',
  'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'on_lockfailure', 'pm', 'perf', 'sysinfo', 'keywrap', 'devices',
  'throttlegroups', 'bootloader', 'bootloader_args',
]);
const DROPPED_TOP = new Set(['seclabel', 'resource']);
const OS_CHILDREN = new Set(['type', 'boot', 'bootmenu', 'smbios', 'bios', 'cmdline', 'firmware', 'loader', 'nvram']);
const DEVICES = new Set([
  'emulator', 'disk', 'controller', 'interface', 'input', 'graphics', 'video', 'sound', 'audio', 'watchdog', 'memballoon',
  'rng', 'panic', 'vsock', 'iommu', 'hub', 'serial', 'console', 'channel', 'parallel', 'tpm', 'redirdev', 'redirfilter',
  'memory', 'crypto', 'pstore',
]);
const REFUSED_DEVICES = new Set(['hostdev', 'filesystem', 'shmem', 'smartcard', 'lease']);
const CHAR_DEVICES = new Set(['serial', 'console', 'channel', 'parallel']);
const SAFE_CHAR_TYPES = new Set(['pty', 'null', 'vc', 'spicevmc', 'spiceport', 'qemu-vdagent', 'unix']);
const SAFE_NIC_TYPES = new Set(['network', 'bridge', 'user', 'direct']);
const SAFE_GRAPHICS = new Set(['vnc', 'spice', 'egl-headless']);
const SAFE_INPUT = new Set(['mouse', 'keyboard', 'tablet']);
const SAFE_AUDIO = new Set(['none', 'spice']);
const DISK_CHILDREN = new Set([
  'driver', 'source', 'backingStore', 'target', 'address', 'boot', 'serial', 'alias', 'iotune', 'readonly', 'shareable',
  'transient', 'wwn', 'vendor', 'product', 'geometry', 'blockio',
]);
const RNG_SOURCES = new Set(['/dev/urandom', '/dev/random', '/dev/hwrng']);
const NOT_CHECKED = new Set(['metadata', 'title', 'description']);
const EMULATOR_NAME = /^(qemu-system-[a-z0-9_]+|qemu-kvm|kvm)$/;

function elements(parent: XmlElement): XmlElement[] {
  return parent.children.filter((c): c is XmlElement => c.kind === 'element');
}

function text(e: XmlElement): string {
  return e.children.map((c) => (c.kind === 'text' || c.kind === 'cdata' ? c.text : '')).join('').trim();
}

function keep(parent: XmlElement, drop: (e: XmlElement) => boolean): void {
  parent.children = parent.children.filter((c: XmlNode) => c.kind !== 'element' || !drop(c));
}

/** Pure: the run's XML as a restore may define it, or a UserError naming the first element refused. */
export function checkRestoreXml(input: DomainDoc, o: RestoreXmlOptions): RestoreXmlResult {
  const doc = structuredClone(input);
  const root = doc.nodes.find((n): n is XmlElement => n.kind === 'element');
  const refuse = (what: string, why: string): never => {
    throw new UserError(
      `${o.source} has ${shown(what)}, which ${why}; virtdeck does not restore it.`,
      'A backup run is outside input: take the guest\'s definition from a trusted copy, or remove the element from the run\'s domain.xml after checking it. Nothing was changed.',
    );
  };
  if (!root) return refuse('no <domain> element', 'is not a guest definition');
  const notes: string[] = [];
  const dropped = new Set<string>();
  for (const a of Object.keys(root.attrs)) if (a.startsWith('xmlns:')) delete root.attrs[a];

  // ------------------------------------------------------------ top level
  keep(root, (e) => {
    if (e.name.includes(':')) refuse(`<${e.name}>`, 'passes raw arguments to QEMU on the host');
    if (DROPPED_TOP.has(e.name)) {
      dropped.add(`<${e.name}>`);
      return true;
    }
    if (!TOP_LEVEL.has(e.name)) refuse(`<${e.name}>`, 'is not part of what virtdeck restores');
    return false;
  });
  for (const e of elements(root)) {
    if (e.name === 'bootloader') refuse('<bootloader>', 'runs a host program');
    if (e.name === 'sysinfo' && JSON.stringify(e).includes('"file"')) refuse('<sysinfo> with a file entry', 'hands a host file to the guest');
  }

  const os = elements(root).find((e) => e.name === 'os');
  if (os) {
    for (const e of elements(os)) {
      if (e.name === 'kernel' || e.name === 'initrd' || e.name === 'dtb') refuse(`<os><${e.name}>${text(e)}</${e.name}>`, 'boots the guest from a host file');
      if (e.name === 'acpi') refuse('<os><acpi><table>', 'hands a host file to the guest');
      if (!OS_CHILDREN.has(e.name) && !e.name.startsWith('init')) refuse(`<os><${e.name}>`, 'is not part of what virtdeck restores');
    }
    const loader = elements(os).find((e) => e.name === 'loader');
    if (loader) {
      if (loader.attrs.type === 'pflash' || /ovmf|aavmf|edk2/i.test(text(loader))) os.attrs.firmware = 'efi';
      notes.push(
        os.attrs.firmware === 'efi'
          ? 'The run named its own UEFI firmware file; the restored guest uses this host\'s UEFI firmware (libvirt picks it) and a fresh variable store.'
          : 'The run named its own BIOS file; the restored guest uses this host\'s default BIOS.',
      );
    }
    keep(os, (e) => {
      if (e.name === 'nvram' && !loader) dropped.add('<nvram>');
      return e.name === 'loader' || e.name === 'nvram';
    });
  }

  // ------------------------------------------------------------ devices
  const devices = elements(root).find((e) => e.name === 'devices');
  const trusted = new Set<string>(o.currentSources);
  const leftOut: string[] = [];
  if (devices) {
    keep(devices, (d) => {
      const type = d.attrs.type ?? '';
      if (d.name.includes(':')) return refuse(`<${d.name}>`, 'passes raw arguments to QEMU on the host');
      if (REFUSED_DEVICES.has(d.name)) return refuse(`<${d.name}>`, 'gives the guest a host file or device');
      if (!DEVICES.has(d.name)) return refuse(`<${d.name}>`, 'is not part of what virtdeck restores');
      if (d.name === 'emulator') {
        const path = text(d);
        if (!EMULATOR_NAME.test(path.split('/').pop() ?? '')) refuse(`<emulator>${path}</emulator>`, 'is a host program libvirt would run');
        return true;
      }
      if (d.name === 'disk') return checkDisk(d);
      if (CHAR_DEVICES.has(d.name)) checkChar(d, `<${d.name} type='${type}'>`);
      if (d.name === 'interface') checkNic(d);
      if (d.name === 'graphics' && !SAFE_GRAPHICS.has(type)) refuse(`<graphics type='${type}'>`, 'reaches the host\'s display or sockets');
      if (d.name === 'input' && !SAFE_INPUT.has(type)) refuse(`<input type='${type}'>`, 'reads a host input device');
      if (d.name === 'audio' && !SAFE_AUDIO.has(type)) refuse(`<audio type='${type}'>`, 'reaches a host sound device or file');
      if (d.name === 'tpm') {
        const backend = elements(d).find((e) => e.name === 'backend')?.attrs.type;
        if (backend !== 'emulator') refuse(`<tpm> with a ${backend ?? 'missing'} backend`, 'gives the guest the host\'s TPM or a host socket');
      }
      if (d.name === 'redirdev' && type !== 'spicevmc') refuse(`<redirdev type='${type}'>`, 'connects a host device or socket');
      if (d.name === 'rng') {
        const backend = elements(d).find((e) => e.name === 'backend');
        if (backend?.attrs.model === 'egd') checkChar(backend, `<rng><backend model='egd' type='${backend.attrs.type ?? ''}'>`);
        if (backend?.attrs.model === 'random' && text(backend) !== '' && !RNG_SOURCES.has(text(backend))) {
          refuse(`<rng><backend>${text(backend)}</backend>`, 'reads a host file');
        }
      }
      return false;
    });
    for (const d of elements(devices)) if (d.name === 'disk') checkDiskChildren(d);
  }
  if (leftOut.length > 0) notes.push(`Disks not in the backup were left out of the new guest: ${shown(leftOut.join(', '))}.`);

  // ------------------------------------------------------------ seclabels anywhere, then the net
  const strip = (e: XmlElement): void => {
    keep(e, (c) => {
      if (c.name === 'seclabel') dropped.add('<seclabel>');
      return c.name === 'seclabel';
    });
    for (const c of elements(e)) strip(c);
  };
  strip(root);
  const restoredSource = (path: XmlElement[]): boolean => {
    const at = path.findIndex((e) => e.name === 'disk');
    const target = at >= 0 ? elements(path[at] as XmlElement).find((e) => e.name === 'target')?.attrs.dev : undefined;
    // pointDiskAt replaces the source and drops the backing chain of each restored disk.
    return Boolean(target && o.restored.includes(target) && path.slice(at + 1).every((e) => e.name === 'source' || e.name === 'backingStore' || e.name === 'format'));
  };
  const net = (e: XmlElement, path: XmlElement[]): void => {
    if (NOT_CHECKED.has(e.name)) return;
    const here = [...path, e];
    const where = here.slice(1).map((x) => x.name).join('><');
    if (!restoredSource(here)) {
      for (const [a, v] of Object.entries(e.attrs)) {
        if (v.trim().startsWith('/') && !trusted.has(v)) refuse(`<${where} ${a}='${v}'>`, 'names a host path');
      }
    }
    const t = text(e);
    if (t.startsWith('/') && !(e.name === 'backend' && RNG_SOURCES.has(t))) refuse(`<${where}>${t}</${e.name}>`, 'names a host path');
    for (const c of elements(e)) net(c, here);
  };
  net(root, []);

  if (dropped.size > 0) {
    notes.push(`Left out of the restored definition, as libvirt's own defaults are safer than the run's: ${shown([...dropped].join(', '))}.`);
  }
  return { doc, notes };

  // ------------------------------------------------------------ per device
  function checkDisk(d: XmlElement): boolean {
    const device = d.attrs.device ?? 'disk';
    const target = elements(d).find((e) => e.name === 'target')?.attrs.dev ?? '';
    if (device === 'lun') return refuse(`<disk device='lun'> ${target}`, 'gives the guest a host block device');
    const source = elements(d).find((e) => e.name === 'source');
    const sourcePath = source ? (source.attrs.file ?? source.attrs.dev ?? source.attrs.dir ?? source.attrs.name ?? source.attrs.volume ?? '') : '';
    if (device === 'disk') {
      if (o.restored.includes(target)) return false;
      if (o.asNew) {
        leftOut.push(target);
        return true;
      }
      if (source && !(sourcePath && trusted.has(sourcePath) && d.attrs.type !== 'network')) {
        return refuse(`a disk ${target} (<source ${Object.entries(source.attrs).map(([k, v]) => `${k}='${v}'`).join(' ')}>) that is not restored and not a disk of the guest now`, 'names a host file or device');
      }
      return false;
    }
    if (device === 'cdrom' || device === 'floppy') {
      if (source && !(sourcePath && trusted.has(sourcePath))) {
        keep(d, (e) => e.name === 'source' || e.name === 'backingStore');
        if (d.attrs.type !== 'file' && d.attrs.type !== 'block') d.attrs.type = 'file';
        notes.push(`The ${device} ${shown(target)} is restored empty: the run's media ${shown(sourcePath || '(not a file)')} was left out.`);
      }
      return false;
    }
    return refuse(`<disk device='${device}'> ${target}`, 'is not part of what virtdeck restores');
  }

  function checkDiskChildren(d: XmlElement): void {
    const target = elements(d).find((e) => e.name === 'target')?.attrs.dev ?? '';
    for (const c of elements(d)) {
      if (!DISK_CHILDREN.has(c.name)) refuse(`<disk> ${target} with <${c.name}>`, 'is not part of what virtdeck restores');
    }
  }

  function checkChar(d: XmlElement, what: string): void {
    const type = d.attrs.type ?? 'pty';
    if (!SAFE_CHAR_TYPES.has(type)) refuse(what, 'connects the guest to a host file, device, pipe or socket');
    if (elements(d).some((e) => e.name === 'log')) refuse(`${what} with a <log> file`, 'writes a host file');
    if (type === 'unix') {
      for (const s of elements(d).filter((e) => e.name === 'source')) {
        if ((s.attrs.mode ?? 'bind') !== 'bind') refuse(`${what} connecting to a socket`, 'connects the guest to a host socket');
        if (s.attrs.path !== undefined) {
          delete s.attrs.path;
          dropped.add(`the socket path of <${d.name} type='unix'> (libvirt makes its own)`);
        }
      }
    }
  }

  function checkNic(d: XmlElement): void {
    const type = d.attrs.type ?? '';
    if (!SAFE_NIC_TYPES.has(type)) refuse(`<interface type='${type}'>`, 'reaches a host device, program or socket');
    for (const c of elements(d)) {
      if (c.name === 'script' || c.name === 'downscript') refuse(`<interface><${c.name}>`, 'runs a host program');
      if (c.name === 'backend' && Object.keys(c.attrs).length > 0) refuse('<interface><backend>', 'names host devices');
    }
    keep(d, (c) => {
      if (c.name === 'target') dropped.add('<interface><target dev> (libvirt names its own)');
      return c.name === 'target';
    });
  }
}
