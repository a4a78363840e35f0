import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CountingExecutor } from '../../src/host/exec.js';
import type { GuestRow } from '../../src/host/virsh.js';
import { deleteRefusal } from '../../src/jobs/diskActions.js';
import { DiskInventory } from '../../src/jobs/diskInventory.js';
import { RESTORE_JOB_KIND } from '../../src/jobs/restore.js';
import { runPlan } from '../../src/jobs/runner.js';
import { IMAGE_WRITING_KINDS, parseWrittenDirs, readWrittenDirs, recordPlanDirs, recordWrittenDirs, writtenDirsFile } from '../../src/jobs/writtenDirs.js';
import { type DiskRow, type ImageFacts, mergeInventory } from '../../src/model/diskInventory.js';
import { cleanDir, MAX_WRITTEN_DIRS, scanDirs, withWrittenDirs } from '../../src/model/imageDirs.js';
import type { Plan } from '../../src/model/plan.js';
import { createFakeHost, type FakeImage } from '../helpers/fakeHost.js';

type Disk = GuestRow['disks'][number];
const disk = (source: string | null, over: Partial<Disk> = {}): Disk => ({ target: 'vda', device: 'disk', bus: 'virtio', source, format: 'qcow2', ...over });

describe('the directories the Disks pane scans', () => {
  it('configured, then every directory holding a guest disk, then the written ones; each once, normalised', () => {
    const dirs = scanDirs({
      configured: ['/var/lib/libvirt/images', '/srv/vm/'],
      guests: [
        { disks: [disk('/srv/vm/web.qcow2'), disk('/data//guests/./db.raw'), disk('/dev/vg0/lv', { device: 'lun' })] },
        { disks: [disk('/srv/iso/debian.iso', { device: 'cdrom' }), disk('/srv/floppy/a.img', { device: 'floppy' }), disk(null)] },
      ],
      written: ['/srv/made', '/data/guests', 'relative/dir'],
    });
    expect(dirs).toEqual(['/var/lib/libvirt/images', '/srv/vm', '/data/guests', '/srv/made']);
  });

  it.each([
    ['relative', 'srv/vm', null],
    ['a control character', '/srv/vm\nrm', null],
    ['a pseudo file system', '/proc/1', null],
    ['device nodes', '/dev', null],
    ['too long', `/${'a'.repeat(2000)}`, null],
    ['not a string', 42, null],
    ['dots and slashes', '/srv/../srv/./vm//', '/srv/vm'],
    ['the root', '/', '/'],
  ])('cleanDir: %s', (_what, text, want) => {
    expect(cleanDir(text)).toBe(want);
  });

  it('the written list keeps the newest first, each once, and at most MAX_WRITTEN_DIRS', () => {
    expect(withWrittenDirs(['/a', '/b'], ['/b/', '/c'])).toEqual(['/b', '/c', '/a']);
    const many = Array.from({ length: 100 }, (_, i) => `/d${i}`);
    const kept = withWrittenDirs(many, ['/new']);
    expect(kept).toHaveLength(MAX_WRITTEN_DIRS);
    expect(kept[0]).toBe('/new');
  });
});

describe('orphans', () => {
  const facts = (over: Partial<ImageFacts> = {}): ImageFacts => ({
    format: 'qcow2',
    virtualSize: 1 << 30,
    actualSize: 1 << 20,
    clusterSize: 65536,
    backingChain: [],
    backingMissing: null,
    snapshots: [],
    dirty: false,
    corrupt: false,
    compat: '1.1',
    vmdk: null,
    error: null,
    ...over,
  });
  const file = (path: string) => ({ path, size: 1 << 20, mtimeMs: 1 });
  const guest = (name: string, disks: Disk[]): GuestRow => ({
    name,
    uuid: `u-${name}`,
    id: null,
    state: 'shut off',
    vcpus: 1,
    memoryKiB: 65536,
    disks,
    nics: [],
    vnc: null,
    autostart: false,
    persistent: true,
    osType: null,
    hasSerial: false,
  });
  const rows = mergeInventory({
    guests: [guest('web', [disk('/srv/ov.qcow2'), disk('/srv/gone.qcow2', { target: 'vdb' }), disk('/srv/cd.iso', { target: 'hdc', device: 'cdrom', format: 'raw' })])],
    volumes: [],
    dirFiles: ['/srv/ov.qcow2', '/srv/base.qcow2', '/srv/left.qcow2', '/srv/install.iso', '/srv/cd.iso'].map(file),
    statted: [],
    facts: new Map([['/srv/ov.qcow2', facts({ backingChain: ['/srv/base.qcow2'] })]]),
    checks: new Map(),
  });
  const row = (path: string) => rows.find((r) => r.path === path) as DiskRow;

  it.each([
    ['/srv/left.qcow2', true, 'no guest uses it'],
    ['/srv/ov.qcow2', false, 'a guest uses it'],
    ['/srv/base.qcow2', false, 'it backs a disk a guest uses'],
    ['/srv/install.iso', false, 'an ISO nobody inserted is no orphan disk'],
    ['/srv/cd.iso', false, 'a CD-ROM drive holds it'],
    ['/srv/gone.qcow2', false, 'it does not exist'],
  ])('%s: orphan %s (%s)', (path, orphan) => {
    expect(row(path).orphan).toBe(orphan);
  });

  it('the delete refusal says what to do and that the image stays reachable', () => {
    expect(deleteRefusal(row('/srv/ov.qcow2'))?.fix).toBe(
      'Detach it first (T in the Disks pane, or virtdeck disk detach web vda); it then stays in the Disks pane as an orphan, where D deletes it.',
    );
  });
});

describe('the list of directories virtdeck wrote to', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vdtest-imgdirs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is written 0600, per host, keeps other hosts, and is read back cleaned', () => {
    const file = writtenDirsFile(join(dir, 'state'));
    recordWrittenDirs(file, 'local', ['/srv/a/x.qcow2', '/srv/b/y.raw']);
    recordWrittenDirs(file, 'root@host1', ['/remote/z.qcow2']);
    recordWrittenDirs(file, 'local', ['/srv/c/new.qcow2', 'not/absolute.qcow2']);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    expect(readWrittenDirs(file, 'local')).toEqual(['/srv/c', '/srv/a', '/srv/b']);
    expect(readWrittenDirs(file, 'root@host1')).toEqual(['/remote']);
    expect(readWrittenDirs(file, 'other')).toEqual([]);
  });

  it.each([
    ['not JSON', '{'],
    ['another shape', JSON.stringify({ version: 2, hosts: { local: ['/x'] } })],
    ['entries that are not strings', JSON.stringify({ version: 1, hosts: { local: [{ dir: '/x' }] } })],
    ['a huge file', JSON.stringify({ version: 1, hosts: { local: ['/x'], pad: ['a'.repeat(300_000)] } })],
  ])('a damaged file (%s) is ignored', (_what, text) => {
    expect(parseWrittenDirs(text).hosts).toEqual({});
  });

  it('hostile entries are dropped, not scanned', () => {
    const file = join(dir, 'image-dirs.json');
    writeFileSync(file, JSON.stringify({ version: 1, hosts: { local: ['/srv/ok', '-delete', '/proc/self', '/x\n-exec', '../../etc', '/srv/ok/'] } }), { mode: 0o600 });
    expect(readWrittenDirs(file, 'local')).toEqual(['/srv/ok']);
  });

  it('a file others can write, or a symlink, is not believed', () => {
    const file = join(dir, 'image-dirs.json');
    writeFileSync(file, JSON.stringify({ version: 1, hosts: { local: ['/srv/planted'] } }), { mode: 0o600 });
    chmodSync(file, 0o666);
    expect(readWrittenDirs(file, 'local')).toEqual([]);
    const real = join(dir, 'real.json');
    writeFileSync(real, JSON.stringify({ version: 1, hosts: { local: ['/srv/planted'] } }), { mode: 0o600 });
    rmSync(file);
    symlinkSync(real, file);
    expect(readWrittenDirs(file, 'local')).toEqual([]);
    // Nor is it written through: recording replaces the link with a file of our own.
    recordWrittenDirs(file, 'local', ['/srv/new/a.qcow2']);
    expect(JSON.parse(readFileSync(real, 'utf8')).hosts.local).toEqual(['/srv/planted']);
  });

  it('the jobs that leave images record their directories; others do not', () => {
    expect(IMAGE_WRITING_KINDS.has(RESTORE_JOB_KIND)).toBe(true);
    const plan = (kind: string, images: string[]): Plan => ({ kind, title: kind, targets: { guests: [], images }, steps: [] });
    recordPlanDirs(dir, 'local', plan('convert', ['/srv/src/a.vmdk', '/srv/dst/a.qcow2']));
    recordPlanDirs(dir, 'local', plan('disk-delete', ['/srv/deleted/x.qcow2']));
    recordPlanDirs(dir, 'local', plan('backup', ['/srv/guest/x.qcow2']));
    expect(readWrittenDirs(writtenDirsFile(dir), 'local')).toEqual(['/srv/src', '/srv/dst']);
  });

  it('runPlan records a disk-create plan before its first step, under the host executor label', async () => {
    const fake = createFakeHost([], { images: {} });
    const plan: Plan = { kind: 'disk-create', title: 'create', targets: { guests: [], images: ['/srv/elsewhere/n.qcow2'] }, steps: [] };
    const r = await runPlan(plan, { host: fake.host, stateDir: dir });
    expect(r.state).toBe('done');
    expect(readWrittenDirs(writtenDirsFile(dir), 'fake')).toEqual(['/srv/elsewhere']);
  });
});

describe('one find for every directory', () => {
  it('configured, guest and written directories are scanned by one find; what is found there no guest uses is an orphan', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vdtest-imgdirs-'));
    try {
      const written = writtenDirsFile(dir);
      recordWrittenDirs(written, 'fake', ['/srv/made/new.qcow2']);
      const images: Record<string, FakeImage> = {
        '/a/one.qcow2': { format: 'qcow2', virtualSize: 1 << 30 },
        '/b/two.qcow2': { format: 'qcow2', virtualSize: 1 << 30 },
        '/g1/web.qcow2': { format: 'qcow2', virtualSize: 1 << 30 },
        '/g1/web-orig.vmdk': { format: 'vmdk', virtualSize: 1 << 30 },
        '/g2/db.qcow2': { format: 'qcow2', virtualSize: 1 << 30 },
        '/srv/made/new.qcow2': { format: 'qcow2', virtualSize: 1 << 30 },
        '/nowhere/hidden.qcow2': { format: 'qcow2', virtualSize: 1 << 30 },
      };
      const fake = createFakeHost(
        [
          { name: 'web', state: 'shut off', vcpus: 1, memoryMiB: 64, disks: [{ source: '/g1/web.qcow2' }] },
          { name: 'db', state: 'running', vcpus: 1, memoryMiB: 64, disks: [{ source: '/g2/db.qcow2' }] },
        ],
        { images },
      );
      const counting = new CountingExecutor(fake.host.sysExec);
      const inv = new DiskInventory({ ...fake.host, virshExec: counting, sysExec: counting }, { imageDirs: ['/a', '/b', '/c'], cacheFile: null, writtenDirsFile: written });
      const snap = await inv.refresh();
      const finds = counting.calls.filter((c) => c[0] === 'find');
      expect(finds).toHaveLength(1);
      expect(finds[0]?.slice(1, 7).sort()).toEqual(['/a', '/b', '/c', '/g1', '/g2', '/srv/made']);
      expect(finds[0]).toContain('*.virtdeck-before-restore-*');
      const orphans = snap.rows.filter((r) => r.orphan).map((r) => r.path);
      expect(orphans).toEqual(['/a/one.qcow2', '/b/two.qcow2', '/g1/web-orig.vmdk', '/srv/made/new.qcow2']);
      expect(snap.rows.some((r) => r.path === '/nowhere/hidden.qcow2')).toBe(false);
      // Six directories, and a second refresh still runs what one directory needs: listGuests (2),
      // pool-list (1), find (1), no stat (every guest disk was found by the find), no qemu-img.
      const again = counting.calls.length;
      await inv.refresh();
      const second = counting.calls.slice(again).map((c) => (c[0] === 'virsh' ? `virsh ${c[3]}` : c[0]));
      expect(second.filter((p) => p === 'find')).toHaveLength(1);
      expect(second.filter((p) => p === 'qemu-img')).toHaveLength(0);
      expect(second.length).toBeLessThanOrEqual(5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

