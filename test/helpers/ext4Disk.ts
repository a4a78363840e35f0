import { execFileSync } from 'node:child_process';
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
