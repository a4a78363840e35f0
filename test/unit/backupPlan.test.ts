import { describe, expect, it } from 'vitest';
import type { BackupManifest, CatalogRun } from '../../src/model/backupManifest.js';
import {
  backupXml,
  checkpointName,
  type DiskFacts,
  decideBackup,
  type GuestFacts,
  isOverlayPath,
  overlayPath,
  planGuestBackup,
  pointDiskAt,
  spaceNeeded,
} from '../../src/model/backupPlan.js';
import { UserError } from '../../src/model/userError.js';

const NOW = new Date('2026-11-25T20:30:00Z');
const OPTS = { dest: '/mnt/backup', now: NOW, full: false, hostname: 'h1', uri: 'qemu:///system' };
const virsh = (args: string[]) => ['virsh', '-c', 'qemu:///system', ...args];

function disk(over: Partial<DiskFacts> = {}): DiskFacts {
  return { target: 'vda', source: '/img/web.qcow2', format: 'qcow2', qcow2Compat: '1.1', bitmaps: [], virtualSize: 8 * 2 ** 30, ...over };
}

function manifest(over: Partial<BackupManifest> = {}): BackupManifest {
  return {
    version: 1,
    guest: 'web',
    uuid: 'u',
    createdAt: '2026-11-24T20:30:00.000Z',
    finishedAt: '2026-11-24T20:31:00.000Z',
    kind: 'full',
    parent: null,
    checkpoint: 'virtdeck-20261124T203000Z',
    method: 'backup-api',
    consistency: 'crash-consistent',
    hostname: 'h1',
    uri: 'qemu:///system',
    disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 8 * 2 ** 30, bytesWritten: 1, sha256: null, backing: null }],
    note: null,
    verified: null,
    ...over,
  };
}

const FULL: CatalogRun = { name: '20261124T203000Z-full', manifest: manifest() };

function facts(over: Partial<GuestFacts> = {}): GuestFacts {
  return {
    name: 'web',
    uuid: 'u',
    state: 'running',
    disks: [disk()],
    skipped: [],
    agent: false,
    checkpoints: ['virtdeck-20261124T203000Z'],
    checkpointSizes: new Map([['vda', 262144]]),
    runs: [FULL],
    ...over,
  };
}

describe('decideBackup', () => {
  const table: { name: string; f: GuestFacts; full?: boolean; expect: { method: string; kind: string; consistency: string; note: RegExp | null } }[] = [
    { name: 'shut off → offline copy', f: facts({ state: 'shut off' }), expect: { method: 'offline-copy', kind: 'full', consistency: 'offline', note: null } },
    { name: 'qcow2 v3 with a good chain → incremental', f: facts(), expect: { method: 'backup-api', kind: 'incremental', consistency: 'crash-consistent', note: null } },
    { name: 'first run is full without a note', f: facts({ runs: [] }), expect: { method: 'backup-api', kind: 'full', consistency: 'crash-consistent', note: null } },
    { name: '--full', f: facts(), full: true, expect: { method: 'backup-api', kind: 'full', consistency: 'crash-consistent', note: null } },
    { name: 'checkpoint missing in libvirt', f: facts({ checkpoints: [] }), expect: { method: 'backup-api', kind: 'full', consistency: 'crash-consistent', note: /checkpoint .* missing in libvirt/ } },
    {
      name: 'bitmap missing (libvirt cannot size it, image has none)',
      f: facts({ checkpointSizes: null }),
      expect: { method: 'backup-api', kind: 'full', consistency: 'crash-consistent', note: /bitmap .* missing/ },
    },
    {
      name: 'bitmap in the image header counts as present',
      f: facts({ checkpointSizes: null, disks: [disk({ bitmaps: ['virtdeck-20261124T203000Z'] })] }),
      expect: { method: 'backup-api', kind: 'incremental', consistency: 'crash-consistent', note: null },
    },
    {
      name: 'parent run missing from the catalog',
      f: facts({ runs: [{ name: '20261124T213000Z-inc', manifest: manifest({ kind: 'incremental', parent: '20261120T000000Z-full' }) }] }),
      expect: { method: 'backup-api', kind: 'full', consistency: 'crash-consistent', note: /chain .* broken/ },
    },
    {
      name: 'newest run was a snapshot copy',
      f: facts({ runs: [{ name: FULL.name, manifest: manifest({ method: 'snapshot-copy', checkpoint: null }) }] }),
      expect: { method: 'backup-api', kind: 'full', consistency: 'crash-consistent', note: /not made with the backup API/ },
    },
    { name: 'disks changed', f: facts({ disks: [disk(), disk({ target: 'vdb', source: '/img/b.qcow2' })] }), expect: { method: 'backup-api', kind: 'full', consistency: 'crash-consistent', note: /disks changed/ } },
    { name: 'raw disk → snapshot copy', f: facts({ disks: [disk({ format: 'raw', qcow2Compat: null })] }), expect: { method: 'snapshot-copy', kind: 'full', consistency: 'crash-consistent', note: null } },
    { name: 'qcow2 v2 → snapshot copy', f: facts({ disks: [disk({ qcow2Compat: '0.10' })] }), expect: { method: 'snapshot-copy', kind: 'full', consistency: 'crash-consistent', note: null } },
    { name: 'agent answers → quiesced', f: facts({ agent: true, disks: [disk({ format: 'vmdk', qcow2Compat: null })] }), expect: { method: 'snapshot-copy', kind: 'full', consistency: 'quiesced', note: null } },
  ];
  for (const t of table) {
    it(t.name, () => {
      const d = decideBackup(t.f, { now: NOW, full: Boolean(t.full) });
      expect({ method: d.method, kind: d.kind, consistency: d.consistency }).toEqual({ method: t.expect.method, kind: t.expect.kind, consistency: t.expect.consistency });
      if (t.expect.note) expect(d.note).toMatch(t.expect.note);
      else expect(d.note).toBeNull();
    });
  }

  it('refuses a crashed guest and a guest without disks', () => {
    expect(() => decideBackup(facts({ state: 'crashed' }), { now: NOW, full: false })).toThrow(UserError);
    expect(() => decideBackup(facts({ disks: [] }), { now: NOW, full: false })).toThrow(/no disk/);
  });
});

describe('planGuestBackup', () => {
  it('incremental: backup-begin with <incremental>, rebase onto the parent with a relative path, publish last', () => {
    const f = facts();
    const p = planGuestBackup(f, decideBackup(f, OPTS), OPTS, virsh);
    expect(p.runName).toBe('20261125T203000Z-inc');
    expect(p.plan.steps.map((s) => s.id)).toEqual(['mkdir', 'domain-xml', 'backup-begin', 'rebase-vda', 'manifest', 'publish']);
    const begin = p.plan.steps[2];
    const args = begin?.action?.args as { backupXml: string; checkpointXml: string };
    expect(args.backupXml).toContain('<incremental>virtdeck-20261124T203000Z</incremental>');
    expect(args.backupXml).toContain("file='/mnt/backup/web/20261125T203000Z-inc.partial/vda.qcow2'");
    expect(args.checkpointXml).toContain(`<name>${checkpointName(NOW)}</name>`);
    expect(begin?.undo?.action?.name).toBe('abort-backup-api');
    expect(p.plan.steps[3]?.command?.argv).toEqual([
      'qemu-img', 'rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', '../20261124T203000Z-full/vda.qcow2', '/mnt/backup/web/20261125T203000Z-inc.partial/vda.qcow2',
    ]);
    expect(p.plan.steps[5]?.command?.argv).toEqual(['mv', '-T', '--', p.partialDir, p.runDir]);
    expect(p.plan.steps[0]?.undo?.command?.argv).toEqual(['rm', '-rf', '--', p.partialDir]);
  });

  it('snapshot copy: overlay next to the image, copy with -U, commit; the snapshot undo commits', () => {
    const f = facts({ disks: [disk({ format: 'raw', qcow2Compat: null, source: '/img/web.raw' })], skipped: [{ target: 'hdc', why: 'cdrom drive' }], agent: true });
    const p = planGuestBackup(f, decideBackup(f, OPTS), OPTS, virsh);
    expect(p.plan.steps.map((s) => s.id)).toEqual(['mkdir', 'domain-xml', 'snapshot', 'copy-vda', 'commit', 'manifest', 'publish']);
    const snap = p.plan.steps[2]?.command?.argv ?? [];
    expect(snap).toContain('--quiesce');
    expect(snap).toContain(`vda,snapshot=external,file=${overlayPath('/img/web.raw', NOW)}`);
    expect(snap).toContain('hdc,snapshot=no');
    expect(p.plan.steps[2]?.undo?.action?.name).toBe('commit-overlays');
    expect(p.plan.steps[3]?.command?.argv).toEqual(['qemu-img', 'convert', '-p', '-U', '-f', 'raw', '-O', 'raw', '/img/web.raw', `${p.partialDir}/vda.raw`]);
    expect(isOverlayPath(overlayPath('/img/web.raw', NOW))).toBe(true);
  });

  it('vmdk is copied into qcow2; offline copies take no -U', () => {
    const f = facts({ state: 'shut off', disks: [disk({ format: 'vmdk', qcow2Compat: null, source: '/img/w.vmdk' })] });
    const p = planGuestBackup(f, decideBackup(f, OPTS), OPTS, virsh);
    expect(p.plan.steps.map((s) => s.id)).toEqual(['mkdir', 'domain-xml', 'copy-vda', 'manifest', 'publish']);
    expect(p.plan.steps[2]?.command?.argv).toEqual(['qemu-img', 'convert', '-p', '-f', 'vmdk', '-O', 'qcow2', '/img/w.vmdk', `${p.partialDir}/vda.qcow2`]);
  });
});

describe('spaceNeeded', () => {
  const disks = [{ target: 'vda', required: 1 << 30, virtualSize: 8 * 2 ** 30 }];
  it('full: measure', () => {
    expect(spaceNeeded(decideBackup(facts({ runs: [] }), OPTS), disks, null)).toEqual({ bytes: 1 << 30, basis: 'qemu-img measure' });
  });
  it('incremental: dirty bitmap plus metadata; unknown → allocated, said so', () => {
    const d = decideBackup(facts(), OPTS);
    expect(spaceNeeded(d, disks, new Map([['vda', 262144]])).bytes).toBe(262144 + 65536 + 1048576);
    expect(spaceNeeded(d, disks, null).basis).toMatch(/unknown/);
  });
});

describe('XML helpers', () => {
  it('backup XML escapes paths', () => {
    expect(backupXml([{ target: 'vda', file: "/b/it's.qcow2" }], null)).toContain("file='/b/it&apos;s.qcow2'");
  });
  it('pointDiskAt points the disk back at its base and drops the backing store', () => {
    const xml = `<domain type='qemu'><name>w</name><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/i/w.raw.virtdeck-overlay-1.qcow2'/><backingStore type='file'><format type='raw'/><source file='/i/w.raw'/></backingStore><target dev='vda' bus='virtio'/></disk></devices></domain>`;
    const out = pointDiskAt(xml, 'vda', '/i/w.raw', 'raw');
    expect(out).toContain("<source file='/i/w.raw'/>");
    expect(out).not.toContain('backingStore');
    expect(out).toContain("<driver name='qemu' type='raw'/>");
  });
});
