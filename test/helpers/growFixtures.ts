import { execFileSync } from 'node:child_process';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Tiny sparse disk images for the offline-grow tests, one per layout the expand job must grow:
 * GPT + ext4, MBR + xfs, LVM (a PV on partition 2 holding swap and an ext4 root) and MBR + ntfs.
 * All of them are built in ONE libguestfs launch (each image is one more drive of it), and each
 * filesystem gets a /hello.txt that the test reads back after the grow.
 */

export interface GrowFixture {
  /** File name stem and the text of its /hello.txt. */
  name: 'gpt' | 'xfs' | 'lvm' | 'ntfs';
  sizeMiB: number;
  /** The filesystem that must grow, as seen in the appliance when this image is the first drive. */
  fsDevice: string;
  /** The partition that must grow (on /dev/sda when it is the first drive). */
  partition: number;
  path: string;
}

/** The VG on the LVM image; the prefix keeps it apart from anything else the appliance sees. */
export const FIXTURE_VG = 'vdtestgxvg';

// xfsprogs ≥ 5.19 refuses filesystems under 300 MB, hence the larger xfs disk (sparse: costs ~60 MiB).
const SPECS: Omit<GrowFixture, 'path'>[] = [
  { name: 'gpt', sizeMiB: 64, fsDevice: '/dev/sda1', partition: 1 },
  { name: 'xfs', sizeMiB: 320, fsDevice: '/dev/sda1', partition: 1 },
  { name: 'lvm', sizeMiB: 128, fsDevice: `/dev/${FIXTURE_VG}/root`, partition: 2 },
  { name: 'ntfs', sizeMiB: 64, fsDevice: '/dev/sda1', partition: 1 },
];

/** The device a fixture's own /dev/sda name has when it is drive number `index` of a launch. */
export function onDrive(device: string, index: number): string {
  return device.replace(/^\/dev\/sda/, `/dev/sd${String.fromCharCode(97 + index)}`);
}

function buildScript(fixtures: GrowFixture[]): string {
  const lines = ['run'];
  fixtures.forEach((f, i) => {
    const d = onDrive('/dev/sda', i);
    if (f.name === 'gpt') lines.push(`part-disk ${d} gpt`, `mkfs ext4 ${d}1`);
    if (f.name === 'xfs') lines.push(`part-disk ${d} mbr`, `mkfs xfs ${d}1`);
    if (f.name === 'ntfs') lines.push(`part-disk ${d} mbr`, `part-set-mbr-id ${d} 1 0x07`, `mkfs ntfs ${d}1`);
    if (f.name === 'lvm') {
      // A 32 MiB /boot-like partition 1, the PV on partition 2 to the end; swap first in the VG, so
      // the root LV is not simply the last extent range.
      lines.push(
        `part-init ${d} mbr`,
        `part-add ${d} p 2048 67583`,
        `part-add ${d} p 67584 -1`,
        `mkfs ext4 ${d}1`,
        `pvcreate ${d}2`,
        `vgcreate ${FIXTURE_VG} ${d}2`,
        `lvcreate swap ${FIXTURE_VG} 8`,
        `lvcreate root ${FIXTURE_VG} 48`,
        `mkswap /dev/${FIXTURE_VG}/swap`,
        `mkfs ext4 /dev/${FIXTURE_VG}/root`,
      );
    }
    lines.push(`mount ${onDrive(f.fsDevice, i)} /`, `write /hello.txt "${f.name} was here"`, 'umount-all');
  });
  return `${lines.join('\n')}\n`;
}

/** Creates the four images in `dir` with one guestfish launch. */
export function buildGrowFixtures(dir: string, env: NodeJS.ProcessEnv): GrowFixture[] {
  const fixtures = SPECS.map((s) => ({ ...s, path: join(dir, `vdtest-gx-${s.name}.raw`) }));
  for (const f of fixtures) {
    writeFileSync(f.path, '');
    truncateSync(f.path, f.sizeMiB * 1024 * 1024);
  }
  const drives = fixtures.flatMap((f) => ['-a', f.path]);
  execFileSync('guestfish', ['--rw', '--format=raw', ...drives], { env, input: buildScript(fixtures), encoding: 'utf8', timeout: 300_000 });
  return fixtures;
}

export interface MeasuredFixture {
  diskBytes: number;
  /** The grown partition's size. */
  partitionBytes: number;
  /** statvfs blocks × frsize of the filesystem that grew. */
  fsBytes: number;
  hello: string;
  /** LVM only: each LV's size. */
  lvBytes: Record<string, number>;
}

const MARK = '@@vdtest-gx';

/** ONE read-only launch over all images: disk, partition, filesystem and LV sizes, and /hello.txt. */
export function measureFixtures(fixtures: GrowFixture[], env: NodeJS.ProcessEnv): Map<string, MeasuredFixture> {
  const lines = ['run'];
  fixtures.forEach((f, i) => {
    const d = onDrive('/dev/sda', i);
    lines.push(`echo ${MARK} ${f.name} disk`, `blockdev-getsize64 ${d}`);
    lines.push(`echo ${MARK} ${f.name} part`, `blockdev-getsize64 ${d}${f.partition}`);
    if (f.name === 'lvm') {
      for (const lv of ['root', 'swap']) lines.push(`echo ${MARK} ${f.name} lv-${lv}`, `blockdev-getsize64 /dev/${FIXTURE_VG}/${lv}`);
    }
    lines.push(`mount-ro ${onDrive(f.fsDevice, i)} /`, `echo ${MARK} ${f.name} hello`, 'cat /hello.txt', `echo ${MARK} ${f.name} fs`, 'statvfs /', 'umount-all');
  });
  const drives = fixtures.flatMap((f) => ['-a', f.path]);
  const out = execFileSync('guestfish', ['--ro', '--format=raw', ...drives], { env, input: `${lines.join('\n')}\n`, encoding: 'utf8', timeout: 300_000 });
  const blocks = new Map<string, string[]>();
  let cur: string[] = [];
  for (const line of out.split('\n')) {
    const m = line.match(new RegExp(`^${MARK} (\\S+ \\S+)$`));
    if (m) {
      cur = [];
      blocks.set(m[1] as string, cur);
    } else if (line.trim()) cur.push(line.trim());
  }
  const num = (key: string) => Number(blocks.get(key)?.[0] ?? Number.NaN);
  const field = (ls: string[], k: string) => Number(ls.find((l) => l.startsWith(`${k}:`))?.split(':')[1] ?? Number.NaN);
  const result = new Map<string, MeasuredFixture>();
  for (const f of fixtures) {
    const fs = blocks.get(`${f.name} fs`) ?? [];
    result.set(f.name, {
      diskBytes: num(`${f.name} disk`),
      partitionBytes: num(`${f.name} part`),
      fsBytes: field(fs, 'blocks') * field(fs, 'frsize'),
      hello: (blocks.get(`${f.name} hello`) ?? []).join('\n'),
      lvBytes: f.name === 'lvm' ? { root: num('lvm lv-root'), swap: num('lvm lv-swap') } : {},
    });
  }
  return result;
}
