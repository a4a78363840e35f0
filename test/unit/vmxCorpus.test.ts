/**
 * Conformance with libvirt's own vmx→XML test pairs (../shared/corpus/vmx2xml, read at test time:
 * the corpus is not copied into the repo, and a missing corpus fails rather than skips). For every
 * pair the parser must agree with libvirt's expected XML in meaning — name, uuids, memory, vCPUs,
 * topology, arch, firmware, each disk/CD-ROM/floppy (bus, target, device, source), each NIC (MAC,
 * MAC type, model, connection), each serial port — and every file in rejected/ must be refused.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childElements, domainRoot, firstChild, parseDomainXml, textOf, type XmlElement } from '../../src/model/domainXml.js';
import { UserError } from '../../src/model/userError.js';
import { checkVmwareConfig, parseVmx, type VmxGuest } from '../../src/model/vmx.js';
import { corpusPath } from '../helpers/corpus.js';

const CORPUS = corpusPath('vmx2xml');

/**
 * Pairs where libvirt's expectation is something virtdeck deliberately does differently, with the
 * reason. Each is still parsed; only the named field is not compared. (Empty means: none.)
 */
const DELIBERATE: Record<string, { field: string; reason: string }> = {};

/**
 * libvirt's test driver's parseFileName callback (NOTES.md (a)): ESX datastore paths, a fake
 * "[datastore] directory/" for names relative to the .vmx, "missing" means the file is not there.
 */
function esxFileName(name: string): string | null {
  const prefix = '/vmfs/volumes/';
  if (name.startsWith(prefix)) {
    const rest = name.slice(prefix.length);
    const slash = rest.indexOf('/');
    const ds = rest.slice(0, slash);
    const path = rest.slice(slash + 1);
    if (ds === 'missing' || path.startsWith('missing')) return null;
    return `[${ds}] ${path}`;
  }
  if (name.startsWith('/')) return name;
  return `[datastore] directory/${name}`;
}

interface Facts {
  name: string | null;
  uuid: string;
  hwuuid: string | null;
  memoryKiB: number;
  vcpus: number;
  topology: string | null;
  arch: string;
  efi: boolean;
  disks: string[];
  nics: string[];
  serials: string[];
}

function expectedFacts(xml: string): Facts {
  const root = domainRoot(parseDomainXml(xml));
  const os = firstChild(root, 'os') as XmlElement;
  const devices = firstChild(root, 'devices') as XmlElement;
  const topo = firstChild(firstChild(root, 'cpu') ?? { kind: 'element', name: 'cpu', attrs: {}, children: [] }, 'topology');
  const disks = childElements(devices, 'disk').map((d) => {
    const src = firstChild(d, 'source');
    const target = firstChild(d, 'target') as XmlElement;
    const source = !src ? 'none' : src.attrs.startupPolicy ? 'auto' : `${d.attrs.type}:${src.attrs.file ?? src.attrs.dev}`;
    const transient = firstChild(d, 'transient') ? ' transient' : '';
    return `${target.attrs.bus}/${target.attrs.dev} ${d.attrs.device} ${source}${transient}`;
  });
  const nics = childElements(devices, 'interface').map((n) => {
    const mac = firstChild(n, 'mac') as XmlElement;
    const model = firstChild(n, 'model')?.attrs.type ?? '-';
    const src = firstChild(n, 'source');
    const where = n.attrs.type === 'bridge' ? `bridge=${src?.attrs.bridge}` : n.attrs.type === 'vds' ? `vds=${src?.attrs.switchid}/${src?.attrs.portgroupid ?? '-'}` : n.attrs.type;
    return `${mac.attrs.address} ${mac.attrs.type} check=${mac.attrs.check ?? 'yes'} model=${model} ${where}`;
  });
  const serials = childElements(devices, 'serial').map((s) => {
    const src = firstChild(s, 'source');
    const port = (firstChild(s, 'target') as XmlElement).attrs.port;
    const proto = firstChild(s, 'protocol')?.attrs.type ?? 'raw';
    const where = s.attrs.type === 'tcp' ? `${src?.attrs.mode} ${src?.attrs.host}:${src?.attrs.service} ${proto}` : (src?.attrs.path ?? '-');
    return `${port} ${s.attrs.type} ${where}`;
  });
  const memory = firstChild(root, 'memory') as XmlElement;
  if (memory.attrs.unit !== 'KiB') throw new Error('expected KiB');
  return {
    name: textOf(firstChild(root, 'name')),
    uuid: textOf(firstChild(root, 'uuid')) as string,
    hwuuid: textOf(firstChild(root, 'hwuuid')),
    memoryKiB: Number(textOf(memory)),
    vcpus: Number(textOf(firstChild(root, 'vcpu'))),
    topology: topo ? `${topo.attrs.sockets}/${topo.attrs.cores}/${topo.attrs.threads}` : null,
    arch: (firstChild(os, 'type') as XmlElement).attrs.arch as string,
    efi: os.attrs.firmware === 'efi',
    disks: disks.sort(),
    nics,
    serials,
  };
}

const NIC_TYPE: Record<string, string> = { bridged: 'bridge', custom: 'bridge', nat: 'user', none: 'null', vds: 'vds', hostonly: 'hostonly' };

function parsedFacts(g: VmxGuest): Facts {
  const disks = g.disks.map((d) => {
    const src = d.source;
    const source = 'path' in src ? `${d.device === 'lun' || src.kind === 'block' ? 'block' : 'file'}:${src.path}` : src.kind;
    const bus = d.bus === 'fdc' ? 'fdc' : d.bus;
    return `${bus}/${d.target} ${d.device} ${source}${d.transient ? ' transient' : ''}`;
  });
  const nics = g.nics.map((n) => {
    const type = NIC_TYPE[n.connection] ?? n.connection;
    const where = type === 'bridge' ? `bridge=${n.networkName}` : type === 'vds' ? `vds=${n.switchId}/${n.portgroup ?? '-'}` : type;
    return `${n.mac} ${n.macType === 'static' ? 'static' : 'generated'} check=${n.checkMac ? 'yes' : 'no'} model=${n.model ?? '-'} ${where}`;
  });
  const serials = g.serials.map((s) => `${s.port} ${s.kind} ${s.kind === 'tcp' ? `${s.mode} ${s.host}:${s.service} ${s.protocol}` : (s.path ?? '-')}`);
  return {
    name: g.name,
    uuid: g.vcUuid ?? g.biosUuid ?? '00000000-0000-0000-0000-000000000000',
    hwuuid: g.biosUuid,
    memoryKiB: g.memoryMiB * 1024,
    vcpus: g.vcpus,
    topology: g.topology ? `${g.topology.sockets}/${g.topology.cores}/${g.topology.threads}` : null,
    arch: g.arch,
    efi: g.firmware === 'efi',
    disks: disks.sort(),
    nics,
    serials,
  };
}

function pairNames(): string[] {
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith('.vmx') && existsSync(join(CORPUS, f.replace(/\.vmx$/, '.xml'))))
    .map((f) => f.replace(/\.vmx$/, ''))
    .sort();
}

const results = { pairs: 0, agreed: 0, deliberate: 0, rejected: 0, rejectedOk: 0 };

describe('libvirt vmx2xml corpus', () => {
  it('exists (a missing corpus is a failure, not a skip)', () => {
    expect(existsSync(CORPUS), `${CORPUS} is missing`).toBe(true);
    expect(pairNames().length).toBeGreaterThan(50);
  });

  const names = existsSync(CORPUS) ? pairNames() : [];
  for (const name of names) {
    it(`agrees with libvirt on ${name}`, () => {
      results.pairs++;
      const vmx = readFileSync(join(CORPUS, `${name}.vmx`), 'utf8');
      const xml = readFileSync(join(CORPUS, `${name}.xml`), 'utf8');
      // Every file VMware wrote passes the "is this a VMware config" check an import makes first.
      checkVmwareConfig(vmx, `${name}.vmx`);
      const got = parsedFacts(parseVmx(vmx, { resolveFile: esxFileName, source: `${name}.vmx` }));
      const want = expectedFacts(xml);
      const skip = DELIBERATE[name];
      if (skip) {
        results.deliberate++;
        delete (got as unknown as Record<string, unknown>)[skip.field];
        delete (want as unknown as Record<string, unknown>)[skip.field];
      }
      expect(got).toEqual(want);
      results.agreed++;
    });
  }

  const rejectedDir = join(CORPUS, 'rejected');
  const rejected = existsSync(rejectedDir) ? readdirSync(rejectedDir).filter((f) => f.endsWith('.vmx')) : [];
  it('has files libvirt rejects', () => {
    expect(rejected.length).toBeGreaterThan(0);
  });
  for (const f of rejected) {
    it(`rejects ${f}, as libvirt does`, () => {
      results.rejected++;
      const vmx = readFileSync(join(rejectedDir, f), 'utf8');
      expect(() => parseVmx(vmx, { resolveFile: esxFileName, source: f })).toThrow(UserError);
      results.rejectedOk++;
    });
  }

  afterAll(() => {
    // The pass rate, for the closing note.
    console.log(
      `vmx2xml corpus: ${results.agreed}/${results.pairs} pairs agree (${results.deliberate} with a documented deliberate difference); ` +
        `${results.rejectedOk}/${results.rejected} rejected files refused`,
    );
  });
});
