/**
 * Issue 10, item 4 (and item 8's non-regular sources): an image from outside must not make QEMU
 * read a host file or open a connection. Every hostile input is built here with the real qemu-img:
 * a qcow2 backed by a host file, one with an external data file outside its directory, a vmdk
 * whose extent climbs out with ../, backing names that are json:{…}, nbd:// and http:// addresses,
 * and a "raw" disk dump that starts with a qcow2 header. The host file is a marker file of this
 * test (outside the images' directory), so every output image can be searched for its bytes.
 * The CLI runs as the admin would (`virtdeck disk info/check/convert`, `import vmx`, `p2v
 * --from-file`): each refusal is exit 2 with a sentence naming the file, and nothing is written.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineXml } from '../../src/host/virsh.js';
import { readImageFormats } from '../../src/jobs/newGuest.js';
import { UserError } from '../../src/model/userError.js';
import { cliArgv } from '../helpers/cli.js';
import { writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';
import { tinyVmx } from '../helpers/tinyVmx.js';

const URI = 'qemu:///system';
const root = resolve(import.meta.dirname, '../..');
const host = localHost();
const scratch = mkdtempSync(join(tmpdir(), 'vdsec-im-'));
chmodSync(scratch, 0o755);
const home = join(scratch, 'home');
const secretDir = join(scratch, 'host');
const SECRET = join(secretDir, 'secret.txt');
const inDir = join(scratch, 'in');
const outDir = join(scratch, 'out');
const MARKER = `VDSEC-IM-MARKER-${randomBytes(6).toString('hex')}`;
const GUESTS = ['vdsec-im-evil', 'vdsec-im-p2v', 'vdsec-im-p2v-odd', 'vdsec-im-restored', 'vdsec-im-attach'];
const inFile = (name: string) => join(inDir, name);

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    timeout: 90_000,
    env: { VIRTDECK_HOME: home, NO_COLOR: '1', LANG: 'C.UTF-8' },
  });
}

/** Every file under `dir` (recursively) that holds the marker. */
function filesWithMarker(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isFile() && readFileSync(p).includes(MARKER)) found.push(p);
  }
  return found;
}

function outFiles(): string[] {
  return existsSync(outDir) ? readdirSync(outDir, { recursive: true }).map(String) : [];
}

/** A TCP listener that records every connection and closes it at once (QEMU then fails fast instead of waiting). */
async function listener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let count = 0;
  const server = createServer((s) => {
    count++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, connections: () => count };
}

let nbd: Awaited<ReturnType<typeof listener>>;
let http: Awaited<ReturnType<typeof listener>>;

const HOSTILE = {
  backing: inFile('evil-backing.qcow2'),
  dataFile: inFile('evil-datafile.qcow2'),
  extent: inFile('evil-extent.vmdk'),
  json: inFile('evil-json.qcow2'),
  nbd: inFile('evil-nbd.qcow2'),
  http: inFile('evil-http.qcow2'),
  disguised: inFile('disguised.img'),
};

function vmxText(disk: string): string {
  return tinyVmx({ name: 'vdsec-im-evil', disk });
}

beforeAll(async () => {
  for (const d of [home, secretDir, inDir, outDir]) mkdirSync(d, { recursive: true });
  mkdirSync(join(home, 'config'), { recursive: true });
  writeFileSync(join(home, 'config', 'config.json'), JSON.stringify({ imageDirs: [] }));
  // 64 KiB of marker lines: the host file every hostile image points at.
  const line = `${MARKER}\n`;
  writeFileSync(SECRET, line.repeat(Math.ceil(65536 / line.length)).slice(0, 65536));
  nbd = await listener();
  http = await listener();

  sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', SECRET, '-F', 'raw', HOSTILE.backing);
  // The data file is made outside the image's directory, then filled with the host's secret.
  const outsideData = join(secretDir, 'data.raw');
  sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-o', `data_file=${outsideData},data_file_raw=on`, HOSTILE.dataFile, '64K');
  writeFileSync(outsideData, readFileSync(SECRET));
  writeFileSync(HOSTILE.extent, ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe', 'parentCID=ffffffff', 'createType="monolithicFlat"', '', 'RW 128 FLAT "../host/secret.txt" 0', '', 'ddb.adapterType = "lsilogic"', 'ddb.virtualHWVersion = "6"', ''].join('\n'));
  sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-u', '-b', `json:{"file":{"driver":"file","filename":"${SECRET}"}}`, '-F', 'raw', HOSTILE.json, '64K');
  sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-u', '-b', `nbd://127.0.0.1:${nbd.port}/x`, '-F', 'raw', HOSTILE.nbd, '64K');
  sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-u', '-b', `http://127.0.0.1:${http.port}/x`, '-F', 'raw', HOSTILE.http, '64K');
  // A "raw disk dump" that is really a qcow2 header naming the host file as its backing file.
  writeFileSync(HOSTILE.disguised, readFileSync(HOSTILE.backing));
}, 120_000);

afterAll(async () => {
  for (const g of GUESTS) await removeGuest(host, g);
  nbd?.server.close();
  http?.server.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Exit 2, the path named in the sentence, not a crash. */
function expectRefused(r: Awaited<ReturnType<typeof cli>>, path: string): void {
  const said = `${r.stdout}\n${r.stderr}`;
  expect(r.exitCode, said).toBe(2);
  expect(said).toContain(path);
  expect(said).not.toMatch(/bug in virtdeck/i);
}

describe('untrusted images cannot read host files', () => {
  it('disk info and disk check refuse every hostile image, and open no connection', async () => {
    for (const path of Object.values(HOSTILE)) {
      if (path === HOSTILE.disguised) continue; // a qcow2 by content, same as evil-backing
      expectRefused(await cli('disk', 'info', path), path);
    }
    // check runs qemu-img check, another way in: one file backed by a host file, one by an address.
    for (const path of [HOSTILE.backing, HOSTILE.nbd]) expectRefused(await cli('disk', 'check', path), path);
    expect(nbd.connections(), 'qemu-img connected to the nbd:// backing address').toBe(0);
    expect(http.connections(), 'qemu-img connected to the http:// backing address').toBe(0);
  }, 300_000);

  it('disk convert refuses each hostile image and writes no image holding the host file', async () => {
    for (const [name, path] of Object.entries(HOSTILE)) {
      const dest = join(outDir, `convert-${name}.raw`);
      expectRefused(await cli('disk', 'convert', path, '--to', 'raw', '--dest', dest), path);
      expect(existsSync(dest), dest).toBe(false);
    }
    expect(filesWithMarker(outDir)).toEqual([]);
    expect(filesWithMarker(inDir)).toEqual([]);
    expect(nbd.connections() + http.connections()).toBe(0);
  }, 300_000);

  it('import vmx refuses a vmdk whose extent is ../host/secret.txt: no guest, no image', async () => {
    const vmx = inFile('evil.vmx');
    writeFileSync(vmx, vmxText('evil-extent.vmdk'));
    const r = await cli('import', 'vmx', vmx, '--convert', 'qcow2', '--dest', outDir, '--name', 'vdsec-im-evil');
    expectRefused(r, HOSTILE.extent);
    expect(filesWithMarker(outDir)).toEqual([]);
    expect(outFiles()).toEqual([]);
    const guests = sh('virsh', '-c', URI, 'list', '--all', '--name');
    expect(guests.split('\n')).not.toContain('vdsec-im-evil');
  }, 120_000);

  it('import vmx refuses a VMware snapshot whose parentFileNameHint leaves the directory', async () => {
    sh('qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'vmdk', SECRET, join(secretDir, 'base.vmdk'));
    sh('qemu-img', 'create', '-q', '-f', 'vmdk', '-b', '../host/base.vmdk', '-F', 'vmdk', inFile('evilsnap-000001.vmdk'));
    const vmx = inFile('evilsnap.vmx');
    writeFileSync(vmx, vmxText('evilsnap-000001.vmdk'));
    const r = await cli('import', 'vmx', vmx, '--convert', 'raw', '--dest', outDir, '--name', 'vdsec-im-evil');
    expectRefused(r, inFile('evilsnap-000001.vmdk'));
    expect(r.stderr).toContain('../host/base.vmdk');
    expect(filesWithMarker(outDir)).toEqual([]);
    expect(outFiles()).toEqual([]);
  }, 120_000);

  it('p2v --from-file refuses a "raw dump" whose first bytes are a qcow2 header naming a host file', async () => {
    const r = await cli('p2v', '--from-file', HOSTILE.disguised, '--name', 'vdsec-im-p2v', '--dest', outDir);
    expectRefused(r, HOSTILE.disguised);
    expect(r.stderr).toMatch(/qcow2/);
    expect(outFiles()).toEqual([]);
    expect(sh('virsh', '-c', URI, 'list', '--all', '--name').split('\n')).not.toContain('vdsec-im-p2v');
  }, 120_000);

  it('backup restore refuses a run whose image is backed by a host file, though its manifest hash matches', async () => {
    const dest = join(scratch, 'backups');
    const at = new Date('2026-06-01T02:00:00Z');
    const run = writeRun(dest, 'vdsec-im-src', { at, kind: 'full', disks: [], domainXml: tinyGuestXml('vdsec-im-src', { disk: '/nonexistent/vdsec-im-src.qcow2' }) });
    const image = join(run.dir, 'vda.qcow2');
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', SECRET, '-F', 'raw', image);
    // The attacker writes the manifest too, with the right sha256 for the hostile image.
    writeRun(dest, 'vdsec-im-src', { at, kind: 'full', disks: [{ target: 'vda', sourcePath: '/nonexistent/vdsec-im-src.qcow2', virtualSize: 65536 }], domainXml: tinyGuestXml('vdsec-im-src', { disk: '/nonexistent/vdsec-im-src.qcow2' }) });
    const to = join(outDir, 'restore');
    mkdirSync(to);
    const r = await cli('backup', 'restore', 'vdsec-im-src', '--dest', dest, '--as', 'vdsec-im-restored', '--to', to);
    expectRefused(r, image);
    expect(filesWithMarker(outDir)).toEqual([]);
    expect(readdirSync(to)).toEqual([]);
    rmSync(to, { recursive: true });
    expect(sh('virsh', '-c', URI, 'list', '--all', '--name').split('\n')).not.toContain('vdsec-im-restored');
  }, 120_000);

  it('disk attach and a new guest on existing images refuse an image backed by a host file', async () => {
    await defineXml(host, tinyGuestXml('vdsec-im-attach'));
    const r = await cli('disk', 'attach', 'vdsec-im-attach', HOSTILE.backing);
    expectRefused(r, HOSTILE.backing);
    expect(sh('virsh', '-c', URI, 'domblklist', 'vdsec-im-attach')).not.toContain(HOSTILE.backing);
    // The new-guest wizard reads the formats of the existing images it is given through the same gate.
    await expect(readImageFormats(host, [HOSTILE.dataFile])).rejects.toThrow(UserError);
    expect((await readImageFormats(host, [HOSTILE.dataFile]).catch((e: UserError) => e.sentence)) as string).toContain('external data file');
  }, 120_000);

  it('what virtdeck itself makes still converts: a relative backing file beside the image, a flat vmdk', async () => {
    const okDir = join(scratch, 'ok');
    mkdirSync(okDir);
    sh('qemu-img', 'create', '-q', '-f', 'raw', join(okDir, 'base.raw'), '1M');
    sh('qemu-io', '-f', 'raw', '-c', 'write -P 0x5a 0 64k', join(okDir, 'base.raw'));
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', join(okDir, 'top.qcow2'));
    sh('qemu-img', 'create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', join(okDir, 'flat.vmdk'), '1M');
    const a = await cli('disk', 'convert', join(okDir, 'top.qcow2'), '--to', 'raw', '--dest', join(okDir, 'top.raw'));
    expect(a.exitCode, a.stderr).toBe(0);
    sh('qemu-img', 'compare', '-f', 'qcow2', '-F', 'raw', join(okDir, 'top.qcow2'), join(okDir, 'top.raw'));
    const b = await cli('disk', 'convert', join(okDir, 'flat.vmdk'), '--to', 'qcow2', '--dest', join(okDir, 'flat.qcow2'));
    expect(b.exitCode, b.stderr).toBe(0);
    const info = await cli('disk', 'info', join(okDir, 'top.qcow2'), '--json');
    expect(info.exitCode, info.stderr).toBe(0);
  }, 180_000);
});

describe('non-regular sources are refused with exit 2, naming the path', () => {
  const odd: Record<string, string> = {};
  let socketServer: Server | null = null;

  beforeAll(async () => {
    odd.directory = join(scratch, 'a-directory');
    mkdirSync(odd.directory);
    odd.fifo = join(scratch, 'a-fifo');
    sh('mkfifo', odd.fifo);
    odd.socket = join(scratch, 'a-socket');
    socketServer = createServer(() => undefined);
    await new Promise<void>((r) => socketServer?.listen(odd.socket as string, r));
    odd.chardev = '/dev/zero';
  });

  afterAll(() => {
    socketServer?.close();
  });

  it('disk convert, disk info and disk check', async () => {
    for (const path of Object.values(odd)) {
      const dest = join(outDir, 'odd.qcow2');
      expectRefused(await cli('disk', 'convert', path, '--to', 'qcow2', '--dest', dest), path);
      expect(existsSync(dest)).toBe(false);
      expectRefused(await cli('disk', 'info', path), path);
      expectRefused(await cli('disk', 'check', path), path);
    }
  }, 300_000);

  it('p2v --from-file and import vmx', async () => {
    for (const path of Object.values(odd)) {
      expectRefused(await cli('p2v', '--from-file', path, '--name', 'vdsec-im-p2v-odd', '--dest', outDir), path);
      expectRefused(await cli('import', 'vmx', path, '--dry-run'), path);
    }
    expect(outFiles()).toEqual([]);
    // The FIFO was never opened for reading: a writer would still be waiting for one.
    expect(statSync(odd.fifo as string).isFIFO()).toBe(true);
  }, 300_000);
});
