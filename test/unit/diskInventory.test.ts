import { describe, expect, it } from 'vitest';
import { CountingExecutor } from '../../src/host/exec.js';
import type { GuestRow } from '../../src/host/virsh.js';
import { deleteRefusal, planAttach, planCreate, planDelete, planDetach, validateCreate } from '../../src/jobs/diskActions.js';
import { DiskInventory, missingBacking, parseVolList } from '../../src/jobs/diskInventory.js';
import {
  type CheckFacts,
  type DiskRow,
  detailLines,
  filterRows,
  formatDetail,
  type ImageFacts,
  type InventoryInput,
  mergeInventory,
  shortenPath,
} from '../../src/model/diskInventory.js';
import { UserError } from '../../src/model/userError.js';
import { createFakeHost, type FakeImage } from '../helpers/fakeHost.js';

const DIR = '/var/lib/libvirt/images';

function guest(name: string, state: GuestRow['state'], disks: Partial<GuestRow['disks'][number]>[]): GuestRow {
  return {
    name,
    uuid: `uuid-${name}`,
    id: state === 'running' ? 1 : null,
    state,
    vcpus: 1,
    memoryKiB: 65536,
    disks: disks.map((d, i) => ({ target: `vd${'abcd'[i]}`, device: 'disk', bus: 'virtio', source: null, format: 'qcow2', ...d })),
    nics: [],
    vnc: null,
    autostart: false,
    persistent: true,
    osType: null,
    hasSerial: false,
  };
}

function facts(over: Partial<ImageFacts> = {}): ImageFacts {
  return {
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
  };
}

const file = (path: string) => ({ path, size: 1 << 20, mtimeMs: 1_700_000_000_000 });

function input(over: Partial<InventoryInput>): InventoryInput {
  return { guests: [], volumes: [], dirFiles: [], statted: [], facts: new Map(), checks: new Map(), ...over };
}

function only(rows: DiskRow[], path: string): DiskRow {
  const r = rows.find((x) => x.path === path);
  if (!r) throw new Error(`no row ${path} in ${rows.map((x) => x.path).join(', ')}`);
  return r;
}

const web = `${DIR}/web.qcow2`;
const data = `${DIR}/data.raw`;

describe('mergeInventory', () => {
  const cases: { name: string; input: InventoryInput; path: string; expect: (r: DiskRow, all: DiskRow[]) => void }[] = [
    {
      name: 'a guest disk also found in a directory and a pool is one row with three origins',
      input: input({
        guests: [guest('web', 'shut off', [{ source: web }])],
        volumes: [{ pool: 'default', name: 'web.qcow2', path: web, type: 'file' }],
        dirFiles: [file(web)],
        facts: new Map([[web, facts()]]),
      }),
      path: web,
      expect: (r, all) => {
        expect(all).toHaveLength(1);
        expect(r.origins).toEqual(['dir', 'guest', 'pool']);
        expect(r.pools).toEqual(['default']);
        expect(r.usedBy).toEqual([{ guest: 'web', target: 'vda', bus: 'virtio', device: 'disk', format: 'qcow2', running: false }]);
        expect(r.format).toBe('qcow2');
        expect(r.allocation).toBe('sparse');
        expect(r.warnings).toEqual([]);
      },
    },
    {
      name: 'a running guest marks its image in use',
      input: input({ guests: [guest('web', 'running', [{ source: web }])], statted: [file(web)], facts: new Map([[web, facts()]]) }),
      path: web,
      expect: (r) => expect(r.warnings.join(' ')).toMatch(/In use by the running guest web \(vda\)/),
    },
    {
      name: 'a guest pointing at a missing file gets a row with a warning and the libvirt format',
      input: input({ guests: [guest('web', 'shut off', [{ source: web, format: 'raw' }])] }),
      path: web,
      expect: (r) => {
        expect(r.file).toBeNull();
        expect(r.format).toBe('raw');
        expect(r.warnings[0]).toMatch(/does not exist, but web \(vda\) uses it/);
      },
    },
    {
      name: 'two guests on one image are warned about',
      input: input({
        guests: [guest('a', 'shut off', [{ source: data }]), guest('b', 'shut off', [{}, { source: data, target: 'sdb', bus: 'scsi' }])],
        dirFiles: [file(data)],
        facts: new Map([[data, facts({ format: 'raw', compat: null, actualSize: 1 << 30 })]]),
      }),
      path: data,
      expect: (r) => {
        expect(r.allocation).toBe('preallocated');
        expect(r.warnings.join(' ')).toMatch(/Used by 2 guests \(a \(vda\), b \(sdb\)\)/);
      },
    },
    {
      name: 'a missing backing file is a sentence',
      input: input({ dirFiles: [file(web)], facts: new Map([[web, facts({ backingChain: [`${DIR}/base.qcow2`], backingMissing: `${DIR}/base.qcow2` })]]) }),
      path: web,
      expect: (r) => expect(r.warnings[0]).toMatch(/backing file \/var\/lib\/libvirt\/images\/base.qcow2 is missing/),
    },
    {
      name: 'an overlay left by a backup is recognised by its name',
      input: input({ dirFiles: [file(`${DIR}/web.virtdeck-overlay-1.qcow2`)], facts: new Map([[`${DIR}/web.virtdeck-overlay-1.qcow2`, facts()]]) }),
      path: `${DIR}/web.virtdeck-overlay-1.qcow2`,
      expect: (r) => expect(r.warnings[0]).toMatch(/snapshot overlay left by an interrupted backup/),
    },
    {
      name: 'a guest running on an overlay of an image nobody else uses',
      input: input({
        guests: [guest('web', 'running', [{ source: `${DIR}/web.snap1` }])],
        dirFiles: [file(web)],
        statted: [file(`${DIR}/web.snap1`)],
        facts: new Map([
          [`${DIR}/web.snap1`, facts({ backingChain: [web] })],
          [web, facts()],
        ]),
      }),
      path: `${DIR}/web.snap1`,
      expect: (r) => expect(r.warnings.join(' ')).toMatch(/runs on an overlay of web.qcow2.*blockcommit web vda --active --pivot/),
    },
    {
      name: 'check errors show only after a check, with what was found',
      input: input({
        dirFiles: [file(web)],
        facts: new Map([[web, facts()]]),
        checks: new Map<string, CheckFacts>([[web, { ok: false, supported: true, corruptions: 0, leaks: 3, checkErrors: 0, message: '', at: '2024-05-01T10:00:00.000Z' }]]),
      }),
      path: web,
      expect: (r) => expect(r.warnings[0]).toMatch(/last check \(2024-05-01 10:00\) found 3 leaked clusters/),
    },
    {
      name: 'an ISO in a CD-ROM drive is flagged as such and not warned about when running',
      input: input({
        guests: [guest('web', 'running', [{ source: `${DIR}/d.iso`, device: 'cdrom', bus: 'sata', target: 'sda', format: 'raw' }])],
        dirFiles: [file(`${DIR}/d.iso`)],
        facts: new Map([[`${DIR}/d.iso`, facts({ format: 'raw', compat: null })]]),
      }),
      path: `${DIR}/d.iso`,
      expect: (r) => {
        expect(r.cdrom).toBe(true);
        expect(r.warnings).toEqual([]);
      },
    },
    {
      name: "a flat vmdk's data file is folded into its descriptor",
      input: input({
        dirFiles: [file(`${DIR}/w.vmdk`), file(`${DIR}/w-flat.vmdk`)],
        facts: new Map([
          [`${DIR}/w.vmdk`, facts({ format: 'vmdk', compat: null, vmdk: { createType: 'monolithicFlat', adapterType: 'lsilogic', hwVersion: '6', extentFiles: [`${DIR}/w-flat.vmdk`] } })],
        ]),
      }),
      path: `${DIR}/w.vmdk`,
      expect: (r, all) => {
        expect(all.map((x) => x.path)).toEqual([`${DIR}/w.vmdk`]);
        expect(formatDetail(r)).toBe('vmdk monolithicFlat · lsilogic · hw 6');
        expect(detailLines(r)).toContain('Extents   w-flat.vmdk');
      },
    },
    {
      name: 'qemu-img failing on a file is a warning, the row stays',
      input: input({ dirFiles: [file(`${DIR}/junk.img`)], facts: new Map([[`${DIR}/junk.img`, facts({ error: 'The image is damaged.', format: 'unknown' })]]) }),
      path: `${DIR}/junk.img`,
      expect: (r) => {
        expect(r.format).toBeNull();
        expect(r.warnings[0]).toMatch(/qemu-img cannot read junk.img: The image is damaged./);
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const rows = mergeInventory(c.input);
      c.expect(only(rows, c.path), rows);
    });
  }

  it('filters by path, case-insensitively', () => {
    const rows = mergeInventory(input({ dirFiles: [file(web), file(data)], facts: new Map() }));
    expect(filterRows(rows, 'WEB').map((r) => r.path)).toEqual([web]);
    expect(filterRows(rows, '')).toHaveLength(2);
  });
});

describe('shortenPath', () => {
  it.each([
    ['/var/lib/libvirt/images/web.qcow2', 40, '/var/lib/libvirt/images/web.qcow2'],
    ['/var/lib/libvirt/images/web.qcow2', 20, '…/images/web.qcow2'],
    ['/var/lib/libvirt/images/web.qcow2', 12, '…/web.qcow2'],
    ['/var/lib/libvirt/images/a-very-long-name.qcow2', 10, '…ame.qcow2'],
  ])('%s in %i columns → %s', (path, width, out) => {
    expect(shortenPath(path, width)).toBe(out);
    expect(shortenPath(path, width).length).toBeLessThanOrEqual(width);
  });
});

describe('host answers', () => {
  it('reads vol-list --details by its column positions, spaces included', () => {
    const text = ` Name          Path                              Type   Capacity    Allocation
-------------------------------------------------------------------------------
 my disk.raw   /srv/pool a/my disk.raw           file   10.00 MiB   0.00 B
 sub           /srv/pool a/sub                   dir    4.00 KiB    4.00 KiB
`;
    expect(parseVolList('p', text)).toEqual([{ pool: 'p', name: 'my disk.raw', path: '/srv/pool a/my disk.raw', type: 'file' }]);
  });

  it('names the deepest missing backing file', () => {
    const stderr = "qemu-img: Could not open '/a/ov.qcow2': Could not open backing file: Could not open '/a/base.qcow2': No such file or directory";
    expect(missingBacking(stderr, '/a/ov.qcow2')).toBe('/a/base.qcow2');
  });
});

describe('DiskInventory cache', () => {
  it('a second refresh with unchanged files runs no qemu-img; a changed file is queried alone', async () => {
    const images: Record<string, FakeImage> = {
      [web]: { format: 'qcow2', virtualSize: 1 << 30 },
      [data]: { format: 'raw', virtualSize: 1 << 20, size: 1 << 20 },
      [`${DIR}/ov.qcow2`]: { format: 'qcow2', virtualSize: 1 << 30, backing: web },
    };
    const fake = createFakeHost([{ name: 'web', state: 'running', vcpus: 1, memoryMiB: 64, disks: [{ source: web }] }], { images });
    const counting = new CountingExecutor(fake.host.sysExec);
    const inv = new DiskInventory({ ...fake.host, virshExec: counting, sysExec: counting }, { imageDirs: [DIR], cacheFile: null });
    const qemuImgCalls = () => counting.calls.filter((a) => a[0] === 'qemu-img').length;

    const first = await inv.refresh();
    expect(first.rows.map((r) => r.path)).toEqual([data, `${DIR}/ov.qcow2`, web]);
    expect(first.queried).toBe(3);
    expect(qemuImgCalls()).toBe(3);
    expect(only(first.rows, `${DIR}/ov.qcow2`).facts?.backingChain).toEqual([web]);

    const before = counting.count;
    const second = await inv.refresh();
    expect(second.queried).toBe(0);
    expect(qemuImgCalls()).toBe(3);
    // listGuests (2) + pool-list (1) + find (1) + stat of guest paths outside the dir (0: all found) + stat of chains (0).
    expect(counting.count - before).toBeLessThanOrEqual(5);

    (images[data] as FakeImage).mtime = 1700000100;
    const third = await inv.refresh();
    expect(third.queried).toBe(1);
    expect(counting.calls.filter((a) => a[0] === 'qemu-img').at(-1)).toContain(data);
  });

  it('keeps a check result until the file changes', async () => {
    const images: Record<string, { format: string; virtualSize: number; mtime?: number; check?: { leaks: number } }> = {
      [web]: { format: 'qcow2', virtualSize: 1 << 30, check: { leaks: 2 } },
    };
    const fake = createFakeHost([], { images });
    const inv = new DiskInventory(fake.host, { imageDirs: [DIR], cacheFile: null });
    await inv.refresh();
    const c = await inv.check(web, { forceShare: false });
    expect(c).toMatchObject({ ok: false, leaks: 2 });
    expect((await inv.refresh()).rows[0]?.warnings[0]).toMatch(/found 2 leaked clusters/);
    (images[web] as { mtime?: number }).mtime = 1700000500;
    expect((await inv.refresh()).rows[0]?.check).toBeNull();
  });
});

describe('disk action plans', () => {
  const host = createFakeHost([]).host;

  it('create: vmdk full preallocation becomes monolithicFlat with its data file', () => {
    const spec = validateCreate({ path: '/srv/x.vmdk', format: 'vmdk', size: '1G', preallocation: 'full' });
    expect(spec.files).toEqual(['/srv/x.vmdk', '/srv/x-flat.vmdk']);
    const plan = planCreate(spec);
    expect(plan.steps[0]?.command?.argv).toEqual(['qemu-img', 'create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat,adapter_type=lsilogic', '/srv/x.vmdk', '1073741824']);
    expect(plan.steps[0]?.undo?.command?.argv).toEqual(['rm', '-f', '--', '/srv/x.vmdk', '/srv/x-flat.vmdk']);
  });

  it.each([
    [{ path: '/srv/x.qcow2', format: 'qcow2', size: '12QB' }, /"12QB" is not a size/],
    [{ path: 'x.qcow2', format: 'qcow2', size: '1G' }, /not an absolute path/],
    [{ path: '/srv/x.vdi', format: 'vdi', size: '1G' }, /not a format virtdeck creates/],
    [{ path: '/srv/x.raw', format: 'raw', size: '1G', preallocation: 'metadata' }, /raw image has no metadata/],
    [{ path: '/srv/x.raw', format: 'raw', size: '+1G' }, /growth, not a size/],
  ])('create refuses %o', (req, re) => {
    expect(() => validateCreate(req)).toThrow(UserError);
    expect(() => validateCreate(req)).toThrow(re);
  });

  const xml = `<domain type='qemu'><name>web</name><os><type arch='x86_64' machine='pc'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${web}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;

  it('attach picks the next free target and hotplugs only on buses that allow it', () => {
    const live = planAttach(host, { guest: 'web', path: data, format: 'raw', bus: 'virtio' }, { inactiveXml: xml, running: true });
    expect(live.steps[0]?.command?.argv.slice(3)).toEqual(['attach-disk', '--domain', 'web', '--source', data, '--target', 'vdb', '--driver', 'qemu', '--subdriver', 'raw', '--targetbus', 'virtio', '--config', '--live']);
    expect(live.steps[0]?.undo?.command?.argv.slice(3)).toEqual(['detach-disk', '--domain', 'web', '--target', 'vdb', '--config', '--live']);
    const sata = planAttach(host, { guest: 'web', path: data, format: 'raw', bus: 'sata' }, { inactiveXml: xml, running: true });
    expect(sata.steps[0]?.command?.argv).not.toContain('--live');
    expect(sata.steps[0]?.command?.argv).toContain('sda');
    expect(() => planAttach(host, { guest: 'web', path: data, format: 'raw', bus: 'virtio', target: 'vda' }, { inactiveXml: xml, running: false })).toThrow(/already has a disk "vda"/);
  });

  it('detach names the image and can put it back', () => {
    const g = guest('web', 'shut off', [{ source: web }]);
    const plan = planDetach(host, 'web', 'vda', { guest: g, inactiveXml: xml });
    expect(plan.steps[0]?.title).toBe(`Detach vda (${web}) from web; the image file is kept`);
    expect(plan.steps[0]?.command?.argv.slice(3)).toEqual(['detach-disk', '--domain', 'web', '--target', 'vda', '--config']);
    expect(plan.steps[0]?.undo?.command?.argv).toContain(web);
    expect(() => planDetach(host, 'web', 'vdz', { guest: g, inactiveXml: xml })).toThrow(/web has no disk vdz/);
  });

  it('delete is refused while a guest uses the image, naming it', () => {
    const rows = mergeInventory(input({ guests: [guest('web', 'shut off', [{ source: web }])], dirFiles: [file(web), file(data)], facts: new Map([[web, facts()]]) }));
    expect(deleteRefusal(only(rows, web))?.sentence).toBe('web.qcow2 is used by web (vda), so it is not deleted.');
    expect(() => planDelete(host, only(rows, web))).toThrow(/used by web/);
    expect(planDelete(host, only(rows, data)).steps[0]?.command?.argv).toEqual(['rm', '-f', '--', data]);
  });
});
