import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupFs, openBackupFs } from '../../src/jobs/fileRestore.js';
import { ext4Disk } from '../helpers/ext4Disk.js';
import { qemuImg, runDir, sha256, writeRun } from '../helpers/handRun.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * File-level restore: an ext4 disk with known files (built on the host, ext4Disk) becomes a
 * full run; an (empty) incremental run backs onto it, and the browse session opens the
 * incremental, so qemu follows the relative backing file. Files and a directory are extracted and
 * compared by sha256; the run images' sha256 must not change.
 */

const host = localHost();
const scratch = scratchDir('vdtest-rs-files-');
const dest = join(scratch.dir, 'dest');
const G = 'vdtest-rs-files';
const blob = randomBytes(300_000);
const hello = 'hello from the backup\n';
let inc = { name: '', dir: '' };
let full = { name: '', dir: '' };
let imageHashes: string[] = [];
let fs: BackupFs | null = null;

beforeAll(async () => {
  mkdirSync(dest, { recursive: true });
  const raw = join(scratch.dir, 'disk.img');
  // Partition + ext4 with the known files, made on the host (no appliance launch).
  // The blob also stays on the host, to compare the extracted copy with.
  writeFileSync(join(scratch.dir, 'blob.bin'), blob);
  ext4Disk(raw, 64, { 'hello.txt': hello, 'data/sub/blob.bin': blob, 'data/note': 'note\n' });
  const disk = { target: 'vda', sourcePath: '/var/lib/libvirt/images/vdtest-rs-files.qcow2', virtualSize: 64 << 20 };
  const fullAt = new Date('2026-06-01T02:00:00Z');
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, join(runDir(dest, G, fullAt, 'full'), 'vda.qcow2'));
  full = writeRun(dest, G, { at: fullAt, kind: 'full', disks: [disk] });
  const incAt = new Date('2026-06-02T02:00:00Z');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', `../${full.name}/vda.qcow2`, '-F', 'qcow2', join(runDir(dest, G, incAt, 'incremental'), 'vda.qcow2'));
  inc = writeRun(dest, G, { at: incAt, kind: 'incremental', parent: full.name, disks: [{ ...disk, backing: `../${full.name}/vda.qcow2` }] });
  imageHashes = [sha256(join(full.dir, 'vda.qcow2')), sha256(join(inc.dir, 'vda.qcow2'))];
  fs = await openBackupFs(host, inc.dir);
});

afterAll(async () => {
  await fs?.close();
  scratch.remove();
});

describe('file-level restore from an incremental run', () => {
  it('lists the filesystems', async () => {
    const list = await fs?.filesystems();
    expect(list).toEqual([expect.objectContaining({ device: '/dev/sda1', type: 'ext4', mountable: true })]);
  });

  it('lists a directory', async () => {
    const root = await fs?.list('/dev/sda1', '/');
    expect(root?.map((e) => `${e.type}:${e.name}`)).toEqual(['dir:data', 'dir:lost+found', 'file:hello.txt']);
    const sub = await fs?.list('/dev/sda1', '/data/sub');
    expect(sub).toEqual([expect.objectContaining({ name: 'blob.bin', path: '/data/sub/blob.bin', type: 'file', sizeBytes: blob.length })]);
    await expect(fs?.list('/dev/sda1', '/nope')).rejects.toThrow(/not a directory/);
  });

  it('extracts a file and a directory with identical contents; the run images are unchanged', async () => {
    const to = join(scratch.dir, 'out');
    const written = await fs?.extract('/dev/sda1', ['/hello.txt', '/data'], to);
    expect(written).toEqual([join(to, 'hello.txt'), join(to, 'data')]);
    expect(readFileSync(join(to, 'hello.txt'), 'utf8')).toBe(hello);
    expect(sha256(join(to, 'data/sub/blob.bin'))).toBe(sha256(join(scratch.dir, 'blob.bin')));
    expect(readFileSync(join(to, 'data/note'), 'utf8')).toBe('note\n');
    await expect(fs?.extract('/dev/sda1', ['/hello.txt'], to)).rejects.toThrow(/already exists/);
    expect([sha256(join(full.dir, 'vda.qcow2')), sha256(join(inc.dir, 'vda.qcow2'))]).toEqual(imageHashes);
  });
});
