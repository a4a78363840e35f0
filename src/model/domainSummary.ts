import { XMLParser } from 'fast-xml-parser';
import { readDiskBus, readMemoryKiB, readVcpus } from './domainReaders.js';
import { UserError } from './userError.js';
import { decodeEntities, refuseDoctype } from './xmlText.js';

/**
 * The few facts a guest list shows, read from a libvirt domain XML. Pure and read-only: editing
 * XML belongs to domainXml, which keeps unknown elements; this only summarises.
 */

export interface GuestDisk {
  target: string; // vda, hdc, sda
  device: 'disk' | 'cdrom' | 'floppy' | 'lun';
  bus: string; // virtio, ide, sata, scsi, usb
  source: string | null; // file path, block device, or null for an empty CD-ROM
  format: string | null; // driver type: qcow2, raw, vmdk
}

export interface GuestNic {
  mac: string;
  type: string; // bridge, network, direct, user
  source: string | null; // bridge or network name
  model: string | null;
}

export interface GuestVnc {
  /** A port, or 'auto' while an autoport guest is not running. */
  port: number | 'auto';
  listen: string | null;
}

export interface DomainSummary {
  name: string;
  uuid: string;
  /** libvirt's domain id, present only in the live XML of a running guest. */
  id: number | null;
  vcpus: number;
  memoryKiB: number;
  disks: GuestDisk[];
  nics: GuestNic[];
  vnc: GuestVnc | null;
  osType: string | null;
  hasSerial: boolean;
  /**
   * The guest agent's virtio-serial port as the live XML reports it (`connected` once an agent in
   * the guest opened it), `present` in an inactive XML; absent when the guest has no such channel.
   */
  agentChannel?: AgentChannel;
}

export type AgentChannel = 'present' | 'connected' | 'disconnected';

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // libosinfo metadata comes with a namespace prefix chosen by whoever wrote the XML.
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Nothing is expanded by the parser: the five predefined entities and character references are
  // decoded in attr() and text(), and a DOCTYPE is refused before parsing (model/xmlText.ts).
  processEntities: false,
  htmlEntities: false,
  // Subtrees a summary never reads are kept as raw text, not parsed: a refresh parses hundreds.
  stopNodes: ['domain.os', 'domain.features', 'domain.cpu', 'domain.clock', 'domain.pm', 'domain.seclabel', 'domain.devices.controller', 'domain.devices.video', 'domain.devices.input', 'domain.devices.memballoon', 'domain.devices.channel', 'domain.devices.sound', 'domain.devices.hostdev', '*.address'],
  isArray: (name) => ['disk', 'interface', 'graphics', 'serial', 'console', 'listen'].includes(name),
});

function node(v: unknown): Node {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : {};
}

function list(v: unknown): Node[] {
  return Array.isArray(v) ? v.map(node) : v === undefined ? [] : [node(v)];
}

const SOURCE = 'The domain XML';

function attr(n: Node, name: string): string | null {
  const v = n[`@_${name}`];
  return typeof v === 'string' && v !== '' ? decodeEntities(v, SOURCE) : null;
}

/** An element's text whether or not it also carries attributes. */
function text(v: unknown): string | null {
  if (typeof v === 'string') return decodeEntities(v, SOURCE);
  if (typeof v === 'number') return String(v);
  const t = node(v)['#text'];
  return typeof t === 'string' || typeof t === 'number' ? decodeEntities(String(t), SOURCE) : null;
}

function diskOf(d: Node): GuestDisk {
  const src = node(d.source);
  const device = attr(d, 'device') ?? 'disk';
  const target = node(d.target);
  const pool = attr(src, 'pool');
  const volume = attr(src, 'volume');
  const source =
    attr(src, 'file') ??
    attr(src, 'dev') ??
    (pool && volume ? `${pool}/${volume}` : null) ??
    (attr(src, 'protocol') ? `${attr(src, 'protocol')}:${attr(src, 'name') ?? ''}` : null);
  const dev = attr(target, 'dev') ?? '';
  return {
    target: dev,
    device: (['disk', 'cdrom', 'floppy', 'lun'].includes(device) ? device : 'disk') as GuestDisk['device'],
    bus: readDiskBus(attr(target, 'bus'), dev),
    source,
    format: attr(node(d.driver), 'type'),
  };
}

function nicOf(i: Node): GuestNic {
  const src = node(i.source);
  return {
    mac: (attr(node(i.mac), 'address') ?? '').toLowerCase(),
    type: attr(i, 'type') ?? 'unknown',
    source: attr(src, 'bridge') ?? attr(src, 'network') ?? attr(src, 'dev') ?? null,
    model: attr(node(i.model), 'type'),
  };
}

function vncOf(graphics: Node[]): GuestVnc | null {
  const g = graphics.find((x) => attr(x, 'type') === 'vnc');
  if (!g) return null;
  const port = Number(attr(g, 'port') ?? -1);
  const listen = attr(g, 'listen') ?? list(g.listen).map((l) => attr(l, 'address')).find((a) => a !== null) ?? null;
  return { port: Number.isInteger(port) && port > 0 ? port : 'auto', listen };
}

/**
 * libosinfo ids are URLs such as http://debian.org/debian/12 or http://microsoft.com/win/2k3;
 * their short ids (debian12, win2k3) are the last two path segments joined.
 */
export function osShortId(id: string): string | null {
  const parts = id.replace(/^[a-z]+:\/\/[^/]+\//i, '').split('/').filter(Boolean);
  if (parts.length === 0) return null;
  return parts.slice(-2).join('');
}

function osTypeOf(metadata: Node): string | null {
  const os = node(node(metadata.libosinfo).os);
  const id = attr(os, 'id');
  return id ? osShortId(id) : null;
}

/** The <channel> subtrees are kept as raw text (stopNodes): the agent's <target> is read from it. */
function agentChannelOf(devices: Node): AgentChannel | null {
  for (const c of list(devices.channel)) {
    const raw = typeof c['#text'] === 'string' ? c['#text'] : '';
    const target = [...raw.matchAll(/<target\b[^>]*>/g)].map((m) => m[0]).find((t) => /\bname=(['"])org\.qemu\.guest_agent\.0\1/.test(t));
    if (!target) continue;
    const state = target.match(/\bstate=(['"])(connected|disconnected)\1/)?.[2];
    return state === 'connected' || state === 'disconnected' ? state : 'present';
  }
  return null;
}

function hasSerialOf(devices: Node): boolean {
  if (list(devices.serial).length > 0) return true;
  return list(devices.console).some((c) => (attr(node(c.target), 'type') ?? 'serial') === 'serial');
}

const FIX = 'Check the XML, or take a fresh copy with: virsh dumpxml GUEST';

/** The parser throws plain Errors on malformed text; a refresh must show which XML was bad, not crash. */
function parseOrRefuse(xml: string): Node {
  refuseDoctype(xml, SOURCE);
  try {
    return parser.parse(xml) as Node;
  } catch (e) {
    throw new UserError(`This domain XML is not well-formed: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}.`, FIX);
  }
}

/** Summarises one domain XML; a UserError naming what is missing when it is not a domain. */
export function summarizeDomainXml(xml: string): DomainSummary {
  const doc = parseOrRefuse(xml);
  const dom = node(doc.domain);
  const name = text(dom.name);
  const uuid = text(dom.uuid);
  if (!name || !uuid) {
    throw new UserError('This is not a libvirt domain XML: <domain> with <name> and <uuid> expected.', FIX);
  }
  const devices = node(dom.devices);
  const memory = dom.memory ?? dom.currentMemory;
  const id = attr(dom, 'id');
  const channel = agentChannelOf(devices);
  return {
    name,
    uuid,
    id: id !== null && Number(id) >= 0 ? Number(id) : null,
    vcpus: readVcpus(text(dom.vcpu), attr(node(dom.vcpu), 'current')).current,
    // The configured size, not the balloon's current one: it is what the guest may claim.
    memoryKiB: readMemoryKiB(text(memory), attr(node(memory), 'unit')),
    disks: list(devices.disk).map(diskOf),
    nics: list(devices.interface).map(nicOf),
    vnc: vncOf(list(devices.graphics)),
    osType: osTypeOf(node(dom.metadata)),
    hasSerial: hasSerialOf(devices),
    ...(channel ? { agentChannel: channel } : {}),
  };
}
