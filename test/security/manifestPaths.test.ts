import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDirName } from '../../src/model/backupManifest.js';
import { cliArgv } from '../helpers/cli.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/**
 * A backup manifest is outside input: whoever can write the backup disk writes it. Its `file`
 * entries must stay inside the run directory — a `../` path, an absolute path, or an image that is
 * a symlink to a host file would otherwise make `backup restore --as` produce a new image holding
 * that host file (here /etc/shadow, with a matching sha256 so only confinement can stop it), and
 * `backup files|extract` open it. Each is refused with exit 2 and no output holds the file's bytes.
 */

const URI = 'qemu:///system';
const root = resolve(import.meta.dirname, '../..');
const scratch = scratchDir('vdsec-rs-paths-');
const home = join(scratch.dir, 'home');
const SECRET = '/etc/shadow';
const secret = readFileSync(SECRET);
const secretSha = createHash('sha256').update(secret).digest('hex');

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: home, NO_COLOR: '1' },
  });
}

/** A run of GUEST under its own destination whose manifest names `file` (and maybe plants a symlink). */
function hostileRun(guest: string, file: string, symlinkTo?: string): { dest: string; run: string; runDir: string } {
  const dest = join(scratch.dir, `dest-${guest}`);
  const run = runDirName(new Date('2026-06-01T02:00:00Z'), 'full');
  const runDir = join(dest, guest, run);
  mkdirSync(runDir, { recursive: true });
  if (symlinkTo) symlinkSync(symlinkTo, join(runDir, file));
  const manifest = {
    version: 1,
    guest,
    uuid: '00000000-0000-0000-0000-000000000000',
    createdAt: '2026-06-01T02:00:00.000Z',
    finishedAt: '2026-06-01T02:01:00.000Z',
    kind: 'full',
    parent: null,
    checkpoint: null,
    method: 'offline-copy',
    consistency: 'offline',
    hostname: 'nas',
    uri: URI,
    disks: [{ target: 'vda', file, format: 'raw', sourcePath: `/var/lib/libvirt/images/${guest}.img`, sourceFormat: 'raw', virtualSize: secret.length, bytesWritten: secret.length, sha256: secretSha, backing: null }],
    note: null,
    verified: null,
  };
  writeFileSync(join(runDir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(runDir, 'domain.xml'),
    `<domain type='qemu'><name>${guest}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/libvirt/images/${guest}.img'/><target dev='vda' bus='virtio'/></disk></devices></domain>\n`,
  );
  return { dest, run, runDir };
}

/** Every file under dir (recursively), so no output anywhere escapes the check. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) out.push(...filesUnder(p));
    else if (st?.isFile()) out.push(p);
  }
  return out;
}

function holdsSecret(dir: string): string[] {
  return filesUnder(dir).filter((f) => readFileSync(f).includes(secret));
}

const depth = () => scratch.dir.split('/').filter(Boolean).length + 3;

const cases = [
  { name: 'a ../ path', guest: 'vdsec-rs-dotdot', file: () => `${'../'.repeat(depth())}etc/shadow` },
  { name: 'an absolute path', guest: 'vdsec-rs-abs', file: () => SECRET },
  { name: 'a symlink in the run directory', guest: 'vdsec-rs-link', file: () => 'vda.img', link: SECRET },
];

beforeAll(() => {
  mkdirSync(home, { recursive: true });
  expect(secret.length).toBeGreaterThan(0);
});

const OVER = 'vdsec-rs-over';

afterAll(async () => {
  for (const c of cases) await execa('virsh', ['-c', URI, 'undefine', '--domain', `${c.guest}-new`], { reject: false });
  for (const g of [OVER, 'vdsec-rs-backed-new']) await execa('virsh', ['-c', URI, 'undefine', '--domain', g], { reject: false });
  scratch.remove();
});

describe('manifest file entries stay inside the run directory', () => {
  for (const c of cases) {
    it(`${c.name} naming ${SECRET}: restore, files and extract refuse with exit 2; no output holds the host file`, async () => {
      const r = hostileRun(c.guest, c.file(), c.link);
      const to = join(scratch.dir, `out-${c.guest}`);
      mkdirSync(to);

      // Without any flag first: on the code before the fix this made a new guest whose disk held the host file.
      const restore = await cli('backup', 'restore', c.guest, r.run, '--dest', r.dest, '--as', `${c.guest}-new`, '--to', to);
      expect(holdsSecret(to)).toEqual([]);
      expect(restore.exitCode, restore.stderr).toBe(2);
      expect(restore.stderr).toContain(r.run);
      // Confinement is not damage: --allow-damaged does not open the door.
      const allowed = await cli('backup', 'restore', c.guest, r.run, '--dest', r.dest, '--as', `${c.guest}-new`, '--to', to, '--allow-damaged');
      expect(allowed.exitCode, allowed.stderr).toBe(2);

      const files = await cli('backup', 'files', c.guest, r.run, '--dest', r.dest);
      expect(files.exitCode, files.stderr).toBe(2);
      const extract = await cli('backup', 'extract', c.guest, r.run, '/etc/hostname', '--dest', r.dest, '--to', to);
      expect(extract.exitCode, extract.stderr).toBe(2);

      // The run is not hidden: `backup list` shows it (a bad manifest as damaged).
      const list = await cli('backup', 'list', '--dest', r.dest);
      expect(list.stdout).toContain(r.run);
      if (c.link === undefined) expect(list.stdout).toMatch(/damaged/);

      expect(holdsSecret(to)).toEqual([]);
      expect(holdsSecret(home)).toEqual([]);
      const defined = await execa('virsh', ['-c', URI, 'dominfo', '--domain', `${c.guest}-new`], { reject: false });
      expect(defined.exitCode).not.toBe(0);
    }, 120_000);
  }
});

describe('a restore over the guest writes only where its disks are now', () => {
  it('a manifest whose sourcePath names a host file: exit 2, the host file is untouched, nothing moved aside', async () => {
    const disk = join(scratch.dir, `${OVER}.qcow2`);
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '1M']);
    const xml = `<domain type='qemu'><name>${OVER}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`;
    writeFileSync(join(scratch.dir, 'over.xml'), xml);
    await execa('virsh', ['-c', URI, 'define', '--file', join(scratch.dir, 'over.xml')]);
    // Stands for /etc/shadow: on the code before the fix it was moved aside and replaced by the image.
    const hostFile = join(scratch.dir, 'host-file.conf');
    writeFileSync(hostFile, 'precious host configuration\n');
    const r = hostileRun(OVER, 'vda.img');
    await execa('qemu-img', ['create', '-q', '-f', 'raw', join(r.runDir, 'vda.img'), '64k']);
    const manifestPath = join(r.runDir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    m.disks[0].sourcePath = hostFile;
    m.disks[0].sha256 = createHash('sha256').update(readFileSync(join(r.runDir, 'vda.img'))).digest('hex');
    m.disks[0].virtualSize = 65536;
    writeFileSync(manifestPath, JSON.stringify(m));
    writeFileSync(join(r.runDir, 'domain.xml'), xml.replace(disk, hostFile));

    const res = await cli('backup', 'restore', OVER, r.run, '--dest', r.dest, '--delete-old');
    expect(readFileSync(hostFile, 'utf8')).toBe('precious host configuration\n');
    expect(res.exitCode, res.stderr).toBe(2);
    expect(res.stderr).toContain(hostFile);
    expect(readdirSync(scratch.dir).filter((f) => f.includes('virtdeck-before-restore') || f.includes('virtdeck-restore-tmp'))).toEqual([]);
  }, 120_000);
});

describe('a run image whose qcow2 header names a host file', () => {
  it(`a full run backed by ${SECRET}: restore and files refuse with exit 2, no output holds the host file`, async () => {
    const guest = 'vdsec-rs-backed';
    const r = hostileRun(guest, 'vda.qcow2');
    const image = join(r.runDir, 'vda.qcow2');
    // What an attacker writes onto the backup disk: a qcow2 with no data of its own, reading through to the host file.
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', SECRET, '-F', 'raw', image, String(secret.length)]);
    const manifestPath = join(r.runDir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8'));
    m.disks[0].format = 'qcow2';
    m.disks[0].sha256 = createHash('sha256').update(readFileSync(image)).digest('hex');
    writeFileSync(manifestPath, JSON.stringify(m));
    const to = join(scratch.dir, `out-${guest}`);
    mkdirSync(to);

    const res = await cli('backup', 'restore', guest, r.run, '--dest', r.dest, '--as', `${guest}-new`, '--to', to);
    expect(holdsSecret(to)).toEqual([]);
    expect(res.exitCode, res.stderr).toBe(2);
    expect(res.stderr).toContain(`builds on ${SECRET}`);
    const files = await cli('backup', 'files', guest, r.run, '--dest', r.dest);
    expect(files.exitCode, files.stderr).toBe(2);
  }, 120_000);
});
