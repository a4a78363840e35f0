import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CountingExecutor, type ExecOptions, LocalExecutor } from '../../src/host/exec.js';
import { fileIdentities } from '../../src/host/fileIdentity.js';
import type { GuestRow } from '../../src/host/virsh.js';
import { checkConvert, planConvert, presetById } from '../../src/model/convertPlan.js';
import { mergeInventory } from '../../src/model/diskInventory.js';
import { type IdentityMap, parseIdentityRecords, sameFile, splitDev, usersOf } from '../../src/model/fileIdentity.js';

function guest(name: string, state: GuestRow['state'], source: string): GuestRow {
  return {
    name,
    uuid: `uuid-${name}`,
    id: state === 'running' ? 1 : null,
    state,
    vcpus: 1,
    memoryKiB: 65536,
    disks: [{ target: 'vda', device: 'disk', bus: 'virtio', source, format: 'qcow2' }],
    nics: [],
    vnc: null,
    autostart: false,
    persistent: true,
    osType: null,
    hasSerial: false,
  };
}

const id = (key: string) => ({ kind: 'file' as const, key, realPath: null });

describe('file identity, pure', () => {
  it('splits a dev_t the way glibc does (8-bit minor low, 12-bit major, high minor bits)', () => {
    expect(splitDev(0x0700n)).toEqual({ major: 7n, minor: 0n });
    expect(splitDev(0x100301n)).toEqual({ major: 3n, minor: 0x101n });
    expect(splitDev(0x100fd00n)).toEqual({ major: 253n, minor: 0x1000n });
  });

  it('parses stat records; a block device is named by major:minor, garbage is dropped', () => {
    const out = ['regular file\t2049\t131\t0\t0\t-\t/a/x.qcow2', 'block special file\t5\t901\t7\t1f\t-\t/dev/loop31', 'regular file\tnan\t1\t0\t0\t-\t/bad', 'what', ''].join('\0');
    const m = parseIdentityRecords(out);
    expect(m.get('/a/x.qcow2')).toEqual({ kind: 'file', key: '2049:131', realPath: null });
    expect(m.get('/dev/loop31')?.key).toBe('blk 7:31');
    expect(m.has('/bad')).toBe(false);
    expect(m.size).toBe(2);
  });

  it('two names are one file by identity, or by string when the host knows neither', () => {
    const ids: IdentityMap = new Map([
      ['/a', id('1:2')],
      ['/b', id('1:2')],
      ['/c', id('1:3')],
    ]);
    expect(sameFile('/a', '/b', ids)).toBe(true);
    expect(sameFile('/a', '/c', ids)).toBe(false);
    expect(sameFile('/gone', '/gone', ids)).toBe(true);
    expect(sameFile('/gone', '/a', ids)).toBe(false);
  });

  it('usersOf finds the guest by another name and keeps its own name for the file', () => {
    const ids: IdentityMap = new Map([
      ['/img/real.qcow2', id('9:9')],
      ['/other/link.qcow2', id('9:9')],
    ]);
    const users = usersOf('/img/real.qcow2', [guest('web', 'paused', '/other/link.qcow2'), guest('db', 'shut off', '/img/db.qcow2')], ids);
    expect(users).toEqual([expect.objectContaining({ guest: 'web', running: true, target: 'vda', source: '/other/link.qcow2' })]);
  });

  it('the inventory lists the guest as the user of the file it reaches another way', () => {
    const real = '/img/real.qcow2';
    const link = '/other/link.qcow2';
    const ids: IdentityMap = new Map([
      [real, id('9:9')],
      [link, id('9:9')],
    ]);
    const base = { guests: [guest('web', 'running', link)], volumes: [], dirFiles: [{ path: real, size: 1, mtimeMs: 1 }], statted: [{ path: link, size: 1, mtimeMs: 1 }], facts: new Map(), checks: new Map() };
    expect(mergeInventory(base).find((r) => r.path === real)?.usedBy).toEqual([]);
    const rows = mergeInventory({ ...base, identities: ids });
    expect(rows.find((r) => r.path === real)?.usedBy.map((u) => u.guest)).toEqual(['web']);
    expect(rows.find((r) => r.path === link)?.usedBy.map((u) => u.guest)).toEqual(['web']);
  });

  it('convert: repoint rewrites the guest’s own name for the disk; removal refuses another guest using it by another name', () => {
    const xml = `<domain type='qemu'><name>web</name><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/other/link.raw'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
    const target = presetById('qcow2').target;
    const facts = { sourceReadable: true, existing: [], destDirExists: true, freeBytes: 1 << 30, requiredBytes: 1 << 20, guestXml: xml };
    const source = { path: '/img/real.raw', format: 'raw', virtualSize: 1 << 20, users: [{ guest: 'web', target: 'vda', state: 'shut off', source: '/other/link.raw' }] };
    const plan = planConvert({ source, target, repoint: { guest: 'web', target: 'vda', oldSource: '/other/link.raw' } }, facts, { uri: 'qemu:///system', xmlFile: '/tmp/x.xml' });
    expect(plan.steps.find((s) => s.id === 'repoint')?.writesFile?.content).toContain("<source file='/img/real.qcow2'/>");
    const two = { ...source, users: [...source.users, { guest: 'db', target: 'vdb', state: 'shut off', source: '/mnt/bind/real.raw' }] };
    const c = checkConvert({ source: two, target, repoint: { guest: 'web', target: 'vda', oldSource: '/other/link.raw' }, keepOriginal: false }, facts);
    expect(c.refusals.map((e) => e.sentence).join(' ')).toMatch(/db \(as \/mnt\/bind\/real\.raw\) still use/);
  });
});

describe('file identity, from the host', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdsec-id-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const real = join(dir, 'real.qcow2');
  writeFileSync(real, 'x');
  symlinkSync(real, join(dir, 'sym.qcow2'));
  linkSync(real, join(dir, 'hard.qcow2'));
  writeFileSync(join(dir, 'other.qcow2'), 'x');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'tab\tname'), 'y');
  const names = ['real.qcow2', 'sym.qcow2', 'hard.qcow2', 'other.qcow2', 'sub', 'missing.qcow2', 'tab\tname'].map((n) => join(dir, n));

  it('locally: no process, and a symlink and a hard link are the file they name', async () => {
    const counting = new CountingExecutor(new LocalExecutor());
    const ids = await fileIdentities(counting, names);
    expect(counting.count).toBe(0);
    const key = ids.get(real)?.key;
    expect(key).toMatch(/^\d+:\d+$/);
    expect(ids.get(join(dir, 'sym.qcow2'))?.key).toBe(key);
    expect(ids.get(join(dir, 'hard.qcow2'))?.key).toBe(key);
    expect(ids.get(join(dir, 'sym.qcow2'))?.realPath).toBe(real);
    expect(ids.get(join(dir, 'other.qcow2'))?.key).not.toBe(key);
    expect(ids.get(join(dir, 'sub'))?.kind).toBe('dir');
    expect(ids.has(join(dir, 'missing.qcow2'))).toBe(false);
    const nullDev = (await fileIdentities(counting, ['/dev/null'])).get('/dev/null');
    expect(nullDev?.kind).toBe('other');
  });

  it('remotely: one stat for all paths, with the same answers as Node', async () => {
    const local = new LocalExecutor();
    const seen: string[][] = [];
    // An executor that is not local (as an SshExecutor is not), running here.
    const remote = {
      label: 'root@far',
      run: (argv: string[], o?: ExecOptions) => {
        seen.push(argv);
        return local.run(argv, o);
      },
      interactive: async () => 0,
    };
    const viaStat = await fileIdentities(remote, names);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[0]).toBe('stat');
    const viaNode = await fileIdentities(local, names);
    expect([...viaStat.keys()].sort()).toEqual([...viaNode.keys()].sort());
    for (const [p, v] of viaNode) expect(viaStat.get(p)?.key, p).toBe(v.key);
  });
});
