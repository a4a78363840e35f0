import type { DomainDoc } from '../../model/domainXml.js';
import { apply, describe, type Edit, parseBoot, parseDiskBus, parseGuestAgent, parseMacEdit, parseMemory, parseVcpus, parseVnc, parseVncPort } from '../../model/guestEdits.js';
import { UserError } from '../../model/userError.js';

/**
 * `virtdeck guest edit` flags → a list of edits (model/guestEdits.ts, the same rules as the
 * console's settings form). Parsing checks the shape of each flag (and the MAC itself, so a typo
 * fails before virsh is asked anything); applying checks the values against the guest.
 */

export type { Edit } from '../../model/guestEdits.js';

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
  /** yes|no: add or remove the org.qemu.guest_agent.0 channel (the settings form's Guest agent). */
  guestAgent?: string;
}

/** [IDX=]MAC | [IDX=]generate[:vmware] — IDX counts the guest's NICs from 0. */
export function parseMacFlag(text: string, rng: () => number = Math.random): Edit {
  const m = /^(?:(\d+)=)?(.+)$/.exec(text.trim());
  const index = m?.[1] !== undefined ? Number(m[1]) : 0;
  return parseMacEdit(index, m?.[2] ?? '', rng);
}

export function parseVncFlag(text: string): number | 'auto' {
  return parseVncPort(text);
}

/** TARGET=BUS, e.g. hda=sata. */
export function parseDiskBusFlag(text: string): Edit {
  const m = /^([a-z]+[a-z0-9]*)=([a-z]+)$/.exec(text.trim());
  if (!m) {
    throw new UserError(`--disk-bus ${text} is not TARGET=BUS.`, 'Write the disk target and the new bus, for example --disk-bus hda=sata.');
  }
  return parseDiskBus(m[1] as string, m[2] as string);
}

export const parseBootFlag = parseBoot;

export function parseEditFlags(flags: EditFlags, rng: () => number = Math.random): Edit[] {
  const edits: Edit[] = [];
  if (flags.memory !== undefined) edits.push(parseMemory(flags.memory));
  if (flags.vcpus !== undefined) edits.push(parseVcpus(flags.vcpus));
  for (const mac of flags.mac ?? []) edits.push(parseMacFlag(mac, rng));
  if (flags.vnc !== undefined || flags.listen !== undefined) edits.push(parseVnc(flags.vnc, flags.listen));
  if (flags.boot !== undefined) edits.push(parseBoot(flags.boot));
  for (const target of flags.eject ?? []) edits.push({ kind: 'eject', target: target.trim() });
  if (flags.attachIso !== undefined) edits.push({ kind: 'attachIso', path: flags.attachIso });
  for (const bus of flags.diskBus ?? []) edits.push(parseDiskBusFlag(bus));
  if (flags.guestAgent !== undefined) edits.push(parseGuestAgent(flags.guestAgent));
  if (edits.length === 0) {
    throw new UserError(
      'guest edit was given nothing to change.',
      'Add at least one of --memory, --vcpus, --mac, --vnc, --listen, --boot, --attach-iso, --eject, --disk-bus, --guest-agent (see virtdeck guest edit --help).',
    );
  }
  return edits;
}

export function applyEdits(doc: DomainDoc, edits: Edit[]): DomainDoc {
  return apply(doc, edits);
}

/** One line per edit for the plain output and the JSON result. */
export const describeEdit = describe;
