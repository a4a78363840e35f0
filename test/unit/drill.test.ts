import { describe, expect, it } from 'vitest';
import { type DrillResult, defaultDrillTimeout, drillFileSchema, drillName, drillText, isDrillName, lastDrill, serialEvidence, withDrill } from '../../src/model/drill.js';
import { backupCommand, checkSchedule, cronFileText, readScheduleMark } from '../../src/model/schedule.js';

const now = new Date('2026-12-07T12:00:00Z');
const result = (o: Partial<DrillResult> = {}): DrillResult => ({
  uri: 'qemu:///system', dest: '/mnt/b', guest: 'web', run: '20261204T020000Z-inc', at: '2026-12-04T11:00:00.000Z',
  ok: true, bootSeconds: 41.4, evidence: 'serial console: SeaBIOS', error: null, ...o,
});

describe('restore drill (model)', () => {
  it('says when the backup was proven, or why the drill failed, or how to drill it', () => {
    expect(drillText(result(), now)).toBe('restorable, proven 3 days ago (20261204T020000Z-inc booted in 41 s)');
    expect(drillText(result({ ok: false, bootSeconds: null, error: 'web-drill-0a1b stopped (crashed) before it showed any sign of booting', at: '2026-12-07T10:00:00Z' }), now)).toBe(
      'drill failed 2 hours ago: web-drill-0a1b stopped (crashed) before it showed any sign of booting',
    );
    expect(drillText(undefined, now, 'web')).toBe('restore never drilled: virtdeck backup drill web');
  });

  it('keeps one drill per host, destination and guest; finds it with or without a trailing slash', () => {
    const other = result({ guest: 'db' });
    const drills = withDrill(withDrill([result({ ok: false }), other], result()), result({ uri: 'qemu+ssh://root@b/system' }));
    expect(drills).toHaveLength(3);
    expect(lastDrill(drills, 'qemu:///system', '/mnt/b/', 'web')?.ok).toBe(true);
    expect(lastDrill(drills, 'qemu:///system', '/mnt/c', 'web')).toBeUndefined();
    expect(drillFileSchema.parse({ version: 1, drills }).drills).toHaveLength(3);
    expect(() => drillFileSchema.parse({ version: 1, drills: [{ ...result(), extra: 1 }] })).toThrow();
  });

  it('guest text from the serial console is one safe, short line', () => {
    expect(serialEvidence('\r\n\n  SeaBIOS (version 1.16)\r\nBooting from Hard Disk')).toBe('SeaBIOS (version 1.16)');
    expect(serialEvidence('\u001b[2J\u001b]0;pwned\u0007boot')).not.toMatch(/\u001b|\u0007/);
    expect(serialEvidence(`${'x'.repeat(500)}`)?.length).toBe(120);
    expect(serialEvidence('\r\n  \n')).toBeNull();
  });

  it('names the throwaway copy within 64 characters and recognises it; waits longer without KVM', () => {
    const name = drillName('a'.repeat(64), '0f3c');
    expect(name.length).toBeLessThanOrEqual(64);
    expect(isDrillName(name)).toBe(true);
    expect(isDrillName('web-instant')).toBe(false);
    expect(defaultDrillTimeout('qemu')).toBeGreaterThan(defaultDrillTimeout('kvm'));
  });
});

describe('the schedule with a drill', () => {
  it('runs `backup drill --all` after backup and prune, and reads the option back from the file', () => {
    const s = checkSchedule({ at: '1:30', days: ['sun'], dest: '/mnt/backup', drill: true });
    expect(s).toEqual({ at: '01:30', days: ['sun'], dest: '/mnt/backup', drill: true });
    expect(backupCommand(['/usr/bin/virtdeck'], s)).toBe(
      "/usr/bin/virtdeck backup run --all --dest /mnt/backup && /usr/bin/virtdeck backup prune --dest /mnt/backup && /usr/bin/virtdeck backup drill --all --dest /mnt/backup",
    );
    expect(readScheduleMark(cronFileText(s, ['/usr/bin/virtdeck'], '/var/log/v.log'))).toEqual(s);
    const plain = checkSchedule({ at: '01:30', days: [], dest: '/mnt/backup' });
    expect(plain).toEqual({ at: '01:30', days: [], dest: '/mnt/backup' });
    expect(backupCommand(['/usr/bin/virtdeck'], plain)).not.toContain('drill');
    expect(readScheduleMark(cronFileText(plain, ['/usr/bin/virtdeck'], '/var/log/v.log'))).toEqual(plain);
  });
});
