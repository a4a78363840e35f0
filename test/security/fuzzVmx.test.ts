/**
 * A .vmx is handed over by a customer: whatever it holds, reading it ends in a guest model or a
 * UserError naming the line, and the domain XML made from any guest it reads is XML libvirt can
 * parse (no value breaks out of its element or attribute).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDomainXml } from '../../src/model/domainXml.js';
import { checkVmwareConfig, decodeVmxEscapes, parseVmx, parseVmxText, type VmxGuest } from '../../src/model/vmx.js';
import { BUS_CHOICES, type NicMapping, vmxToDomainXml } from '../../src/model/vmxToDomain.js';
import { anyBytesAsText, anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const idx = fc.integer({ min: 0, max: 4 });
const unit = fc.integer({ min: 0, max: 66 });

/** Keys the mapping reads (with indexes in and just past their ranges), and some it does not. */
const key = fc.oneof(
  fc.constantFrom(
    'displayName',
    'annotation',
    'uuid.bios',
    'vc.uuid',
    'memsize',
    'numvcpus',
    'cpuid.coresPerSocket',
    'guestOS',
    'firmware',
    'virtualHW.version',
    'config.version',
    '.encoding',
    'nvram',
  ),
  fc.tuple(fc.constantFrom('scsi', 'sata', 'nvme'), idx, fc.constantFrom('.present', '.virtualDev')).map(([b, i, s]) => `${b}${i}${s}`),
  fc
    .tuple(fc.constantFrom('scsi', 'ide', 'sata', 'nvme'), idx, unit, fc.constantFrom('.present', '.deviceType', '.fileName', '.mode', '.writeThrough', '.clientDevice'))
    .map(([b, c, u, s]) => `${b}${c}:${u}${s}`),
  fc.tuple(idx, fc.constantFrom('.present', '.fileType', '.fileName')).map(([i, s]) => `floppy${i}${s}`),
  fc
    .tuple(
      fc.integer({ min: 0, max: 10 }),
      fc.constantFrom('.present', '.addressType', '.address', '.generatedAddress', '.virtualDev', '.features', '.networkName', '.connectionType', '.vnet', '.dvs.switchId', '.dvs.portgroupId', '.checkMACAddress'),
    )
    .map(([i, s]) => `ethernet${i}${s}`),
  fc.tuple(idx, fc.constantFrom('.present', '.fileType', '.fileName', '.network.endPoint')).map(([i, s]) => `serial${i}${s}`),
  fc.stringMatching(/^[A-Za-z.][A-Za-z0-9_:.-]{0,20}$/),
);

/** Values the mapping understands, near misses, and hostile text (quotes are written as |22). */
const value = fc.oneof(
  fc.constantFrom(
    'TRUE',
    'FALSE',
    'true',
    'lsilogic',
    'pvscsi',
    'buslogic',
    'disk.vmdk',
    'a-flat.vmdk',
    '/abs/disk.vmdk',
    'x.iso',
    'emptyBackingString',
    'auto detect',
    'cdrom-image',
    'atapi-cdrom',
    'cdrom-raw',
    'scsi-hardDisk',
    'ata-hardDisk',
    'disk',
    'independent-nonpersistent',
    'static',
    'generated',
    'vpx',
    '00:50:56:01:02:03',
    '00:0c:29:aa:bb:cc',
    'e1000',
    'vmxnet',
    'vmxnet3',
    'bridged',
    'nat',
    'custom',
    'file',
    'device',
    'pipe',
    'network',
    'telnet://0.0.0.0:42001',
    'tcp://[::1]:1',
    'client',
    'efi',
    'windows9-64',
    'winNetStandard',
    '56 4d b5 06 a2 bd fb eb-ae 86 f7 d8 49 27 d0 c4',
    '8',
    '4',
    '13',
    '15',
  ),
  hostileWord,
);

const quoted = (v: string) => v.replace(/[|"\r\n]/g, (c) => `|${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

const vmxLine = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(key, value, fc.constantFrom(' = ', '=', '  =  ', '\t=\t')).map(([k, v, eq]) => `${k}${eq}"${quoted(v)}"`) },
  { weight: 1, arbitrary: fc.tuple(key, anyText(30)).map(([k, v]) => `${k} = ${v}`) },
  { weight: 1, arbitrary: anyText(40) },
  { weight: 1, arbitrary: fc.constantFrom('', '# comment', '\ufeff', '   ', "k = 'single'", 'k = "x" # trailing', 'k = "x" y') },
);

const vmxLike = fc.array(vmxLine, { maxLength: 40 }).map((lines) => ['config.version = "8"', 'virtualHW.version = "13"', ...lines].join('\n'));

/** Every file the resolver is asked about exists, or none does. */
const resolvers = [(n: string) => (n.startsWith('/') ? n : `/vm/dir/${n}`), (_n: string) => null];

function domainFor(g: VmxGuest, bus: (typeof BUS_CHOICES)[number], domainType: 'kvm' | 'qemu') {
  const disks = g.disks.filter((d) => d.device === 'disk').map((d) => ({ key: d.key, path: `/var/lib/libvirt/images/${d.key.replace(':', '-')}.qcow2`, format: 'qcow2' as const }));
  const nics: NicMapping[] = g.nics.map(() => ({ kind: 'user' }));
  return vmxToDomainXml(g, { name: 'vdsec-pa-fuzz', domainType, disks, bus, nics });
}

const stats = { refused: 0, guests: 0, domains: 0 };
// A generator that only ever makes refused files would test nothing past the first check.
afterAll(() => expect(stats.domains).toBeGreaterThan(50));
describe('fuzz: .vmx parser and vmx → domain', () => {
  it('parseVmxText on any text or bytes: entries or a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(2000), anyBytesAsText(2000)), (text) => {
        onlyTyped(() => parseVmxText(text, { source: '/vm/x.vmx' }));
      }),
      runs(400),
    );
  });

  it('checkVmwareConfig (the first look at an imported file) on anything: passes or a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(2000), anyBytesAsText(2000), vmxLike), (text) => {
        onlyTyped(() => checkVmwareConfig(text, '/vm/x.vmx'));
      }),
      runs(500),
    );
  });

  it('decodeVmxEscapes never throws', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(200), fc.array(fc.oneof(hostileWord, fc.constantFrom('|', '|f', '|ff', '|c3', '|e2|80')), { maxLength: 30 }).map((a) => a.join(''))), (text) => {
        expect(typeof decodeVmxEscapes(text)).toBe('string');
      }),
      runs(300),
    );
  });

  it('parseVmx on vmx-like files: a guest or a UserError; the domain XML made from it parses', () => {
    fc.assert(
      fc.property(vmxLike, fc.constantFrom(...resolvers), fc.constantFrom(...BUS_CHOICES), fc.constantFrom('kvm' as const, 'qemu' as const), (text, resolve, bus, type) => {
        const g = onlyTyped(() => parseVmx(text, { source: '/vm/x.vmx', resolveFile: resolve }));
        if (!g) return void stats.refused++;
        const d = onlyTyped(() => domainFor(g, bus, type));
        if (!d) return void stats.guests++;
        stats.domains++;
        // What virtdeck hands `virsh define` is well-formed XML with one <domain>.
        parseDomainXml(d.xml);
      }),
      runs(1500),
    );
  });

  it('parseVmx on arbitrary text and bytes: a guest or a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(1000), anyBytesAsText(1000)), (text) => {
        onlyTyped(() => parseVmx(text, { source: '/vm/x.vmx' }));
      }),
      runs(300),
    );
  });
});
