import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRun, runCli } from '../helpers/hostileCli.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/**
 * P2V from a local source the admin got wrong: exit 2 and one sentence naming what was given (no
 * "stat failed", no "lsblk failed: {", no NaN), before anything is read or written.
 */
const scratch = scratchDir('vdt13s-p2vin-');
const dir = scratch.dir;
const OUT = join(dir, 'out');
const RAW = join(dir, 'dump.raw');
let loop = '';

beforeAll(() => {
  mkdirSync(OUT);
  mkdirSync(join(dir, 'a-directory'));
  writeFileSync(RAW, Buffer.alloc(1024 * 1024));
  // A free loop device: its node exists (losetup --find makes it), no image is attached.
  loop = execFileSync('losetup', ['--find'], { encoding: 'utf8' }).trim();
});

afterAll(() => scratch.remove());

function expectOneSentence(r: CliRun, sentence: string): void {
  expect(r.exitCode, r.stderr).toBe(2);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toBe(`virtdeck: ${sentence}`);
  expect(lines[1]).toMatch(/^ {2}fix: /);
  // One sentence and its fix: no command, no program output, no stack.
  expect(lines).toHaveLength(2);
  expect(readdirSync(OUT)).toEqual([]);
}

const p2v = (...args: string[]) => runCli(['p2v', ...args, '--name', 'vdt13s-p2vin', '--dest', OUT], { cwd: dir });

describe('p2v: local sources the admin got wrong', () => {
  it('--from-device of a loop device with no image attached', async () => {
    const r = await p2v('--from-device', loop);
    expectOneSentence(r, `${loop} is a block device with nothing behind it (a loop device with no image attached, or a disk that is gone).`);
    expect(r.stderr).toContain('losetup --find --show --read-only IMAGE');
  });

  it('--vcpus two', async () => {
    expectOneSentence(await p2v('--from-file', RAW, '--vcpus', 'two'), '"two" is not a vCPU count.');
  });

  it('--from-file of a file that does not exist', async () => {
    const missing = join(dir, 'missing.raw');
    expectOneSentence(await p2v('--from-file', missing), `${missing} does not exist.`);
  });

  it('--from-file of a directory', async () => {
    const d = join(dir, 'a-directory');
    expectOneSentence(await p2v('--from-file', d), `${d} is a directory, not a disk image file.`);
  });
});
