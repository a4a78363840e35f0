/**
 * File-level restore copies a guest's files out with guestfish copy-out, which unpacks a guest-made
 * tar as root on the host. A guest's root user can put a setuid-root binary, a world-writable file,
 * a setgid directory, a device node or a FIFO there. Extracted through the real CLI, none of that
 * may reach the admin's target: no setuid/setgid/sticky bit, no device node or FIFO, nothing
 * group/other-writable, everything owned by the running user; a file copied alone is 0600; a
 * symlink stays a symlink. The ext4 image is made on the host (mke2fs -d, then debugfs for the
 * modes, owners and special files); the extract is the one libguestfs launch.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ext4Disk, ext4Edit } from '../helpers/ext4Disk.js';
import { qemuImg, runDir, writeRun } from '../helpers/handRun.js';
import { runCli } from '../helpers/hostileCli.js';
import { scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdsec-fu-rs-');
const dest = join(scratch.dir, 'dest');
const out = join(scratch.dir, 'out');
const G = 'vdsec-fu-rs';

beforeAll(() => {
  mkdirSync(dest, { recursive: true });
  const raw = join(scratch.dir, 'disk.img');
  // The files on the host (ext4Disk), what makes them hostile inside the image only (ext4Edit).
  ext4Disk(raw, 32, { 'd/suid': 'x', 'd/sgid': 's', 'd/ww': 'y', 'd/sticky/inner': 'z', top: 't' });
  ext4Edit(raw, [
    'cd /d',
    'sif suid mode 0104755',
    'sif sgid mode 0102755',
    'mknod null c 1 3',
    'sif null mode 020666',
    'mknod sda b 8 0',
    'sif sda mode 060666',
    'mknod fifo p',
    'sif fifo mode 010666',
    'sif ww uid 1234',
    'sif ww gid 1234',
    'sif ww mode 0100777',
    'sif sticky mode 043777',
    'sif sticky/inner mode 0106777',
    'symlink link /etc/shadow',
    'cd /',
    'sif top uid 1234',
    'sif top gid 1234',
    'sif top mode 0104777',
  ]);
  const at = new Date('2026-06-01T02:00:00Z');
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, join(runDir(dest, G, at, 'full'), 'vda.qcow2'));
  writeRun(dest, G, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: '/var/lib/libvirt/images/vdsec-fu-rs.qcow2', virtualSize: 32 << 20 }] });
}, 300_000);

afterAll(() => scratch.remove());

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).map((e) => join(e.parentPath, e.name));
}

describe('backup extract of hostile file modes', () => {
  it('extracts /d and /top with no setuid, device node, FIFO or writable-by-others file, all owned by the running user', async () => {
    const r = await runCli(['--connect', 'qemu:///system', 'backup', 'extract', G, 'latest', '/d', '/top', '--to', out, '--dest', dest], { cwd: scratch.dir });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const all = walk(out);
    expect(all.length).toBeGreaterThan(5);
    const uid = process.getuid?.() ?? 0;
    const bad: string[] = [];
    for (const p of all) {
      const s = lstatSync(p);
      if (s.isBlockDevice() || s.isCharacterDevice() || s.isFIFO() || s.isSocket()) bad.push(`${p}: special file`);
      if (s.uid !== uid) bad.push(`${p}: owner ${s.uid}`);
      if (s.isSymbolicLink()) continue;
      if (s.mode & 0o7000) bad.push(`${p}: mode ${(s.mode & 0o7777).toString(8)}`);
      if (s.mode & 0o022) bad.push(`${p}: writable by others ${(s.mode & 0o7777).toString(8)}`);
    }
    expect(bad).toEqual([]);
    // The harmless parts arrive: contents, the symlink as a symlink, a lone file as 0600.
    expect(readFileSync(join(out, 'd/suid'), 'utf8')).toBe('x');
    expect(readFileSync(join(out, 'd/sticky/inner'), 'utf8')).toBe('z');
    expect(lstatSync(join(out, 'd/link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(out, 'd/link'))).toBe('/etc/shadow');
    expect(lstatSync(join(out, 'top')).mode & 0o7777).toBe(0o600);
    // The admin is told what was dropped or changed.
    expect(r.stdout).toMatch(/d\/null: not extracted/);
    expect(r.stdout).toMatch(/d\/suid: setuid\/setgid\/sticky bit removed/);
    // Nothing is left behind in the target but what was asked for.
    expect(readdirSync(out).sort()).toEqual(['d', 'top']);
  }, 300_000);
});
