import {
  attachIso,
  type DomainDoc,
  ejectCdrom,
  getSettings,
  setBootOrder,
  setDiskBus,
  setMac,
  setMemory,
  setVcpus,
  setVnc,
} from '../../model/domainXml.js';
import { parseMac, randomMac } from '../../model/mac.js';
import { parseSize } from '../../model/units.js';
import { UserError } from '../../model/userError.js';

/**
 * `virtdeck guest edit` flags → a list of edits → applied to the domain XML. Pure: parsing checks
 * the shape of each flag (and the MAC itself, so a typo fails before virsh is asked anything); the
 * model's setters check the values against the guest.
 */

/** The flags as commander hands them over (repeatable ones as arrays). */
export interface EditFlags {
  memory?: string;
  vcpus?: string;
  mac?: string[];
  vnc?: string;
  listen?: string;
  boot?: string;
  attachIso?: string;
  eject?: string[];
  diskBus?: string[];
}

export type Edit =
  | { kind: 'memory'; kib: number }
  | { kind: 'vcpus'; count: number }
  | { kind: 'mac'; index: number; mac: string }
  | { kind: 'vnc'; port?: number | 'auto'; listen?: string }
  | { kind: 'boot'; devices: string[] }
  | { kind: 'attachIso'; path: string }
  | { kind: 'eject'; target: string }
  | { kind: 'diskBus'; target: string; bus: string };

function parseMemory(text: string): Edit {
  // Bare numbers are refused for every size; this says which flag.
  if (/^\d+$/.test(text.trim())) {
    throw new UserError(`--memory ${text} has no unit.`, 'Add one: --memory 512M or --memory 2G.');
  }
  const { bytes, relative } = parseSize(text);
  if (relative) {
    throw new UserError(`--memory ${text} is relative; give the new total.`, 'Write the whole amount, for example --memory 1G.');
  }
  if (bytes % 1024 !== 0) {
    throw new UserError(`--memory ${text} is not a whole number of KiB.`, 'Write it in K, M or G, for example --memory 512M.');
  }
  return { kind: 'memory', kib: bytes / 1024 };
}

function parseWholeNumber(text: string, flag: string, fix: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UserError(`${flag} ${text} is not a whole number.`, fix);
  return Number(text.trim());
}

/** [IDX=]MAC | [IDX=]generate[:vmware] — IDX counts the guest's NICs from 0. */
export function parseMacFlag(text: string, rng: () => number = Math.random): Edit {
  const m = /^(?:(\d+)=)?(.+)$/.exec(text.trim());
  const value = m?.[2] ?? '';
  const index = m?.[1] !== undefined ? Number(m[1]) : 0;
  if (value === 'generate' || value === 'generate:kvm') return { kind: 'mac', index, mac: randomMac('kvm', rng) };
  if (value === 'generate:vmware') return { kind: 'mac', index, mac: randomMac('vmware', rng) };
  if (value.startsWith('generate')) {
    throw new UserError(`--mac ${text}: "${value}" is not a way to generate a MAC.`, 'Use generate (52:54:00:…) or generate:vmware (00:50:56:…).');
  }
  return { kind: 'mac', index, mac: parseMac(value) };
}

export function parseVncFlag(text: string): number | 'auto' {
  const t = text.trim();
  if (t === 'auto') return 'auto';
  return parseWholeNumber(t, '--vnc', "Give a port from 5900 to 65535, or 'auto'.");
}

/** TARGET=BUS, e.g. hda=sata. */
export function parseDiskBusFlag(text: string): Edit {
  const m = /^([a-z]+[a-z0-9]*)=([a-z]+)$/.exec(text.trim());
  if (!m) {
    throw new UserError(`--disk-bus ${text} is not TARGET=BUS.`, 'Write the disk target and the new bus, for example --disk-bus hda=sata.');
  }
  return { kind: 'diskBus', target: m[1] as string, bus: m[2] as string };
}

export function parseBootFlag(text: string): Edit {
  const devices = text
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  return { kind: 'boot', devices };
}

export function parseEditFlags(flags: EditFlags, rng: () => number = Math.random): Edit[] {
  const edits: Edit[] = [];
  if (flags.memory !== undefined) edits.push(parseMemory(flags.memory));
  if (flags.vcpus !== undefined) {
    edits.push({ kind: 'vcpus', count: parseWholeNumber(flags.vcpus, '--vcpus', 'Give the number of virtual CPUs, for example --vcpus 2.') });
  }
  for (const mac of flags.mac ?? []) edits.push(parseMacFlag(mac, rng));
  if (flags.vnc !== undefined || flags.listen !== undefined) {
    edits.push({
      kind: 'vnc',
      ...(flags.vnc !== undefined ? { port: parseVncFlag(flags.vnc) } : {}),
      ...(flags.listen !== undefined ? { listen: flags.listen.trim() } : {}),
    });
  }
  if (flags.boot !== undefined) edits.push(parseBootFlag(flags.boot));
  if (flags.attachIso !== undefined) edits.push({ kind: 'attachIso', path: flags.attachIso });
  for (const target of flags.eject ?? []) edits.push({ kind: 'eject', target: target.trim() });
  for (const bus of flags.diskBus ?? []) edits.push(parseDiskBusFlag(bus));
  if (edits.length === 0) {
    throw new UserError(
      'guest edit was given nothing to change.',
      'Add at least one of --memory, --vcpus, --mac, --vnc, --listen, --boot, --attach-iso, --eject, --disk-bus (see virtdeck guest edit --help).',
    );
  }
  return edits;
}

export function applyEdit(doc: DomainDoc, edit: Edit): DomainDoc {
  switch (edit.kind) {
    case 'memory':
      return setMemory(doc, edit.kib);
    case 'vcpus':
      return setVcpus(doc, edit.count);
    case 'mac':
      return setMac(doc, edit.index, edit.mac);
    case 'vnc': {
      // --listen alone keeps the port the guest has (or lets libvirt pick one for a new display).
      const port = edit.port ?? getSettings(doc).vnc?.port ?? 'auto';
      return setVnc(doc, { port, ...(edit.listen !== undefined ? { listen: edit.listen } : {}) });
    }
    case 'boot':
      return setBootOrder(doc, edit.devices);
    case 'attachIso':
      return attachIso(doc, edit.path);
    case 'eject':
      return ejectCdrom(doc, edit.target);
    case 'diskBus':
      return setDiskBus(doc, edit.target, edit.bus);
  }
}

export function applyEdits(doc: DomainDoc, edits: Edit[]): DomainDoc {
  return edits.reduce(applyEdit, doc);
}

/** One line per edit for the plain output and the JSON result. */
export function describeEdit(edit: Edit): string {
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
    case 'attachIso':
      return `attach iso ${edit.path}`;
    case 'eject':
      return `eject ${edit.target}`;
    case 'diskBus':
      return `disk ${edit.target} bus ${edit.bus}`;
  }
}
