import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { detectAccel, domainTypeFor } from '../../src/host/kvm.js';
import { deleteGuest } from '../../src/jobs/guestDelete.js';
import { cliArgv } from '../helpers/cli.js';

/**
 * "Delete with its disks" on qemu:///system, for file-backed disks outside any storage pool
 * (where `virsh undefine --remove-all-storage` exits 0 and removes nothing).
 */
const URI = 'qemu:///system';
const P = `vdt12b-del-${process.pid}`;
const root = path.resolve(import.meta.dirname, '../..');
const exec = new LocalExecutor();
const host: HostContext = { name: 'local', uri: URI, virshExec: exec, sysExec: exec };
let dir = '';
let type = 'qemu';

const virsh = (...args: string[]) => execa('virsh', ['-c', URI, ...args], { reject: false });

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: dir, NO_COLOR: '1' },
  });
}

async function define(name: string, disks: string[]): Promise<void> {
  const devs = disks
    .map((d, i) => `<disk type='file' device='disk'><driver name='qemu' type='${d.endsWith('.raw') ? 'raw' : 'qcow2'}'/><source file='${d}'/><target dev='vd${'abcd'[i]}' bus='virtio'/></disk>`)
    .join('\n');
  const xml = `<domain type='${type}'><name>${name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${devs}</devices></domain>`;
  const file = path.join(dir, `${name}.xml`);
  await writeFile(file, xml);
  const r = await virsh('define', file);
  expect(r.exitCode).toBe(0);
}

async function image(name: string, format = 'qcow2'): Promise<string> {
  const file = path.join(dir, `${name}.${format}`);
  await execa('qemu-img', ['create', '-q', '-f', format, file, '1M']);
  return file;
}

const defined = async (name: string) => (await virsh('domstate', name)).exitCode === 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vdt12b-del-'));
  await chmod(dir, 0o755);
  type = domainTypeFor((await detectAccel(exec)).accel);
});

afterAll(async () => {
  for (const n of ['cli', 'pane', 'shared-a', 'shared-b']) if (await defined(`${P}-${n}`)) await virsh('undefine', `${P}-${n}`, '--nvram');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('delete a guest with its disks (files outside any pool)', () => {
  it('the CLI removes every disk file the definition names', async () => {
    const name = `${P}-cli`;
    const a = await image('cli-a');
    const b = await image('cli-b', 'raw');
    await define(name, [a, b]);
    const r = await cli('guest', 'undefine', name, '--yes', '--remove-disks');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`${name}: removed the definition of ${name} and its disks ${a}, ${b}`);
    expect(await defined(name)).toBe(false);
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(false);
  }, 60_000);

  it('the console path (deleteGuest) removes them too and names each one', async () => {
    const name = `${P}-pane`;
    const a = await image('pane-a');
    await define(name, [a]);
    const r = await deleteGuest(host, name, { withDisks: true, confirmed: [a] });
    expect(r).toEqual({ deleted: [a], notDeleted: [] });
    expect(await defined(name)).toBe(false);
    expect(existsSync(a)).toBe(false);
  }, 60_000);

  it('a disk shared with another guest is refused before anything changes', async () => {
    const shared = await image('shared');
    const own = await image('own');
    await define(`${P}-shared-a`, [own, shared]);
    await define(`${P}-shared-b`, [shared]);
    await expect(deleteGuest(host, `${P}-shared-a`, { withDisks: true })).rejects.toThrow(`${shared} is also ${P}-shared-b's disk vda`);
    const r = await cli('guest', 'undefine', `${P}-shared-a`, '--yes', '--remove-disks');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`so ${P}-shared-a was not deleted and no file was removed`);
    expect(await defined(`${P}-shared-a`)).toBe(true);
    expect(existsSync(shared)).toBe(true);
    expect(existsSync(own)).toBe(true);
  }, 60_000);
});
