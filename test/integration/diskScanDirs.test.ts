import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
 * Images outside the configured image directories, on the real host: a guest's own directory (a
 * kept original, a restore's moved-aside copy), a disk `disk create` made elsewhere, a disk
 * detached from a guest. All stay listed, orphans marked, and one `find` scans every directory.
 */

const URI = 'qemu:///system';
const GUEST = `vdtest-dsd-${process.pid}`;
const root = path.resolve(import.meta.dirname, '../..');
const scratch = scratchDir('vdtest-dsd-');
const home = mkdtempSync(path.join(tmpdir(), 'vdtest-dsd-home-'));
const at = (...p: string[]) => path.join(scratch.dir, ...p);
const ASIDE = at('guest', 'used.qcow2.virtdeck-before-restore-20261207-040000');

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

async function list(): Promise<Map<string, DiskRow>> {
  const r = await cli('disk', 'list', '--json');
  expect(r.exitCode, r.stderr).toBe(0);
  return new Map((JSON.parse(r.stdout) as { images: DiskRow[] }).images.map((x) => [x.path, x]));
}

beforeAll(async () => {
  for (const d of ['images', 'guest', 'second', 'elsewhere']) mkdirSync(at(d), { mode: 0o755 });
  mkdirSync(path.join(home, 'config'), { recursive: true });
  // One configured directory that does not exist: find goes on with the others.
  writeFileSync(path.join(home, 'config', 'config.json'), JSON.stringify({ imageDirs: [at('images'), at('missing')] }));
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', at('images', 'free.qcow2'), '4M']);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', at('guest', 'used.qcow2'), '4M']);
  await execa('qemu-img', ['create', '-q', '-f', 'vmdk', at('guest', 'used-orig.vmdk'), '4M']);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', ASIDE, '4M']);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', at('second', 'data.qcow2'), '4M']);
  const { accel } = await detectAccel(new LocalExecutor());
  const disk = (file: string, dev: string) =>
    `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${file}'/><target dev='${dev}' bus='virtio'/></disk>`;
  const xml = `<domain type='${domainTypeFor(accel)}'><name>${GUEST}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>${disk(at('guest', 'used.qcow2'), 'vda')}${disk(at('second', 'data.qcow2'), 'vdb')}</devices></domain>`;
  writeFileSync(path.join(home, 'guest.xml'), xml);
  const def = await virsh('define', '--file', path.join(home, 'guest.xml'));
  expect(def.exitCode, def.stderr).toBe(0);
});

afterAll(async () => {
  await removeGuest(localHost(), GUEST);
  scratch.remove();
  rmSync(home, { recursive: true, force: true });
});

describe('directories beyond imageDirs, on the real host', () => {
  it("a guest's directory is scanned: the kept original and the moved-aside copy are listed as orphans", async () => {
    const rows = await list();
    expect(rows.get(at('guest', 'used.qcow2'))).toMatchObject({ orphan: false, usedBy: [{ guest: GUEST, target: 'vda' }] });
    expect(rows.get(at('guest', 'used-orig.vmdk'))).toMatchObject({ orphan: true, format: 'vmdk', usedBy: [] });
    expect(rows.get(ASIDE)).toMatchObject({ orphan: true, format: 'qcow2' });
    expect(rows.get(at('images', 'free.qcow2'))).toMatchObject({ orphan: true });
    const text = await cli('disk', 'list');
    expect(text.stdout).toMatch(/used-orig\.vmdk +vmdk +4\.0M .* orphan/);
  });

  it('every directory is scanned by one find, a missing one included', async () => {
    const counting = new CountingExecutor(new LocalExecutor());
    const inv = new DiskInventory(localHost(counting), { imageDirs: [at('images'), at('missing')], cacheFile: null });
    const snap = await inv.refresh();
    const finds = counting.calls.filter((c) => c[0] === 'find');
    expect(finds).toHaveLength(1);
    expect(finds[0]).toEqual(expect.arrayContaining([at('images'), at('missing'), at('guest'), at('second')]));
    expect(snap.rows.map((r) => r.path)).toEqual(expect.arrayContaining([at('images', 'free.qcow2'), at('guest', 'used-orig.vmdk'), ASIDE, at('second', 'data.qcow2')]));
  });

  it('a disk made with disk create in another directory stays listed, and the directory list is private', async () => {
    const made = await cli('disk', 'create', at('elsewhere', 'new.qcow2'), '--format', 'qcow2', '--size', '8M');
    expect(made.exitCode, made.stderr).toBe(0);
    const rows = await list();
    expect(rows.get(at('elsewhere', 'new.qcow2'))).toMatchObject({ orphan: true, format: 'qcow2' });
    const file = path.join(home, 'state', 'image-dirs.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).hosts.local).toContain(at('elsewhere'));
  });

  it('delete refuses a disk in use with advice that works: detach, and the disk is still listed for delete', async () => {
    const target = at('second', 'data.qcow2');
    const refused = await cli('disk', 'delete', target, '--yes');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`virtdeck disk detach ${GUEST} vdb`);
    expect(refused.stderr).toContain('stays in the Disks pane as an orphan');
    const detach = await cli('disk', 'detach', GUEST, 'vdb');
    expect(detach.exitCode, detach.stderr).toBe(0);
    // No guest disk is in that directory any more: detach recorded it.
    const rows = await list();
    expect(rows.get(target)).toMatchObject({ orphan: true, usedBy: [] });
    const del = await cli('disk', 'delete', target, '--yes');
    expect(del.exitCode, del.stderr).toBe(0);
    expect(existsSync(target)).toBe(false);
  });
});
