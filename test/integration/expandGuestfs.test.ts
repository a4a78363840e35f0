import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { planFor, runExpand } from '../../src/jobs/expand.js';
import { ext4Disk } from '../helpers/ext4Disk.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * The guest side grown offline by libguestfs: an MBR disk with one ext4 partition holding a file,
 * grown by 1 GiB (sparse raw: costs nothing on disk). Built on the host (ext4Disk), so the
 * launches are the job's two (inspect, then grow-and-measure) and one to read the file back and
 * measure again.
 */

const host = localHost();
const scratch = scratchDir('vdtest-ex-gfs-');
const GiB = 1024 ** 3;

afterAll(() => scratch.remove());

describe('expansion with the partition grown by libguestfs', () => {
  it('grows partition 1 and its ext4 by 1 GiB; the file is intact', { timeout: 360_000 }, async () => {
    const env = { ...process.env, ...(await guestfsEnv(host.sysExec)) };
    const img = join(scratch.dir, 'vdtest-ex-fs.img');
    ext4Disk(img, 64, { 'hello.txt': 'virtdeck was here\n' });

    const { facts, decision } = await planFor(host, img, { size: '+1G', growFs: true });
    expect(facts.layout?.partitionTable).toBe('msdos');
    expect(decision.guestSide.kind).toBe('offline');
    expect(decision.plan.steps.map((s) => s.id)).toEqual(['resize', 'verify', 'grow-fs']);
    const outcome = await runExpand(host, facts, decision, { stateDir: join(scratch.dir, 'state') });
    expect(outcome.state).toBe('done');
    const grow = outcome.grow;
    expect(grow).toBeDefined();
    expect(grow?.fsBytesBefore).toBeLessThan(64 * 1024 * 1024);
    expect(grow?.fsBytesAfter).toBeGreaterThan(GiB * 0.9);

    const out = execFileSync('guestfish', ['--ro', '--format=raw', '-a', img, '-m', '/dev/sda1', 'cat', '/hello.txt', ':', 'statvfs', '/'], {
      env,
      encoding: 'utf8',
    });
    expect(out).toContain('virtdeck was here');
    const blocks = Number(out.match(/^blocks: (\d+)/m)?.[1]);
    const frsize = Number(out.match(/^frsize: (\d+)/m)?.[1]);
    expect(blocks * frsize).toBe(grow?.fsBytesAfter);
  });
});
