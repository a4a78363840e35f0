import { describe, expect, test } from 'vitest';
import { parseSnapshotXml, type SnapshotInfo } from '../../src/host/snapshots.js';
import type { GuestDisk } from '../../src/host/virsh.js';
import {
  chooseSnapshotKind,
  formatAge,
  planCreateSnapshot,
  planDeleteSnapshot,
  planRevertSnapshot,
  repointDisksXml,
  revertLoss,
  type SnapshotFacts,
  snapshotTree,
  staleSnapshotWarning,
  validateSnapshotName,
} from '../../src/model/snapshotPlan.js';
import { UserError } from '../../src/model/userError.js';

const NOW = new Date('2026-11-25T12:00:00Z');
const disk = (target: string, source: string | null, format: string | null, device: GuestDisk['device'] = 'disk'): GuestDisk => ({ target, device, bus: 'virtio', source, format });
const XML = `<domain type='qemu'><name>web</name><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/web.raw'/><backingStore/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/iso/x.iso'/><target dev='hdc' bus='ide'/></disk>
</devices></domain>`;

const externalXml = `<domainsnapshot>
  <name>before-update</name><description>risky</description><state>disk-snapshot</state>
  <parent><name>older</name></parent>
  <creationTime>${Math.floor(NOW.getTime() / 1000) - 3 * 86400}</creationTime>
  <memory snapshot='no'/>
  <disks><disk name='vda' snapshot='external' type='file'><driver type='qcow2'/><source file='/img/web.raw.virtdeck-snap-before-update.qcow2'/></disk>
  <disk name='hdc' snapshot='no'/></disks>
  <domain type='qemu'><name>web</name><devices>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/web.raw'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/iso/x.iso'/><target dev='hdc' bus='ide'/></disk>
  </devices></domain>
</domainsnapshot>`;

const internalXml = `<domainsnapshot><name>int1</name><state>running</state><creationTime>${Math.floor(NOW.getTime() / 1000) - 600}</creationTime>
<memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>`;

function facts(over: Partial<SnapshotFacts> = {}): SnapshotFacts {
  return { uri: 'qemu:///system', guest: 'web', state: 'shut off', disks: [disk('vda', '/img/web.raw', 'raw'), disk('hdc', '/iso/x.iso', 'raw', 'cdrom')], snapshots: [], inactiveXml: XML, ...over };
}

describe('snapshot XML', () => {
  test('external: overlay, frozen base and its format, parent, age', () => {
    const s = parseSnapshotXml(externalXml, true);
    expect(s).toMatchObject({ name: 'before-update', description: 'risky', parent: 'older', location: 'external', withMemory: false, current: true });
    expect(s.disks[0]).toEqual({ target: 'vda', snapshot: 'external', overlay: '/img/web.raw.virtdeck-snap-before-update.qcow2', base: '/img/web.raw', baseFormat: 'raw' });
    expect(s.disks[1]?.snapshot).toBe('no');
    expect(NOW.getTime() - s.createdAt.getTime()).toBe(3 * 86400_000);
  });
  test('internal with memory', () => {
    expect(parseSnapshotXml(internalXml)).toMatchObject({ location: 'internal', withMemory: true, parent: null, state: 'running' });
  });
});

describe('kind and names', () => {
  test('qcow2 only → internal; any raw → external, saying why', () => {
    expect(chooseSnapshotKind([disk('vda', '/a.qcow2', 'qcow2'), disk('hdc', null, null, 'cdrom')], []).kind).toBe('internal');
    const c = chooseSnapshotKind([disk('vda', '/a.qcow2', 'qcow2'), disk('vdb', '/b.vmdk', 'vmdk')], []);
    expect(c).toEqual({ kind: 'external', why: 'vdb is vmdk: only qcow2 holds snapshots inside' });
    expect(chooseSnapshotKind([disk('vda', '/a.qcow2.virtdeck-snap-x.qcow2', 'qcow2')], []).kind).toBe('external');
  });
  test('names go into file names', () => {
    expect(validateSnapshotName('before-update')).toBe('before-update');
    for (const bad of ['', 'a b', '../x', '-x', 'a;b']) expect(() => validateSnapshotName(bad)).toThrow(UserError);
  });
  test('ages as people say them', () => {
    expect([formatAge(20_000), formatAge(12 * 60_000), formatAge(5 * 3600_000), formatAge(3 * 86400_000)]).toEqual(['moments', '12 min', '5 h', '3 days']);
  });
});

describe('plans', () => {
  test('create internal on a running qcow2 guest: one snapshot-create-as', () => {
    const p = planCreateSnapshot({ name: 'pre', description: 'before the upgrade' }, facts({ state: 'running', disks: [disk('vda', '/img/a.qcow2', 'qcow2')] }));
    expect(p.title).toContain('internal, with memory');
    expect(p.steps.map((s) => s.command?.argv.slice(3))).toEqual([['snapshot-create-as', '--domain', 'web', '--name', 'pre', '--description', 'before the upgrade']]);
  });
  test('create external: atomic disk-only with an overlay beside each disk, CD-ROM left out', () => {
    const p = planCreateSnapshot({ name: 'pre' }, facts());
    const argv = p.steps[0]?.command?.argv ?? [];
    expect(argv).toEqual(expect.arrayContaining(['--disk-only', '--atomic']));
    expect(argv).toContain('vda,snapshot=external,file=/img/web.raw.virtdeck-snap-pre.qcow2');
    expect(argv).toContain('hdc,snapshot=no');
  });
  test('create refuses a taken name, an existing overlay, a block device', () => {
    const snap = parseSnapshotXml(internalXml);
    expect(() => planCreateSnapshot({ name: 'int1' }, facts({ snapshots: [snap] }))).toThrow(/already has a snapshot called "int1"/);
    expect(() => planCreateSnapshot({ name: 'pre' }, facts({ existing: ['/img/web.raw.virtdeck-snap-pre.qcow2'] }))).toThrow(/already exists/);
    expect(() => planCreateSnapshot({ name: 'pre' }, facts({ disks: [disk('vda', '/dev/sdb', 'raw')] }))).toThrow(/block device/);
  });
  test('revert external on a running guest: off, new overlay on the frozen base, repoint, start; abandoned overlay kept', () => {
    const snap = parseSnapshotXml(externalXml);
    const current = '/img/web.raw.virtdeck-snap-before-update.qcow2';
    const f = facts({ state: 'running', snapshots: [snap], disks: [disk('vda', current, 'qcow2')] });
    const p = planRevertSnapshot('before-update', f, { xmlFile: '/tmp/x.xml', now: NOW });
    expect(p.steps.map((s) => s.id)).toEqual(['stop', 'overlay-vda', 'repoint', 'start']);
    const fresh = '/img/web.raw.virtdeck-snap-before-update.r20261125T120000Z.qcow2';
    expect(p.steps[1]?.command?.argv).toEqual(['qemu-img', 'create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/img/web.raw', fresh]);
    expect(p.steps[1]?.undo?.command?.argv).toEqual(['rm', '-f', '--', fresh]);
    expect(p.steps[2]?.writesFile?.content).toContain(`<source file='${fresh}'/>`);
    expect(p.steps[2]?.undo?.action?.name).toBe('snapshot.defineXml');
    const asked = planRevertSnapshot('before-update', f, { xmlFile: '/tmp/x.xml', now: NOW, removeAbandoned: true, start: false });
    expect(asked.steps.map((s) => s.id)).toEqual(['stop', 'overlay-vda', 'repoint', 'remove-abandoned']);
    expect(asked.steps[3]?.command?.argv).toEqual(['rm', '-f', '--', current]);
  });
  test('revert loss sentence names guest, snapshot and age', () => {
    const snap = parseSnapshotXml(externalXml);
    expect(revertLoss('web', snap, 'running', NOW)).toBe("Everything written to web since 'before-update' (3 days ago) is lost, and web is forced off.");
    expect(revertLoss('web', parseSnapshotXml(internalXml), 'shut off', NOW)).toBe("Everything written to web since 'int1' (10 min ago) is lost.");
  });
  test('delete external: running → blockcommit, off → qemu-img commit; then remove overlay and metadata', () => {
    const snap = parseSnapshotXml(externalXml);
    const current = '/img/web.raw.virtdeck-snap-before-update.qcow2';
    const on = planDeleteSnapshot('before-update', facts({ state: 'running', snapshots: [snap], disks: [disk('vda', current, 'qcow2')], backingOf: { [current]: '/img/web.raw' } }), { xmlFile: '/tmp/x.xml' });
    expect(on.steps.map((s) => s.id)).toEqual(['commit-vda', 'remove-overlays', 'forget']);
    expect(on.steps[0]?.command?.argv.slice(3)).toEqual(['blockcommit', '--domain', 'web', '--path', 'vda', '--active', '--pivot', '--wait']);
    expect(on.steps[0]?.action).toEqual({ name: 'snapshot.commitDisk', args: { guest: 'web', target: 'vda', overlay: current, base: '/img/web.raw', baseFormat: 'raw' } });
    expect(on.steps[2]?.command?.argv.slice(3)).toEqual(['snapshot-delete', '--domain', 'web', '--snapshotname', 'before-update', '--metadata']);
    const off = planDeleteSnapshot('before-update', facts({ snapshots: [snap], disks: [disk('vda', current, 'qcow2')] }), { xmlFile: '/tmp/x.xml' });
    expect(off.steps[0]?.command?.argv).toEqual(['qemu-img', 'commit', '-q', '-f', 'qcow2', current]);
  });
  test('delete refuses an overlay on another base, and a snapshot with children', () => {
    const snap = parseSnapshotXml(externalXml);
    const current = '/img/web.raw.virtdeck-snap-before-update.qcow2';
    expect(() => planDeleteSnapshot('before-update', facts({ snapshots: [snap], disks: [disk('vda', current, 'qcow2')], backingOf: { [current]: '/elsewhere.raw' } }), { xmlFile: '/x' })).toThrow(/builds on \/elsewhere.raw/);
    const child = { ...parseSnapshotXml(internalXml), parent: 'before-update' } as SnapshotInfo;
    expect(() => planDeleteSnapshot('before-update', facts({ snapshots: [snap, child], disks: [disk('vda', current, 'qcow2')] }), { xmlFile: '/x' })).toThrow(/newer snapshots/);
  });
  test('delete internal: snapshot-delete', () => {
    const p = planDeleteSnapshot('int1', facts({ snapshots: [parseSnapshotXml(internalXml)] }), { xmlFile: '/x' });
    expect(p.steps[0]?.command?.argv.slice(3)).toEqual(['snapshot-delete', '--domain', 'web', '--snapshotname', 'int1']);
  });
});

describe('repoint, tree and age flags', () => {
  test('repoint changes source and driver type and drops the stale backing chain', () => {
    const out = repointDisksXml(XML, [{ target: 'vda', file: '/img/n.qcow2', format: 'qcow2' }]);
    expect(out).toContain("<source file='/img/n.qcow2'/>");
    expect(out).toContain("<driver name='qemu' type='qcow2'/>");
    expect(out).not.toContain('backingStore');
    expect(out).toContain('/iso/x.iso');
  });
  test('tree: parents before children', () => {
    const mk = (name: string, parent: string | null, t: number) => ({ ...parseSnapshotXml(internalXml), name, parent, createdAt: new Date(t) });
    expect(snapshotTree([mk('c', 'a', 3), mk('a', null, 1), mk('b', 'a', 2)]).map((x) => `${x.depth}${x.snap.name}`)).toEqual(['0a', '1b', '1c']);
  });
  test('too old: one sentence naming the oldest', () => {
    const snap = parseSnapshotXml(externalXml);
    expect(staleSnapshotWarning([snap], 7, NOW)).toBeNull();
    expect(staleSnapshotWarning([snap], 2, NOW)).toMatch(/^snapshot "before-update" kept for 3 days;/);
  });
});

describe('parseSnapshotXml on what it should refuse (found by test/security/fuzzSnapshotDemoXml.test.ts)', () => {
  test('malformed XML, a document without a name and a DOCTYPE are UserErrors, not plain Errors', () => {
    for (const xml of ['<<domainsnapshot><name>x</name></domainsnapshot>', '<domainsnapshot/>', '', '<!DOCTYPE d [<!ENTITY a "b">]><domainsnapshot><name>&a;</name></domainsnapshot>']) {
      expect(() => parseSnapshotXml(xml), xml).toThrow(UserError);
    }
    expect(parseSnapshotXml('<domainsnapshot><name>a&amp;b</name><state>shutoff</state></domainsnapshot>').name).toBe('a&b');
  });
});
