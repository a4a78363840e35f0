import { createHash } from 'node:crypto';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgv } from '../helpers/cli.js';

/**
 * "Is this disk in use?" must compare files, not names (issue 10, item 3). A running guest of our
 * own has its disk reached through another name — a symlink, a hard link, a bind mount of its
 * directory, and (a second guest) a second device node of its loop device — and the real CLI is
 * asked to delete, convert with removal or repoint, expand, and restore over each name. Every one
 * must be refused with exit 2 naming the guest, the disk must be byte-identical afterwards, the
 * name still there, and the guest still running.
 */

const URI = 'qemu:///system';
const root = path.resolve(import.meta.dirname, '../..');
const RUN = `vdsec-id-run-${process.pid}`;
const BAK = `vdsec-id-bak-${process.pid}`;
const BLK = `vdsec-id-blk-${process.pid}`;
const LIST = `vdsec-id-sym-${process.pid}`;

let dir = '';
let home = '';
let disk = '';
let mnt = '';
let mounted = false;
let loop = '';
let blkBacking = '';
let blkNode = '';
let blkRunning = false;
let backups = '';
const aliases: Record<string, string> = {};

function virsh(...args: string[]) {
  return execa('virsh', ['-c', URI, ...args], { reject: false });
}

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: home, NO_COLOR: '1' },
    timeout: 120_000,
  });
}

function sha(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function state(name: string): Promise<string> {
  return (await virsh('domstate', '--domain', name)).stdout.trim();
}

function domainXml(name: string, diskXml: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    ${diskXml}
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>`;
}

function fileDisk(source: string, format: string): string {
  return `<disk type='file' device='disk'><driver name='qemu' type='${format}'/><source file='${source}'/><target dev='vda' bus='virtio'/></disk>`;
}

async function define(name: string, xml: string): Promise<void> {
  const file = path.join(home, `${name}.xml`);
  writeFileSync(file, xml);
  const r = await virsh('define', '--file', file);
  if (r.exitCode !== 0) throw new Error(`define ${name}: ${r.stderr}`);
}

/** The same definition (same UUID, so libvirt redefines it) with its disk at another file. */
function pointedAt(xml: string, file: string): string {
  return xml.replace(/<source file='[^']*'/, `<source file='${file}'`);
}

async function remove(name: string): Promise<void> {
  await virsh('destroy', '--domain', name);
  await virsh('undefine', '--domain', name, '--nvram');
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vdsec-id-'));
  // QEMU runs as libvirt-qemu and must get through to the disks.
  chmodSync(dir, 0o755);
  home = mkdtempSync(path.join(tmpdir(), 'vdsec-id-home-'));
  const img = path.join(dir, 'img');
  mkdirSync(img, { mode: 0o755 });
  // A vmdk: expansion refuses it while in use, so "refused" is the right answer for every action.
  disk = path.join(img, 'run.vmdk');
  await execa('qemu-img', ['create', '-q', '-f', 'vmdk', disk, '1M']);
  await define(RUN, domainXml(RUN, fileDisk(disk, 'vmdk')));
  const started = await virsh('start', '--domain', RUN);
  if (started.exitCode !== 0) throw new Error(`start ${RUN}: ${started.stderr}`);

  aliases.symlink = path.join(dir, 'link.vmdk');
  symlinkSync(disk, aliases.symlink);
  aliases['hard link'] = path.join(dir, 'hard.vmdk');
  linkSync(disk, aliases['hard link']);
  mnt = path.join(dir, 'mnt');
  mkdirSync(mnt, { mode: 0o755 });
  await execa('mount', ['--bind', img, mnt]);
  mounted = true;
  aliases['bind mount'] = path.join(mnt, 'run.vmdk');

  // A guest to restore: shut off, its own disk, one real backup run of it.
  const own = path.join(dir, 'bak.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', own, '1M']);
  await define(BAK, domainXml(BAK, fileDisk(own, 'qcow2')));
  backups = path.join(dir, 'backups');
  mkdirSync(backups, { mode: 0o700 });
  const b = await cli('backup', 'run', BAK, '--dest', backups);
  if (b.exitCode !== 0) throw new Error(`backup run: ${b.stdout}\n${b.stderr}`);

  // A running guest on a loop device, and a second device node of that device under another name.
  try {
    blkBacking = path.join(dir, 'blk.raw');
    writeFileSync(blkBacking, Buffer.alloc(1 << 20, 0x5a));
    loop = (await execa('losetup', ['-f', '--show', blkBacking])).stdout.trim();
    const rdev = statSync(loop).rdev;
    blkNode = path.join(dir, 'blk-node');
    await execa('mknod', [blkNode, 'b', String(Math.floor(rdev / 256) & 0xfff), String(rdev & 0xff)]);
    await define(BLK, domainXml(BLK, `<disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='${loop}'/><target dev='vda' bus='virtio'/></disk>`));
    blkRunning = (await virsh('start', '--domain', BLK)).exitCode === 0;
  } catch {
    blkRunning = false;
  }
}, 300_000);

afterAll(async () => {
  for (const name of [RUN, BAK, BLK, LIST]) await remove(name);
  if (mounted) await execa('umount', [mnt], { reject: false });
  if (loop) await execa('losetup', ['-d', loop], { reject: false });
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (home) rmSync(home, { recursive: true, force: true });
}, 120_000);

/**
 * The refusal every attempt must get (exit 2, naming the guest and its own name for the disk), and
 * the proof that nothing happened to the disk or the guest.
 */
async function expectRefused(r: Awaited<ReturnType<typeof cli>>, guest: string, uses: string, file: string, hash: string, alias: string): Promise<void> {
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
  expect(r.stderr).toContain(guest);
  expect(r.stderr.replace(/\s+/g, ' ')).toContain(uses);
  expect(sha(file)).toBe(hash);
  expect(lstatSync(alias)).toBeTruthy();
  expect(await state(guest)).toBe('running');
}

describe.each(['symlink', 'hard link', 'bind mount'])('a running guest’s disk reached through a %s', (kind) => {
  const alias = () => aliases[kind] as string;

  it('disk delete is refused', async () => {
    const before = sha(disk);
    const r = await cli('disk', 'delete', alias(), '--yes');
    await expectRefused(r, RUN, disk, disk, before, alias());
    expect(r.stderr).toMatch(/shut .* down|detach/i);
  }, 120_000);

  it('disk convert --remove-original is refused', async () => {
    const before = sha(disk);
    const r = await cli('disk', 'convert', alias(), '--to', 'raw', '--dest', path.join(dir, `conv-${kind.replace(' ', '-')}.raw`), '--remove-original');
    await expectRefused(r, RUN, disk, disk, before, alias());
    expect(existsSync(path.join(dir, `conv-${kind.replace(' ', '-')}.raw`))).toBe(false);
  }, 120_000);

  it('disk convert --repoint is refused, naming the running guest', async () => {
    const before = sha(disk);
    const r = await cli('disk', 'convert', alias(), '--to', 'qcow2', '--dest', path.join(dir, `rep-${kind.replace(' ', '-')}.qcow2`), '--repoint');
    await expectRefused(r, RUN, disk, disk, before, alias());
  }, 120_000);

  it('disk expand is refused', async () => {
    const before = sha(disk);
    const r = await cli('disk', 'expand', alias(), '--size', '+1M', '--no-grow-fs');
    await expectRefused(r, RUN, disk, disk, before, alias());
  }, 120_000);

  it('backup restore over it (another guest naming it as its disk) is refused', async () => {
    const before = sha(disk);
    const own = (await virsh('dumpxml', '--inactive', BAK)).stdout;
    await define(BAK, pointedAt(own, alias()));
    try {
      const r = await cli('backup', 'restore', BAK, '--dest', backups, '--keep-xml', '--delete-old');
      await expectRefused(r, RUN, disk, disk, before, alias());
    } finally {
      await define(BAK, own);
    }
  }, 120_000);
});

describe('a running guest’s loop device reached through a second device node (same major:minor, another inode)', () => {
  const attempts: [string, () => Promise<Awaited<ReturnType<typeof cli>>>][] = [
    ['disk delete', () => cli('disk', 'delete', blkNode, '--yes')],
    ['disk convert --remove-original', () => cli('disk', 'convert', blkNode, '--to', 'qcow2', '--dest', path.join(dir, 'blk.qcow2'), '--remove-original')],
    ['disk expand', () => cli('disk', 'expand', blkNode, '--size', '+1M', '--no-grow-fs')],
    [
      'backup restore over it',
      async () => {
        const own = (await virsh('dumpxml', '--inactive', BAK)).stdout;
        await define(BAK, pointedAt(own, blkNode));
        try {
          return await cli('backup', 'restore', BAK, '--dest', backups, '--keep-xml', '--delete-old');
        } finally {
          await define(BAK, own);
        }
      },
    ],
  ];
  for (const [name, attempt] of attempts) {
    it(`${name} is refused`, async (ctx) => {
      if (!blkRunning) ctx.skip();
      const hash = sha(blkBacking);
      await expectRefused(await attempt(), BLK, loop, blkBacking, hash, blkNode);
    }, 120_000);
  }
});

describe('the Disks list names the guest of an image it reaches through a symlink', () => {
  it('disk list --json shows the guest as the user of the real file', async () => {
    const img = path.join(dir, 'listed');
    mkdirSync(img, { mode: 0o755 });
    const real = path.join(img, 'data.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', real, '1M']);
    const link = path.join(dir, 'data-link.qcow2');
    symlinkSync(real, link);
    await define(LIST, domainXml(LIST, fileDisk(link, 'qcow2')));
    mkdirSync(path.join(home, 'config'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(home, 'config', 'config.json'), JSON.stringify({ imageDirs: [img] }), { mode: 0o600 });
    try {
      const r = await cli('disk', 'list', '--json');
      expect(r.exitCode, r.stderr).toBe(0);
      const rows = JSON.parse(r.stdout).images as { path: string; usedBy: { guest: string; target: string }[] }[];
      const row = rows.find((x) => x.path === real);
      expect(row?.usedBy.map((u) => `${u.guest}:${u.target}`)).toEqual([`${LIST}:vda`]);
    } finally {
      rmSync(path.join(home, 'config'), { recursive: true, force: true });
      await remove(LIST);
    }
  }, 120_000);
});

describe('an image no guest uses is still converted away', () => {
  it('disk convert --remove-original removes the original after asking again who uses it', async () => {
    const free = path.join(dir, 'free.qcow2');
    const dest = path.join(dir, 'free.raw');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', free, '1M']);
    const r = await cli('disk', 'convert', free, '--to', 'raw', '--dest', dest, '--remove-original');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(existsSync(free)).toBe(false);
    expect(existsSync(dest)).toBe(true);
  }, 120_000);
});
