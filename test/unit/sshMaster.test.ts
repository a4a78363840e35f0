/**
 * The ssh master's private directories: a kill -9 of virtdeck leaves one (its socket in it); the
 * next master removes those whose process is gone, and never a live one's or one not private.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepDeadMasters } from '../../src/host/sshMaster.js';

const root = mkdtempSync(join(tmpdir(), 'vdtest-sshmaster-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sweepDeadMasters', () => {
  it('removes the private directories of processes that are gone, and only those', () => {
    // A pid that was just used and is gone now.
    const dead = spawnSync('true').pid as number;
    const gone = join(root, `virtdeck-ssh-${dead}-abc123`);
    const live = join(root, `virtdeck-ssh-${process.pid}-def456`);
    const open = join(root, `virtdeck-ssh-${dead}-ghi789`);
    const other = join(root, 'virtdeck-ssh-notapid');
    for (const d of [gone, live, open, other]) mkdirSync(d, { mode: 0o700 });
    mkdirSync(join(gone, 'c'));
    chmodSync(open, 0o755);
    sweepDeadMasters(root);
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(live)).toBe(true);
    // Not 0700: not a directory virtdeck made, left alone.
    expect(existsSync(open)).toBe(true);
    expect(existsSync(other)).toBe(true);
  });
});
