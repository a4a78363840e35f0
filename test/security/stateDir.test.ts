/**
 * Item 7: a journal planted in a state directory another user can write (or owns) is refused by
 * `virtdeck recover --finish` with exit 2 and the chmod/chown that fixes it, and its command never
 * runs; in a well-owned directory, a journal of a kind no plan builder makes, or with a program,
 * script or helper file its kind never uses, is refused the same way.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeEach, describe, expect, test } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { cliArgv } from '../helpers/cli.js';

const URI = 'qemu:///system';
const root = path.resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'vdsec-st-state-'));
const NOBODY = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
let home = '';
let n = 0;

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeEach(() => {
  home = join(scratch, `home${n++}`);
  mkdirSync(join(home, 'state', 'jobs'), { recursive: true, mode: 0o700 });
  chmodSync(home, 0o700);
  chmodSync(join(home, 'state'), 0o700);
});

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: home, NO_COLOR: '1' },
  });
}

/** A journal as an attacker would write it: interrupted (dead pid), first step still to run. */
function plant(plan: Plan, id = `20260101T000000000Z-${plan.kind}-${(n * 7919).toString(16).padStart(6, '0')}`): { id: string; file: string } {
  const now = new Date().toISOString();
  const rec = {
    id,
    kind: plan.kind,
    title: plan.title,
    uri: URI,
    pid: 2 ** 22 + 4242,
    hostname: hostname(),
    createdAt: now,
    updatedAt: now,
    state: 'running',
    plan,
    steps: plan.steps.map(() => ({ state: 'pending' })),
  };
  const file = join(home, 'state', 'jobs', `${id}.json`);
  writeFileSync(file, JSON.stringify(rec), { mode: 0o600 });
  return { id, file };
}

/** A plan whose first step creates `marker`: proof that a planted command ran. */
function markerPlan(kind: string, argv: string[]): Plan {
  return { kind, title: 'harmless looking job', targets: { guests: [], images: [] }, steps: [{ id: 'x', title: 'step', command: { runsOn: 'sys', argv } }] };
}

const marker = () => join(home, 'owned');

describe('a planted journal in a state directory others can touch', () => {
  test('group-writable jobs directory: refused with exit 2 and chmod go-w; the command never runs', async () => {
    const { id } = plant(markerPlan('convert', ['qemu-img', 'create', '-q', '-f', 'raw', marker(), '1M']));
    chmodSync(join(home, 'state', 'jobs'), 0o770);
    const r = await cli('recover', '--finish', id);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/can be written by group or others/);
    expect(r.stderr).toContain(`chmod go-w ${join(home, 'state', 'jobs')}`);
    expect(existsSync(marker())).toBe(false);
  });

  test('world-writable state directory: refused the same way', async () => {
    const { id } = plant(markerPlan('convert', ['qemu-img', 'create', '-q', '-f', 'raw', marker(), '1M']));
    chmodSync(join(home, 'state'), 0o777);
    const r = await cli('recover', '--finish', id);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`chmod go-w ${join(home, 'state')}`);
    expect(existsSync(marker())).toBe(false);
  });

  test('journal file owned by another user (nobody): refused with exit 2 and the chown that fixes it', async () => {
    const { id, file } = plant(markerPlan('convert', ['qemu-img', 'create', '-q', '-f', 'raw', marker(), '1M']));
    chownSync(file, NOBODY, NOBODY);
    const r = await cli('recover', '--finish', id);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`belongs to uid ${NOBODY}`));
    expect(r.stderr).toContain(`chown root ${file}`);
    expect(existsSync(marker())).toBe(false);
  });

  test('jobs directory owned by nobody: refused; job finish too', async () => {
    const { id } = plant(markerPlan('convert', ['qemu-img', 'create', '-q', '-f', 'raw', marker(), '1M']));
    chownSync(join(home, 'state', 'jobs'), NOBODY, NOBODY);
    for (const args of [['recover', '--finish', id], ['job', 'finish', id]]) {
      const r = await cli(...args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain(`chown root ${join(home, 'state', 'jobs')}`);
    }
    expect(existsSync(marker())).toBe(false);
  });

  test('a symlinked journal is refused', async () => {
    const { id, file } = plant(markerPlan('convert', ['qemu-img', 'create', '-q', '-f', 'raw', marker(), '1M']));
    const elsewhere = join(home, 'elsewhere.json');
    execFileSync('mv', [file, elsewhere]);
    execFileSync('ln', ['-s', elsewhere, file]);
    const r = await cli('recover', '--finish', id);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/symbolic link/);
    expect(existsSync(marker())).toBe(false);
  });
});

describe('a journal in a well-owned state directory is still only what a plan builder makes', () => {
  test('an unknown job kind is refused with exit 2 and never runs', async () => {
    const { id } = plant(markerPlan('vdsec-st-evil', ['touch', marker()]));
    const r = await cli('recover', '--finish', id);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is of the kind vdsec-st-evil, which no virtdeck plan contains/);
    expect(existsSync(marker())).toBe(false);
    const j = await cli('job', 'finish', id);
    expect(j.exitCode).toBe(2);
    expect(existsSync(marker())).toBe(false);
  });

  test('a known kind with a program its builders never run, or a shell script, is refused', async () => {
    for (const argv of [['touch', marker()], ['sh', '-c', `touch ${marker()}`], ['ssh', `-oProxyCommand=touch ${marker()}`, 'x', 'true']]) {
      const { id } = plant(markerPlan(argv[0] === 'ssh' ? 'p2v' : 'convert', argv));
      const r = await cli('recover', '--finish', id);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/which no virtdeck plan contains/);
      expect(existsSync(marker())).toBe(false);
    }
  });

  test('a helper file outside virtdeck private temp directories is refused (no write as root anywhere)', async () => {
    const plan: Plan = {
      kind: 'new-guest',
      title: 'define a guest',
      targets: { guests: [], images: [] },
      steps: [{ id: 'define', title: 'define', command: { runsOn: 'virsh', argv: ['virsh', '-c', URI, 'version'] }, writesFile: { path: marker(), content: '* * * * * root touch /owned\n' } }],
    };
    const { id } = plant(plan);
    const r = await cli('recover', '--finish', id);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/writes the file/);
    expect(existsSync(marker())).toBe(false);
  });
});
