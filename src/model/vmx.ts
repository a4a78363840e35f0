/**
 * VMware `.vmx` files, read the way libvirt's VMX driver reads them (src/util/virconf.c with the
 * VMX flag, src/vmx/vmx.c), then mapped to a hypervisor-neutral guest model. Pure: file names are
 * turned into paths by a callback, so the same code serves a real import (paths beside the .vmx)
 * and libvirt's own test corpus (ESX datastore names).
 *
 * Differences from libvirt, on purpose:
 * - duplicate keys: libvirt silently takes the first, VMware the last. A file where the two
 *   readers disagree is refused (same value twice is only a warning);
 * - every key the mapping does not use is listed as "ignored", so nothing is dropped silently.
 */
import { normaliseMac } from './mac.js';
import { shown } from './shown.js';
import { UserError } from './userError.js';

// ---------------------------------------------------------------- syntax

export interface VmxEntry {
  /** As written (case kept). */
  key: string;
  /** Unquoted, `|XX` escapes decoded. */
  value: string;
  line: number;
}

export interface VmxFile {
  /** By lower-case key. */
  entries: Map<string, VmxEntry>;
  warnings: string[];
}

/**
 * `*` is in keys VMware's hardening guide has admins paste (`pciPassthru*.present = "FALSE"`);
 * libvirt's virconf refuses them, which would make such a file unreadable for one inert line.
 */
const NAME_RE = /^[A-Za-z.][A-Za-z0-9_:.*-]*/;

/** VMware writes `"`, `#`, `|` and non-ASCII bytes as `|XX` (hex); decoded as UTF-8 bytes. */
export function decodeVmxEscapes(text: string): string {
  if (!text.includes('|')) return text;
  const raw = Buffer.from(text, 'utf8');
  const out: number[] = [];
  const isHex = (b: number | undefined) => b !== undefined && /[0-9a-fA-F]/.test(String.fromCharCode(b));
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x7c && isHex(raw[i + 1]) && isHex(raw[i + 2])) {
      out.push(Number.parseInt(String.fromCharCode(raw[i + 1] as number, raw[i + 2] as number), 16));
      i += 2;
    } else out.push(c);
  }
  return Buffer.from(out).toString('utf8');
}

function syntaxError(line: number, what: string, source?: string): UserError {
  return new UserError(
    `${source ?? 'The .vmx'} line ${line}: ${what}.`,
    'Fix that line in a text editor (every line is key = "value"), or copy the .vmx again from the VMware host.',
  );
}

/** The syntax layer: key = "value" lines, `#` comments, blank lines. UserError with the line number. */
export function parseVmxText(text: string, opts: { source?: string } = {}): VmxFile {
  const entries = new Map<string, VmxEntry>();
  const warnings: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) return;
    const name = NAME_RE.exec(t);
    if (!name) throw syntaxError(line, `expected a key name, found "${t.slice(0, 20)}"`, opts.source);
    let rest = t.slice(name[0].length).trimStart();
    if (!rest.startsWith('=')) {
      const odd = t[name[0].length];
      // "expected = after pciPassthru" sends the admin looking for a missing "="; name the character.
      if (odd !== undefined && !/\s/.test(odd)) throw syntaxError(line, `the key ${t.split(/\s|=/)[0]} has the character "${odd}", which a .vmx key cannot hold`, opts.source);
      throw syntaxError(line, `expected "=" after ${name[0]}`, opts.source);
    }
    rest = rest.slice(1).trimStart();
    const quote = rest[0];
    if (quote !== '"' && quote !== "'") {
      throw syntaxError(line, `the value of ${name[0]} is not in quotes`, opts.source);
    }
    const end = rest.indexOf(quote, 1);
    if (end < 0) throw syntaxError(line, `the value of ${name[0]} has no closing quote (unterminated string)`, opts.source);
    const after = rest.slice(end + 1).trim();
    if (after !== '' && !after.startsWith('#')) throw syntaxError(line, `unexpected text after the value of ${name[0]}`, opts.source);
    const entry: VmxEntry = { key: name[0], value: decodeVmxEscapes(rest.slice(1, end)), line };
    const lower = entry.key.toLowerCase();
    const before = entries.get(lower);
    if (before) {
      if (before.value !== entry.value) {
        throw new UserError(
          `${opts.source ?? 'The .vmx'} line ${line}: ${entry.key} is set again (first on line ${before.line}) to a different value; libvirt would use the first and VMware the last.`,
          `Delete the line that is wrong (line ${before.line} or ${line}) so the key appears once.`,
        );
      }
      warnings.push(`${entry.key} is set twice with the same value (lines ${before.line} and ${line}).`);
      return;
    }
    entries.set(lower, entry);
  });
  return { entries, warnings };
}

// ---------------------------------------------------------------- is it a VMware config at all

const NOT_A_VMX_FIX = 'Pick the .vmx that VMware wrote for the VM (in the VM\'s directory, next to its .vmdk files), or copy it again from the VMware host.';

/** Bytes no text file has: NUL anywhere, or a run of controls and undecodable bytes at the start. */
function looksBinary(text: string): boolean {
  if (text.includes('\0')) return true;
  const head = text.slice(0, 4096);
  const odd = head.match(/[\u0001-\u0008\u000e-\u001f\ufffd]/g)?.length ?? 0;
  return odd > head.length / 10;
}

/**
 * What makes a file a VMware configuration, checked before anything is read from it: VMware
 * writes `config.version` and `virtualHW.version` into every .vmx it makes (libvirt's VMX driver
 * refuses a file without either). An empty file, a text file, binary junk or a list of keys
 * without them would otherwise become a guest with 32 MiB and no disk. UserError naming the file
 * and what is missing.
 */
export function checkVmwareConfig(text: string, source: string): void {
  if (text.replace(/^\uFEFF/, '').trim() === '') {
    throw new UserError(`${source} is empty, so it is not a VMware .vmx.`, NOT_A_VMX_FIX);
  }
  if (looksBinary(text)) {
    throw new UserError(`${source} holds binary data, not a VMware .vmx (a text file of key = "value" lines).`, NOT_A_VMX_FIX);
  }
  const missing: string[] = [];
  for (const key of ['config.version', 'virtualHW.version']) {
    const re = new RegExp(`^[ \\t]*${key.replace('.', '\\.')}[ \\t]*=[ \\t]*(["'])([^"'\\r\\n]*)\\1`, 'im');
    const m = re.exec(text);
    if (!m) missing.push(`no ${key}`);
    else if (!/^\d+$/.test((m[2] as string).trim())) missing.push(`${key} = "${shown(m[2] as string)}", not a whole number`);
  }
  if (missing.length > 0) {
    throw new UserError(
      `${source} is not a VMware .vmx: it has ${missing.join(' and ')} (VMware writes config.version and virtualHW.version into every .vmx).`,
      NOT_A_VMX_FIX,
    );
  }
}

// ---------------------------------------------------------------- model

export type VmxBus = 'scsi' | 'ide' | 'sata' | 'nvme' | 'fdc';
export type VmxDiskDevice = 'disk' | 'cdrom' | 'lun' | 'floppy';

export interface VmxDisk {
  /** The .vmx prefix: scsi0:1, ide1:0, sata0:3, nvme0:0, floppy0. */
  key: string;
  device: VmxDiskDevice;
  bus: VmxBus;
  controller: number;
  unit: number;
  /** libvirt's name for the slot: sda, hdc, nvme0n1, fda. */
  target: string;
  /** file: an image; block: a host device; none: empty drive; auto: VMware picks a host drive. */
  source: { kind: 'file' | 'block'; path: string } | { kind: 'none' | 'auto' };
  /** The fileName as written in the .vmx. */
  fileName: string | null;
  transient: boolean;
  writeThrough: boolean;
}

export type ScsiModel = 'buslogic' | 'lsilogic' | 'lsisas1068' | 'pvscsi';

export interface VmxController {
  bus: 'scsi' | 'sata' | 'nvme';
  index: number;
  /** SCSI only: from scsiN.virtualDev; null when not given. */
  model: ScsiModel | null;
}

export type VmxConnection = 'bridged' | 'nat' | 'hostonly' | 'custom' | 'vds' | 'none';

export interface VmxNic {
  index: number;
  mac: string | null;
  macType: 'static' | 'generated' | 'vpx';
  checkMac: boolean;
  /** vlance, vmxnet, vmxnet2, vmxnet3, e1000, e1000e; null when the .vmx leaves it to VMware. */
  model: string | null;
  connection: VmxConnection;
  networkName: string | null;
  vnet: string | null;
  /** vds: the distributed switch's uuid and port group. */
  switchId: string | null;
  portgroup: string | null;
}

export interface VmxSerial {
  port: number;
  kind: 'dev' | 'file' | 'pipe' | 'tcp' | 'null';
  path: string | null;
  /** tcp */
  host?: string;
  service?: string;
  mode?: 'connect' | 'bind';
  protocol?: 'raw' | 'telnet' | 'telnets' | 'tls';
}

export interface VmxGuest {
  name: string | null;
  description: string | null;
  /** uuid.bios, canonical; the SMBIOS UUID the guest sees. */
  biosUuid: string | null;
  /** vc.uuid (vCenter's id), canonical. */
  vcUuid: string | null;
  memoryMiB: number;
  vcpus: number;
  topology: { sockets: number; cores: number; threads: number } | null;
  guestOS: string | null;
  arch: 'x86_64' | 'i686';
  windows: boolean;
  firmware: 'bios' | 'efi';
  /** uefi.secureBoot.enabled with EFI firmware; optional, so a reader that has none (OVF) may leave it out. */
  secureBoot?: boolean;
  /** vtpm.present: the VM had a virtual TPM 2.0. */
  tpm?: boolean;
  virtualHW: number | null;
  controllers: VmxController[];
  disks: VmxDisk[];
  nics: VmxNic[];
  serials: VmxSerial[];
  /** "key = value" of every key the mapping does not use. */
  ignored: string[];
  /** Devices switched off with NS.present = "FALSE". */
  disabled: string[];
  warnings: string[];
}

/** null: the file is missing (a CD-ROM then stays empty; a hard disk is refused). */
export type FileNameResolver = (fileName: string) => string | null;

export interface ParseVmxOptions {
  /** Turns a fileName into a path; default keeps it as written. */
  resolveFile?: FileNameResolver;
  /** For messages: the .vmx path. */
  source?: string;
}

/** libvirt's virIndexToDiskName: 0 → a, 25 → z, 26 → aa. */
export function indexToDiskSuffix(index: number): string {
  let s = '';
  for (let i = index; i >= 0; i = Math.floor(i / 26) - 1) s = String.fromCharCode(97 + (i % 26)) + s;
  return s;
}

/** "56 4d b5 06 a2 bd fb eb-ae 86 f7 d8 49 27 d0 c4" → "564db506-a2bd-fbeb-ae86-f7d84927d0c4". */
export function vmwareUuidToCanonical(text: string): string | null {
  const hex = text.replace(/[\s-]/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const WINDOWS_RE = /^(win|windows|longhorn|whistler|nt4|winnet|winvista|winxp)/i;

/** Is this VMware guestOS id a Windows? (win2000, winXPPro, winNetEnterprise, windows9-64, longhorn…) */
export function isWindowsGuestOS(id: string | null): boolean {
  return id !== null && WINDOWS_RE.test(id);
}

const SCSI_MODELS: ScsiModel[] = ['buslogic', 'lsilogic', 'lsisas1068', 'pvscsi'];
const NIC_MODELS = ['vlance', 'vmxnet', 'vmxnet2', 'vmxnet3', 'e1000', 'e1000e'];

class Reader {
  private readonly used = new Set<string>();
  readonly warnings: string[] = [];
  readonly disabled: string[] = [];
  private readonly disabledPrefixes: string[] = [];

  constructor(
    readonly file: VmxFile,
    readonly source: string,
  ) {}

  entry(key: string): VmxEntry | undefined {
    const lower = key.toLowerCase();
    const e = this.file.entries.get(lower);
    if (e) this.used.add(lower);
    return e;
  }

  str(key: string): string | null {
    return this.entry(key)?.value ?? null;
  }

  bool(key: string, fallback: boolean): boolean {
    const e = this.entry(key);
    if (!e) return fallback;
    const v = e.value.toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw this.error(e, `${e.key} = "${e.value}" is neither TRUE nor FALSE`, 'Write TRUE or FALSE.');
  }

  int(key: string, fallback: number): number {
    const e = this.entry(key);
    if (!e) return fallback;
    if (!/^\d+$/.test(e.value.trim())) throw this.error(e, `${e.key} = "${e.value}" is not a whole number`, 'Write a whole number in quotes.');
    return Number(e.value.trim());
  }

  error(e: VmxEntry, what: string, fix: string): UserError {
    return new UserError(`${this.source} line ${e.line}: ${what}.`, fix);
  }

  /** `NS.present`: false (or absent) switches the whole namespace off. */
  present(ns: string, fallback = false): boolean {
    const on = this.bool(`${ns}.present`, fallback);
    if (!on && this.file.entries.has(`${ns}.present`.toLowerCase())) {
      this.disabled.push(`${ns} (present = FALSE)`);
      this.disabledPrefixes.push(`${ns.toLowerCase()}.`);
    }
    return on;
  }

  /**
   * `pciPassthru*.present = "FALSE"` (the hardening guide's notation, pasted literally): recorded as
   * switched off so it is not listed as ignored; it names no device virtdeck maps.
   */
  wildcardPresent(): void {
    for (const [lower, e] of this.file.entries) {
      if (!lower.includes('*') || !lower.endsWith('.present') || e.value.toLowerCase() !== 'false') continue;
      this.used.add(lower);
      this.disabled.push(`${e.key.slice(0, -'.present'.length)} (present = FALSE)`);
    }
  }

  ignored(): string[] {
    const out: string[] = [];
    for (const [lower, e] of this.file.entries) {
      if (this.used.has(lower)) continue;
      if (this.disabledPrefixes.some((p) => lower.startsWith(p))) continue;
      out.push(`${e.key} = ${e.value}`);
    }
    return out;
  }
}

function parseScsiModel(r: Reader, index: number): ScsiModel | null {
  const e = r.entry(`scsi${index}.virtualDev`);
  if (!e) return null;
  const model = SCSI_MODELS.find((m) => m === e.value.toLowerCase());
  if (!model) throw r.error(e, `${e.key} = "${e.value}" is not a SCSI controller virtdeck knows`, `Use one of ${SCSI_MODELS.join(', ')}.`);
  return model;
}

function scsiUnitsPerController(model: ScsiModel | null, virtualHW: number | null): number {
  // pvscsi on hardware version 13+ is a wide bus: 64 disks (unit 7 is the controller itself).
  return model === 'pvscsi' && (virtualHW ?? 0) >= 13 ? 64 : 15;
}

function unitSlot(unit: number): number {
  return unit < 7 ? unit : unit - 1;
}

interface SlotSpec {
  key: string;
  bus: VmxBus;
  controller: number;
  unit: number;
  target: string;
}

function slots(r: Reader, virtualHW: number | null, controllers: VmxController[]): SlotSpec[] {
  const out: SlotSpec[] = [];
  for (let c = 0; c < 4; c++) {
    if (!r.present(`scsi${c}`)) continue;
    const model = parseScsiModel(r, c);
    controllers.push({ bus: 'scsi', index: c, model });
    const per = scsiUnitsPerController(model, virtualHW);
    for (let u = 0; u <= per; u++) {
      if (u === 7) continue;
      out.push({ key: `scsi${c}:${u}`, bus: 'scsi', controller: c, unit: u, target: `sd${indexToDiskSuffix(c * per + unitSlot(u))}` });
    }
  }
  for (let c = 0; c < 2; c++) {
    for (let u = 0; u < 2; u++) out.push({ key: `ide${c}:${u}`, bus: 'ide', controller: c, unit: u, target: `hd${indexToDiskSuffix(c * 2 + u)}` });
  }
  for (let c = 0; c < 4; c++) {
    if (!r.present(`sata${c}`)) continue;
    controllers.push({ bus: 'sata', index: c, model: null });
    for (let u = 0; u < 30; u++) out.push({ key: `sata${c}:${u}`, bus: 'sata', controller: c, unit: u, target: `sd${indexToDiskSuffix(c * 30 + u)}` });
  }
  for (let c = 0; c < 4; c++) {
    if (!r.present(`nvme${c}`)) continue;
    controllers.push({ bus: 'nvme', index: c, model: null });
    for (let u = 0; u < 15; u++) out.push({ key: `nvme${c}:${u}`, bus: 'nvme', controller: c, unit: u, target: `nvme${c}n${u + 1}` });
  }
  return out;
}

const EMPTY_NAMES = new Set(['', 'emptybackingstring']);

function resolveOrMissing(resolve: FileNameResolver, name: string): string | null {
  return resolve(name);
}

/** A hard disk whose file is not there: collected, so one refusal names every file to copy. */
interface MissingDisk {
  key: string;
  entry: VmxEntry;
}

function parseDiskSlot(r: Reader, s: SlotSpec, resolve: FileNameResolver, missing: MissingDisk[]): VmxDisk | null {
  if (!r.present(s.key)) return null;
  const typeEntry = r.entry(`${s.key}.deviceType`);
  const deviceType = typeEntry?.value.toLowerCase() ?? null;
  const fileEntry = r.entry(`${s.key}.fileName`);
  const fileName = fileEntry?.value ?? null;
  if (r.bool(`${s.key}.clientDevice`, false)) {
    // The drive of whoever runs the VMware console: nothing on the host to take over.
    r.warnings.push(`${s.key} is the CD-ROM of the VMware client's machine; it is left out.`);
    return null;
  }
  const transient = (r.str(`${s.key}.mode`) ?? '').toLowerCase() === 'independent-nonpersistent';
  const writeThrough = r.bool(`${s.key}.writeThrough`, false);
  const base = { key: s.key, bus: s.bus, controller: s.controller, unit: s.unit, target: s.target, fileName, transient, writeThrough };
  const lowerName = (fileName ?? '').toLowerCase();

  const isDisk =
    deviceType === 'scsi-harddisk' ||
    deviceType === 'ata-harddisk' ||
    deviceType === 'disk' ||
    (deviceType === null && lowerName.endsWith('.vmdk'));
  if (isDisk) {
    if (!fileName || EMPTY_NAMES.has(lowerName)) {
      throw r.error(typeEntry ?? fileEntry ?? { key: s.key, value: '', line: 0 }, `the hard disk ${s.key} has no fileName`, `Give ${s.key}.fileName the disk's .vmdk, or set ${s.key}.present = "FALSE".`);
    }
    if (!lowerName.endsWith('.vmdk')) {
      throw r.error(fileEntry as VmxEntry, `the hard disk ${s.key} is "${fileName}", which is not a .vmdk`, 'Point it at the .vmdk descriptor VMware uses.');
    }
    const path = resolveOrMissing(resolve, fileName);
    if (path === null) {
      missing.push({ key: s.key, entry: fileEntry as VmxEntry });
      return null;
    }
    return { ...base, device: 'disk', source: { kind: 'file', path } };
  }
  if (deviceType === 'cdrom-image' || (deviceType === null && lowerName.endsWith('.iso'))) {
    if (!fileName || EMPTY_NAMES.has(lowerName)) return { ...base, device: 'cdrom', source: { kind: 'none' } };
    const path = resolveOrMissing(resolve, fileName);
    if (path === null) {
      r.warnings.push(`${s.key}: the ISO ${fileName} does not exist; the CD-ROM drive stays empty.`);
      return { ...base, device: 'cdrom', source: { kind: 'none' } };
    }
    return { ...base, device: 'cdrom', source: { kind: 'file', path } };
  }
  if (deviceType === 'atapi-cdrom' || deviceType === 'cdrom-raw' || deviceType === 'scsi-passthru') {
    const device: VmxDiskDevice = deviceType === 'atapi-cdrom' ? 'cdrom' : 'lun';
    if (!fileName || EMPTY_NAMES.has(lowerName)) return { ...base, device, source: { kind: 'none' } };
    if (lowerName === 'auto detect') return { ...base, device, source: { kind: 'auto' } };
    return { ...base, device, source: { kind: 'block', path: fileName } };
  }
  const e = typeEntry ?? fileEntry;
  if (e) throw r.error(e, `${s.key} has the device type "${typeEntry?.value ?? ''}" with the file "${fileName ?? ''}", which virtdeck cannot map`, `Remove ${s.key} from the .vmx or set ${s.key}.present = "FALSE".`);
  return null;
}

function parseFloppy(r: Reader, index: number, resolve: FileNameResolver): VmxDisk | null {
  const key = `floppy${index}`;
  if (!r.present(key)) return null;
  if (r.bool(`${key}.clientDevice`, false)) {
    r.warnings.push(`${key} is the floppy drive of the VMware client's machine; it is left out.`);
    r.entry(`${key}.fileType`);
    r.entry(`${key}.fileName`);
    return null;
  }
  const fileType = (r.str(`${key}.fileType`) ?? 'device').toLowerCase();
  const fileName = r.str(`${key}.fileName`);
  const base = { key, device: 'floppy' as const, bus: 'fdc' as const, controller: 0, unit: index, target: `fd${indexToDiskSuffix(index)}`, fileName, transient: false, writeThrough: false };
  if (!fileName || EMPTY_NAMES.has(fileName.toLowerCase())) return { ...base, source: { kind: 'none' } };
  if (fileType === 'file') {
    const path = resolve(fileName);
    return { ...base, source: path === null ? { kind: 'none' } : { kind: 'file', path } };
  }
  return { ...base, source: { kind: 'block', path: fileName } };
}

function parseNic(r: Reader, index: number): VmxNic | null {
  const ns = `ethernet${index}`;
  if (!r.present(ns)) return null;
  const addressTypeEntry = r.entry(`${ns}.addressType`);
  const addressType = (addressTypeEntry?.value ?? 'generated').toLowerCase();
  if (!['static', 'generated', 'vpx'].includes(addressType)) {
    throw r.error(addressTypeEntry as VmxEntry, `${ns}.addressType = "${addressTypeEntry?.value}" is not static, generated or vpx`, 'Use one of those three.');
  }
  const macEntry = addressType === 'static' ? r.entry(`${ns}.address`) : r.entry(`${ns}.generatedAddress`);
  r.entry(`${ns}.generatedAddressOffset`);
  let mac: string | null = null;
  if (macEntry) {
    try {
      mac = normaliseMac(macEntry.value);
    } catch {
      throw r.error(macEntry, `${macEntry.key} = "${macEntry.value}" is not a MAC address`, 'Write six pairs of hex digits separated by colons, e.g. 00:50:56:12:34:56.');
    }
    // VMware writes the all-zero MAC as a placeholder before a VM first powers on; no NIC may use it.
    if (mac === '00:00:00:00:00:00') {
      mac = null;
      r.warnings.push(`${macEntry.key} is the placeholder 00:00:00:00:00:00; ${ns} gets a generated MAC, so the guest sees a new network card.`);
    }
  } else r.warnings.push(`${ns} has no ${addressType === 'static' ? 'address' : 'generatedAddress'}; it gets a new MAC, so Windows will see a new network card.`);
  const checkMac = r.bool(`${ns}.checkMACAddress`, true);
  const devEntry = r.entry(`${ns}.virtualDev`);
  let model = devEntry ? devEntry.value.toLowerCase() : null;
  if (model !== null && !NIC_MODELS.includes(model)) {
    throw r.error(devEntry as VmxEntry, `${ns}.virtualDev = "${devEntry?.value}" is not a network card virtdeck knows`, `Use one of ${NIC_MODELS.join(', ')}.`);
  }
  // vmxnet with the "enhanced" feature bits is what VMware calls vmxnet2.
  const features = r.str(`${ns}.features`);
  if (model === 'vmxnet' && features === '15') model = 'vmxnet2';
  const networkName = r.str(`${ns}.networkName`);
  const vnet = r.str(`${ns}.vnet`);
  const switchIdRaw = r.str(`${ns}.dvs.switchId`);
  const portgroup = r.str(`${ns}.dvs.portgroupId`);
  r.entry(`${ns}.dvs.portId`);
  r.entry(`${ns}.dvs.connectionId`);
  const ctEntry = r.entry(`${ns}.connectionType`);
  let connection: VmxConnection;
  if (ctEntry) {
    const ct = ctEntry.value.toLowerCase();
    if (!['bridged', 'nat', 'hostonly', 'custom'].includes(ct)) {
      throw r.error(ctEntry, `${ns}.connectionType = "${ctEntry.value}" is not bridged, nat, hostonly or custom`, 'Use one of those four.');
    }
    connection = ct as VmxConnection;
    if ((ct === 'bridged' || ct === 'custom') && !networkName && !switchIdRaw) {
      // libvirt refuses this ("missing essential config entry"), yet Workstation writes it for its
      // automatic bridge; libvirt reads a card with no connectionType and no network as unconnected.
      connection = 'none';
      r.warnings.push(`${ns} is ${ct} but names no network (networkName); it is read as not connected, as libvirt reads a card with no network: choose its bridge or network.`);
    }
  } else if (switchIdRaw) connection = 'vds';
  else connection = networkName ? 'bridged' : 'none';
  return {
    index,
    mac,
    macType: addressType as VmxNic['macType'],
    checkMac,
    model,
    connection,
    networkName,
    vnet,
    switchId: switchIdRaw ? vmwareUuidToCanonical(switchIdRaw) : null,
    portgroup,
  };
}

const NET_URI_RE = /^(tcp|telnet|telnets|tls|ssl|tcp4|tcp6|telnet4|telnet6|ssl4|ssl6|tls4|tls6):\/\/([^:/]*):(\d+)\/?$/i;

function parseSerial(r: Reader, port: number, resolve: FileNameResolver): VmxSerial | null {
  const ns = `serial${port}`;
  if (!r.present(ns)) return null;
  const fileType = (r.str(`${ns}.fileType`) ?? 'device').toLowerCase();
  const fileName = r.str(`${ns}.fileName`) ?? '';
  r.entry(`${ns}.tryNoRxLoss`);
  r.entry(`${ns}.yieldOnMsrRead`);
  r.entry(`${ns}.startConnected`);
  switch (fileType) {
    case 'device':
      return { port, kind: 'dev', path: fileName };
    case 'file':
      return { port, kind: 'file', path: resolve(fileName) };
    case 'pipe':
      r.entry(`${ns}.pipe.endPoint`);
      return { port, kind: 'pipe', path: fileName };
    case 'network': {
      const endPoint = (r.str(`${ns}.network.endPoint`) ?? 'server').toLowerCase();
      const m = NET_URI_RE.exec(fileName);
      if (!m) return { port, kind: 'null', path: null };
      const scheme = (m[1] as string).toLowerCase().replace(/[46]$/, '');
      const protocol = scheme === 'tcp' ? 'raw' : scheme === 'ssl' ? 'tls' : (scheme as VmxSerial['protocol']);
      return { port, kind: 'tcp', path: null, host: m[2] as string, service: m[3] as string, mode: endPoint === 'client' ? 'connect' : 'bind', protocol };
    }
    default:
      r.warnings.push(`${ns} has the file type "${fileType}", which virtdeck cannot map; it is left out.`);
      return null;
  }
}

/** Reads a .vmx into the guest model. UserError (with the line) on what libvirt would refuse. */
export function parseVmx(text: string, opts: ParseVmxOptions = {}): VmxGuest {
  const source = opts.source ?? 'The .vmx';
  const file = parseVmxText(text, { source });
  const r = new Reader(file, source);
  const resolve = opts.resolveFile ?? ((name: string) => name);

  const name = r.str('displayName');
  const description = r.str('annotation');
  const uuidOf = (key: string): string | null => {
    const e = r.entry(key);
    if (!e) return null;
    const u = vmwareUuidToCanonical(e.value);
    if (!u) throw r.error(e, `${e.key} = "${e.value}" is not a UUID (16 hex bytes)`, `Write it as VMware does, e.g. "56 4d 12 34 56 78 9a bc-de f0 12 34 56 78 9a bc", or delete the line.`);
    return u;
  };
  const biosUuid = uuidOf('uuid.bios');
  const vcUuid = uuidOf('vc.uuid');
  const memoryMiB = r.int('memsize', 32);
  const vcpus = r.int('numvcpus', 1);
  if (vcpus < 1) throw r.error(r.entry('numvcpus') as VmxEntry, 'numvcpus is 0', 'Give at least 1.');
  const coresEntry = r.entry('cpuid.coresPerSocket');
  let topology: VmxGuest['topology'] = null;
  if (coresEntry) {
    const cores = r.int('cpuid.coresPerSocket', 1);
    if (cores < 1 || vcpus % cores !== 0) {
      throw r.error(coresEntry, `cpuid.coresPerSocket = ${cores} does not divide numvcpus = ${vcpus}`, 'Make numvcpus a multiple of cpuid.coresPerSocket.');
    }
    topology = { sockets: vcpus / cores, cores, threads: 1 };
  }
  const guestOS = r.str('guestOS');
  const arch = guestOS?.toLowerCase().endsWith('-64') ? 'x86_64' : 'i686';
  const firmwareEntry = r.entry('firmware');
  const firmware = firmwareEntry?.value.toLowerCase() === 'efi' ? 'efi' : 'bios';
  const secureBoot = r.bool('uefi.secureBoot.enabled', false);
  if (secureBoot && firmware !== 'efi') r.warnings.push('uefi.secureBoot.enabled is TRUE but the firmware is BIOS; Secure Boot is left off.');
  const tpm = r.present('vtpm');
  const hwEntry = r.entry('virtualHW.version');
  const virtualHW = hwEntry && /^\d+$/.test(hwEntry.value) ? Number(hwEntry.value) : null;

  const controllers: VmxController[] = [];
  const disks: VmxDisk[] = [];
  const missing: MissingDisk[] = [];
  for (const s of slots(r, virtualHW, controllers)) {
    const d = parseDiskSlot(r, s, resolve, missing);
    if (d) disks.push(d);
  }
  const [firstMissing] = missing;
  const copyFix = 'Copy the whole VM directory, including every .vmdk, or fix the paths.';
  if (missing.length === 1 && firstMissing) {
    throw r.error(firstMissing.entry, `the hard disk ${firstMissing.key} is ${firstMissing.entry.value}, which does not exist`, 'Copy the whole VM directory, including every .vmdk, or fix the path.');
  }
  if (missing.length > 1) {
    const list = missing.map((m) => `${m.key} ${m.entry.value} (line ${m.entry.line})`).join(', ');
    throw new UserError(`${source}: ${missing.length} hard disks do not exist: ${list}.`, copyFix);
  }
  r.wildcardPresent();
  for (let i = 0; i < 2; i++) {
    const f = parseFloppy(r, i, resolve);
    if (f) disks.push(f);
  }
  const nics: VmxNic[] = [];
  for (let i = 0; i < 10; i++) {
    const n = parseNic(r, i);
    if (n) nics.push(n);
  }
  const serials: VmxSerial[] = [];
  for (let i = 0; i < 4; i++) {
    const s = parseSerial(r, i, resolve);
    if (s) serials.push(s);
  }
  return {
    name,
    description,
    biosUuid,
    vcUuid,
    memoryMiB,
    vcpus,
    topology,
    guestOS,
    arch,
    windows: isWindowsGuestOS(guestOS),
    firmware,
    secureBoot: secureBoot && firmware === 'efi',
    tpm,
    virtualHW,
    controllers,
    disks,
    nics,
    serials,
    ignored: r.ignored(),
    disabled: r.disabled,
    warnings: [...file.warnings, ...r.warnings],
  };
}
