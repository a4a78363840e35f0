import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planFor, runExpand } from '../../src/jobs/expand.js';
import { ext4Disk } from '../helpers/ext4Disk.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * The guest side grown offline by libguestfs: an MBR disk with one ext4 partition holding a file,
 * grown by 256 MiB (sparse raw: costs nothing on disk): five times its size, so resize2fs adds
 * block groups past the first block of group descriptors. Not more: the appliance writes each new
 * group's inode table (2 MiB per 32 MiB on this small, 1 KiB-block ext4), which under TCG made a
 * grow by 1 GiB the slowest part of the test. Built on the host (ext4Disk), and read back on the
 * host too (sfdisk, e2fsprogs at the partition's offset), so the only launches are the job's two:
 * inspect, then grow-and-measure.
 */

const host = localHost();
const scratch = scratchDir('vdtest-ex-gfs-');
const MiB = 1024 ** 2;
const GROW = 256 * MiB;

afterAll(() => scratch.remove());

describe('expansion with the partition grown by libguestfs', () => {
  it('grows partition 1 and its ext4 by 256 MiB; the file is intact', { timeout: 360_000 }, async () => {
    const img = join(scratch.dir, 'vdtest-ex-fs.img');
    ext4Disk(img, 64, { 'hello.txt': 'virtdeck was here\n' });

    const { facts, decision } = await planFor(host, img, { size: '+256M', growFs: true });
    expect(facts.layout?.partitionTable).toBe('msdos');
    expect(decision.guestSide.kind).toBe('offline');
    expect(decision.plan.steps.map((s) => s.id)).toEqual(['resize', 'verify', 'grow-fs']);
    const outcome = await runExpand(host, facts, decision, { stateDir: join(scratch.dir, 'state') });
    expect(outcome.state).toBe('done');
    const grow = outcome.grow;
    expect(grow).toBeDefined();
    expect(grow?.fsBytesBefore).toBeLessThan(64 * MiB);
    expect(grow?.fsBytesAfter).toBeGreaterThan(GROW * 0.9);

    // The partition now ends at the disk's end, and its ext4 fills it.
    const table = JSON.parse(execFileSync('sfdisk', ['-J', img], { encoding: 'utf8' })) as { partitiontable: { partitions: { start: number; size: number }[] } };
    const part = table.partitiontable.partitions[0] as { start: number; size: number };
    expect((part.start + part.size) * 512).toBe(64 * MiB + GROW);
    const fs = `${img}?offset=${part.start * 512}`;
    const sb = execFileSync('dumpe2fs', ['-h', fs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const field = (name: string) => Number(sb.match(new RegExp(`^${name}:\\s+(\\d+)$`, 'm'))?.[1] ?? Number.NaN);
    const fsBytes = field('Block count') * field('Block size');
    expect(fsBytes).toBeLessThanOrEqual(part.size * 512);
    expect(fsBytes).toBeGreaterThan(part.size * 512 - 1024 * 1024);
    // What the job measured inside the appliance (statfs: these blocks less the metadata, some per cent).
    expect(grow?.fsBytesAfter).toBeLessThanOrEqual(fsBytes);
    expect(grow?.fsBytesAfter).toBeGreaterThan(fsBytes * 0.9);
    execFileSync('e2fsck', ['-fn', fs], { stdio: 'ignore' });
    expect(execFileSync('debugfs', ['-R', 'cat /hello.txt', fs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toBe('virtdeck was here\n');
  });
});
