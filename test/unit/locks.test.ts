import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLocks, busyError, lockFileName, locksDir, lockTargets, readLocks } from '../../src/jobs/locks.js';
import { UserError } from '../../src/model/userError.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-jb-locks-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const URI = 'qemu:///system';
const owner = (jobId: string, pid = process.pid) => ({ jobId, kind: 'convert', title: `job ${jobId}`, pid, startedAt: '2025-03-01T12:03:00' });
/** A pid that certainly belonged to a process that has ended. */
const deadPid = () => spawnSync('true').pid as number;

describe('lock targets', () => {
  it('normalises image paths and drops duplicates', () => {
    expect(lockTargets({ guests: ['web', 'web'], images: ['/srv/vm//a.raw', '/srv/vm/./a.raw', '/srv/vm/b/'] })).toEqual([
      { kind: 'guest', name: 'web' },
      { kind: 'image', name: '/srv/vm/a.raw' },
      { kind: 'image', name: '/srv/vm/b' },
    ]);
  });
  it('names files per machine and target, safely', () => {
    const a = lockFileName(URI, { kind: 'image', name: '/srv/vm/a.raw' });
    expect(a).toMatch(/^image-local-_srv_vm_a\.raw-[0-9a-f]{16}\.lock$/);
    expect(lockFileName('qemu+ssh://root@host1/system', { kind: 'guest', name: 'web' })).toMatch(/^guest-host1-web-/);
    expect(lockFileName(URI, { kind: 'guest', name: 'web' })).not.toBe(lockFileName('qemu+ssh://root@host1/system', { kind: 'guest', name: 'web' }));
    expect(lockFileName(URI, { kind: 'image', name: `/${'x'.repeat(400)}` }).length).toBeLessThan(160);
  });
});

describe('acquireLocks', () => {
  it('takes every target and releases them', () => {
    const held = acquireLocks(dir, URI, { guests: ['web'], images: ['/srv/a.raw'] }, owner('job-1'));
    expect(held.paths).toHaveLength(2);
    expect(readLocks(dir).map((l) => [l.jobId, l.target.name, l.stale])).toEqual(
      expect.arrayContaining([
        ['job-1', 'web', false],
        ['job-1', '/srv/a.raw', false],
      ]),
    );
    held.release();
    expect(readdirSync(locksDir(dir))).toEqual([]);
  });

  it('refuses a target a live job holds, naming it, and keeps none of its own', () => {
    // The holder is this test process itself under another job id: alive, and not ours to take.
    const other = { ...owner('20250301T120300-convert-aaaaaa'), pid: process.ppid };
    const first = acquireLocks(dir, URI, { guests: ['web'], images: [] }, other);
    let err: unknown;
    try {
      acquireLocks(dir, URI, { guests: ['db', 'web'], images: [] }, owner('job-2'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    const u = err as UserError;
    expect(u.sentence).toBe(`web is busy: job 20250301T120300-convert-aaaaaa (convert, started 12:03 by pid ${process.ppid}) is working on it.`);
    expect(u.fix).toBe('Wait for it or cancel it (virtdeck job cancel 20250301T120300-convert-aaaaaa).');
    // db was taken before web refused: released again.
    expect(readLocks(dir).map((l) => l.target.name)).toEqual(['web']);
    first.release();
  });

  it('takes over a stale lock whose process is gone', () => {
    const dead = deadPid();
    acquireLocks(dir, URI, { guests: ['web'], images: [] }, owner('old-job', dead));
    expect(readLocks(dir)[0]?.stale).toBe(true);
    const held = acquireLocks(dir, URI, { guests: ['web'], images: [] }, owner('new-job'));
    expect(readLocks(dir).map((l) => [l.jobId, l.stale])).toEqual([['new-job', false]]);
    held.release();
  });

  it('treats a reused pid (another start time) as stale', () => {
    const held = acquireLocks(dir, URI, { guests: ['web'], images: [] }, owner('old-job', process.ppid));
    const path = held.paths[0] as string;
    const rec = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...rec, pidStart: '1' }));
    const mine = acquireLocks(dir, URI, { guests: ['web'], images: [] }, owner('new-job'));
    expect(readLocks(dir)[0]?.jobId).toBe('new-job');
    mine.release();
  });

  it('hands locks to another pid and a release never removes a lock another job took over', () => {
    const held = acquireLocks(dir, URI, { guests: ['web'], images: [] }, owner('job-1'));
    const dead = deadPid();
    held.handTo(dead);
    expect(readLocks(dir)[0]?.pid).toBe(dead);
    const taker = acquireLocks(dir, URI, { guests: ['web'], images: [] }, owner('job-2'));
    held.release();
    expect(readLocks(dir).map((l) => l.jobId)).toEqual(['job-2']);
    taker.release();
  });

  it('words the refusal for images', () => {
    expect(busyError({ kind: 'image', name: '/srv/a.raw' }, owner('J')).sentence).toMatch(/^The image \/srv\/a\.raw is busy: job J \(convert, started 12:03 by pid \d+\)/);
  });
});
