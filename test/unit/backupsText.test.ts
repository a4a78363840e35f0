import { describe, expect, it } from 'vitest';
import type { ScheduleStatus } from '../../src/jobs/schedule.js';
import { wrapLine } from '../../src/model/textWrap.js';
import { formatIn, scheduleLine, scheduleWhen } from '../../src/store/backupsText.js';

const now = new Date('2026-06-10T20:18:00');
const status = (over: Partial<ScheduleStatus> = {}): ScheduleStatus => ({
  installed: { kind: 'cron', schedule: { at: '01:30', days: [], dest: '/mnt/backup' }, files: ['/etc/cron.d/virtdeck'] },
  scheduler: 'cron',
  nextRun: new Date('2026-06-11T01:30:00'),
  lastRuns: [],
  ...over,
});

describe('Backups pane wording', () => {
  it.each([
    [30_000, 'under a minute'],
    [12 * 60_000, '12 min'],
    [(5 * 60 + 12) * 60_000, '5 h 12 min'],
    [3 * 3600_000, '3 h'],
    [(50 * 60 + 5) * 60_000, '2 days 2 h'],
  ])('formatIn(%d) = %s', (ms, text) => expect(formatIn(ms)).toBe(text));

  it('names the schedule as the admin would', () => {
    expect(scheduleWhen({ at: '01:30', days: [], dest: '/b' })).toBe('nightly 01:30');
    expect(scheduleWhen({ at: '13:00', days: [], dest: '/b' })).toBe('daily 13:00');
    expect(scheduleWhen({ at: '01:30', days: ['mon', 'fri'], dest: '/b' })).toBe('mon,fri 01:30');
  });

  it('schedule line: none, foreign, next run, other destination, failed last run', () => {
    expect(scheduleLine(status({ installed: null }), now, '/mnt/backup').text).toBe('no schedule: S to set one');
    expect(scheduleLine(status({ installed: { kind: 'cron', schedule: null, files: ['/etc/cron.d/virtdeck'] } }), now, null)).toEqual({ text: '/etc/cron.d/virtdeck not written by virtdeck: S to replace it', tone: 'warn' });
    expect(scheduleLine(status(), now, '/mnt/backup').text).toBe('nightly 01:30 → next run in 5 h 12 min');
    expect(scheduleLine(status(), now, '/mnt/other').text).toBe('nightly 01:30 into /mnt/backup → next run in 5 h 12 min');
    const failed = status({ lastRuns: [{ guest: 'web', run: null, finishedAt: null, logged: { at: 'x', guest: 'web', dest: '/mnt/backup', ok: false, text: 'failed: disk full' } }] });
    expect(scheduleLine(failed, now, '/mnt/backup')).toEqual({ text: 'nightly 01:30 → next run in 5 h 12 min · last run: 1 guest failed', tone: 'warn' });
  });

  it('wraps prose at spaces and paths anywhere, continuation indented', () => {
    expect(wrapLine('short', 20)).toEqual(['short']);
    expect(wrapLine('the quick brown fox jumps over', 20)).toEqual(['the quick brown fox', '    jumps over']);
    expect(wrapLine('/a/very/long/path/without/spaces', 20)).toEqual(['/a/very/long/path/wi', '    thout/spaces']);
  });
});
