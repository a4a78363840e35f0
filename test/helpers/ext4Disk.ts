import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const MiB = 1024 * 1024;

/**
 * A raw disk image: an MBR with one ext4 partition from 1 MiB to the end (/dev/sda1 to
 * libguestfs) holding `files` (path in the filesystem → content; directories as needed). Made on
 * the host with sfdisk and mke2fs -d, as the demo's files disk is, where `guestfish -N fs:ext4`
 * costs an appliance launch (20–60 s under TCG).
 */
export function ext4Disk(image: string, sizeMiB: number, files: Record<string, string | Uint8Array>): void {
  const tree = `${image}.tree`;
  mkdirSync(tree, { mode: 0o755 });
  for (const [path, content] of Object.entries(files)) {
    const file = join(tree, path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, content, { mode: 0o644 });
  }
  writeFileSync(image, '');
  truncateSync(image, sizeMiB * MiB);
  execFileSync('sfdisk', ['-q', image], { input: 'label: dos\nstart=2048, type=83\n' });
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-F', '-E', `offset=${MiB}`, '-d', tree, image, String((sizeMiB - 1) * 1024)]);
  rmSync(tree, { recursive: true });
}

/**
 * Edits the ext4 of an ext4Disk image with debugfs -w, one command a line (`sif`, `mknod`,
 * `symlink`…): what a guest's root user can make and mke2fs -d would copy only from a host tree
 * holding it (setuid files, foreign owners, device nodes), so such a file never exists on the host.
 * debugfs exits 0 after a command fails; any message but its version line is a failure here.
 */
export function ext4Edit(image: string, commands: string[]): void {
  const r = spawnSync('debugfs', ['-w', '-f', '-', `${image}?offset=${MiB}`], { input: `${commands.join('\n')}\n`, encoding: 'utf8' });
  const complaints = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^debugfs \d/.test(l));
  if (r.status !== 0 || complaints.length > 0) throw new Error(`debugfs on ${image}: ${complaints.join('; ') || `exit ${r.status}`}`);
}
