import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { cliArgv } from '../helpers/cli.js';

/**
 * A run whose manifest cannot be trusted (not JSON, missing, a symlink to a host file) is never
 * hidden and never read through: `backup list` shows it as damaged, and `backup restore|files`
 * refuse with exit 2 and a sentence naming the run directory or manifest and what is wrong — not
 * "no backups", and not the host file's contents.
 */

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'vdsec-rs-manifest-'));
const dest = join(dir, 'dest');
const G = 'vdsec-rs-web';
const BROKEN = '20260601T020000Z-full';
const MISSING = '20260602T020000Z-full';
const LINKED = '20260603T020000Z-full';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', 'qemu:///system', ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: join(dir, 'home'), NO_COLOR: '1' },
  });
}

describe('damaged manifests', () => {
  it('are listed as damaged and refused by name with exit 2', async () => {
    for (const r of [BROKEN, MISSING, LINKED]) mkdirSync(join(dest, G, r), { recursive: true });
    writeFileSync(join(dest, G, BROKEN, 'manifest.json'), '{"version": 1, "guest": ');
    symlinkSync('/etc/passwd', join(dest, G, LINKED, 'manifest.json'));

    const list = await cli('backup', 'list', '--dest', dest);
    expect(list.exitCode, list.stderr).toBe(0);
    for (const r of [BROKEN, MISSING, LINKED]) expect(list.stdout).toMatch(new RegExp(`${r} +\\(damaged: `));
    expect(list.stdout).not.toContain('root:');

    const newest = await cli('backup', 'restore', G, '--dest', dest, '--as', 'vdsec-rs-web-new', '--to', dir);
    expect(newest.exitCode).toBe(2);
    expect(newest.stderr).toContain(`${join(dest, G, LINKED, 'manifest.json')} is not a regular file`);

    const broken = await cli('backup', 'restore', G, BROKEN, '--dest', dest, '--as', 'vdsec-rs-web-new', '--to', dir);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toContain(`${join(dest, G, BROKEN, 'manifest.json')} is not valid JSON`);

    const missing = await cli('backup', 'files', G, MISSING, '--dest', dest);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`${join(dest, G, MISSING)} has no manifest.json`);
  }, 120_000);
});
