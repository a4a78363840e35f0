/**
 * Prune removes run directories with rm -rf. A leftover RUN.deleting that is a bind mount of a
 * directory outside the destination (or a run whose real path leaves it) must stop the prune
 * before anything is removed: the outside directory's files survive, and so do the other runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prune } from '../../src/jobs/prune.js';
import { runDirName } from '../../src/model/backupManifest.js';
import { writeRun } from '../helpers/handRun.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdsec-fu-prune-');
const dest = join(scratch.dir, 'dest');
const outside = join(scratch.dir, 'outside');
const G = 'vdsec-fu-prune';
const now = new Date('2026-06-10T12:00:00Z');
const leftover = join(dest, G, `${runDirName(new Date('2026-06-04T02:00:00Z'), 'full')}.deleting`);
let mounted = false;

beforeAll(() => {
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'precious'), 'host data\n');
  const disk = { target: 'vda', sourcePath: '/var/lib/libvirt/images/x.qcow2', virtualSize: 1 << 20 };
  writeRun(dest, G, { at: new Date('2026-06-01T02:00:00Z'), kind: 'full', disks: [disk] });
  writeRun(dest, G, { at: new Date('2026-06-05T02:00:00Z'), kind: 'full', disks: [disk] });
  mkdirSync(leftover);
  execFileSync('mount', ['--bind', outside, leftover]);
  mounted = true;
});

afterAll(() => {
  if (mounted) execFileSync('umount', [leftover]);
  scratch.remove();
});

describe('prune stays inside the destination', () => {
  it('a leftover RUN.deleting that is a bind mount of an outside directory stops the prune; nothing is removed', async () => {
    const err = await prune(host, dest, { keepLast: 1 }, { guests: [G], now }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(existsSync(join(outside, 'precious'))).toBe(true);
    expect(err).toMatchObject({ name: 'UserError' });
    expect(String((err as Error).message)).toMatch(/mount point/);
    // The run that retention would remove is still there too: the check comes before any removal.
    expect(existsSync(join(dest, G, runDirName(new Date('2026-06-01T02:00:00Z'), 'full'), 'manifest.json'))).toBe(true);
  });
});
