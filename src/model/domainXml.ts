import { isIP } from 'node:net';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { countOf } from './countText.js';
import { readDiskBus, readMemoryKiB, readVcpus, type VcpuCount } from './domainReaders.js';
import { checkGuestName } from './guestName.js';
import { parseMac } from './mac.js';
import { libvirtScaledToBytes } from './units.js';
import { UserError } from './userError.js';
import { decodeEntities, escapeXml, refuseDoctype, XML_ESCAPES } from './xmlText.js';

/**
 * libvirt domain XML: parse, edit, serialize. A no-op round trip keeps every element, attribute,
 * comment and the order of devices, because an admin's XML often carries things virtdeck does not
 * understand (metadata of other tools, qemu:commandline) and losing them would be silent damage.
 *
 * Whitespace between elements is not kept; the serializer re-indents in libvirt's own style
 * (two spaces, single-quoted attributes, `<x/>` for empty elements; double quotes inside
 * <metadata>, which libvirt hands to libxml2), so `virsh dumpxml` output comes back byte-identical
 * (but for an apostrophe in a <metadata> attribute, written &apos;: see XML_ESCAPES in xmlText.ts).
 * New guests are built on the same tree (domainBuild.ts), so one serializer writes all domain XML.
 *
 * What is read the way libvirt reads it rather than kept (libvirt stores its own serialization, so
 * keeping these would only make our output differ from what libvirt defines): CRLF and lone CR
 * line ends become LF, a literal line end or tab inside an attribute value becomes a space, a
 * byte order mark is dropped, and character references (`&#233;`) are written as the character
 * (escaped only where libvirt escapes). A `<?xml …?>` declaration is kept; a DOCTYPE is refused
 * (model/xmlText.ts). test/integration/domainXmlDefine.test.ts holds this against libvirt's dump.
 *
 * Edits never mutate their input: each returns a new document. Autostart is not part of the XML
 * (libvirt keeps it as a symlink, set with `virsh autostart`), so there is no edit for it here.
 */

export interface XmlElement {
  kind: 'element';
  name: string;
  /** In document order. */
  attrs: Record<string, string>;
  children: XmlNode[];
}
export interface XmlText {
  kind: 'text';
  text: string;
}
export interface XmlComment {
  kind: 'comment';
  text: string;
}
export interface XmlCdata {
  kind: 'cdata';
  text: string;
}
/** `<?xml version="1.0"?>`; other processing instructions are kept by name only. */
export interface XmlInstruction {
  kind: 'instruction';
  name: string;
  attrs: Record<string, string>;
}
export type XmlNode = XmlElement | XmlText | XmlComment | XmlCdata | XmlInstruction;

export interface DomainDoc {
  /** Top-level nodes: an optional declaration and comments around the one <domain> element. */
  nodes: XmlNode[];
}

// ---------------------------------------------------------------- parse

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  commentPropName: '#comment',
  cdataPropName: '#cdata',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Entities are decoded here (decodeEntities, model/xmlText.ts) so numeric references are handled
  // too and nothing a DOCTYPE declares is ever expanded (refuseDoctype runs first anyway).
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: false,
  ignorePiTags: false,
});

type RawNode = Record<string, unknown>;

function rawText(children: unknown): string {
  if (!Array.isArray(children)) return '';
  return children.map((c) => String((c as RawNode)['#text'] ?? '')).join('');
}

function convertAttrs(raw: unknown, source: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  // XML's attribute-value normalization: a literal tab or line end is a space (libvirt reads
  // `file='/a<newline>b'` as '/a b'); a character reference (&#10;) stays the character it names.
  for (const [k, v] of Object.entries((raw as Record<string, unknown>) ?? {})) attrs[k] = decodeEntities(String(v).replace(/[\t\n]/g, ' '), source);
  return attrs;
}

function isBlank(node: XmlNode): boolean {
  return node.kind === 'text' && node.text.trim() === '';
}

function convert(raw: RawNode[], source: string): XmlNode[] {
  const out: XmlNode[] = [];
  for (const node of raw) {
    const key = Object.keys(node).find((k) => k !== ':@');
    if (key === undefined) continue;
    const value = node[key];
    if (key === '#text') out.push({ kind: 'text', text: decodeEntities(String(value), source) });
    else if (key === '#comment') out.push({ kind: 'comment', text: rawText(value) });
    else if (key === '#cdata') out.push({ kind: 'cdata', text: rawText(value) });
    else if (key.startsWith('?')) out.push({ kind: 'instruction', name: key.slice(1), attrs: convertAttrs(node[':@'], source) });
    else out.push({ kind: 'element', name: key, attrs: convertAttrs(node[':@'], source), children: convert(value as RawNode[], source) });
  }
  // Indentation between elements is layout, not content; mixed text (rare) is kept verbatim.
  const hasMarkup = out.some((n) => n.kind !== 'text');
  const mixed = out.some((n) => n.kind === 'text' && !isBlank(n));
  return hasMarkup && !mixed ? out.filter((n) => !isBlank(n)) : out;
}

const FIX_DUMP = 'Check the file, or take a fresh copy with: virsh dumpxml GUEST > guest.xml';

export interface ParseXmlOptions {
  /** Where the XML came from, for messages: "The XML you edited", a run's domain.xml path. */
  source?: string;
}

/**
 * Parses domain XML; malformed XML, another root element, a DOCTYPE or an entity other than the
 * five predefined ones is a UserError naming the source.
 */
export function parseDomainXml(text: string, opts: ParseXmlOptions = {}): DomainDoc {
  const source = opts.source ?? 'The domain XML';
  // What every XML parser (libxml2 in libvirt too) does before reading: a byte order mark is an
  // encoding signature, not content, and CRLF or a lone CR is one line end.
  const xml = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (xml.trim() === '') throw new UserError(`${source} is empty.`, FIX_DUMP);
  refuseDoctype(xml, source);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new UserError(`${source} is not well-formed at line ${line}, column ${col}: ${msg}`, FIX_DUMP);
  }
  let raw: RawNode[];
  try {
    raw = parser.parse(xml) as RawNode[];
  } catch (e) {
    // The validator lets a few things through that the parser then throws on (`<?'xml …?>`).
    throw new UserError(`${source} is not well-formed: ${e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e)}.`, FIX_DUMP);
  }
  const nodes = convert(raw, source).filter((n) => !isBlank(n));
  const roots = nodes.filter((n): n is XmlElement => n.kind === 'element');
  if (roots.length !== 1 || roots[0]?.name !== 'domain') {
    const found = roots[0] ? `<${roots[0].name}>` : 'no element';
    throw new UserError(`${source} has ${found} at its root, not a libvirt <domain>.`, FIX_DUMP);
  }
  return { nodes };
}

// ---------------------------------------------------------------- serialize

function formatAttrs(attrs: Record<string, string>, libxml: boolean): string {
  const quote = libxml ? '"' : "'";
  const chars = libxml ? XML_ESCAPES.libxmlAttr : XML_ESCAPES.libvirt;
  return Object.entries(attrs)
    .map(([k, v]) => ` ${k}=${quote}${escapeXml(v, chars)}${quote}`)
    .join('');
}

function formatInline(node: XmlNode, libxml: boolean): string {
  switch (node.kind) {
    case 'text':
      return escapeXml(node.text, libxml ? XML_ESCAPES.libxmlText : XML_ESCAPES.libvirt);
    case 'cdata':
      return `<![CDATA[${node.text}]]>`;
    case 'comment':
      return `<!--${node.text}-->`;
    case 'instruction':
      return `<?${node.name}${formatAttrs(node.attrs, true)}?>`;
    case 'element': {
      const inner = libxml || node.name === 'metadata';
      const open = `<${node.name}${formatAttrs(node.attrs, libxml)}`;
      if (node.children.length === 0) return `${open}/>`;
      return `${open}>${node.children.map((c) => formatInline(c, inner)).join('')}</${node.name}>`;
    }
  }
}

function formatNode(node: XmlNode, depth: number, libxml: boolean, out: string[]): void {
  const pad = '  '.repeat(depth);
  const blockChildren =
    node.kind === 'element' &&
    node.children.some((c) => c.kind === 'element' || c.kind === 'comment') &&
    !node.children.some((c) => c.kind === 'text' || c.kind === 'cdata');
  if (node.kind !== 'element' || !blockChildren) {
    out.push(pad + formatInline(node, libxml));
    return;
  }
  const inner = libxml || node.name === 'metadata';
  out.push(`${pad}<${node.name}${formatAttrs(node.attrs, libxml)}>`);
  for (const child of node.children) formatNode(child, depth + 1, inner, out);
  out.push(`${pad}</${node.name}>`);
}

/** Serializes in libvirt's layout; ends with a newline like `virsh dumpxml`. */
export function serializeDomainXml(doc: DomainDoc): string {
  const out: string[] = [];
  for (const node of doc.nodes) formatNode(node, 0, false, out);
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- tree helpers

export function el(name: string, attrs: Record<string, string> = {}, children: XmlNode[] = []): XmlElement {
  return { kind: 'element', name, attrs, children };
}

function textEl(name: string, text: string, attrs: Record<string, string> = {}): XmlElement {
  return el(name, attrs, [{ kind: 'text', text }]);
}

export function childElements(parent: XmlElement, name?: string): XmlElement[] {
  return parent.children.filter((c): c is XmlElement => c.kind === 'element' && (name === undefined || c.name === name));
}

export function firstChild(parent: XmlElement, name: string): XmlElement | undefined {
  return childElements(parent, name)[0];
}

export function textOf(element: XmlElement | undefined): string | null {
  if (!element) return null;
  return element.children
    .filter((c): c is XmlText | XmlCdata => c.kind === 'text' || c.kind === 'cdata')
    .map((c) => c.text)
    .join('');
}

function setText(element: XmlElement, text: string): void {
  element.children = [{ kind: 'text', text }];
}

function removeChildren(parent: XmlElement, drop: (e: XmlElement) => boolean): void {
  parent.children = parent.children.filter((c) => c.kind !== 'element' || !drop(c));
}

/** Inserts after the last existing child among `after` (in order of preference), else first. */
function insertAfter(parent: XmlElement, child: XmlNode, after: string[]): void {
  let index = -1;
  parent.children.forEach((c, i) => {
    if (c.kind === 'element' && after.includes(c.name)) index = i;
  });
  parent.children.splice(index + 1, 0, child);
}

export function domainRoot(doc: DomainDoc): XmlElement {
  const root = doc.nodes.find((n): n is XmlElement => n.kind === 'element');
  if (!root) throw new UserError('The document has no <domain> element.', FIX_DUMP);
  return root;
}

/** A deep copy to edit, so callers keep their original document. */
function editable(doc: DomainDoc): { doc: DomainDoc; root: XmlElement } {
  const copy = structuredClone(doc);
  return { doc: copy, root: domainRoot(copy) };
}

function ensureChild(parent: XmlElement, name: string, after: string[]): XmlElement {
  const found = firstChild(parent, name);
  if (found) return found;
  const created = el(name);
  insertAfter(parent, created, after);
  return created;
}

function devicesOf(root: XmlElement): XmlElement {
  return ensureChild(root, 'devices', ['on_crash', 'on_reboot', 'on_poweroff', 'clock', 'cpu', 'features', 'os', 'vcpu', 'currentMemory', 'memory']);
}

function disksOf(root: XmlElement): XmlElement[] {
  const devices = firstChild(root, 'devices');
  return devices ? childElements(devices, 'disk') : [];
}

function attr(element: XmlElement | undefined, name: string): string | null {
  return element?.attrs[name] ?? null;
}

// ---------------------------------------------------------------- settings

export type BootDevice = 'hd' | 'cdrom' | 'network' | 'fd';
export interface NicSettings {
  index: number;
  mac: string | null;
  type: string;
  source: string | null;
  model: string | null;
}
export interface DiskSettings {
  target: string;
  device: string;
  bus: string;
  source: string | null;
  format: string | null;
}
export interface DomainSettings {
  name: string;
  uuid: string | null;
  type: string;
  memoryKiB: number;
  vcpus: number;
  nics: NicSettings[];
  vnc: { port: number | 'auto'; listen: string | null } | null;
  bootOrder: BootDevice[];
  disks: DiskSettings[];
}

function interfacesOf(root: XmlElement): XmlElement[] {
  const devices = firstChild(root, 'devices');
  return devices ? childElements(devices, 'interface') : [];
}

function nicSource(nic: XmlElement): string | null {
  const source = firstChild(nic, 'source');
  if (!source) return null;
  return source.attrs.bridge ?? source.attrs.network ?? source.attrs.dev ?? source.attrs.path ?? null;
}


function diskSource(disk: XmlElement): string | null {
  const s = firstChild(disk, 'source');
  if (!s) return null;
  if (s.attrs.file ?? s.attrs.dev ?? s.attrs.dir) return s.attrs.file ?? s.attrs.dev ?? s.attrs.dir ?? null;
  if (s.attrs.pool && s.attrs.volume) return `${s.attrs.pool}/${s.attrs.volume}`;
  return s.attrs.name ?? null;
}

function diskSettings(disk: XmlElement): DiskSettings {
  const target = firstChild(disk, 'target');
  const dev = attr(target, 'dev') ?? '';
  return {
    target: dev,
    device: disk.attrs.device ?? 'disk',
    bus: readDiskBus(attr(target, 'bus'), dev),
    source: diskSource(disk),
    format: attr(firstChild(disk, 'driver'), 'type'),
  };
}

function firstVnc(root: XmlElement): XmlElement | undefined {
  const devices = firstChild(root, 'devices');
  return devices ? childElements(devices, 'graphics').find((g) => g.attrs.type === 'vnc') : undefined;
}

const PER_DEVICE_BOOT_KIND: Record<string, (e: XmlElement) => BootDevice> = {
  disk: (e) => (e.attrs.device === 'cdrom' ? 'cdrom' : e.attrs.device === 'floppy' ? 'fd' : 'hd'),
  interface: () => 'network',
  hostdev: () => 'hd',
  redirdev: () => 'hd',
};

function bootOrderOf(root: XmlElement): BootDevice[] {
  const os = firstChild(root, 'os');
  const osBoot = os ? childElements(os, 'boot').map((b) => b.attrs.dev as BootDevice) : [];
  if (osBoot.length > 0) return osBoot;
  const devices = firstChild(root, 'devices');
  if (!devices) return [];
  const ordered = childElements(devices)
    .flatMap((d) => {
      const order = Number(attr(firstChild(d, 'boot'), 'order'));
      const kind = PER_DEVICE_BOOT_KIND[d.name];
      return kind && order > 0 ? [{ order, dev: kind(d) }] : [];
    })
    .sort((a, b) => a.order - b.order)
    .map((x) => x.dev);
  return [...new Set(ordered)];
}

/** vCPUs online and configured; DomainSettings.vcpus (and the guest list) show the online count. */
export function vcpuCount(doc: DomainDoc): VcpuCount {
  const vcpu = firstChild(domainRoot(doc), 'vcpu');
  return readVcpus(textOf(vcpu), vcpu?.attrs.current);
}

export function getSettings(doc: DomainDoc): DomainSettings {
  const root = domainRoot(doc);
  const memory = firstChild(root, 'memory') ?? firstChild(root, 'currentMemory');
  const vnc = firstVnc(root);
  const vncListen = vnc ? (vnc.attrs.listen ?? attr(firstChild(vnc, 'listen'), 'address')) : null;
  const vncPort = vnc ? Number(vnc.attrs.port ?? -1) : -1;
  return {
    name: textOf(firstChild(root, 'name')) ?? '',
    uuid: textOf(firstChild(root, 'uuid')),
    type: root.attrs.type ?? '',
    // The configured size, not the balloon's current one: it is what the guest may claim.
    memoryKiB: readMemoryKiB(textOf(memory), memory?.attrs.unit),
    vcpus: vcpuCount(doc).current,
    nics: interfacesOf(root).map((nic, index) => ({
      index,
      mac: attr(firstChild(nic, 'mac'), 'address'),
      type: nic.attrs.type ?? '',
      source: nicSource(nic),
      model: attr(firstChild(nic, 'model'), 'type'),
    })),
    vnc: vnc
      ? { port: vnc.attrs.autoport === 'yes' || !(vncPort > 0) ? 'auto' : vncPort, listen: vncListen }
      : null,
    bootOrder: bootOrderOf(root),
    disks: disksOf(root).map(diskSettings),
  };
}

// ---------------------------------------------------------------- edits: identity

export function setName(doc: DomainDoc, name: string): DomainDoc {
  checkGuestName(name);
  const { doc: copy, root } = editable(doc);
  const element = firstChild(root, 'name');
  if (element) setText(element, name);
  else root.children.unshift(textEl('name', name));
  return copy;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** null removes the <uuid> so libvirt generates a fresh one (a restored copy beside its original). */
export function setUuid(doc: DomainDoc, uuid: string | null): DomainDoc {
  const { doc: copy, root } = editable(doc);
  if (uuid === null) {
    removeChildren(root, (e) => e.name === 'uuid');
    return copy;
  }
  if (!UUID_RE.test(uuid)) {
    throw new UserError(`"${uuid}" is not a UUID.`, 'Write 32 hex digits as 8-4-4-4-12, or leave it out so libvirt makes one.');
  }
  const hex = uuid.replace(/-/g, '').toLowerCase();
  const canonical = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const element = firstChild(root, 'uuid');
  if (element) setText(element, canonical);
  else insertAfter(root, textEl('uuid', canonical), ['name']);
  return copy;
}

/** 'qemu' is plain emulation (TCG): the only choice on hosts without /dev/kvm. */
export function setDomainType(doc: DomainDoc, type: 'kvm' | 'qemu'): DomainDoc {
  if (type !== 'kvm' && type !== 'qemu') {
    throw new UserError(`"${type}" is not a domain type virtdeck manages.`, 'Use kvm (hardware acceleration) or qemu (emulation).');
  }
  const { doc: copy, root } = editable(doc);
  root.attrs.type = type;
  return copy;
}

/** null removes <emulator> so libvirt picks this host's QEMU (paths differ between distributions). */
export function setEmulator(doc: DomainDoc, path: string | null): DomainDoc {
  if (path !== null && !path.startsWith('/')) {
    throw new UserError(`The emulator "${path}" is not an absolute path.`, 'Give the full path, e.g. /usr/bin/qemu-system-x86_64.');
  }
  const { doc: copy, root } = editable(doc);
  const devices = devicesOf(root);
  removeChildren(devices, (e) => e.name === 'emulator');
  if (path !== null) devices.children.unshift(textEl('emulator', path));
  return copy;
}

// ---------------------------------------------------------------- edits: resources

const MIN_MEMORY_KIB = 4 * 1024;
const MAX_MEMORY_KIB = 16 * 1024 ** 3;

export function setMemory(doc: DomainDoc, kib: number): DomainDoc {
  if (!Number.isInteger(kib) || kib <= 0) {
    throw new UserError(`The memory size ${kib} KiB is not a positive whole number.`, 'Give the memory in KiB, e.g. 524288 for 512 MiB.');
  }
  if (kib < MIN_MEMORY_KIB) {
    throw new UserError(
      `${kib} KiB of memory is too little to boot anything; the size is in KiB, not MiB.`,
      `Give at least ${MIN_MEMORY_KIB} KiB; 512 MiB is 524288 KiB.`,
    );
  }
  if (kib > MAX_MEMORY_KIB) {
    throw new UserError(`${kib} KiB is more than 16 TiB of memory.`, 'Give the memory in KiB, e.g. 4194304 for 4 GiB.');
  }
  const { doc: copy, root } = editable(doc);
  const maxMemory = firstChild(root, 'maxMemory');
  if (maxMemory && libvirtScaledToBytes(textOf(maxMemory) ?? '0', maxMemory.attrs.unit) / 1024 < kib) {
    throw new UserError(
      `${kib} KiB is above the guest's hotplug limit <maxMemory>.`,
      'Give less memory, or raise maxMemory first.',
    );
  }
  scaleNumaCells(root, kib);
  const memory = ensureChild(root, 'memory', ['title', 'description', 'uuid', 'name']);
  memory.attrs = { unit: 'KiB' };
  setText(memory, String(kib));
  const current = ensureChild(root, 'currentMemory', ['memory']);
  current.attrs = { unit: 'KiB' };
  setText(current, String(kib));
  return copy;
}

function kibOf(value: string | undefined, unit: string | undefined): number {
  return libvirtScaledToBytes(value ?? '0', unit) / 1024;
}

function numaCells(root: XmlElement): XmlElement[] {
  const numa = firstChild(firstChild(root, 'cpu') ?? el('cpu'), 'numa');
  return numa ? childElements(numa, 'cell') : [];
}

/** The largest huge page the guest's memory is backed by, in KiB; 0 without huge pages. */
function hugePageKiB(root: XmlElement): number {
  const hugepages = firstChild(firstChild(root, 'memoryBacking') ?? el('memoryBacking'), 'hugepages');
  if (!hugepages) return 0;
  const sizes = childElements(hugepages, 'page').map((p) => kibOf(p.attrs.size, p.attrs.unit));
  // <hugepages/> without a size means the host's default huge page, 2 MiB on x86.
  return Math.max(2048, ...sizes);
}

/**
 * On a NUMA guest libvirt sets <memory> to the sum of the cells plus any hotplugged memory devices,
 * whatever <memory> says, so an edit of <memory> alone is silently undone: the cells are scaled in
 * proportion to carry the new size (whole MiB, or whole huge pages, per cell).
 */
function scaleNumaCells(root: XmlElement, kib: number): void {
  const cells = numaCells(root);
  if (cells.length === 0) return;
  const devices = firstChild(root, 'devices');
  const hotplugged = (devices ? childElements(devices, 'memory') : [])
    .map((m) => firstChild(firstChild(m, 'target') ?? el('target'), 'size'))
    .reduce((sum, size) => sum + (size ? kibOf(textOf(size) ?? '0', size.attrs.unit) : 0), 0);
  const page = hugePageKiB(root);
  const align = page > 0 ? page : 1024;
  const what = page > 0 ? `${page / 1024} MiB huge pages` : 'whole MiB';
  const forCells = kib - hotplugged;
  const current = cells.map((c) => kibOf(c.attrs.memory, c.attrs.unit));
  const total = current.reduce((a, b) => a + b, 0);
  if (forCells % align !== 0 || forCells < align * cells.length || total === 0) {
    const hot = hotplugged > 0 ? `, after the ${hotplugged} KiB of hotplugged memory devices,` : '';
    throw new UserError(
      `${kib} KiB cannot be split over this guest's ${cells.length} NUMA cells${hot} in ${what} each.`,
      `Give a multiple of ${align} KiB that leaves at least ${align} KiB per cell, or change the cells in the XML (e).`,
    );
  }
  const units = forCells / align;
  const given = current.map((c) => Math.max(1, Math.floor((c / total) * units)));
  let left = units - given.reduce((x, y) => x + y, 0);
  // Rounding leaves a few units over (or, after the one-unit minimum, short): the largest cells take them.
  const bySize = current.map((c, i) => ({ c, i })).sort((x, y) => y.c - x.c).map((x) => x.i);
  for (let k = 0; left !== 0; k = (k + 1) % bySize.length) {
    const i = bySize[k] as number;
    const g = given[i] as number;
    if (left > 0) {
      given[i] = g + 1;
      left--;
    } else if (g > 1) {
      given[i] = g - 1;
      left++;
    }
  }
  cells.forEach((cell, i) => {
    cell.attrs = { ...cell.attrs, memory: String((given[i] as number) * align), unit: 'KiB' };
  });
}

const MAX_VCPUS = 1024;

/** The CPU ids of a libvirt cpuset ("0-3,^2,6"). */
function cpusetIds(text: string): Set<number> {
  const ids = new Set<number>();
  const parts = text.split(',').map((p) => p.trim());
  for (const part of parts.filter((p) => !p.startsWith('^'))) {
    const [from, to = from] = part.split('-').map(Number);
    if (from === undefined || to === undefined || !Number.isInteger(from) || !Number.isInteger(to)) continue;
    for (let id = from; id <= to && id - from <= MAX_VCPUS; id++) ids.add(id);
  }
  for (const part of parts.filter((p) => p.startsWith('^'))) ids.delete(Number(part.slice(1)));
  return ids;
}

/**
 * libvirt refuses a <vcpu> count below the CPUs its NUMA cells name ("Number of CPUs in <numa>
 * exceeds the <vcpu> count"). Which CPU belongs to which node is the admin's layout, so it is not
 * guessed here: the edit is refused before define.
 */
function checkNumaCpus(root: XmlElement, n: number): void {
  const cells = numaCells(root);
  if (cells.length === 0) return;
  const ids = cells.flatMap((c) => [...cpusetIds(c.attrs.cpus ?? '')]);
  const highest = Math.max(-1, ...ids);
  if (ids.length <= n && highest < n) return;
  throw new UserError(
    `This guest's ${countOf(cells.length, 'NUMA cell')} name${cells.length === 1 ? 's' : ''} ${countOf(ids.length, 'CPU')} (up to CPU ${highest}), so it cannot have fewer than ${Math.max(ids.length, highest + 1)} virtual CPUs.`,
    `Give at least ${Math.max(ids.length, highest + 1)}, or change the cpus= of the NUMA cells in the XML (e) first.`,
  );
}

export function setVcpus(doc: DomainDoc, n: number): DomainDoc {
  if (!Number.isInteger(n) || n < 1 || n > MAX_VCPUS) {
    throw new UserError(`${n} is not a usable number of virtual CPUs.`, `Give a whole number from 1 to ${MAX_VCPUS}.`);
  }
  const { doc: copy, root } = editable(doc);
  checkNumaCpus(root, n);
  const vcpu = ensureChild(root, 'vcpu', ['currentMemory', 'memory']);
  // The admin asks for n CPUs online: a lower `current` would silently keep fewer.
  delete vcpu.attrs.current;
  if (!vcpu.attrs.placement) vcpu.attrs = { placement: 'static', ...vcpu.attrs };
  setText(vcpu, String(n));
  // <vcpus> lists every vCPU by id and must match the count; libvirt rebuilds it when absent.
  removeChildren(root, (e) => e.name === 'vcpus');
  const cputune = firstChild(root, 'cputune');
  if (cputune) removeChildren(cputune, (e) => ['vcpupin', 'vcpusched'].includes(e.name) && Number(e.attrs.vcpu) >= n);
  const topology = firstChild(firstChild(root, 'cpu') ?? el('cpu'), 'topology');
  if (topology) {
    // libvirt rejects a topology whose product differs from the vCPU count.
    const perSocket = ['dies', 'clusters', 'cores', 'threads'].reduce((p, k) => p * Number(topology.attrs[k] ?? 1), 1);
    if (n % perSocket === 0) topology.attrs.sockets = String(n / perSocket);
    else for (const k of Object.keys(topology.attrs)) topology.attrs[k] = k === 'sockets' ? String(n) : '1';
  }
  return copy;
}

// ---------------------------------------------------------------- edits: network and display

function nicAt(root: XmlElement, index: number): XmlElement {
  const nics = interfacesOf(root);
  const nic = Number.isInteger(index) ? nics[index] : undefined;
  if (!nic) {
    throw new UserError(
      `The guest has no network interface number ${index}.`,
      nics.length === 0 ? 'Add a network interface first.' : `Pick one from 0 to ${nics.length - 1}.`,
    );
  }
  return nic;
}

export function setMac(doc: DomainDoc, nicIndex: number, mac: string): DomainDoc {
  const address = parseMac(mac);
  const { doc: copy, root } = editable(doc);
  const nic = nicAt(root, nicIndex);
  const element = firstChild(nic, 'mac');
  if (element) element.attrs.address = address;
  else nic.children.unshift(el('mac', { address }));
  return copy;
}

const HOSTNAME_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function checkListen(listen: string): void {
  if (isIP(listen) !== 0) return;
  // Dotted numbers that are not an IPv4 address are a typo, not a host name.
  if (HOSTNAME_RE.test(listen) && !/^[\d.]+$/.test(listen)) return;
  throw new UserError(
    `"${listen}" is not an address VNC can listen on.`,
    'Give an IPv4 or IPv6 address or a host name: 127.0.0.1 (this host only, reach it through an SSH tunnel) or 0.0.0.0 (every interface).',
  );
}

export interface VncOptions {
  port: number | 'auto';
  listen?: string;
}

export function setVnc(doc: DomainDoc, opts: VncOptions): DomainDoc {
  if (opts.port !== 'auto') {
    const port = opts.port;
    if (!Number.isInteger(port) || port > 65535) {
      throw new UserError(`${port} is not a TCP port.`, "Give a port from 5900 to 65535, or 'auto'.");
    }
    if (port < 5900) {
      throw new UserError(
        `VNC port ${port} is below 5900: VNC display N listens on port 5900+N, so lower ports cannot be reached as a display.`,
        "Give a port from 5900 to 65535 (5901 is display :1), or 'auto' to let libvirt pick a free one.",
      );
    }
  }
  if (opts.listen !== undefined) checkListen(opts.listen);
  const { doc: copy, root } = editable(doc);
  const devices = devicesOf(root);
  let vnc = firstVnc(root);
  if (!vnc) {
    vnc = el('graphics', { type: 'vnc' });
    insertAfter(devices, vnc, ['input', 'interface', 'controller', 'disk', 'emulator', 'graphics']);
  }
  // A display on a TCP port has no UNIX socket: libvirt's schema allows port/autoport or socket=,
  // not both, and a <listen type='socket'> or 'none' contradicts the port too.
  const { type, port: _port, autoport: _autoport, listen: oldListen, socket: _socket, ...rest } = vnc.attrs;
  removeChildren(vnc, (e) => e.name === 'listen' && (e.attrs.type === 'socket' || e.attrs.type === 'none'));
  const listen = opts.listen ?? oldListen;
  vnc.attrs = {
    type: type ?? 'vnc',
    port: opts.port === 'auto' ? '-1' : String(opts.port),
    autoport: opts.port === 'auto' ? 'yes' : 'no',
    ...(listen !== undefined ? { listen } : {}),
    ...rest,
  };
  if (opts.listen !== undefined) {
    // libvirt insists the listen attribute and the first <listen> child agree.
    removeChildren(vnc, (e) => e.name === 'listen');
    vnc.children.unshift(el('listen', { type: 'address', address: opts.listen }));
  }
  return copy;
}

// ---------------------------------------------------------------- edits: boot order

const BOOT_DEVICES: BootDevice[] = ['hd', 'cdrom', 'network', 'fd'];

/**
 * Writes <os><boot dev=…/>. libvirt refuses os/boot together with per-device <boot order=…/>,
 * so the per-device ones are removed: the order given here is the one the admin asked for.
 */
export function setBootOrder(doc: DomainDoc, devices: string[]): DomainDoc {
  if (devices.length === 0) {
    throw new UserError('The boot order is empty.', `List at least one of ${BOOT_DEVICES.join(', ')}.`);
  }
  for (const dev of devices) {
    if (!BOOT_DEVICES.includes(dev as BootDevice)) {
      throw new UserError(`"${dev}" is not a boot device.`, `Use ${BOOT_DEVICES.join(', ')}.`);
    }
  }
  if (new Set(devices).size !== devices.length) {
    throw new UserError(`The boot order ${devices.join(', ')} names a device twice.`, 'List each device once.');
  }
  const { doc: copy, root } = editable(doc);
  const os = ensureChild(root, 'os', ['vcpu', 'currentMemory', 'memory']);
  const firstBoot = os.children.findIndex((c) => c.kind === 'element' && c.name === 'boot');
  removeChildren(os, (e) => e.name === 'boot');
  const boots = devices.map((dev) => el('boot', { dev }));
  if (firstBoot >= 0) os.children.splice(firstBoot, 0, ...boots);
  else {
    const anchor = os.children.reduce((last, c, i) => (c.kind === 'element' && ['type', 'firmware', 'loader', 'nvram', 'kernel', 'initrd', 'cmdline', 'dtb'].includes(c.name) ? i : last), -1);
    os.children.splice(anchor + 1, 0, ...boots);
  }
  const devicesEl = firstChild(root, 'devices');
  if (devicesEl) for (const d of childElements(devicesEl)) removeChildren(d, (e) => e.name === 'boot');
  return copy;
}

// ---------------------------------------------------------------- edits: disks

export type DiskBus = 'ide' | 'sata' | 'scsi' | 'virtio' | 'usb';
const CHANGEABLE_BUSES = ['ide', 'sata', 'scsi', 'virtio'] as const;
const ADDABLE_BUSES: DiskBus[] = ['ide', 'sata', 'scsi', 'virtio', 'usb'];
const PREFIX: Record<DiskBus, string> = { ide: 'hd', sata: 'sd', scsi: 'sd', virtio: 'vd', usb: 'sd' };
const DISK_FORMATS = ['raw', 'qcow2', 'vmdk', 'vdi', 'vpc', 'vhdx', 'qed'];

/** hda, …, hdz, hdaa, … the way libvirt counts targets. */
function targetName(prefix: string, index: number): string {
  let suffix = '';
  let i = index;
  do {
    suffix = String.fromCharCode(97 + (i % 26)) + suffix;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return prefix + suffix;
}

function freeTarget(root: XmlElement, bus: DiskBus, preferred: string[] = [], except?: string): string {
  const used = new Set(disksOf(root).map((d) => attr(firstChild(d, 'target'), 'dev')).filter((t) => t !== except));
  // QEMU's IDE has two channels with two units each: hda…hdd and no more.
  const limit = bus === 'ide' ? 4 : 702;
  const candidates = [...preferred, ...Array.from({ length: limit }, (_, i) => targetName(PREFIX[bus], i))];
  const free = candidates.find((t) => !used.has(t));
  if (!free) {
    throw new UserError(`All four IDE positions (hda to hdd) are taken.`, 'Use the sata or scsi bus for this disk, or remove an IDE disk.');
  }
  return free;
}

function idePositionsTaken(root: XmlElement): boolean {
  const used = new Set(disksOf(root).map((d) => attr(firstChild(d, 'target'), 'dev')));
  return ['hda', 'hdb', 'hdc', 'hdd'].every((t) => used.has(t));
}

function diskByTarget(root: XmlElement, target: string): XmlElement {
  const disk = disksOf(root).find((d) => attr(firstChild(d, 'target'), 'dev') === target);
  if (!disk) {
    const known = disksOf(root).map((d) => attr(firstChild(d, 'target'), 'dev')).filter(Boolean);
    throw new UserError(
      `The guest has no disk "${target}".`,
      known.length > 0 ? `Pick one of ${known.join(', ')}.` : 'The guest has no disks; add one first.',
    );
  }
  return disk;
}

function isQ35(root: XmlElement): boolean {
  return /q35/.test(attr(firstChild(firstChild(root, 'os') ?? el('os'), 'type'), 'machine') ?? '');
}

function checkBusForMachine(root: XmlElement, bus: string): void {
  if (bus === 'ide' && isQ35(root)) {
    throw new UserError('This guest uses the q35 machine type, which has no IDE controller.', 'Use the sata bus instead.');
  }
}

function ensureScsiController(devices: XmlElement): void {
  if (childElements(devices, 'controller').some((c) => c.attrs.type === 'scsi')) return;
  insertAfter(devices, el('controller', { type: 'scsi', index: '0', model: 'virtio-scsi' }), ['disk', 'controller', 'emulator']);
}

function checkAbsolute(path: string, what: string): void {
  if (!path.startsWith('/') || /[\n\r\0]/.test(path)) {
    throw new UserError(`The ${what} "${path}" is not an absolute path.`, 'Give the full path on the host, starting with /.');
  }
}

/** The disk type and <source> for a path: a block device is a <source dev=…> of a type='block' disk; everything else is a file. */
export function diskSourceFor(path: string): { type: 'file' | 'block'; source: XmlElement } {
  return path.startsWith('/dev/')
    ? { type: 'block', source: el('source', { dev: path }) }
    : { type: 'file', source: el('source', { file: path }) };
}

function insertDisk(devices: XmlElement, disk: XmlElement): void {
  insertAfter(devices, disk, ['disk', 'emulator']);
}

function checkBus(bus: string, allowed: readonly string[]): asserts bus is DiskBus {
  if (!allowed.includes(bus)) {
    throw new UserError(`"${bus}" is not a disk bus virtdeck can use here.`, `Use one of ${allowed.join(', ')}.`);
  }
}

export interface AttachIsoOptions {
  bus?: 'ide' | 'sata' | 'scsi' | 'usb';
}

/** Puts the ISO into an empty CD-ROM drive, or adds a read-only CD-ROM drive if none is empty. */
export function attachIso(doc: DomainDoc, isoPath: string, opts: AttachIsoOptions = {}): DomainDoc {
  checkAbsolute(isoPath, 'ISO');
  if (opts.bus !== undefined) checkBus(opts.bus, ['ide', 'sata', 'scsi', 'usb']);
  const { doc: copy, root } = editable(doc);
  const cdroms = disksOf(root).filter((d) => d.attrs.device === 'cdrom');
  const empty = cdroms.find((d) => diskSource(d) === null && (!opts.bus || diskSettings(d).bus === opts.bus));
  const { type, source } = diskSourceFor(isoPath);
  if (empty) {
    empty.attrs.type = type;
    removeChildren(empty, (e) => e.name === 'source');
    insertAfter(empty, source, ['driver']);
    return copy;
  }
  const existingBus = cdroms.map((d) => diskSettings(d).bus).find((b) => ['ide', 'sata', 'scsi', 'usb'].includes(b));
  let bus = (opts.bus ?? existingBus ?? (isQ35(root) ? 'sata' : 'ide')) as DiskBus;
  // IDE has four positions; when the admin did not ask for IDE and they are taken, the drive goes
  // on SATA (libvirt adds the AHCI controller on i440fx as on q35).
  if (bus === 'ide' && opts.bus === undefined && idePositionsTaken(root)) bus = 'sata';
  checkBusForMachine(root, bus);
  const devices = devicesOf(root);
  if (bus === 'scsi') ensureScsiController(devices);
  const dev = freeTarget(root, bus, bus === 'ide' ? ['hdc', 'hdd'] : []);
  insertDisk(
    devices,
    el('disk', { type, device: 'cdrom' }, [
      el('driver', { name: 'qemu', type: 'raw' }),
      source,
      el('target', { dev, bus }),
      el('readonly'),
    ]),
  );
  return copy;
}

/** Removes the medium and keeps the drive, so the guest sees an empty tray. */
export function ejectCdrom(doc: DomainDoc, target: string): DomainDoc {
  const { doc: copy, root } = editable(doc);
  const disk = diskByTarget(root, target);
  if (disk.attrs.device !== 'cdrom') {
    throw new UserError(`"${target}" is a ${disk.attrs.device ?? 'disk'}, not a CD-ROM drive.`, 'Give the target of a CD-ROM drive (see the guest\'s disk list).');
  }
  removeChildren(disk, (e) => e.name === 'source');
  return copy;
}

/** <driver> attributes only virtio-blk has; define refuses them on any other bus. */
const VIRTIO_DRIVER_ATTRS = ['iothread', 'queues', 'queue_size', 'ioeventfd', 'event_idx', 'packed', 'page_per_vq', 'ats', 'iommu'];

/**
 * What a disk may carry only on some buses, as libvirt's define checks it: kept on a bus that has
 * it, dropped on the way to one that has not (the admin asked for the bus; these only described the old one).
 */
function dropBusOnlySettings(disk: XmlElement, bus: DiskBus): void {
  // model='virtio-transitional' or 'usb-storage' names the old bus's device.
  delete disk.attrs.model;
  const driver = firstChild(disk, 'driver');
  if (driver && bus !== 'virtio') {
    for (const a of VIRTIO_DRIVER_ATTRS) delete driver.attrs[a];
    removeChildren(driver, (e) => e.name === 'iothreads');
  }
  const target = firstChild(disk, 'target');
  if (target && bus !== 'usb' && bus !== 'scsi') delete target.attrs.removable;
  if (target && bus === 'virtio') delete target.attrs.rotation_rate;
  if (bus !== 'ide' && bus !== 'scsi') removeChildren(disk, (e) => e.name === 'wwn');
  if (bus !== 'scsi') removeChildren(disk, (e) => e.name === 'vendor' || e.name === 'product');
}

/**
 * Moves a disk to another bus: a free target name for the new prefix, and no <address> so libvirt
 * assigns one on the new controller. A Windows guest needs the driver for the new bus installed first.
 */
export function setDiskBus(doc: DomainDoc, target: string, bus: string): DomainDoc {
  checkBus(bus, CHANGEABLE_BUSES);
  const { doc: copy, root } = editable(doc);
  const disk = diskByTarget(root, target);
  const targetEl = firstChild(disk, 'target') as XmlElement;
  if (diskSettings(disk).bus === bus) return copy;
  if (bus === 'virtio' && disk.attrs.device === 'cdrom') {
    throw new UserError('A CD-ROM drive cannot sit on the virtio bus.', 'Use ide, sata or scsi for CD-ROM drives.');
  }
  checkBusForMachine(root, bus);
  const dev = PREFIX[bus] === target.slice(0, 2) ? target : freeTarget(root, bus, [], target);
  targetEl.attrs = { ...targetEl.attrs, dev, bus };
  removeChildren(disk, (e) => e.name === 'address');
  dropBusOnlySettings(disk, bus);
  if (bus === 'scsi') ensureScsiController(devicesOf(root));
  return copy;
}

/**
 * Points the disk at `target` at another image (a restored copy, a converted image, a snapshot
 * overlay or the file under one). The disk's type and <source> follow the path; the old <source>
 * is replaced whole, since what it said (its attributes, a seclabel) was about the old file, and a
 * restore must not carry a run's hostile attributes over. The driver keeps its options and gets
 * the new format; <backingStore> goes, because it described the old file's chain (libvirt probes
 * the new one).
 */
export function setDiskSource(doc: DomainDoc, target: string, path: string, format: string): DomainDoc {
  checkAbsolute(path, 'disk image');
  // Not the list addDisk offers: a base or a backed-up disk may be in any format qemu reads (luks…).
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(format)) {
    throw new UserError(`"${format}" is not a disk image format name.`, `Use the format qemu-img info reports, e.g. ${DISK_FORMATS.join(', ')}.`);
  }
  const { doc: copy, root } = editable(doc);
  const disk = diskByTarget(root, target);
  const { type, source } = diskSourceFor(path);
  disk.attrs = { ...disk.attrs, type };
  const at = disk.children.findIndex((c) => c.kind === 'element' && c.name === 'source');
  if (at >= 0) disk.children[at] = source;
  else insertAfter(disk, source, ['driver']);
  removeChildren(disk, (e) => e.name === 'backingStore' || (e.name === 'source' && e !== source));
  const driver = firstChild(disk, 'driver');
  if (driver) driver.attrs = { ...driver.attrs, type: format };
  else disk.children.unshift(el('driver', { name: 'qemu', type: format }));
  return copy;
}

export interface NewDisk {
  source: string;
  format: string;
  bus: string;
  target?: string;
  device?: 'disk' | 'cdrom' | 'floppy';
}

export function addDisk(doc: DomainDoc, disk: NewDisk): DomainDoc {
  checkAbsolute(disk.source, 'disk image');
  if (!DISK_FORMATS.includes(disk.format)) {
    throw new UserError(`"${disk.format}" is not a disk image format QEMU reads.`, `Use one of ${DISK_FORMATS.join(', ')}.`);
  }
  const device = disk.device ?? 'disk';
  if (!['disk', 'cdrom', 'floppy'].includes(device)) {
    throw new UserError(`"${device}" is not a disk device kind.`, 'Use disk, cdrom or floppy.');
  }
  const bus = device === 'floppy' ? 'fdc' : disk.bus;
  if (device !== 'floppy') checkBus(bus, ADDABLE_BUSES);
  if (device === 'cdrom' && bus === 'virtio') {
    throw new UserError('A CD-ROM drive cannot sit on the virtio bus.', 'Use ide, sata or scsi for CD-ROM drives.');
  }
  const { doc: copy, root } = editable(doc);
  checkBusForMachine(root, bus);
  const used = disksOf(root).map((d) => attr(firstChild(d, 'target'), 'dev'));
  let dev: string;
  if (disk.target !== undefined) {
    const prefix = device === 'floppy' ? 'fd' : PREFIX[bus as DiskBus];
    if (!new RegExp(`^${prefix}[a-z]{1,2}$`).test(disk.target)) {
      throw new UserError(`The target "${disk.target}" does not fit the ${bus} bus.`, `Use a name like ${prefix}b, or leave it out to get a free one.`);
    }
    if (used.includes(disk.target)) {
      throw new UserError(`The guest already has a disk "${disk.target}".`, 'Pick another target, or leave it out to get a free one.');
    }
    dev = disk.target;
  } else if (device === 'floppy') {
    dev = ['fda', 'fdb'].find((t) => !used.includes(t)) ?? '';
    if (!dev) throw new UserError('Both floppy drives (fda, fdb) are taken.', 'Remove one first.');
  } else {
    dev = freeTarget(root, bus as DiskBus);
  }
  const devices = devicesOf(root);
  if (bus === 'scsi') ensureScsiController(devices);
  const { type, source } = diskSourceFor(disk.source);
  const children: XmlNode[] = [el('driver', { name: 'qemu', type: disk.format }), source, el('target', { dev, bus })];
  if (device === 'cdrom') children.push(el('readonly'));
  insertDisk(devices, el('disk', { type, device }, children));
  return copy;
}

/** Detaches the disk from the definition; the image file itself is left alone. */
export function removeDisk(doc: DomainDoc, target: string): DomainDoc {
  const { doc: copy, root } = editable(doc);
  const disk = diskByTarget(root, target);
  const devices = firstChild(root, 'devices') as XmlElement;
  devices.children = devices.children.filter((c) => c !== disk);
  return copy;
}

// ---------------------------------------------------------------- guest agent channel

const AGENT_PORT = 'org.qemu.guest_agent.0';

function agentChannelsOf(root: XmlElement): XmlElement[] {
  const devices = firstChild(root, 'devices');
  return devices ? childElements(devices, 'channel').filter((c) => attr(firstChild(c, 'target'), 'name') === AGENT_PORT) : [];
}

/** The guest has the virtio-serial channel a QEMU guest agent talks on. */
export function hasGuestAgentChannel(doc: DomainDoc): boolean {
  return agentChannelsOf(domainRoot(doc)).length > 0;
}

/**
 * Adds or removes the guest agent's channel. Only the target is written: libvirt picks the socket
 * path under its own channel directory (and adds the virtio-serial controller it needs), so nothing
 * here names a host path. Adding to a guest that has one, or removing from one that has none,
 * changes nothing.
 */
export function setGuestAgentChannel(doc: DomainDoc, on: boolean): DomainDoc {
  const { doc: copy, root } = editable(doc);
  const existing = agentChannelsOf(root);
  if (on && existing.length > 0) return copy;
  if (!on) {
    const devices = firstChild(root, 'devices');
    if (devices) devices.children = devices.children.filter((c) => !existing.includes(c as XmlElement));
    return copy;
  }
  const channel = el('channel', { type: 'unix' }, [el('target', { type: 'virtio', name: AGENT_PORT })]);
  insertAfter(devicesOf(root), channel, ['disk', 'controller', 'interface', 'serial', 'console', 'channel']);
  return copy;
}
