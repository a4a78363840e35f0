/**
 * Domain XML comes from outside: typed or edited by the admin, saved in a backup run a year ago,
 * printed by a remote libvirt. Whatever it holds, parsing, reading settings, every edit and the
 * summary end in a result or a UserError, and what is serialized parses again to the same tree.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import {
  addDisk,
  attachIso,
  type DomainDoc,
  ejectCdrom,
  getSettings,
  parseDomainXml,
  removeDisk,
  serializeDomainXml,
  setBootOrder,
  setDiskBus,
  setMac,
  setMemory,
  setName,
  setUuid,
  setVcpus,
  setVnc,
} from '../../src/model/domainXml.js';
import { anyBytesAsText, anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/domains');
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.xml'))
  .map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

const NAMES = ['domain', 'name', 'uuid', 'memory', 'currentMemory', 'maxMemory', 'vcpu', 'vcpus', 'os', 'type', 'boot', 'cpu', 'topology', 'cputune', 'vcpupin', 'devices', 'disk', 'source', 'target', 'driver', 'address', 'readonly', 'interface', 'mac', 'model', 'graphics', 'listen', 'controller', 'console', 'serial', 'metadata', 'libosinfo:libosinfo', 'libosinfo:os', 'description', 'emulator', 'x', 'a-b', '_c', 'q:r'];
const ATTRS = ['type', 'dev', 'bus', 'file', 'device', 'unit', 'port', 'autoport', 'listen', 'address', 'id', 'order', 'machine', 'current', 'placement', 'sockets', 'cores', 'threads', 'dies', 'vcpu', 'pool', 'volume', 'protocol', 'name', 'network', 'bridge', 'xmlns:libosinfo', 'q:r'];

const attrValue = fc.oneof(
  fc.constantFrom('vnc', 'cdrom', 'disk', 'floppy', 'ide', 'sata', 'virtio', 'scsi', 'usb', 'hda', 'hdc', 'sda', 'vda', 'fda', 'yes', 'no', '-1', '5900', '1', '0', 'KiB', 'GiB', 'b', 'pc-q35-7.2', '/var/lib/x.qcow2', 'qcow2', 'http://microsoft.com/win/2k3', 'cdrom', 'hd', 'network', 'fd'),
  hostileWord,
);

/** Attribute and text values as they would sit in a file: escaped, or raw entity references. */
const escaped = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');
const xmlValue = fc.oneof({ weight: 4, arbitrary: attrValue.map(escaped) }, { weight: 1, arbitrary: fc.constantFrom('&amp;', '&#65;', '&#x41;', '&#0;', '&#99999999;', '&#x110000;', '&#xD800;', '&nbsp;', '&x;', '&#;', '&#x;') });

interface Tree {
  name: string;
  attrs: [string, string][];
  kids: (Tree | string)[];
}

const { tree } = fc.letrec<{ tree: Tree; node: Tree | string }>((tie) => ({
  tree: fc.record({
    name: fc.constantFrom(...NAMES),
    attrs: fc.array(fc.tuple(fc.constantFrom(...ATTRS), xmlValue), { maxLength: 3 }),
    kids: fc.array(tie('node'), { maxLength: 4 }),
  }),
  node: fc.oneof(
    // At the depth limit fast-check takes the first choice: a leaf.
    { maxDepth: 6, depthSize: 'small', withCrossShrink: true },
    { weight: 1, arbitrary: xmlValue },
    { weight: 3, arbitrary: tie('tree') },
    { weight: 1, arbitrary: fc.constantFrom('<!-- c -->', '<![CDATA[ <x> & ]]>', '<?pi x="1"?>', '\n  ', '') },
  ),
}));

function render(t: Tree): string {
  const seen = new Set<string>();
  const attrs = t.attrs.filter(([k]) => !seen.has(k) && seen.add(k)).map(([k, v]) => ` ${k}='${v}'`).join('');
  const kids = t.kids.map((k) => (typeof k === 'string' ? k : render(k))).join('');
  return kids === '' ? `<${t.name}${attrs}/>` : `<${t.name}${attrs}>${kids}</${t.name}>`;
}

const domainLike = fc.tuple(tree, fc.constantFrom('', "<?xml version='1.0'?>\n", '<!-- head -->')).map(([t, head]) => `${head}${render({ ...t, name: 'domain' })}`);

/** A well-formed fixture with one hostile piece spliced in at a random place. */
const mutatedFixture = fc.tuple(fc.constantFrom(...fixtures), fc.nat(), fc.oneof(xmlValue, hostileWord, fc.constantFrom('<!DOCTYPE domain>', '<x>', '</devices>', "'", '"'))).map(([f, at, piece]) => {
  const i = at % (f.length + 1);
  return f.slice(0, i) + piece + f.slice(i);
});

function edits(doc: DomainDoc): void {
  const s = onlyTyped(() => getSettings(doc));
  const target = s?.disks[0]?.target ?? 'hda';
  const attempts: (() => DomainDoc)[] = [
    () => setName(doc, 'vdsec-pa-x'),
    () => setUuid(doc, null),
    () => setUuid(doc, '564db506-a2bd-fbeb-ae86-f7d84927d0c4'),
    () => setMemory(doc, 524288),
    () => setVcpus(doc, 3),
    () => setVnc(doc, { port: 'auto', listen: '127.0.0.1' }),
    () => setVnc(doc, { port: 5901 }),
    () => setBootOrder(doc, ['cdrom', 'hd']),
    () => setMac(doc, 0, '52:54:00:01:02:03'),
    () => attachIso(doc, '/iso/x.iso'),
    () => attachIso(doc, '/iso/x.iso', { bus: 'scsi' }),
    () => ejectCdrom(doc, target),
    () => setDiskBus(doc, target, 'sata'),
    () => setDiskBus(doc, target, 'virtio'),
    () => addDisk(doc, { source: '/var/lib/x.qcow2', format: 'qcow2', bus: 'virtio' }),
    () => addDisk(doc, { source: '/dev/sdz', format: 'raw', bus: 'ide', device: 'cdrom' }),
    () => removeDisk(doc, target),
  ];
  for (const edit of attempts) {
    const out = onlyTyped(edit);
    if (out) onlyTyped(() => getSettings(parseDomainXml(serializeDomainXml(out))));
  }
}

describe('fuzz: domain XML', () => {
  it('parseDomainXml and summarizeDomainXml on any text or bytes: a result or a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(1500), anyBytesAsText(1500), fc.constantFrom('<domain/>', '<domain>', '<a/><b/>', '<?xml?>', '<!DOCTYPE x>')), (text) => {
        onlyTyped(() => parseDomainXml(text));
        onlyTyped(() => summarizeDomainXml(text));
      }),
      runs(600),
    );
  });

  it('XML-ish trees (odd elements, attributes, entities): parse, settings, every edit, summary; serialize round-trips', () => {
    fc.assert(
      fc.property(fc.oneof(domainLike, mutatedFixture), (xml) => {
        onlyTyped(() => summarizeDomainXml(xml));
        const doc = onlyTyped(() => parseDomainXml(xml));
        if (!doc) return;
        const again = serializeDomainXml(doc);
        expect(serializeDomainXml(parseDomainXml(again))).toBe(again);
        edits(doc);
      }),
      runs(150),
    );
  });
});
