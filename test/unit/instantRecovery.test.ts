import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTANT_FINISH_KIND, INSTANT_JOB_KIND, type InstantFacts, type InstantRequest, instantDir, planDiscard, planFinish, planInstant, readInstantRecords } from '../../src/jobs/instant.js';
import { planPrune } from '../../src/jobs/prune.js';
import { IMAGE_WRITING_KINDS } from '../../src/jobs/writtenDirs.js';
import type { BackupManifest, CatalogRun } from '../../src/model/backupManifest.js';
import { getSettings, parseDomainXml, serializeDomainXml } from '../../src/model/domainXml.js';
import { instantListLines, instantXml, runsInUse, setLinksDown } from '../../src/model/instantRecovery.js';
import { UserError } from '../../src/model/userError.js';

const XML = `<domain type='kvm'>
  <name>web</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type><nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/web.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/etc/shadow'/></backingStore><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/web-data.img'/><target dev='vdb' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/><link state='up'/></interface>
    <interface type='user'><mac address='52:54:00:00:00:02'/></interface>
  </devices>
</domain>`;

const FULL = '20260601T020000Z-full';
const INC = '20260602T020000Z-inc';
const manifest = {
  version: 1,
  guest: 'web',
  uuid: '11111111-2222-3333-4444-555555555555',
  createdAt: '2026-06-02T02:00:00Z',
  finishedAt: '2026-06-02T02:01:00Z',
  kind: 'incremental',
  parent: FULL,
  checkpoint: null,
  method: 'backup-api',
  consistency: 'crash-consistent',
  hostname: 'h',
  uri: 'qemu:///system',
  disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 1 << 30, bytesWritten: 0, sha256: null, backing: `../${FULL}/vda.qcow2` }],
  note: null,
  verified: null,
} as BackupManifest;

const req = (over: Partial<InstantRequest> = {}): InstantRequest => ({ guest: 'web', dest: '/mnt/b', run: INC, dir: '/var/lib/libvirt/images', isolated: false, ...over });
const facts = (over: Partial<InstantFacts> = {}): InstantFacts => ({
  manifest,
  runXml: XML,
  chain: [FULL, INC],
  backing: { vda: `/mnt/b/web/${INC}/vda.qcow2` },
  guestNames: ['web'],
  current: null,
  existingPaths: [],
  domainType: 'qemu',
  newMacs: ['52:54:00:aa:bb:01', '52:54:00:aa:bb:02'],
  xmlFile: '/tmp/virtdeck-instant-x/domain.xml',
  stateDir: '/root/.local/state/virtdeck',
  uri: 'qemu:///system',
  now: new Date('2026-06-10T12:00:00Z'),
  verify: { guest: 'web', dest: '/mnt/b', files: [], recorded: [], candidates: [], retry: 'r', anyway: 'a' },
  ...over,
});
const virsh = (a: string[]) => ['virsh', '-c', 'qemu:///system', ...a];

describe('planInstant', () => {
  it('verifies, records, makes an overlay naming the checked image with its format, defines, starts', () => {
    const p = planInstant(req(), facts(), virsh);
    expect(p.name).toBe('web-instant');
    expect(p.plan.steps.map((s) => s.id)).toEqual(['verify', 'record', 'overlay-vda', 'define', 'start']);
    const overlay = p.plan.steps.find((s) => s.id === 'overlay-vda');
    expect(overlay?.command?.argv).toEqual(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', `/mnt/b/web/${INC}/vda.qcow2`, '-F', 'qcow2', '/var/lib/libvirt/images/web-instant-vda.instant.qcow2']);
    expect(overlay?.undo?.command?.argv).toEqual(['rm', '-f', '--', '/var/lib/libvirt/images/web-instant-vda.instant.qcow2']);
    expect(p.record.chain).toEqual([FULL, INC]);
    expect(p.record.originalXml).toBeNull();
    expect(p.plan.steps.find((s) => s.id === 'define')?.undo?.action).toEqual({ name: 'undefine', args: { name: 'web-instant' } });
  });

  it('gives the copy a new UUID and MACs, only the backed-up disk on its overlay, and no path of the run', () => {
    const p = planInstant(req(), facts(), virsh);
    const s = getSettings(parseDomainXml(p.xml));
    expect(s.name).toBe('web-instant');
    expect(s.uuid).toBeNull();
    expect(s.nics.map((n) => n.mac)).toEqual(['52:54:00:aa:bb:01', '52:54:00:aa:bb:02']);
    expect(s.disks.map((d) => [d.target, d.source, d.format])).toEqual([['vda', '/var/lib/libvirt/images/web-instant-vda.instant.qcow2', 'qcow2']]);
    // The run's <backingStore> (here naming /etc/shadow) and its nvram are gone.
    expect(p.xml).not.toContain('/etc/shadow');
    expect(p.xml).not.toContain('nvram');
    expect(p.xml).not.toContain('/img/web-data.img');
    expect(s.type).toBe('qemu');
  });

  it('--isolated puts every link down', () => {
    const p = planInstant(req({ isolated: true }), facts(), virsh);
    expect(p.xml.match(/<link state="down"\/>|<link state='down'\/>/g)).toHaveLength(2);
    expect(p.xml).not.toMatch(/state=.up./);
    expect(p.notes.join(' ')).toContain('links down');
  });

  it('refuses a taken name, an existing overlay, and the original name while the original runs', () => {
    expect(() => planInstant(req(), facts({ guestNames: ['web', 'web-instant'] }), virsh)).toThrow(/already exists/);
    expect(() => planInstant(req(), facts({ existingPaths: ['/var/lib/libvirt/images/web-instant-vda.instant.qcow2'] }), virsh)).toThrow(/never overwrites/);
    expect(() => planInstant(req({ asName: 'web' }), facts({ current: { xml: XML, state: 'running' } }), virsh)).toThrow(/gone or shut off/);
    expect(() => planInstant(req({ dir: 'relative' }), facts(), virsh)).toThrow(UserError);
  });

  it('under the original name over a shut-off original: same UUID and MACs, the definition kept for discard', () => {
    const p = planInstant(req({ asName: 'web' }), facts({ current: { xml: XML, state: 'shut off' } }), virsh);
    const s = getSettings(parseDomainXml(p.xml));
    expect(s.uuid).toBe('11111111-2222-3333-4444-555555555555');
    expect(s.nics.map((n) => n.mac)).toEqual(['52:54:00:00:00:01', '52:54:00:00:00:02']);
    expect(p.record.originalXml).toBe(XML);
    expect(p.plan.steps.find((s) => s.id === 'define')?.undo?.action).toEqual({ name: 'define', args: { xml: XML } });
    expect(planDiscard(p.record, '/state', virsh).steps.map((s) => s.id)).toEqual(['stop', 'define', 'remove-overlays', 'forget']);
  });

  it('refuses a run XML that passes raw arguments to QEMU (the restore gate)', () => {
    const hostile = XML.replace("<domain type='kvm'>", "<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>").replace('</devices>', '</devices><qemu:commandline><qemu:arg value="-x"/></qemu:commandline>');
    expect(() => planInstant(req(), facts({ runXml: hostile }), virsh)).toThrow(/qemu:commandline/);
  });
});

describe('planDiscard', () => {
  it('stops, undefines, removes only the recorded overlays, forgets', () => {
    const p = planInstant(req(), facts(), virsh);
    const d = planDiscard(p.record, '/state', virsh);
    expect(d.steps.map((s) => s.id)).toEqual(['stop', 'undefine', 'remove-overlays', 'forget']);
    expect(d.steps[2]?.command?.argv).toEqual(['rm', '-f', '--', '/var/lib/libvirt/images/web-instant-vda.instant.qcow2']);
  });
});

describe('setLinksDown / instantXml', () => {
  it('adds a link element where there is none and replaces one that says up', () => {
    const doc = setLinksDown(parseDomainXml(XML));
    expect(serializeDomainXml(doc).match(/<link [^>]*>/g)).toEqual(["<link state='down'/>", "<link state='down'/>"]);
  });

  it('keeps the run identity when no new MACs are given', () => {
    const r = instantXml(parseDomainXml(XML), { source: 'x', name: 'web', overlays: [{ target: 'vda', path: '/o/a.qcow2' }], newMacs: null, uuid: null, isolated: false, domainType: 'kvm' });
    expect(getSettings(r.doc).uuid).toBe('11111111-2222-3333-4444-555555555555');
    expect(getSettings(r.doc).type).toBe('kvm');
  });
});

describe('prune and instant copies', () => {
  const run = (name: string, kind: 'full' | 'incremental', parent: string | null): CatalogRun => ({ name, manifest: { ...manifest, kind, parent, createdAt: `${name.slice(0, 4)}-${name.slice(4, 6)}-${name.slice(6, 8)}T02:00:00Z` } }) as unknown as CatalogRun;
  const catalog = [{ guest: 'web', runs: [run(FULL, 'full', null), run(INC, 'incremental', FULL), run('20260603T020000Z-full', 'full', null)], partials: [], damaged: [] }] as never;

  it('keeps a run retention would remove while an instant copy reads it, and names the copy', () => {
    const inUse = runsInUse([{ ...planInstant(req(), facts(), virsh).record, dest: '/mnt/b/' }], '/mnt/b');
    const p = planPrune('/mnt/b', catalog, [], { keepLast: 1 }, new Date('2026-06-10T00:00:00Z'), [], inUse);
    const byName = Object.fromEntries(p.items.map((i) => [i.name, i]));
    expect(byName[FULL]).toMatchObject({ action: 'keep', reason: 'instant', usedBy: ['web-instant'] });
    expect(byName[INC]).toMatchObject({ action: 'keep', reason: 'instant', usedBy: ['web-instant'] });
    const without = planPrune('/mnt/b', catalog, [], { keepLast: 1 }, new Date('2026-06-10T00:00:00Z'));
    expect(without.items.filter((i) => i.action === 'remove').map((i) => i.name).sort()).toEqual([FULL, INC]);
  });

  it('a record of another destination holds nothing here', () => {
    expect(runsInUse([planInstant(req(), facts(), virsh).record], '/mnt/other').size).toBe(0);
  });
});

describe('instant records', () => {
  it('are read back when private, and refused (prune stops) when others could have written them', () => {
    const state = mkdtempSync(join(tmpdir(), 'vdtest-ir-unit-'));
    try {
      const record = planInstant(req(), facts(), virsh).record;
      mkdirSync(instantDir(state), { mode: 0o700 });
      writeFileSync(join(instantDir(state), 'web-instant.json'), JSON.stringify(record), { mode: 0o600 });
      writeFileSync(join(instantDir(state), 'junk.json'), '{"version":2}', { mode: 0o600 });
      expect(readInstantRecords(state).map((r) => r.name)).toEqual(['web-instant']);
      chmodSync(instantDir(state), 0o777);
      expect(() => readInstantRecords(state)).toThrow(UserError);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});

describe('planFinish', () => {
  it('blockcopies each disk into DIR, the action polling and pivoting itself (abort and remove the half copy as undo), then drops overlays and record', () => {
    const p = planFinish(planInstant(req(), facts(), virsh).record, '/srv/vm', '/state', virsh);
    expect(p.steps.map((s) => s.id)).toEqual(['copy-vda', 'remove-overlays', 'forget']);
    expect(p.steps[0]?.command?.argv).toEqual(virsh(['blockcopy', '--domain', 'web-instant', '--path', 'vda', '--dest', '/srv/vm/web-instant-vda.qcow2', '--format', 'qcow2', '--transient-job']));
    // virtdeck polls the job for progress and pivots it, so cancel can abort QEMU's job (jobs/instant.ts copyHome).
    expect(p.steps[0]).toMatchObject({ long: true, action: { name: 'instant-copy', args: { name: 'web-instant', target: 'vda', dest: '/srv/vm/web-instant-vda.qcow2' } } });
    expect(p.steps[0]?.undo).toMatchObject({ partial: true, action: { name: 'instant-copy-abort', args: { name: 'web-instant', target: 'vda', dest: '/srv/vm/web-instant-vda.qcow2' } } });
  });
});

it('the Disks pane keeps scanning where instant recovery put overlays and disks moved home', () => {
  expect([INSTANT_JOB_KIND, INSTANT_FINISH_KIND].every((k) => IMAGE_WRITING_KINDS.has(k))).toBe(true);
});

it('`backup instant list` (and I in the Backups pane): each copy, its state, run, overlays, since when, and how to finish or discard it', () => {
  const rec = planInstant(req(), facts(), virsh).record;
  const lines = instantListLines([{ ...rec, createdAt: '2026-12-07T10:00:00.123Z', state: 'running' }], 'qemu:///system');
  expect(lines[0]).toBe(`web-instant  running  from web ${rec.run} in ${rec.dest}, since 2026-12-07 10:00:00 UTC`);
  expect(lines[1]).toBe(`  vda: ${rec.overlays[0]?.path} over ${rec.overlays[0]?.backing}`);
  expect(lines[2]).toContain('virtdeck backup instant finish web-instant --to DIR; or: virtdeck backup instant discard web-instant');
  expect(instantListLines([], 'qemu+ssh://root@b/system')).toEqual(['No guest on qemu+ssh://root@b/system runs from a backup (virtdeck backup instant).']);
});
