import { describe, expect, it } from 'vitest';
import { parseBackupLine, parseSnapshots, resticFailure } from '../../src/host/restic.js';
import { parseSha256sum, sshTargetExecutor } from '../../src/jobs/backupCopy.js';
import { snapshotRun } from '../../src/jobs/copyFetch.js';
import { backupConfigOf } from '../../src/model/backupConfig.js';
import type { CatalogRun } from '../../src/model/backupManifest.js';
import { type CopyRecord, type CopyTarget, copiesToDrop, copyTargetsSchema, findTarget, runsToCopy } from '../../src/model/copyTarget.js';
import { backupCommand, checkSchedule, cronFileText, readScheduleMark } from '../../src/model/schedule.js';
import { UserError } from '../../src/model/userError.js';

const run = (name: string, parent: string | null): CatalogRun => ({ name, manifest: { parent, createdAt: `${name.slice(0, 4)}-01-01T00:00:00Z` } as CatalogRun['manifest'] });
const rec = (run: string, parent: string | null, guest = 'web'): CopyRecord => ({ guest, run, parent, at: '2026-01-01T00:00:00Z', bytes: 1 });

describe('copy targets in config.json', () => {
  it('takes the three kinds', () => {
    const cfg = backupConfigOf({
      backup: {
        copyTargets: [
          { name: 'nas', type: 'dir', path: '/mnt/nas/backup', keepLast: 7 },
          { name: 'offsite', type: 'ssh', host: 'root@backup2', path: '/srv/virtdeck', port: 2222 },
          { name: 'vault', type: 'restic', repository: 's3:https://s3.example.org/bucket/virtdeck', passwordFile: '/etc/virtdeck/restic.pw' },
          { name: 'usb', type: 'restic', repository: '/mnt/usb/restic', passwordFile: '/etc/virtdeck/usb.pw' },
          { name: 'far', type: 'restic', repository: 'sftp:backup@far.example.org:/srv/restic', passwordFile: '/etc/virtdeck/far.pw' },
        ],
      },
    });
    expect(cfg.copyTargets.map((t) => t.name)).toEqual(['nas', 'offsite', 'vault', 'usb', 'far']);
    expect(backupConfigOf({}).copyTargets).toEqual([]);
  });

  it.each([
    ['a relative path', { name: 'a', type: 'dir', path: 'mnt/nas' }],
    ['a .. segment', { name: 'a', type: 'dir', path: '/mnt/../etc' }],
    ['a host that is an ssh option', { name: 'a', type: 'ssh', host: '-oProxyCommand=touch /tmp/x', path: '/srv' }],
    ['a repository that is a restic option', { name: 'a', type: 'restic', repository: '--insecure-tls', passwordFile: '/etc/pw' }],
    ['an rclone repository (runs a program)', { name: 'a', type: 'restic', repository: 'rclone:remote:path', passwordFile: '/etc/pw' }],
    ['a password given inline', { name: 'a', type: 'restic', repository: '/r', passwordFile: '/etc/pw', password: 'hunter2' }],
    ['a name with a slash', { name: 'a/b', type: 'dir', path: '/mnt' }],
    ['a newline in a path', { name: 'a', type: 'dir', path: '/mnt/a\nb' }],
    ['a known_hosts file with a space', { name: 'a', type: 'ssh', host: 'dr', path: '/srv', knownHostsFile: '/etc/a b' }],
  ])('refuses %s', (_what, target) => {
    expect(() => backupConfigOf({ backup: { copyTargets: [target] } })).toThrow(UserError);
  });

  it("an ssh target's pinned host key file goes to ssh as UserKnownHostsFile, in BatchMode", () => {
    const [t] = backupConfigOf({ backup: { copyTargets: [{ name: 'dr', type: 'ssh', host: 'root@dr', path: '/srv', port: 2222, knownHostsFile: '/etc/virtdeck/dr.known_hosts' }] } }).copyTargets;
    const argv = sshTargetExecutor(t as Extract<CopyTarget, { type: 'ssh' }>).commandPrefix();
    expect(argv).toEqual(expect.arrayContaining(['BatchMode=yes', 'UserKnownHostsFile=/etc/virtdeck/dr.known_hosts', '2222']));
    expect(argv.slice(-2)).toEqual(['--', 'root@dr']);
  });

  it('refuses two targets of one name', () => {
    expect(copyTargetsSchema.safeParse([{ name: 'a', type: 'dir', path: '/x' }, { name: 'a', type: 'dir', path: '/y' }]).success).toBe(false);
  });

  it('an unknown --to names the configured ones', () => {
    const ts = [{ name: 'nas', type: 'dir', path: '/x' }] as CopyTarget[];
    expect(() => findTarget(ts, 'nope')).toThrow('There is no copy target named nope (configured: nas).');
  });
});

describe('which runs to send, which to drop', () => {
  it('sends finished runs oldest first, skips what is there and runs whose chain is broken', () => {
    const runs = [run('20260103T000000Z-inc', '20260102T000000Z-full'), run('20260102T000000Z-full', null), run('20260105T000000Z-inc', '20260104T000000Z-full')];
    const { picks, skipped } = runsToCopy([{ guest: 'web', runs }], [rec('20260102T000000Z-full', null)]);
    expect(picks.map((p) => p.run.name)).toEqual(['20260103T000000Z-inc']);
    expect(skipped.map((s) => s.run)).toEqual(['20260105T000000Z-inc']);
    expect(runsToCopy([{ guest: 'web', runs }], [], ['db']).picks).toEqual([]);
  });

  it('keepLast keeps the newest runs and every run they build on', () => {
    const recs = [rec('20260101T000000Z-full', null), rec('20260102T000000Z-inc', '20260101T000000Z-full'), rec('20260103T000000Z-full', null), rec('20260104T000000Z-inc', '20260103T000000Z-full'), rec('20260101T000000Z-full', null, 'db')];
    expect(copiesToDrop(recs, 1).map((r) => `${r.guest}/${r.run}`)).toEqual(['web/20260101T000000Z-full', 'web/20260102T000000Z-inc']);
    expect(copiesToDrop(recs, 3).map((r) => r.run)).toEqual([]);
    expect(copiesToDrop(recs, undefined)).toEqual([]);
  });
});

describe("a target's answers are untrusted", () => {
  it('snapshot paths must be …/GUEST/RUN, plain and normalised', () => {
    expect(snapshotRun('/mnt/backup/web/20260101T000000Z-full')).toEqual({ guest: 'web', run: '20260101T000000Z-full' });
    expect(snapshotRun('/mnt/backup/web/../etc/20260101T000000Z-full')).toBeNull();
    expect(snapshotRun('/mnt/backup/web/20260101T000000Z-full/../../x')).toBeNull();
    expect(snapshotRun('relative/web/20260101T000000Z-full')).toBeNull();
    expect(snapshotRun('/mnt/backup/-rf/20260101T000000Z-full')).toBeNull();
    expect(snapshotRun('/mnt/backup/web/passwd')).toBeNull();
  });

  it('a snapshot listing is schema-checked and capped', () => {
    expect(parseSnapshots('[{"id":"fff316cd9317","time":"t","paths":["/a/b"],"tags":["virtdeck"]}]')?.[0]?.id).toBe('fff316cd9317');
    expect(parseSnapshots('[{"id":"../../x","time":"t","paths":[]}]')).toBeNull();
    expect(parseSnapshots('not json')).toBeNull();
    expect(parseSnapshots(`[${' '.repeat(33 << 20)}]`)).toBeNull();
    expect(parseSnapshots('')).toEqual([]);
  });

  it("reads restic backup's JSON lines", () => {
    expect(parseBackupLine('{"message_type":"status","percent_done":0.5,"total_bytes":200,"bytes_done":100}')).toEqual({ status: { total: 200, done: 100 } });
    expect(parseBackupLine('{"message_type":"summary","data_added":42,"snapshot_id":"fff316cd"}').summary?.data_added).toBe(42);
    expect(parseBackupLine('garbage')).toEqual({});
  });

  it('sha256sum lines count only for files directly in the directory asked about', () => {
    const h = 'a'.repeat(64);
    const got = parseSha256sum(`${h}  /t/run/vda.qcow2\n${h}  /t/run/sub/x\n${h}  /t/other/y\nbad line\n`, '/t/run');
    expect([...got.keys()]).toEqual(['vda.qcow2']);
  });

  it('a wrong password is one sentence naming the file and the repository', () => {
    const t = { name: 'vault', type: 'restic', repository: '/r', passwordFile: '/etc/pw' } as const;
    const e = resticFailure(t, 'Fatal: wrong password or no key found\n');
    expect(e?.sentence).toBe('The password in /etc/pw does not open the restic repository /r.');
    expect(resticFailure(t, 'Fatal: unable to open config file: stat /r/config: no such file or directory\nIs there a repository at the following location?')?.sentence).toBe('There is no restic repository at /r.');
  });
});

describe('a schedule that copies after each run', () => {
  it('copies before the local prune, and the mark keeps the targets', () => {
    const s = checkSchedule({ at: '2:30', days: [], dest: '/mnt/backup', copyTo: ['nas', 'vault'] });
    expect(backupCommand(['/usr/bin/virtdeck'], s)).toBe(
      '/usr/bin/virtdeck backup run --all --dest /mnt/backup && { /usr/bin/virtdeck backup copy --all --dest /mnt/backup --to nas; /usr/bin/virtdeck backup copy --all --dest /mnt/backup --to vault; /usr/bin/virtdeck backup prune --dest /mnt/backup; }',
    );
    expect(readScheduleMark(cronFileText(s, ['/usr/bin/virtdeck'], '/var/log/virtdeck.log'))?.copyTo).toEqual(['nas', 'vault']);
    expect(() => checkSchedule({ at: '2:30', days: [], dest: '/mnt/backup', copyTo: ['x; rm -rf /'] })).toThrow(UserError);
    expect(checkSchedule({ at: '2:30', days: [], dest: '/mnt/backup' })).toEqual({ at: '02:30', days: [], dest: '/mnt/backup' });
  });
});
