/**
 * The one guest-edit model: what `virtdeck guest edit` flags and the console's settings form (e)
 * change in a guest. Both turn the admin's text into Edits here, with the same rules and the same
 * sentences, then apply them to the domain XML in one fixed order. Pure.
 *
 * Memory: a size needs a unit (512M, 2G; powers of 1024). A bare number is refused in both: disks
 * take bytes, `virsh setmem` KiB and `qemu -m` MiB, so "1024" means three different things to three
 * admins. A size that is not a whole number of KiB (1.3G) is rounded to the nearest KiB, which is
 * what libvirt stores.
 */
import {
  attachIso,
  type DomainDoc,
  type DomainSettings,
  ejectCdrom,
  getSettings,
  setBootOrder,
  setDiskBus,
  setGuestAgentChannel,
  setMac,
  setMemory,
  setVcpus,
  setVnc,
} from './domainXml.js';
import { parseMac, randomMac } from './mac.js';
import { parseSize } from './units.js';
import { FieldRefusal, UserError } from './userError.js';

export type Edit =
  | { kind: 'memory'; kib: number }
  | { kind: 'vcpus'; count: number }
  | { kind: 'mac'; index: number; mac: string }
  | { kind: 'vnc'; port?: number | 'auto'; listen?: string }
  | { kind: 'boot'; devices: string[] }
  | { kind: 'eject'; target: string }
  | { kind: 'attachIso'; path: string }
  | { kind: 'diskBus'; target: string; bus: string }
  /** Adds (or removes) the org.qemu.guest_agent.0 virtio channel the QEMU guest agent talks on. */
  | { kind: 'guestAgent'; on: boolean }
  /** Not part of the XML: the caller sets it with virsh autostart. */
  | { kind: 'autostart'; on: boolean };

/**
 * Where an edit is typed: the settings form's field ids (`mac:N` for NIC N, `bus:TARGET` for a
 * disk). The CLI's flags map onto the same ids, so a refusal says which setting it is about.
 */
export type EditField = 'memory' | 'vcpus' | `mac:${number}` | 'vncPort' | 'vncListen' | 'boot' | 'iso' | `bus:${string}` | 'guestAgent' | 'autostart';

/** A refusal of an edit, with the field it belongs to (the form focuses it). */
export class EditRefusal extends FieldRefusal {
  constructor(
    override readonly field: EditField,
    sentence: string,
    fix: string,
  ) {
    super(field, sentence, fix);
    this.name = 'EditRefusal';
  }
}

function refuse(field: EditField, sentence: string, fix: string): never {
  throw new EditRefusal(field, sentence, fix);
}

/** Runs `f`; a UserError it throws becomes a refusal of `field` (same sentence and fix). */
function on<T>(field: EditField, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof EditRefusal || !(e instanceof UserError)) throw e;
    throw new EditRefusal(field, e.sentence, e.fix);
  }
}

// ---------------------------------------------------------------- parse: text → Edit

export function parseMemory(text: string): Edit {
  const t = text.trim();
  // Before parseSize, so the sentence names memory, not sizes in general.
  if (/^\d+(\.\d+)?$/.test(t)) refuse('memory', `Memory "${t}" has no unit.`, 'Add one: 512M or 2G (powers of 1024).');
  const { bytes, relative } = on('memory', () => parseSize(t));
  if (relative) refuse('memory', `Memory "${t}" is relative; give the new total.`, 'Write the whole amount, for example 1G.');
  return { kind: 'memory', kib: Math.round(bytes / 1024) };
}

export function parseVcpus(text: string): Edit {
  const t = text.trim();
  if (!/^\d+$/.test(t)) refuse('vcpus', `vCPUs "${t}" is not a whole number.`, 'Give the number of virtual CPUs, for example 2.');
  return { kind: 'vcpus', count: Number(t) };
}

/** A MAC, or generate / generate:kvm (52:54:00:…) / generate:vmware (00:50:56:…). */
export function parseMacEdit(index: number, text: string, rng: () => number = Math.random): Edit {
  const field: EditField = `mac:${index}`;
  const value = text.trim();
  if (value === 'generate' || value === 'generate:kvm') return { kind: 'mac', index, mac: randomMac('kvm', rng) };
  if (value === 'generate:vmware') return { kind: 'mac', index, mac: randomMac('vmware', rng) };
  if (value.startsWith('generate')) refuse(field, `"${value}" is not a way to generate a MAC.`, 'Use generate (52:54:00:…) or generate:vmware (00:50:56:…).');
  return { kind: 'mac', index, mac: on(field, () => parseMac(value)) };
}

export function parseVncPort(text: string): number | 'auto' {
  const t = text.trim().toLowerCase();
  if (t === 'auto') return 'auto';
  if (t === 'none') {
    refuse('vncPort', 'Removing the VNC display is not done here.', "Edit the XML (x in the console, or virtdeck guest xml) and delete the <graphics type='vnc'> element.");
  }
  if (!/^\d+$/.test(t)) refuse('vncPort', `VNC port "${text.trim()}" is not a whole number.`, "Give a port from 5900 to 65535, or 'auto'.");
  return Number(t);
}

/** Port and listen address of the VNC display; either may be left as it is. */
export function parseVnc(port: string | undefined, listen: string | undefined): Edit {
  return {
    kind: 'vnc',
    ...(port !== undefined ? { port: parseVncPort(port) } : {}),
    ...(listen !== undefined ? { listen: listen.trim() } : {}),
  };
}

export function parseBoot(text: string): Edit {
  const devices = text
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  return { kind: 'boot', devices };
}

/**
 * The CD-ROM drive's new ISO: empty ejects; another path swaps the medium (ejected first, since
 * attachIso fills an empty drive). `drive` is the guest's first CD-ROM drive, if it has one.
 */
export function parseIso(text: string, drive?: { target: string; source: string | null }): Edit[] {
  const path = text.trim();
  if (path === (drive?.source ?? '')) return [];
  const edits: Edit[] = [];
  if (drive?.source) edits.push({ kind: 'eject', target: drive.target });
  if (path) edits.push({ kind: 'attachIso', path });
  return edits;
}

export function parseDiskBus(target: string, bus: string): Edit {
  return { kind: 'diskBus', target: target.trim(), bus: bus.trim() };
}

export function parseGuestAgent(text: string): Edit {
  const t = text.trim().toLowerCase();
  if (['yes', 'on'].includes(t)) return { kind: 'guestAgent', on: true };
  if (['no', 'off'].includes(t)) return { kind: 'guestAgent', on: false };
  return refuse('guestAgent', `Guest agent "${text.trim()}" is neither yes nor no.`, 'Choose yes (add the channel) or no (remove it).');
}

export function parseAutostart(text: string): Edit {
  const t = text.trim().toLowerCase();
  if (['yes', 'on'].includes(t)) return { kind: 'autostart', on: true };
  if (['no', 'off'].includes(t)) return { kind: 'autostart', on: false };
  return refuse('autostart', `Autostart "${text.trim()}" is neither yes nor no.`, 'Choose yes or no.');
}

/** The field an edit is typed in. */
export function fieldOf(edit: Edit): EditField {
  switch (edit.kind) {
    case 'memory':
    case 'vcpus':
    case 'boot':
    case 'autostart':
    case 'guestAgent':
      return edit.kind;
    case 'mac':
      return `mac:${edit.index}`;
    case 'vnc':
      return edit.port === undefined ? 'vncListen' : 'vncPort';
    case 'eject':
    case 'attachIso':
      return 'iso';
    case 'diskBus':
      return `bus:${edit.target}`;
  }
}

// ---------------------------------------------------------------- validate and apply

/**
 * The order edits apply in, whatever order they were given: an ISO swap ejects before it inserts,
 * and bus changes rename targets (hda → sda), so they come after every edit that finds a disk by
 * its target.
 */
const ORDER: Edit['kind'][] = ['memory', 'vcpus', 'mac', 'vnc', 'boot', 'eject', 'attachIso', 'diskBus', 'guestAgent', 'autostart'];

export function inOrder(edits: readonly Edit[]): Edit[] {
  return [...edits].sort((a, b) => ORDER.indexOf(a.kind) - ORDER.indexOf(b.kind));
}

function applyOne(doc: DomainDoc, edit: Edit): DomainDoc {
  switch (edit.kind) {
    case 'memory':
      return on('memory', () => setMemory(doc, edit.kib));
    case 'vcpus':
      return on('vcpus', () => setVcpus(doc, edit.count));
    case 'mac':
      return on(fieldOf(edit), () => setMac(doc, edit.index, edit.mac));
    case 'vnc': {
      // A listen address alone keeps the port the guest has (or lets libvirt pick one for a new display).
      const port = edit.port ?? getSettings(doc).vnc?.port ?? 'auto';
      // The port first, then the address: a refusal then names the field that is wrong.
      const withPort = on(edit.port === undefined ? 'vncListen' : 'vncPort', () => setVnc(doc, { port }));
      return edit.listen === undefined ? withPort : on('vncListen', () => setVnc(withPort, { port, listen: edit.listen }));
    }
    case 'boot':
      return on('boot', () => setBootOrder(doc, edit.devices));
    case 'eject':
      return on('iso', () => ejectCdrom(doc, edit.target));
    case 'attachIso':
      return on('iso', () => attachIso(doc, edit.path));
    case 'diskBus':
      return on(fieldOf(edit), () => setDiskBus(doc, edit.target, edit.bus));
    case 'guestAgent':
      return setGuestAgentChannel(doc, edit.on);
    case 'autostart':
      return doc;
  }
}

/** The domain with every edit made, in the fixed order; the first refusal throws (EditRefusal) and nothing is made. */
export function apply(doc: DomainDoc, edits: readonly Edit[]): DomainDoc {
  return inOrder(edits).reduce(applyOne, doc);
}

/** The refusal the guest gives these edits, or null when they all fit it. */
export function validate(doc: DomainDoc, edits: readonly Edit[]): EditRefusal | null {
  try {
    apply(doc, edits);
    return null;
  } catch (e) {
    if (e instanceof EditRefusal) return e;
    throw e;
  }
}

/** The new autostart setting, or null when the edits leave it alone. */
export function autostartOf(edits: readonly Edit[]): boolean | null {
  const last = edits.filter((e) => e.kind === 'autostart').at(-1);
  return last?.kind === 'autostart' ? last.on : null;
}

// ---------------------------------------------------------------- describe

/** One line per edit: the CLI's plain and JSON output, and the console's diff summary. */
export function describe(edit: Edit): string {
  switch (edit.kind) {
    case 'memory':
      return `memory ${edit.kib} KiB`;
    case 'vcpus':
      return `vcpus ${edit.count}`;
    case 'mac':
      return `nic ${edit.index} mac ${edit.mac}`;
    case 'vnc':
      return ['vnc', edit.port !== undefined ? `port ${edit.port}` : '', edit.listen !== undefined ? `listen ${edit.listen}` : '']
        .filter(Boolean)
        .join(' ');
    case 'boot':
      return `boot ${edit.devices.join(',')}`;
    case 'eject':
      return `eject ${edit.target}`;
    case 'attachIso':
      return `attach iso ${edit.path}`;
    case 'diskBus':
      return `disk ${edit.target} bus ${edit.bus}`;
    case 'guestAgent':
      return `guest agent channel ${edit.on ? 'added' : 'removed'}`;
    case 'autostart':
      return `autostart ${edit.on ? 'on' : 'off'}`;
  }
}

// ---------------------------------------------------------------- the settings form's fields

/** What the settings form shows for a guest, one value per field id (the form's original values). */
export function settingsValues(settings: DomainSettings, autostart: boolean): Record<string, string> {
  const values: Record<string, string> = {
    memory: formatMemory(settings.memoryKiB),
    vcpus: String(settings.vcpus),
    vncPort: settings.vnc ? String(settings.vnc.port) : 'none',
    vncListen: settings.vnc?.listen ?? '',
    boot: settings.bootOrder.join(',') || 'hd',
    iso: settings.disks.find((d) => d.device === 'cdrom')?.source ?? '',
    autostart: autostart ? 'yes' : 'no',
  };
  for (const nic of settings.nics) values[`mac:${nic.index}`] = nic.mac ?? '';
  for (const disk of settings.disks) if (disk.device === 'disk' || disk.device === 'cdrom') values[`bus:${disk.target}`] = disk.bus;
  return values;
}

/** Memory as the form writes it: the largest unit that keeps it whole (2G, 1536M), so it parses back exactly. */
export function formatMemory(kib: number): string {
  for (const [unit, size] of [
    ['T', 1024 ** 3],
    ['G', 1024 ** 2],
    ['M', 1024],
  ] as const) {
    if (kib >= size && kib % size === 0) return `${kib / size}${unit}`;
  }
  return `${kib}K`;
}

/**
 * The edits of a settings form: every field whose value differs from what the guest has. Throws
 * the first field's refusal (EditRefusal), so the form can focus it.
 */
export function formEdits(settings: DomainSettings, values: Record<string, string>, original: Record<string, string>): Edit[] {
  const changed = (id: string) => values[id] !== undefined && values[id].trim() !== (original[id] ?? '').trim();
  const edits: Edit[] = [];
  if (changed('memory')) edits.push(parseMemory(values.memory ?? ''));
  if (changed('vcpus')) edits.push(parseVcpus(values.vcpus ?? ''));
  for (const nic of settings.nics) if (changed(`mac:${nic.index}`)) edits.push(parseMacEdit(nic.index, values[`mac:${nic.index}`] ?? ''));
  if (changed('vncPort') || changed('vncListen')) {
    const listen = (values.vncListen ?? '').trim();
    edits.push(parseVnc(values.vncPort ?? 'auto', listen ? listen : undefined));
  }
  if (changed('boot')) edits.push(parseBoot(values.boot ?? ''));
  if (changed('iso')) {
    const cdrom = settings.disks.find((d) => d.device === 'cdrom');
    edits.push(...parseIso(values.iso ?? '', cdrom ? { target: cdrom.target, source: cdrom.source } : undefined));
  }
  for (const disk of settings.disks) if (changed(`bus:${disk.target}`)) edits.push(parseDiskBus(disk.target, values[`bus:${disk.target}`] ?? ''));
  if (changed('guestAgent')) edits.push(parseGuestAgent(values.guestAgent ?? ''));
  if (changed('autostart')) edits.push(parseAutostart(values.autostart ?? ''));
  return edits;
}
