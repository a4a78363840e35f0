import { describe, expect, it } from 'vitest';
import {
  checkSchedule,
  cronExpression,
  cronFileText,
  nextCronRun,
  nextRun,
  onCalendar,
  parseDays,
  readScheduleMark,
  systemdUnits,
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

  it('cron fields: lists, ranges, steps, day-of-month OR day-of-week, Sunday as 7', () => {
    expect(nextCronRun('*/15 * * * *', local(2026, 1, 1, 10, 7))).toEqual(local(2026, 1, 1, 10, 15));
    expect(nextCronRun('0 9-17/4 * * *', local(2026, 1, 1, 13, 0))).toEqual(local(2026, 1, 1, 17, 0));
    expect(nextCronRun('0 0 1 * 7', local(2026, 1, 2, 0, 0))).toEqual(local(2026, 1, 4, 0, 0)); // Sunday Jan 4 before Feb 1
    expect(nextCronRun('0 0 29 2 *', local(2026, 1, 1))).toEqual(local(2028, 2, 29, 0, 0));
    expect(() => nextCronRun('61 * * * *', local(2026, 1, 1))).toThrow(/out of range/);
    expect(() => nextCronRun('@daily', local(2026, 1, 1))).toThrow(/five-field/);
  });
});
