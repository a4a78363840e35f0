import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { installSchedule, lastRuns, parseBackupLog, readInstalledSchedule, removeSchedule, scheduleStatus } from '../../src/jobs/schedule.js';
import { writeRun } from '../helpers/handRun.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/** The schedule written under a temp root (never the real /etc), read back, replaced and removed. */

const host = localHost();
const scratch = scratchDir('vdtest-rs-sched-');
const root = join(scratch.dir, 'root');
const V = ['/usr/bin/node', '/opt/virtdeck/virtdeck.js'];
afterAll(() => scratch.remove());

describe('backup schedule on a temp root', () => {
  it('detects cron, writes cron.d atomically with a .bak of the previous file, reads it back', async () => {
    mkdirSync(join(root, 'usr/sbin'), { recursive: true });
    writeFileSync(join(root, 'usr/sbin/cron'), '');
    const logFile = join(scratch.dir, 'state/logs/schedule.log');
    const a = await installSchedule(host, { at: '02:30', days: [], dest: '/mnt/b' }, { root, virtdeck: V, logFile });
    expect(a.kind).toBe('cron');
    const file = join(root, 'etc/cron.d/virtdeck');
    expect(readFileSync(file, 'utf8')).toContain('30 2 * * * root /usr/bin/node /opt/virtdeck/virtdeck.js backup run --all --dest /mnt/b && ');
    expect(existsSync(`${file}.bak`)).toBe(false);
    await installSchedule(host, { at: '04:00', days: ['sat'], dest: '/mnt/b' }, { root, virtdeck: V, logFile });
    expect(readFileSync(`${file}.bak`, 'utf8')).toContain('30 2 * * *');
    expect(await readInstalledSchedule(host, { root })).toEqual({ kind: 'cron', schedule: { at: '04:00', days: ['sat'], dest: '/mnt/b' }, files: [file] });
    expect(existsSync(`${file}.virtdeck-tmp`)).toBe(false);
  });

  it('dry-run writes nothing; switching to systemd removes the cron file', async () => {
    const dry = await installSchedule(host, { at: '01:15', days: [], dest: '/mnt/b' }, { root, virtdeck: V, kind: 'systemd', dryRun: true });
    expect(dry.files.map((f) => f.path)).toEqual([join(root, 'etc/systemd/system/virtdeck-backup.service'), join(root, 'etc/systemd/system/virtdeck-backup.timer')]);
    expect(existsSync(join(root, 'etc/systemd/system'))).toBe(false);
    await installSchedule(host, { at: '01:15', days: [], dest: '/mnt/b' }, { root, virtdeck: V, kind: 'systemd' });
    expect(existsSync(join(root, 'etc/cron.d/virtdeck'))).toBe(false);
    const s = await readInstalledSchedule(host, { root });
    expect(s?.kind).toBe('systemd');
    expect(s?.schedule?.at).toBe('01:15');
    expect(await removeSchedule(host, { root })).toHaveLength(2);
    expect(await readInstalledSchedule(host, { root })).toBeNull();
  });

  it('two VIRTDECK_HOME configurations keep a schedule each, and each run names its home (issue 12 item 5)', async () => {
    const two = join(scratch.dir, 'root2');
    mkdirSync(join(two, 'usr/sbin'), { recursive: true });
    writeFileSync(join(two, 'usr/sbin/cron'), '');
    const a = await installSchedule(host, { at: '02:30', days: [], dest: '/mnt/a' }, { root: two, virtdeck: V, home: '/srv/vd-a' });
    const b = await installSchedule(host, { at: '03:30', days: [], dest: '/mnt/b' }, { root: two, virtdeck: V, home: '/srv/vd-b' });
    expect(a.files[0]?.path).toMatch(/\/etc\/cron\.d\/virtdeck-[0-9a-f]{8}$/);
    expect(b.files[0]?.path).not.toBe(a.files[0]?.path);
    expect(readFileSync(a.files[0]?.path as string, 'utf8')).toContain('root /usr/bin/env VIRTDECK_HOME=/srv/vd-a /usr/bin/node /opt/virtdeck/virtdeck.js backup run --all --dest /mnt/a');
    expect((await readInstalledSchedule(host, { root: two, home: '/srv/vd-a' }))?.schedule?.dest).toBe('/mnt/a');
    expect((await readInstalledSchedule(host, { root: two, home: '/srv/vd-b' }))?.schedule?.dest).toBe('/mnt/b');
    expect(await readInstalledSchedule(host, { root: two, home: null })).toBeNull();
    await removeSchedule(host, { root: two, home: '/srv/vd-a' });
    expect((await readInstalledSchedule(host, { root: two, home: '/srv/vd-b' }))?.schedule?.dest).toBe('/mnt/b');
    const units = await installSchedule(host, { at: '01:00', days: [], dest: '/mnt/a' }, { root: two, virtdeck: V, home: '/srv/vd-a', kind: 'systemd', dryRun: true, activate: true });
    expect(units.commands.at(-1)).toEqual(['systemctl', 'enable', '--now', expect.stringMatching(/^virtdeck-backup-[0-9a-f]{8}\.timer$/)]);
  });

  it('last run per guest: newest run from the catalog, last result from the engine log', async () => {
    const dest = join(scratch.dir, 'dest');
    const disk = { target: 'vda', sourcePath: '/x.qcow2', virtualSize: 1 };
    writeRun(dest, 'vdtest-rs-a', { at: new Date('2026-06-01T02:00:00Z'), kind: 'full', disks: [disk] });
    const newest = writeRun(dest, 'vdtest-rs-a', { at: new Date('2026-06-02T02:00:00Z'), kind: 'full', disks: [disk] });
    const state = join(scratch.dir, 'state');
    mkdirSync(join(state, 'logs'), { recursive: true });
    writeFileSync(
      join(state, 'logs/backup-2026-06-03.log'),
      [
        `2026-06-03T02:00:05.000Z qemu:///system vdtest-rs-a → ${dest}: ok ${newest.name} offline-copy offline 1024 bytes`,
        `2026-06-03T02:00:09.000Z qemu:///system vdtest-rs-b → ${dest}: failed: The destination is full.`,
        '',
      ].join('\n'),
    );
    const runs = await lastRuns(host, dest, { stateDir: state });
    expect(runs.map((r) => [r.guest, r.run, r.logged?.ok])).toEqual([
      ['vdtest-rs-a', newest.name, true],
      ['vdtest-rs-b', null, false],
    ]);
    expect(parseBackupLog('garbage\n').size).toBe(0);
    await installSchedule(host, { at: '02:00', days: [], dest }, { root, virtdeck: V, kind: 'cron' });
    const status = await scheduleStatus(host, { root, stateDir: state });
    expect(status.nextRun).toBeInstanceOf(Date);
    expect(status.lastRuns).toHaveLength(2);
  });
});
