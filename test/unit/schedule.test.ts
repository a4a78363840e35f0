import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkSchedule,
  cronExpression,
  cronFileText,
  nextRun,
  onCalendar,
  parseDays,
  readScheduleMark,
  systemdUnits,
  type Weekday,
} from '../../src/model/schedule.js';

const V = ['/usr/bin/node', '/opt/virtdeck/dist/virtdeck.js'];
const LOG = '/var/lib/virtdeck/logs/schedule.log';
// Local-time constructor: cron and the next-run computation use host local time.
const local = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi);

describe('schedule text', () => {
  const s = checkSchedule({ at: '2:30', days: ['tue', 'mon'], dest: '/mnt/backup disk' });

  it('normalises time and days', () => {
    expect(s).toEqual({ at: '02:30', days: ['mon', 'tue'], dest: '/mnt/backup disk' });
    expect(parseDays('Sun,mon,sunday')).toEqual(['mon', 'sun']);
    expect(() => parseDays('mon,funday')).toThrow(/not a weekday/);
    expect(() => checkSchedule({ at: '24:00', days: [], dest: '/x' })).toThrow(/not a time/);
    expect(() => checkSchedule({ at: '01:00', days: [], dest: 'rel' })).toThrow(/absolute/);
  });

  it('cron file: expression, root user, quoted command, log, readable mark', () => {
    expect(cronExpression(s)).toBe('30 2 * * 1,2');
    const text = cronFileText(s, V, LOG);
    expect(text).toContain(
      "30 2 * * 1,2 root /usr/bin/node /opt/virtdeck/dist/virtdeck.js backup run --all --dest '/mnt/backup disk' && /usr/bin/node /opt/virtdeck/dist/virtdeck.js backup prune --dest '/mnt/backup disk' >> /var/lib/virtdeck/logs/schedule.log 2>&1\n",
    );
    expect(readScheduleMark(text)).toEqual(s);
    expect(cronExpression(checkSchedule({ at: '23:05', days: [], dest: '/b' }))).toBe('5 23 * * *');
  });

  it('systemd timer and service', () => {
    const { service, timer } = systemdUnits(s, V, LOG);
    expect(onCalendar(s)).toBe('Mon,Tue *-*-* 02:30:00');
    expect(timer).toContain('OnCalendar=Mon,Tue *-*-* 02:30:00\n');
    expect(timer).toContain('Persistent=true');
    expect(timer).toContain('WantedBy=timers.target');
    expect(service).toContain('Type=oneshot');
    expect(service).toMatch(/^ExecStart=\/bin\/sh -c '.*backup run --all --dest .*backup prune --dest .*>> \/var\/lib\/virtdeck\/logs\/schedule.log 2>&1'$/m);
    expect(readScheduleMark(timer)).toEqual(s);
    expect(onCalendar(checkSchedule({ at: '04:00', days: [], dest: '/b' }))).toBe('*-*-* 04:00:00');
  });

  it('a file without the mark is not ours', () => {
    expect(readScheduleMark('0 1 * * * root something\n')).toBeNull();
  });
});

describe('next run', () => {
  it('later today, tomorrow, on the next listed weekday', () => {
    const daily = checkSchedule({ at: '02:30', days: [], dest: '/b' });
    expect(nextRun(daily, local(2026, 3, 4, 1, 0))).toEqual(local(2026, 3, 4, 2, 30));
    expect(nextRun(daily, local(2026, 3, 4, 2, 30))).toEqual(local(2026, 3, 5, 2, 30));
    // 2026-03-04 is a Wednesday; next Monday is 03-09.
    const weekly = checkSchedule({ at: '02:30', days: ['mon'], dest: '/b' });
    expect(nextRun(weekly, local(2026, 3, 4, 12, 0))).toEqual(local(2026, 3, 9, 2, 30));
    // Across a year end.
    expect(nextRun(daily, local(2026, 12, 31, 23, 59))).toEqual(local(2027, 1, 1, 2, 30));
  });

  it('a listed Sunday, an impossible time, a day that is no weekday', () => {
    // Friday Jan 2 → Sunday Jan 4 (what cron's "0 0 * * 7" meant before the matcher went away).
    expect(nextRun(checkSchedule({ at: '00:00', days: ['sun'], dest: '/b' }), local(2026, 1, 2, 0, 0))).toEqual(local(2026, 1, 4, 0, 0));
    expect(() => nextRun({ at: '00:61', days: [], dest: '/b' }, local(2026, 1, 1))).toThrow(/not a time/);
    expect(nextRun({ at: '02:30', days: ['xyz' as Weekday], dest: '/b' }, local(2026, 1, 1))).toBeNull();
  });

  it('seconds count: the minute itself is not "after" once it has begun', () => {
    const daily = checkSchedule({ at: '02:30', days: [], dest: '/b' });
    expect(nextRun(daily, new Date(2026, 0, 1, 2, 29, 59, 500))).toEqual(local(2026, 1, 1, 2, 30));
    expect(nextRun(daily, new Date(2026, 0, 1, 2, 30, 0, 1))).toEqual(local(2026, 1, 2, 2, 30));
  });

  it('month ends, leap years and the week wrapping round', () => {
    const daily = checkSchedule({ at: '02:30', days: [], dest: '/b' });
    expect(nextRun(daily, local(2026, 1, 31, 23, 0))).toEqual(local(2026, 2, 1, 2, 30));
    expect(nextRun(daily, local(2026, 4, 30, 3, 0))).toEqual(local(2026, 5, 1, 2, 30));
    expect(nextRun(daily, local(2027, 2, 28, 3, 0))).toEqual(local(2027, 3, 1, 2, 30));
    expect(nextRun(daily, local(2028, 2, 28, 3, 0))).toEqual(local(2028, 2, 29, 2, 30));
    const sunday = checkSchedule({ at: '02:30', days: ['sun'], dest: '/b' });
    expect(nextRun(sunday, local(2026, 1, 3, 23, 0))).toEqual(local(2026, 1, 4, 2, 30)); // Saturday night → Sunday
    expect(nextRun(sunday, local(2026, 1, 4, 2, 30))).toEqual(local(2026, 1, 11, 2, 30)); // just ran → a full week on
    const monFri = checkSchedule({ at: '02:30', days: ['mon', 'fri'], dest: '/b' });
    expect(nextRun(monFri, local(2026, 1, 9, 3, 0))).toEqual(local(2026, 1, 12, 2, 30)); // Friday after the run → Monday
    const saturday = checkSchedule({ at: '02:30', days: ['sat'], dest: '/b' });
    expect(nextRun(saturday, local(2026, 1, 31, 3, 0))).toEqual(local(2026, 2, 7, 2, 30)); // across the month end
    expect(nextRun(saturday, local(2026, 12, 26, 3, 0))).toEqual(local(2027, 1, 2, 2, 30)); // across the year end
  });
});

describe('next run across a daylight-saving change (Europe/Berlin: 2026-03-29 02:00 → 03:00, 2026-10-25 03:00 → 02:00)', () => {
  const saved = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = 'Europe/Berlin';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  });
  const daily = checkSchedule({ at: '02:30', days: [], dest: '/b' });

  it('runs in host local time (the zone really is Berlin here)', () => {
    expect(new Date('2026-01-15T12:00:00Z').getHours()).toBe(13);
    expect(nextRun(daily, new Date('2026-01-15T12:00:00Z'))).toEqual(new Date('2026-01-16T01:30:00Z'));
  });

  it('spring forward: 02:30 does not exist that night, so it runs when the clock reads past it, and at 02:30 again the night after', () => {
    const first = nextRun(daily, new Date('2026-03-28T12:00:00Z'));
    expect(first).toEqual(new Date('2026-03-29T01:30:00Z')); // 03:30 CEST, the same night
    expect(nextRun(daily, first as Date)).toEqual(new Date('2026-03-30T00:30:00Z')); // 02:30 CEST
    const sunday = checkSchedule({ at: '02:30', days: ['sun'], dest: '/b' });
    expect(nextRun(sunday, new Date('2026-03-28T12:00:00Z'))).toEqual(new Date('2026-03-29T01:30:00Z'));
    // An evening time is untouched by the change: 23:00 CET on Saturday, 23:00 CEST on Sunday.
    const late = checkSchedule({ at: '23:00', days: [], dest: '/b' });
    expect(nextRun(late, new Date('2026-03-28T23:00:00Z'))).toEqual(new Date('2026-03-29T21:00:00Z'));
  });

  it('fall back: 02:30 happens twice that night and runs once, at the first; the next run is 25 hours on', () => {
    const first = nextRun(daily, new Date('2026-10-24T12:00:00Z'));
    expect(first).toEqual(new Date('2026-10-25T00:30:00Z')); // 02:30 CEST
    expect(nextRun(daily, first as Date)).toEqual(new Date('2026-10-26T01:30:00Z')); // 02:30 CET, not the second 02:30 that night
    expect(nextRun(daily, new Date('2026-10-25T01:45:00Z'))).toEqual(new Date('2026-10-26T01:30:00Z')); // from 02:45 CET, the repeated hour
  });
});
