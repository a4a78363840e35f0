/**
 * libvirt snapshots, read side: what snapshots a guest has, with their kind, age, parent and the
 * files each one froze. The changes (create, revert, delete) are plans (model/snapshotPlan.ts) run
 * by the journaled runner; this module only asks.
 */
import { XMLParser } from 'fast-xml-parser';
import type { SnapshotDisk, SnapshotInfo, SnapshotLocation } from '../model/guest.js';
import { UserError } from '../model/userError.js';
import { decodeEntities, parseOutsideXml } from '../model/xmlText.js';
import { HostError } from './errors.js';
import type { HostContext } from './hostContext.js';
import { virshArgv } from './virsh.js';

export type { SnapshotDisk, SnapshotInfo, SnapshotLocation };

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Nothing is expanded by the parser; text() and str() decode the predefined entities (model/xmlText.ts).
  processEntities: false,
  htmlEntities: false,
  isArray: (name) => name === 'disk',
});

const SOURCE = 'The snapshot XML';

function node(v: unknown): Node {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : {};
}

function list(v: unknown): Node[] {
  return Array.isArray(v) ? v.map(node) : v === undefined ? [] : [node(v)];
}

function text(v: unknown): string {
  if (typeof v === 'string') return decodeEntities(v, SOURCE);
  if (v && typeof v === 'object' && '#text' in (v as Node)) return decodeEntities(String((v as Node)['#text']), SOURCE);
  return '';
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? decodeEntities(v, SOURCE) : null;
}

/** Pure: one `virsh snapshot-dumpxml` → what virtdeck shows and acts on. */
export function parseSnapshotXml(xml: string, current = false): SnapshotInfo {
  const doc = node(parseOutsideXml((x) => parser.parse(x), xml, SOURCE));
  const s = node(doc.domainsnapshot);
  const name = text(s.name);
  if (!name) throw new UserError(`${SOURCE} is not a <domainsnapshot> with a <name>.`, 'Run virsh snapshot-dumpxml by hand to see what libvirt prints.');
  const domainDisks = list(node(node(s.domain).devices).disk).filter((d) => (d['@_device'] ?? 'disk') === 'disk');
  const baseOf = (target: string) => {
    const d = domainDisks.find((x) => node(x.target)['@_dev'] === target);
    const src = node(d?.source);
    return { base: str(src['@_file']) ?? str(src['@_dev']), baseFormat: str(node(d?.driver)['@_type']) };
  };
  const snapDisks = list(node(s.disks).disk);
  const disks: SnapshotDisk[] = snapDisks.map((d) => {
    const target = str(d['@_name']) ?? '';
    const kind = d['@_snapshot'] === 'external' ? 'external' : d['@_snapshot'] === 'no' ? 'no' : 'internal';
    return { target, snapshot: kind, overlay: kind === 'external' ? str(node(d.source)['@_file']) : null, ...baseOf(target) };
  });
  const memory = str(node(s.memory)['@_snapshot']) ?? 'no';
  const external = disks.some((d) => d.snapshot === 'external') || memory === 'external';
  const seconds = Number(text(s.creationTime));
  return {
    name,
    description: text(s.description),
    state: text(s.state),
    parent: str(text(node(s.parent).name)),
    createdAt: new Date(Number.isFinite(seconds) ? seconds * 1000 : 0),
    location: external ? 'external' : 'internal',
    withMemory: memory === 'internal' || memory === 'external',
    disks,
    current,
  };
}

function lines(s: string): string[] {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

async function virsh(host: HostContext, args: string[]) {
  return host.virshExec.run(virshArgv(host, args));
}

/** Every snapshot of a guest, oldest first (a few: one dumpxml each). */
export async function listSnapshots(host: HostContext, guest: string): Promise<SnapshotInfo[]> {
  const names = lines((await virsh(host, ['snapshot-list', '--domain', guest, '--name'])).stdout);
  if (names.length === 0) return [];
  const current = await virsh(host, ['snapshot-current', '--domain', guest, '--name']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  const out: SnapshotInfo[] = [];
  for (const name of names) {
    const r = await virsh(host, ['snapshot-dumpxml', '--domain', guest, '--snapshotname', name]);
    out.push(parseSnapshotXml(r.stdout, name === current));
  }
  return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

export async function getSnapshot(host: HostContext, guest: string, name: string): Promise<SnapshotInfo> {
  const all = await listSnapshots(host, guest);
  const s = all.find((x) => x.name === name);
  if (!s) {
    throw new HostError({
      sentence: `${guest} has no snapshot called "${name}".`,
      fix: `Run \`virtdeck snapshot list ${guest}\` to see its snapshots.`,
      command: virshArgv(host, ['snapshot-list', '--domain', guest, '--name']),
      stderr: '',
      code: 'no-snapshot',
    });
  }
  return s;
}

const MARK = '@@virtdeck-snap@@';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The snapshot names of many guests in one virsh process (by UUID: only UUIDs and fixed words go
 * into virsh's `;`-separated command string). Guests with snapshots are then read one by one.
 */
export async function snapshotsOfGuests(host: HostContext, guests: { name: string; uuid: string }[]): Promise<Map<string, SnapshotInfo[]>> {
  const result = new Map<string, SnapshotInfo[]>();
  const known = guests.filter((g) => UUID_RE.test(g.uuid));
  if (known.length === 0) return result;
  const script = [...known.map((g) => `echo ${MARK}; snapshot-list --domain ${g.uuid} --name`), `echo ${MARK}`].join('; ');
  // A guest that vanished makes its own snapshot-list fail; the others still answer.
  const r = await host.virshExec.run(virshArgv(host, [script]), { okExitCodes: [1], virshErrorsAreAnswers: true });
  const chunks = r.stdout.split(new RegExp(`^${MARK}$`, 'm')).slice(1, known.length + 1);
  const withSnapshots: string[] = [];
  known.forEach((g, i) => {
    if (lines(chunks[i] ?? '').length > 0) withSnapshots.push(g.name);
    else result.set(g.name, []);
  });
  for (const name of withSnapshots) {
    try {
      result.set(name, await listSnapshots(host, name));
    } catch {
      result.set(name, []);
    }
  }
  return result;
}
