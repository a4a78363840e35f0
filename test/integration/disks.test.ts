import { existsSync, mkdirSync, mkdtempSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingExecutor, LocalExecutor } from '../../src/host/exec.js';
import { detectAccel, domainTypeFor } from '../../src/host/kvm.js';
import { DiskInventory } from '../../src/jobs/diskInventory.js';
import type { DiskRow } from '../../src/model/diskInventory.js';
import { cliArgv } from '../helpers/cli.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

/**
 * The Disks inventory and `virtdeck disk …` on the real qemu-img and libvirtd: a temp image
 * directory configured through VIRTDECK_HOME, one defined (never started) guest, a transient pool.
 */

const URI = 'qemu:///system';
const GUEST = `vdtest-dk-${process.pid}`;
const POOL = `vdtest-dk-pool-${process.pid}`;
const root = path.resolve(import.meta.dirname, '../..');
const scratch = scratchDir('vdtest-dk-');
const dir = scratch.dir;
const home = mkdtempSync(path.join(tmpdir(), 'vdtest-dk-home-'));
const img = (name: string) => path.join(dir, name);

function virsh(...args: string[]) {
  return execa('virsh', ['-c', URI, ...args], { reject: false });
}

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: home, NO_COLOR: '1', LANG: 'C.UTF-8' },
  });
}

async function qemuImg(...args: string[]) {
  await execa('qemu-img', args);
}

async function listJson(): Promise<DiskRow[]> {
  const r = await cli('disk', 'list', '--json');
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { images: DiskRow[] }).images;
}

beforeAll(async () => {
  mkdirSync(path.join(home, 'config'), { recursive: true });
  writeFileSync(path.join(home, 'config', 'config.json'), JSON.stringify({ imageDirs: [dir] }));
  await qemuImg('create', '-q', '-f', 'qcow2', img('used.qcow2'), '4M');
  await qemuImg('create', '-q', '-f', 'qcow2', img('base.qcow2'), '4M');
  await qemuImg('create', '-q', '-f', 'qcow2', '-b', img('base.qcow2'), '-F', 'qcow2', img('overlay.qcow2'));
  unlinkSync(img('base.qcow2'));
  await qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicSparse,adapter_type=lsilogic,compat6', img('legacy.vmdk'), '8M');
  await qemuImg('create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', img('flat.vmdk'), '2M');
  await qemuImg('create', '-q', '-f', 'qcow2', img('clean.qcow2'), '4M');
  await qemuImg('create', '-q', '-f', 'qcow2', img('broken.qcow2'), '64M');
  await execa('qemu-io', ['-c', 'write -P 0xab 0 4M', img('broken.qcow2')]);
  truncateSync(img('broken.qcow2'), 1024 * 1024);
  const { accel } = await detectAccel(new LocalExecutor());
  const xml = `<domain type='${domainTypeFor(accel)}'><name>${GUEST}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${img('used.qcow2')}'/><target dev='vda' bus='virtio'/></disk>
  <interface type='user'><model type='virtio'/></interface></devices></domain>`;
  writeFileSync(path.join(home, 'guest.xml'), xml);
  const def = await virsh('define', '--file', path.join(home, 'guest.xml'));
  expect(def.exitCode, def.stderr).toBe(0);
  const pool = await virsh('pool-create-as', POOL, 'dir', '--target', dir);
  expect(pool.exitCode, pool.stderr).toBe(0);
});

afterAll(async () => {
  await removeGuest(localHost(), GUEST);
  await virsh('pool-destroy', POOL);
  scratch.remove();
  rmSync(home, { recursive: true, force: true });
});

describe('disk inventory on the real host', () => {
  it('disk list --json: guest use, pool, missing backing file, vmdk descriptor, flat extent folded in', async () => {
    const rows = await listJson();
    const row = (name: string) => rows.find((r) => r.path === img(name)) as DiskRow;
    expect(row('used.qcow2').usedBy).toEqual([{ guest: GUEST, target: 'vda', bus: 'virtio', device: 'disk', format: 'qcow2', running: false }]);
    expect(row('used.qcow2').origins).toEqual(['dir', 'guest', 'pool']);
    expect(row('used.qcow2').pools).toEqual([POOL]);
    expect(row('used.qcow2')).toMatchObject({ format: 'qcow2', virtualSize: 4 * 1024 ** 2, allocation: 'sparse' });
    expect(row('overlay.qcow2').facts?.backingMissing).toBe(img('base.qcow2'));
    expect(row('overlay.qcow2').warnings.join(' ')).toContain(`Its backing file ${img('base.qcow2')} is missing`);
    expect(row('legacy.vmdk').facts?.vmdk).toEqual({ createType: 'monolithicSparse', adapterType: 'lsilogic', hwVersion: '6', extentFiles: [img('legacy.vmdk')] });
    expect(row('flat.vmdk').facts?.vmdk?.createType).toBe('monolithicFlat');
    expect(rows.some((r) => r.path === img('flat-flat.vmdk'))).toBe(false);
    expect(row('broken.qcow2').check).toBeNull();
  });

  it('disk list and disk info in plain text fit 80 columns and show the vmdk fields', async () => {
    const list = await cli('disk', 'list');
    expect(list.exitCode).toBe(0);
    for (const l of list.stdout.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    expect(list.stdout).toMatch(/used\.qcow2 +qcow2 +4\.0M .*vdtest-dk-/);
    const info = await cli('disk', 'info', img('legacy.vmdk'));
    expect(info.exitCode).toBe(0);
    expect(info.stdout).toContain('Format    vmdk monolithicSparse · lsilogic · hw 6');
  });

  it('a second refresh of unchanged files runs no qemu-img; the cache survives in the state dir', async () => {
    const cacheFile = path.join(home, 'state', 'disk-info-cache.json');
    // The inventory covers every guest on the host, and other test files run guests in parallel
    // whose disks change between two refreshes: only this file's images must not be queried again.
    const ours = (calls: string[][]) => calls.filter((c) => c[0] === 'qemu-img' && c.some((a) => a.startsWith(dir)));
    const counting = new CountingExecutor(new LocalExecutor());
    const inv = new DiskInventory(localHost(counting), { imageDirs: [dir], cacheFile });
    await inv.refresh();
    const before = ours(counting.calls).length;
    await inv.refresh();
    expect(ours(counting.calls).length).toBe(before);
    // A new inventory (a new virtdeck process) starts from the persisted cache.
    const fresh = new CountingExecutor(new LocalExecutor());
    await new DiskInventory(localHost(fresh), { imageDirs: [dir], cacheFile }).refresh();
    expect(ours(fresh.calls)).toEqual([]);
  });

  it('disk check: 0 on a clean image, 1 on a truncated qcow2 (remembered as a warning), 2 on a missing file', async () => {
    const clean = await cli('disk', 'check', img('clean.qcow2'));
    expect(clean.exitCode, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('no errors found');
    const broken = await cli('disk', 'check', img('broken.qcow2'), '--json');
    expect(broken.exitCode).toBe(1);
    const report = JSON.parse(broken.stdout) as { ok: boolean; check: { corruptions: number } };
    expect(report.ok).toBe(false);
    expect(report.check.corruptions).toBeGreaterThan(0);
    const rows = await listJson();
    expect(rows.find((r) => r.path === img('broken.qcow2'))?.warnings.join(' ')).toMatch(/The last check .* found \d+ corruptions/);
    const missing = await cli('disk', 'check', img('nothing.qcow2'));
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`${img('nothing.qcow2')} does not exist.`);
  });

  it('create → attach → refused delete → detach → delete, with bad input refused and nothing changed', async () => {
    const target = img('new.qcow2');
    const bad = await cli('disk', 'create', target, '--format', 'qcow2', '--size', '12QB');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('"12QB" is not a size.');
    expect(existsSync(target)).toBe(false);
    const dry = await cli('disk', 'create', target, '--format', 'qcow2', '--size', '8M', '--dry-run');
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain(`qemu-img create -q -f qcow2 ${target} 8388608`);
    expect(existsSync(target)).toBe(false);

    const made = await cli('disk', 'create', target, '--format', 'qcow2', '--size', '8M');
    expect(made.exitCode, made.stderr).toBe(0);
    expect(existsSync(target)).toBe(true);
    const again = await cli('disk', 'create', target, '--format', 'raw', '--size', '8M');
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('already exists');

    const attach = await cli('disk', 'attach', GUEST, target);
    expect(attach.exitCode, attach.stderr).toBe(0);
    expect((await virsh('domblklist', GUEST)).stdout).toMatch(new RegExp(`vdb\\s+${target.replace(/\./g, '\\.')}`));

    const refused = await cli('disk', 'delete', target, '--yes');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`new.qcow2 is used by ${GUEST} (vdb), so it is not deleted.`);
    expect(existsSync(target)).toBe(true);

    const detach = await cli('disk', 'detach', GUEST, 'vdb');
    expect(detach.exitCode, detach.stderr).toBe(0);
    expect((await virsh('domblklist', GUEST)).stdout).not.toContain('vdb');

    const noYes = await cli('disk', 'delete', target);
    expect(noYes.exitCode).toBe(2);
    expect(existsSync(target)).toBe(true);
    const del = await cli('disk', 'delete', target, '--yes');
    expect(del.exitCode, del.stderr).toBe(0);
    expect(existsSync(target)).toBe(false);
  });

  it('deleting a monolithicFlat vmdk removes its data file too', async () => {
    expect(existsSync(img('flat-flat.vmdk'))).toBe(true);
    const del = await cli('disk', 'delete', img('flat.vmdk'), '--yes');
    expect(del.exitCode, del.stderr).toBe(0);
    expect(existsSync(img('flat.vmdk'))).toBe(false);
    expect(existsSync(img('flat-flat.vmdk'))).toBe(false);
  });
});
