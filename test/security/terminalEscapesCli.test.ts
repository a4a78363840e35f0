import { mkdirSync } from 'node:fs';
import path, { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { cliArgv } from '../helpers/cli.js';
import { ext4Disk } from '../helpers/ext4Disk.js';
import { qemuImg, runDir, writeRun } from '../helpers/handRun.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/**
 * A guest's root names a file `evil<ESC>]2;owned<BEL>name` (an OSC title sequence; on terminals
 * that honour OSC 52 the same trick writes the admin's clipboard). `virtdeck backup files` lists
 * that directory from a backup run: the admin's terminal must get the sequence written out as
 * text, never the raw bytes; `--json` keeps the exact name. The disk is built on the host
 * (ext4Disk); one libguestfs launch lists it.
 */

const root = path.resolve(import.meta.dirname, '../..');
const scratch = scratchDir('vdsec-dp-');
const dest = join(scratch.dir, 'dest');
const G = 'vdsec-dp-files';
const evil = 'evil\u001b]2;owned\u0007name';
let run = '';
let env: Record<string, string> = {};

beforeAll(async () => {
  mkdirSync(dest, { recursive: true });
  env = await guestfsEnv(new LocalExecutor());
  const raw = join(scratch.dir, 'disk.img');
  ext4Disk(raw, 32, { [evil]: 'x\n', 'plain.txt': 'y\n' });
  const at = new Date('2026-06-01T02:00:00Z');
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, join(runDir(dest, G, at, 'full'), 'vda.qcow2'));
  run = writeRun(dest, G, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: '/var/lib/libvirt/images/vdsec-dp-files.qcow2', virtualSize: 32 << 20 }] }).name;
}, 240_000);

afterAll(() => scratch.remove());

describe('backup files prints a guest file name', () => {
  it('with its escape sequence made visible', async () => {
    const r = await execa(...cliArgv('backup', 'files', G, run, '/dev/sda1:/', '--dest', dest), {
      reject: false,
      cwd: root,
      env: { ...env, VIRTDECK_HOME: join(scratch.dir, 'home'), NO_COLOR: '1' },
      timeout: 240_000,
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('plain.txt');
    expect(r.stdout).toContain('evil\\x1b]2;owned\\x07name');
    expect(r.stdout).not.toMatch(/[\u0007\u001b]/);
  }, 240_000);
});
