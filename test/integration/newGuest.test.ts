import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { gatherHostFacts, NewGuestFailed, type NewGuestProgress, NewGuestRefused, runNewGuest } from '../../src/jobs/newGuest.js';
import type { NewGuestSpec } from '../../src/model/newGuest.js';

/** Real libvirtd, qemu-img and xorriso; every object is named vdtest-new-* and removed afterwards. */
const URI = 'qemu:///system';
const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: URI, virshExec: exec, sysExec: exec };
const created = new Set<string>();
let dir = '';
let domainType: 'kvm' | 'qemu' = 'qemu';
const savedHome = process.env.VIRTDECK_HOME;

/** The journals the runner left in VIRTDECK_HOME, newest last. */
function journals(): { kind: string; state: string; steps: { state: string }[] }[] {
  const jobs = join(dir, 'home', 'state', 'jobs');
  return readdirSync(jobs).sort().map((f) => JSON.parse(readFileSync(join(jobs, f), 'utf8')));
}

function virsh(...args: string[]): string {
  return execFileSync('virsh', ['-c', URI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function tryVirsh(...args: string[]): void {
  try {
    virsh(...args);
  } catch {
    // already gone
  }
}
function defined(name: string): boolean {
  return virsh('list', '--all', '--name').split('\n').includes(name);
}

function spec(name: string, over: Partial<NewGuestSpec>): NewGuestSpec {
  created.add(name);
  return {
    name,
    osType: 'linux',
    memoryMiB: 64,
    vcpus: 1,
    install: { kind: 'none' },
    network: { kind: 'user', mac: '52:54:00:aa:00:01' },
    graphics: { vnc: 'auto', listen: '127.0.0.1' },
    serial: true,
    domainType,
    ...over,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-new-'));
  // QEMU runs as libvirt-qemu and must reach the files through this directory.
  chmodSync(dir, 0o755);
  // The job journals in stateDir(); keep it away from the real one.
  process.env.VIRTDECK_HOME = join(dir, 'home');
  domainType = (await gatherHostFacts(host)).domainType;
});

afterAll(() => {
  for (const name of created) {
    tryVirsh('destroy', name);
    tryVirsh('undefine', name);
  }
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('new guest on the real libvirtd', () => {
  it('ISO install: creates the disk, defines with the CD-ROM booting first, starts', async () => {
    const src = join(dir, 'iso-src');
    mkdirSync(src);
    writeFileSync(join(src, 'README.TXT'), 'virtdeck test\n');
    const iso = join(dir, 'install.iso');
    execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, src], { stdio: 'ignore' });
    const disk = join(dir, 'vdtest-new-iso.qcow2');
    const events: NewGuestProgress[] = [];

    const result = await runNewGuest(
      host,
      spec('vdtest-new-iso', { install: { kind: 'iso', isoPath: iso }, newDisk: { path: disk, format: 'qcow2', sizeBytes: 16 * 1024 ** 2 } }),
      { start: true, onProgress: (p) => events.push(p) },
    );

    expect(result.started).toBe(true);
    expect(events.filter((e) => e.state === 'done').map((e) => e.index)).toEqual([0, 1, 2]);
    expect(existsSync(disk)).toBe(true);
    expect(virsh('domstate', 'vdtest-new-iso').trim()).toBe('running');
    const xml = virsh('dumpxml', 'vdtest-new-iso');
    expect(xml).toContain(`<domain type='${domainType}'`);
    expect(xml.indexOf(`<boot dev='cdrom'/>`)).toBeGreaterThan(0);
    expect(xml.indexOf(`<boot dev='cdrom'/>`)).toBeLessThan(xml.indexOf(`<boot dev='hd'/>`));
    expect(xml).toContain(`<source file='${iso}'`);
    expect(xml).toContain(`type='qcow2'`);
    expect(xml).toContain(`<mac address='52:54:00:aa:00:01'/>`);
  });

  it('existing image: reads its format with qemu-img, defines and starts', async () => {
    const image = join(dir, 'vdtest-new-existing.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image, '16M']);

    await runNewGuest(host, spec('vdtest-new-existing', { install: { kind: 'existing', diskPaths: [image] }, network: { kind: 'user', mac: '00:50:56:00:00:02' } }), { start: true });

    expect(virsh('domstate', 'vdtest-new-existing').trim()).toBe('running');
    const xml = virsh('dumpxml', 'vdtest-new-existing');
    expect(xml).toContain(`<driver name='qemu' type='qcow2'`);
    expect(xml).toContain(`<source file='${image}'`);
    expect(xml).not.toContain(`device='cdrom'`);
  });

  it('refuses an image another guest uses, naming it, even through a symlink; nothing is defined', async () => {
    const image = join(dir, 'vdtest-new-existing.qcow2'); // the previous test's guest holds it
    const alias = join(dir, 'alias.qcow2');
    symlinkSync(image, alias);
    for (const path of [image, alias]) {
      const attempt = runNewGuest(host, spec('vdtest-new-refused', { install: { kind: 'existing', diskPaths: [path] } }), { start: true });
      await expect(attempt).rejects.toBeInstanceOf(NewGuestRefused);
      await expect(attempt).rejects.toMatchObject({ sentence: `The disk image ${path} is already used by the guest vdtest-new-existing.` });
    }
    expect(defined('vdtest-new-refused')).toBe(false);
  });

  it('a start that fails undoes the define and removes only the disk it created', async () => {
    // QEMU cannot bind a VNC port that is taken, so the start fails after define.
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(5977, '127.0.0.1', resolve));
    const disk = join(dir, 'vdtest-new-undo.qcow2');
    const states: string[] = [];
    try {
      const attempt = runNewGuest(
        host,
        spec('vdtest-new-undo', { newDisk: { path: disk, format: 'raw', sizeBytes: 4 * 1024 ** 2 }, graphics: { vnc: 5977, listen: '127.0.0.1' } }),
        { start: true, onProgress: (p) => states.push(`${p.index}:${p.state}`) },
      );
      await expect(attempt).rejects.toBeInstanceOf(NewGuestFailed);
    } finally {
      server.close();
    }
    expect(states).toEqual(['0:running', '0:done', '1:running', '1:done', '2:running', '2:failed', '1:undoing', '1:undone', '0:undoing', '0:undone']);
    expect(defined('vdtest-new-undo')).toBe(false);
    expect(existsSync(disk)).toBe(false);
    const last = journals().at(-1);
    expect(last?.kind).toBe('new-guest');
    expect(last?.state).toBe('failed');
    expect(last?.steps.map((s) => s.state)).toEqual(['undone', 'undone', 'failed']);
  });

  it('never overwrites an existing file with a new disk', async () => {
    const disk = join(dir, 'keep-me.raw');
    writeFileSync(disk, 'precious');
    const attempt = runNewGuest(host, spec('vdtest-new-clobber', { newDisk: { path: disk, format: 'raw', sizeBytes: 1024 ** 2 } }), { start: false });
    await expect(attempt).rejects.toMatchObject({ sentence: expect.stringContaining('never overwrites') });
    expect(defined('vdtest-new-clobber')).toBe(false);
    expect(execFileSync('cat', [disk], { encoding: 'utf8' })).toBe('precious');
  });
});
