/**
 * Item 5: what virtdeck writes is not readable by other users. Through the real CLI (whose umask
 * every child inherits) on the real libvirtd: a live push backup of a running guest with a VNC
 * password (domain XML saved with --security-info), a restore of that run as a new guest, a
 * convert, and a P2V from a file. Every file written under the destination, the image directories
 * and the state directory is 0600; directories virtdeck made are 0700, or 0711 where QEMU must pass
 * (libvirt chowns the image to libvirt-qemu at start, never the directories above it). The guests
 * start from their 0600 disks, and the push backup wrote into a 0711 run directory.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path, { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cliArgv } from '../helpers/cli.js';
import { scratchDir } from '../helpers/tinyGuest.js';

const URI = 'qemu:///system';
const root = path.resolve(import.meta.dirname, '../..');
const scratch = scratchDir('vdsec-st-modes-');
const S = scratch.dir;
const home = join(S, 'home');
const img = join(S, 'img');
const dest = join(S, 'dest');
const restored = join(S, 'restored');
const p2vDir = join(S, 'p2v');
const LIVE = 'vdsec-st-live';
const RESTORED = 'vdsec-st-rest';
const P2V = 'vdsec-st-p2v';
const GUESTS = [LIVE, RESTORED, P2V];

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const virsh = (...args: string[]) => sh('virsh', '-c', URI, ...args);

function cliIn(virtdeckHome: string, ...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: virtdeckHome, NO_COLOR: '1' },
  });
}
const cli = (...args: string[]) => cliIn(home, ...args);

function removeGuests(): void {
  for (const g of GUESTS) {
    for (const args of [['destroy', '--domain', g], ['undefine', '--domain', g, '--checkpoints-metadata', '--snapshots-metadata']]) {
      try {
        virsh(...args);
      } catch {
        // not there
      }
    }
  }
}

/** Every entry below dir (not dir itself) with its permission bits. */
function walk(dir: string): { path: string; mode: number; dir: boolean }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    const st = statSync(p);
    const here = { path: p, mode: st.mode & 0o7777, dir: e.isDirectory() };
    return e.isDirectory() ? [here, ...walk(p)] : [here];
  });
}

const octal = (m: number) => m.toString(8).padStart(4, '0');
/** Files: nothing for group or others. Directories: at most search (x) for others, never r or w. */
function openToOthers(entries: ReturnType<typeof walk>): string[] {
  return entries.filter((e) => (e.dir ? (e.mode & 0o066) !== 0 : (e.mode & 0o077) !== 0)).map((e) => `${octal(e.mode)} ${e.path}`);
}

beforeAll(() => {
  removeGuests();
  for (const d of [img, dest, restored, p2vDir]) {
    mkdirSync(d);
    // The admin's image and backup directories: QEMU must be able to pass through them.
    chmodSync(d, 0o711);
  }
  const disk = join(img, 'live.qcow2');
  sh('qemu-img', 'create', '-q', '-f', 'qcow2', disk, '16M');
  sh('qemu-io', '-f', 'qcow2', '-c', 'write -P 0x5a 1M 64k', disk);
  const xml = join(S, 'live.xml');
  execFileSync('sh', ['-c', 'cat > "$1"', 'sh', xml], {
    input: `<domain type='qemu'><name>${LIVE}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/><alias name='ua-vda'/></disk>
  <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1' passwd='vdsecPw1'/></devices></domain>`,
  });
  virsh('define', '--file', xml);
  virsh('start', '--domain', LIVE);
  // A raw disk dump for P2V.
  sh('qemu-img', 'create', '-q', '-f', 'raw', join(S, 'physical.raw'), '16M');
  sh('qemu-io', '-f', 'raw', '-c', 'write -P 0x3c 0 64k', join(S, 'physical.raw'));
});

afterAll(() => {
  removeGuests();
  scratch.remove();
});

describe('files virtdeck writes are private, and guests still start', () => {
  test('live push backup: the run directory is 0711 (QEMU writes into it), its files 0600, domain.xml with the VNC password 0600', async () => {
    const r = await cli('backup', 'run', LIVE, '--dest', dest, '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const runs = readdirSync(join(dest, LIVE));
    expect(runs).toHaveLength(1);
    const run = join(dest, LIVE, runs[0] as string);
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8'));
    expect(manifest.method).toBe('backup-api');
    expect(readFileSync(join(run, 'domain.xml'), 'utf8')).toContain("passwd='vdsecPw1'");
    const entries = walk(dest);
    expect(openToOthers(entries)).toEqual([]);
    expect(entries.filter((e) => !e.dir).map((e) => octal(e.mode))).toEqual(entries.filter((e) => !e.dir).map(() => '0600'));
    expect(octal(statSync(run).mode & 0o7777)).toBe('0711');
    expect(octal(statSync(join(dest, LIVE)).mode & 0o7777)).toBe('0711');
  });

  test('restore as a new guest: its disk is 0600 and it starts from it', async () => {
    const r = await cli('backup', 'restore', LIVE, '--dest', dest, '--as', RESTORED, '--to', restored);
    expect(r.exitCode, r.stderr).toBe(0);
    const files = walk(restored);
    expect(files.length).toBeGreaterThan(0);
    expect(openToOthers(files)).toEqual([]);
    expect(files.map((e) => octal(e.mode))).toEqual(files.map(() => '0600'));
    virsh('start', '--domain', RESTORED);
    expect(virsh('domstate', '--domain', RESTORED).trim()).toBe('running');
    // libvirt gave the file to QEMU while it runs; the directory stayed as it was.
    virsh('destroy', '--domain', RESTORED);
    expect(openToOthers(walk(restored))).toEqual([]);
  });

  test('convert: the new image is 0600 and no temp directory is left', async () => {
    const src = join(img, 'conv.qcow2');
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', src, '8M');
    chmodSync(src, 0o600);
    const r = await cli('disk', 'convert', src, '--to', 'raw');
    expect(r.exitCode, r.stderr).toBe(0);
    const made = walk(img).filter((e) => e.path !== src && !e.path.endsWith('live.qcow2'));
    expect(made.map((e) => e.path)).toEqual([join(img, 'conv.raw')]);
    expect(openToOthers(made)).toEqual([]);
  });

  test('P2V from a file: the image is 0600 and the new guest starts from it', async () => {
    const r = await cli('p2v', '--from-file', join(S, 'physical.raw'), '--name', P2V, '--dest', p2vDir);
    expect(r.exitCode, r.stderr).toBe(0);
    const files = walk(p2vDir);
    expect(files.length).toBeGreaterThan(0);
    expect(openToOthers(files)).toEqual([]);
    virsh('start', '--domain', P2V);
    expect(virsh('domstate', '--domain', P2V).trim()).toBe('running');
    virsh('destroy', '--domain', P2V);
  });

  test('with "group": "kvm" in the config: the run is 0640 files in setgid 2751 directories of that group, and the push backup works', async () => {
    const groupHome = join(S, 'home-group');
    const groupDest = join(S, 'dest-group');
    mkdirSync(join(groupHome, 'config'), { recursive: true, mode: 0o700 });
    chmodSync(groupHome, 0o700);
    writeFileSync(join(groupHome, 'config', 'config.json'), JSON.stringify({ group: 'kvm' }), { mode: 0o600 });
    mkdirSync(groupDest);
    chmodSync(groupDest, 0o711);
    const r = await cliIn(groupHome, 'backup', 'run', LIVE, '--dest', groupDest, '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const kvm = Number(sh('getent', 'group', 'kvm').split(':')[2]);
    const entries = walk(groupDest).map((e) => ({ ...e, gid: statSync(e.path).gid }));
    expect(JSON.parse(readFileSync(join(entries.find((e) => e.path.endsWith('manifest.json'))?.path ?? ''), 'utf8')).method).toBe('backup-api');
    expect(entries.filter((e) => !e.dir).map((e) => [octal(e.mode), e.gid])).toEqual(entries.filter((e) => !e.dir).map(() => ['0640', kvm]));
    expect(entries.filter((e) => e.dir).map((e) => [octal(e.mode), e.gid])).toEqual(entries.filter((e) => e.dir).map(() => ['2751', kvm]));
  });

  test('the state directory: journals, logs, progress and locks are 0600 in 0700 directories', () => {
    const entries = walk(home);
    expect(entries.some((e) => e.path.endsWith('.json'))).toBe(true);
    expect(openToOthers(entries)).toEqual([]);
    expect(entries.filter((e) => e.dir && (e.mode & 0o077) !== 0).map((e) => `${octal(e.mode)} ${e.path}`)).toEqual([]);
  });
});
