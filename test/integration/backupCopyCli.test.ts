import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copiesOn } from '../../src/jobs/copyState.js';
import { runCli } from '../helpers/hostileCli.js';
import { qemuImg, qemuIo, runDir, writeRun } from '../helpers/handRun.js';
import { scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * `virtdeck backup copy`, the headless twin of the Backups pane's O, through the real CLI: dry run,
 * --json, the copy recorded and shown by --list and backup list, and bad input as exit 2 with one
 * sentence (an unknown target, a wrong restic password) with nothing recorded.
 */

const scratch = scratchDir('vdtest-cpcli-');
const dest = join(scratch.dir, 'dest');
const nas = join(scratch.dir, 'nas');
const repo = join(scratch.dir, 'repo');
const GUEST = 'vdtest-cpcli-src';
const runs: string[] = [];

beforeAll(() => {
  mkdirSync(dest);
  mkdirSync(nas);
  let parent: string | null = null;
  for (const [at, kind] of [['2026-07-01T02:00:00Z', 'full'], ['2026-07-02T02:00:00Z', 'incremental']] as const) {
    const dir = runDir(dest, GUEST, new Date(at), kind);
    const image = join(dir, 'vda.qcow2');
    if (kind === 'full') qemuImg('create', '-q', '-f', 'qcow2', image, '2M');
    else qemuImg('create', '-q', '-f', 'qcow2', '-b', `../${parent}/vda.qcow2`, '-F', 'qcow2', image);
    qemuIo(image, `write -P 0x5a ${kind === 'full' ? 0 : '1M'} 64k`);
    const disk: { target: string; sourcePath: string; virtualSize: number; backing: string | null } = { target: 'vda', sourcePath: `/var/lib/libvirt/images/${GUEST}.qcow2`, virtualSize: 2 << 20, backing: parent ? `../${parent}/vda.qcow2` : null };
    const made: { name: string } = writeRun(dest, GUEST, { at: new Date(at), kind, parent, disks: [disk], domainXml: tinyGuestXml(GUEST, { disk: disk.sourcePath }) });
    parent = made.name;
    runs.push(made.name);
  }
  const good = join(scratch.dir, 'good.pw');
  writeFileSync(good, 'right-one\n', { mode: 0o600 });
  writeFileSync(join(scratch.dir, 'wrong.pw'), 'wrong-one\n', { mode: 0o600 });
  execFileSync('restic', ['init', `--repo=${repo}`], { env: { ...process.env, RESTIC_PASSWORD_FILE: good }, stdio: 'ignore' });
  mkdirSync(join(scratch.dir, 'home', 'config'), { recursive: true });
  writeFileSync(
    join(scratch.dir, 'home', 'config', 'config.json'),
    JSON.stringify({
      backup: {
        defaultDestination: dest,
        copyTargets: [
          { name: 'nas', type: 'dir', path: nas },
          { name: 'vault', type: 'restic', repository: repo, passwordFile: join(scratch.dir, 'wrong.pw') },
        ],
      },
    }),
  );
});
afterAll(() => scratch.remove());

const cli = (...args: string[]) => runCli(args, { cwd: scratch.dir });

describe('virtdeck backup copy', () => {
  it('--dry-run --json lists the finished runs it would send and sends nothing', async () => {
    const r = await cli('backup', 'copy', '--all', '--to', 'nas', '--dry-run', '--json');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; planned: { run: string }[] };
    expect(out.dryRun).toBe(true);
    expect(out.planned.map((p) => p.run)).toEqual(runs);
    expect(readdirSync(nas)).toEqual([]);
  });

  it('copies, then --list and backup list show where each run has copies', async () => {
    const r = await cli('backup', 'copy', GUEST, '--to', 'nas', '--json');
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout) as { copied: { run: string }[] }).copied.map((c) => c.run)).toEqual(runs);
    expect(readdirSync(join(nas, GUEST)).sort()).toEqual(runs);
    const list = JSON.parse((await cli('backup', 'copy', '--list', '--to', 'nas', '--json')).stdout) as { copies: { run: string }[] };
    expect(list.copies.map((c) => c.run)).toEqual(runs);
    const text = await cli('backup', 'list');
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`${runs[1]}.*copies: nas`));
  });

  it('an unknown target and a wrong restic password are exit 2 with one sentence; nothing is recorded', async () => {
    const unknown = await cli('backup', 'copy', '--all', '--to', 'nope');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('There is no copy target named nope (configured: nas, vault).');
    const wrong = await cli('backup', 'copy', '--all', '--to', 'vault');
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain(`The password in ${join(scratch.dir, 'wrong.pw')} does not open the restic repository ${repo}.`);
    expect(copiesOn('vault', join(scratch.dir, 'home', 'state'))).toEqual([]);
  });
});
