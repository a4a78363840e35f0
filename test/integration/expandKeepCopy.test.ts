/**
 * `disk expand --keep-copy` on the real qemu-img: before a grow in place the image is copied under
 * a hidden name, compared with the original and placed beside it as NAME.virtdeck-orig, never over
 * a file; then the image grows. The copy holds the data as it was (issue 12 item 4: a review that
 * grows in place offers a copy first).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { KEEP_PLACE } from '../../src/model/expandPlan.js';
import { cliArgv } from '../helpers/cli.js';
import { scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-exkeep-');
const dir = scratch.dir;
const MiB = 1024 * 1024;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const virtualSize = (p: string) => (JSON.parse(sh('qemu-img', ['info', '--output=json', p])) as { 'virtual-size': number })['virtual-size'];

afterAll(() => scratch.remove());

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, argv] = cliArgv(...args);
  try {
    const { stdout, stderr } = await promisify(execFile)(cmd, argv, { env: { ...process.env, VIRTDECK_HOME: join(dir, 'home') } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('disk expand --keep-copy', () => {
  it('keeps a compared copy of the original qcow2 beside it, then grows the image; the copy holds the old data and size', async () => {
    const img = join(dir, 'web.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', img, '8M']);
    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 1M 64k', img]);
    const dry = await cli('disk', 'expand', img, '--size', '+8M', '--no-grow-fs', '--keep-copy', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('A copy of the original is made first and compared with it; it stays as web.qcow2.virtdeck-orig');
    expect(readdirSync(dir).sort()).toEqual(['web.qcow2']);

    const run = await cli('disk', 'expand', img, '--size', '+8M', '--no-grow-fs', '--keep-copy', '--json');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { keptCopy: string; verifiedBytes: number };
    const kept = join(dir, 'web.qcow2.virtdeck-orig');
    expect(out.keptCopy).toBe(kept);
    expect(out.verifiedBytes).toBe(16 * MiB);
    expect(virtualSize(img)).toBe(16 * MiB);
    expect(virtualSize(kept)).toBe(8 * MiB);
    // The copy is the original's data; the hidden name is gone.
    expect(sh('qemu-io', ['-f', 'qcow2', '-c', 'read -P 0xab 1M 64k', kept])).not.toMatch(/Pattern verification failed/);
    expect(sh('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', kept, img])).toMatch(/Images are identical/);
    expect(readdirSync(dir).filter((f) => f !== 'home').sort()).toEqual(['web.qcow2', 'web.qcow2.virtdeck-orig']);
    // Private, as everything virtdeck writes.
    expect(statSync(kept).mode & 0o777).toBe(0o600);

    // A second grow with a copy would go where the first copy is: refused, nothing changed.
    const again = await cli('disk', 'expand', img, '--size', '+8M', '--no-grow-fs', '--keep-copy');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('holds the original an earlier expansion kept, and a new copy would go there.');
    expect(virtualSize(img)).toBe(16 * MiB);
  });

  it('the placing script never replaces a file, and finishes a placement an interruption cut short', () => {
    const part = join(dir, '.p.part');
    const keep = join(dir, 'p.keep');
    const place = () => execFileSync('sh', ['-c', KEEP_PLACE, 'sh', part, keep], { stdio: 'pipe' });
    writeFileSync(part, 'copy');
    writeFileSync(keep, 'someone else');
    expect(place).toThrow();
    expect(sh('cat', [keep])).toBe('someone else');
    sh('rm', [keep]);
    // Cut short after the link: the rerun only drops the hidden name.
    sh('ln', [part, keep]);
    place();
    expect(existsSync(part)).toBe(false);
    expect(sh('cat', [keep])).toBe('copy');
    // Cut short after both: the rerun does nothing.
    place();
    expect(sh('cat', [keep])).toBe('copy');
  });
});
