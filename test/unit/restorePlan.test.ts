import { describe, expect, it } from 'vitest';
import { asideName, pickRun, planRestore, pointDiskAt, type RestoreFacts, type RestoreRequest } from '../../src/jobs/restore.js';
import type { BackupManifest, CatalogRun } from '../../src/model/backupManifest.js';
import { getSettings, parseDomainXml, serializeDomainXml } from '../../src/model/domainXml.js';

const XML = `<domain type='kvm'>
  <name>web</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64'>hvm</type><nvram>/var/lib/libvirt/qemu/nvram/web_VARS.fd</nvram></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/web.qcow2'/><backingStore type='file'><format type='qcow2'/><source file='/img/base.qcow2'/></backingStore><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/img/web-data.img'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='hdc' bus='ide'/></disk>
    <interface type='user'><mac address='52:54:00:00:00:01'/></interface>
  </devices>
</domain>`;

const manifest = {
  version: 1,
  guest: 'web',
  uuid: '11111111-2222-3333-4444-555555555555',
  createdAt: '2026-06-02T02:00:00Z',
  finishedAt: '2026-06-02T02:01:00Z',
  kind: 'incremental',
  parent: '20260601T020000Z-full',
  checkpoint: null,
  method: 'backup-api',
  consistency: 'crash-consistent',
  hostname: 'h',
  uri: 'qemu:///system',
  disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 1 << 30, bytesWritten: 0, sha256: null, backing: '../20260601T020000Z-full/vda.qcow2' }],
  note: null,
  verified: null,
} as BackupManifest;

const facts = (over: Partial<RestoreFacts> = {}): RestoreFacts => ({
  manifest,
  runXml: XML,
  current: { xml: XML, state: 'shut off' },
  guestNames: ['web'],
  existingPaths: ['/img/web.qcow2'],
  domainType: 'qemu',
  newMacs: ['52:54:00:aa:bb:cc'],
  now: new Date('2026-06-10T12:00:00Z'),
  xmlFile: '/tmp/restore.xml',
  verify: {
    guest: 'web',
    dest: '/mnt/b',
    files: [
      { run: '20260601T020000Z-full', target: 'vda', runDir: '/mnt/b/web/20260601T020000Z-full', file: 'vda.qcow2', path: '/mnt/b/web/20260601T020000Z-full/vda.qcow2', sha256: 'a'.repeat(64), format: 'qcow2', backing: null },
      { run: '20260602T020000Z-inc', target: 'vda', runDir: '/mnt/b/web/20260602T020000Z-inc', file: 'vda.qcow2', path: '/mnt/b/web/20260602T020000Z-inc/vda.qcow2', sha256: 'b'.repeat(64), format: 'qcow2', backing: '../20260601T020000Z-full/vda.qcow2' },
    ],
    recorded: [],
    candidates: [],
    retry: 'virtdeck backup restore web RUN --dest /mnt/b',
    anyway: 'restore this one under a new name only: --as NEWNAME --to DIR --allow-damaged',
  },
  ...over,
});
const req = (over: Partial<RestoreRequest> = {}): RestoreRequest => ({ guest: 'web', dest: '/mnt/b', run: '20260602T020000Z-inc', ...over });
const virsh = (a: string[]) => ['virsh', '-c', 'qemu:///system', ...a];

describe('planRestore', () => {
  it('checks every image of the chain first, before anything is moved or written; the sha256 on the copy, before anything is placed', () => {
    const p = planRestore(req(), facts(), virsh);
    const first = p.plan.steps[0];
    expect(first?.id).toBe('verify');
    expect(first?.action).toMatchObject({ name: 'verify-run', args: { allowDamaged: false, checksums: 'while-copying' } });
    expect(((first?.action?.args ?? { files: [] }) as { files: { path: string }[] }).files.map((f) => f.path)).toEqual(['/mnt/b/web/20260601T020000Z-full/vda.qcow2', '/mnt/b/web/20260602T020000Z-inc/vda.qcow2']);
    // The copy step reads each image once: it hashes what it copied, then rebuilds from those copies.
    const copy = p.plan.steps[1];
    expect(copy?.action?.name).toBe('restore-copy');
    const args = copy?.action?.args as { check: { files: { path: string; sha256: string }[] }; mirror: string; temp: string };
    expect(args.check.files.map((f) => f.sha256)).toEqual(['a'.repeat(64), 'b'.repeat(64)]);
    expect(args.temp).toBe('/img/web.qcow2.virtdeck-restore-tmp');
    expect(args.mirror).toBe('/img/web.qcow2.virtdeck-restore-tmp.chain');
    expect(copy?.undo?.command?.argv).toEqual(['rm', '-rf', '--', args.temp, args.mirror]);
    expect(p.damage).toEqual([]);
  });

  it('a full in the disk format is copied straight to the temp name and checked there; no rebuild, no directory', () => {
    const fullManifest = { ...manifest, kind: 'full', parent: null, disks: [{ ...manifest.disks[0], backing: null }] } as BackupManifest;
    const [fullFile] = facts().verify.files;
    const p = planRestore(req({ run: '20260601T020000Z-full', asName: 'web2', toDir: '/srv/new' }), facts({ manifest: fullManifest, existingPaths: [], verify: { ...facts().verify, files: [fullFile as never] } }), virsh);
    const copy = p.plan.steps[1];
    expect(copy?.action?.args).toMatchObject({ mirror: null, convert: null, temp: '/srv/new/web2-vda.qcow2.virtdeck-restore-tmp' });
    expect(copy?.command?.argv.slice(-3)).toEqual(['/mnt/b/web/20260601T020000Z-full/vda.qcow2', '/srv/new/web2-vda.qcow2.virtdeck-restore-tmp', 'a'.repeat(64)]);
    expect(copy?.command?.argv[2]).toContain('sha256sum -c');
    expect(copy?.alsoRuns).toBeUndefined();
  });

  it('over the guest, replaces only a file that is one of its disks now, whatever path the run names', () => {
    const hostile = { ...manifest, disks: [{ ...manifest.disks[0], sourcePath: '/etc/shadow' }] } as BackupManifest;
    expect(() => planRestore(req(), facts({ manifest: hostile, existingPaths: ['/etc/shadow'] }), virsh)).toThrow(/\/etc\/shadow exists and is not a disk of web/);
    expect(() => planRestore(req(), facts({ current: null, existingPaths: ['/img/web.qcow2'] }), virsh)).toThrow(/not a disk of web/);
  });

  it('over the guest, never writes a new file where the run says: only where the guest has its disk now', () => {
    const hostile = { ...manifest, disks: [{ ...manifest.disks[0], sourcePath: '/etc/cron.d/owned', sourceFormat: 'raw' }] } as BackupManifest;
    expect(() => planRestore(req(), facts({ manifest: hostile, existingPaths: [] }), virsh)).toThrow(/\/etc\/cron\.d\/owned, which is not a disk of web/);
    expect(() => planRestore(req(), facts({ manifest: hostile, current: null, existingPaths: [] }), virsh)).toThrow(/no guest named web is defined/);
    // --keep-xml takes the path from the current definition, never from the run.
    expect(planRestore(req({ keepCurrentXml: true }), facts({ manifest: hostile }), virsh).disks[0]?.path).toBe('/img/web.qcow2');
  });

  it('allows a damaged run only under a new name', () => {
    expect(() => planRestore(req({ allowDamaged: true }), facts(), virsh)).toThrow(/only under a new name/);
    const p = planRestore(req({ allowDamaged: true, asName: 'web2', toDir: '/srv/new' }), facts({ existingPaths: [] }), virsh);
    expect(p.plan.steps[0]?.action).toMatchObject({ args: { allowDamaged: true } });
  });

  it('as a new guest: convert to a temp name, rename, define with new identity', () => {
    const p = planRestore(req({ asName: 'web2', toDir: '/srv/new' }), facts({ existingPaths: [] }), virsh);
    expect(p.plan.steps.map((s) => s.id)).toEqual(['verify', 'convert-vda', 'place-vda', 'define']);
    // Rebuilt from the verified copies of the chain (the incremental's ../PARENT/ name resolves among them).
    expect(p.plan.steps[1]?.alsoRuns?.find((c) => c.argv[1] === 'convert')?.argv).toEqual([
      'qemu-img', 'convert', '-p', '-f', 'qcow2', '-O', 'qcow2', '/srv/new/web2-vda.qcow2.virtdeck-restore-tmp.chain/20260602T020000Z-inc/vda.qcow2', '/srv/new/web2-vda.qcow2.virtdeck-restore-tmp',
    ]);
    // Every step but the check (which changes nothing) can be taken back.
    expect(p.plan.steps.filter((s) => s.id !== 'verify').every((s) => s.undo)).toBe(true);
    const s = getSettings(parseDomainXml(p.xml ?? ''));
    expect(s.name).toBe('web2');
    expect(s.uuid).toBeNull();
    expect(s.nics[0]?.mac).toBe('52:54:00:aa:bb:cc');
    expect(s.type).toBe('qemu');
    expect(s.disks.map((d) => [d.target, d.source])).toEqual([['vda', '/srv/new/web2-vda.qcow2'], ['hdc', null]]);
    // The run's media is a host path the run names: the drive comes back empty, and the plan says so.
    expect(p.notes.join(' ')).toContain('/iso/x.iso was left out');
    expect(p.xml).not.toContain('backingStore');
    expect(p.xml).not.toContain('nvram');
    expect(p.notes.join(' ')).toMatch(/vdb/);
    expect(p.plan.steps[3]?.undo?.action).toEqual({ name: 'undefine', args: { name: 'web2' } });
  });

  it('as a new guest: refuses a name in use, an existing file, a missing --to', () => {
    expect(() => planRestore(req({ asName: 'web', toDir: '/srv' }), facts(), virsh)).toThrow(/already exists/);
    expect(() => planRestore(req({ asName: 'web2', toDir: '/srv' }), facts({ existingPaths: ['/srv/web2-vda.qcow2'] }), virsh)).toThrow(/never overwrites/);
    expect(() => planRestore(req({ asName: 'web2' }), facts(), virsh)).toThrow(/--to/);
  });

  it('over the guest itself: moves the current disk aside, keeps the UUID, keeps the old disk by default', () => {
    const p = planRestore(req(), facts(), virsh);
    expect(p.plan.steps.map((s) => s.id)).toEqual(['verify', 'convert-vda', 'aside-vda', 'place-vda', 'define']);
    expect(p.disks[0]?.aside).toBe('/img/web.qcow2.virtdeck-before-restore-20260610T120000Z');
    expect(p.plan.steps[2]?.undo?.action).toEqual({ name: 'move', args: { from: p.disks[0]?.aside, to: '/img/web.qcow2' } });
    expect(getSettings(parseDomainXml(p.xml ?? '')).uuid).toBe('11111111-2222-3333-4444-555555555555');
    expect(p.plan.steps[4]?.undo?.action?.name).toBe('define');
    expect(p.notes.join(' ')).toContain('virtdeck-before-restore');
    // The plan carries its time: a run started from this review is planned at it (RestoreRequest.at).
    expect(p.at).toBe('2026-06-10T12:00:00.000Z');
    expect(asideName('/img/web.qcow2', new Date(p.at))).toBe(p.disks[0]?.aside);
  });

  it('over the guest itself: --keep-xml defines nothing, --delete-old removes the old disk last', () => {
    expect(planRestore(req({ keepCurrentXml: true }), facts(), virsh).plan.steps.map((s) => s.id)).toEqual(['verify', 'convert-vda', 'aside-vda', 'place-vda']);
    const p = planRestore(req({ deleteOld: true }), facts(), virsh);
    expect(p.plan.steps.at(-1)?.command?.argv).toEqual(['rm', '-f', '--', '/img/web.qcow2.virtdeck-before-restore-20260610T120000Z']);
  });

  it("a run's domain.xml that reaches the host: refused before any step is planned, unless --keep-xml leaves it unused", () => {
    const hostile = XML.replace('<devices>', "<devices><emulator>/tmp/evil.sh</emulator><serial type='file'><source path='/etc/shadow'/></serial>");
    for (const r of [req(), req({ asName: 'web2', toDir: '/srv/new' })]) {
      expect(() => planRestore(r, facts({ runXml: hostile, existingPaths: r.asName ? [] : ['/img/web.qcow2'] }), virsh)).toThrow(/\/mnt\/b\/web\/20260602T020000Z-inc\/domain\.xml has <emulator>\/tmp\/evil\.sh/);
    }
    // --keep-xml over the guest: its current definition stays, the run's XML is never defined.
    const kept = planRestore(req({ keepCurrentXml: true }), facts({ runXml: hostile }), virsh);
    expect(kept.xml).toBeNull();
    expect(kept.plan.steps.some((s) => s.id === 'define' || s.writesFile)).toBe(false);
  });

  it('refuses a running guest and a block-device disk', () => {
    expect(() => planRestore(req(), facts({ current: { xml: XML, state: 'running' } }), virsh)).toThrow(/shut off/);
    const m = { ...manifest, disks: [{ ...manifest.disks[0], sourcePath: '/dev/vg/web' }] } as BackupManifest;
    expect(() => planRestore(req(), facts({ manifest: m }), virsh)).toThrow(/files only/);
  });

  it('pointDiskAt drops the backing chain and sets the format', () => {
    const doc = pointDiskAt(parseDomainXml(XML), 'vdb', '/x/y.qcow2', 'qcow2');
    expect(getSettings(doc).disks.find((d) => d.target === 'vdb')).toMatchObject({ source: '/x/y.qcow2', format: 'qcow2' });
    const vda = pointDiskAt(parseDomainXml(XML), 'vda', '/x/a.qcow2', 'raw');
    expect(serializeDomainXml(vda)).not.toContain('backingStore');
    expect(getSettings(vda).disks[0]).toMatchObject({ source: '/x/a.qcow2', format: 'raw' });
  });
});

describe('pickRun', () => {
  const run = (name: string, parent: string | null): CatalogRun => ({ name, manifest: { ...manifest, parent } });
  const backups = { guest: 'web', runs: [run('20260601T020000Z-full', null), run('20260602T020000Z-inc', '20260601T020000Z-full')], partials: [], damaged: [] };
  it('newest by default, a unique prefix, refuses an ambiguous one', () => {
    expect(pickRun(backups).run.name).toBe('20260602T020000Z-inc');
    expect(pickRun(backups).chain.map((r) => r.name)).toEqual(['20260601T020000Z-full', '20260602T020000Z-inc']);
    expect(pickRun(backups, '20260601').run.name).toBe('20260601T020000Z-full');
    expect(() => pickRun(backups, '202606')).toThrow(/matches 2 runs/);
    expect(() => pickRun(backups, 'x')).toThrow(/no backup run/);
  });
});
