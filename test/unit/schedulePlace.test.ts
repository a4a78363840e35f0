import { describe, expect, it } from 'vitest';
import { checkSchedule, schedulePlace, schedulePlaceText, scheduleFiles, systemdUnits } from '../../src/model/schedule.js';
import { scheduleReviewLines } from '../../src/store/backupsText.js';

/** Issue 13 item 2: a remote host's schedule runs on this machine and connects to the host. */

const V = ['/usr/bin/node', '/opt/virtdeck/virtdeck.js'];
const H1 = 'qemu+ssh://root@host1/system';

describe('where a schedule lives', () => {
  it("this machine's libvirt keeps the plain names, and a VIRTDECK_HOME its hash tag (issue 12 item 5)", () => {
    const p = schedulePlace({ uri: 'qemu:///system', remoteHost: null, thisMachine: 'vm', home: undefined, invocation: V });
    expect(p.files.cron).toBe('etc/cron.d/virtdeck');
    expect(p.virtdeck).toEqual(V);
    expect(p.connectsTo).toBeNull();
    expect(scheduleFiles('/srv/vd-a').cron).toMatch(/^etc\/cron\.d\/virtdeck-[0-9a-f]{8}$/);
  });

  it('a remote host: the file is on this machine, named by host and configuration, and the run connects to the host', () => {
    const p = schedulePlace({ uri: H1, remoteHost: 'host1', thisMachine: 'vm', home: '/srv/vd-a', invocation: V });
    expect(p.writtenOn).toBe('vm');
    expect(p.connectsTo).toBe('host1');
    expect(p.files.cron).toMatch(/^etc\/cron\.d\/virtdeck-host1-[0-9a-f]{8}$/);
    // This machine's node, virtdeck and state directory, and the way to reach the host.
    expect(p.virtdeck).toEqual(['/usr/bin/env', 'VIRTDECK_HOME=/srv/vd-a', ...V, '--connect', H1]);
    const names = new Set([
      p.files.cron,
      schedulePlace({ uri: H1, remoteHost: 'host1', thisMachine: 'vm', home: '/srv/vd-b', invocation: V }).files.cron,
      schedulePlace({ uri: 'qemu+ssh://root@host2/system', remoteHost: 'host2', thisMachine: 'vm', home: '/srv/vd-a', invocation: V }).files.cron,
      schedulePlace({ uri: H1, remoteHost: 'host1', thisMachine: 'vm', home: undefined, invocation: V }).files.cron,
      scheduleFiles('/srv/vd-a').cron,
      scheduleFiles(null).cron,
    ]);
    expect(names.size).toBe(6);
  });

  it('a host name that is no cron.d name is made one', () => {
    const p = schedulePlace({ uri: 'qemu+ssh://root@db.example.org/system', remoteHost: 'db.example.org', thisMachine: 'vm', home: null, invocation: V });
    expect(p.files.cron).toMatch(/^etc\/cron\.d\/virtdeck-db-example-org-[0-9a-f]{8}$/);
    expect(p.files.timerUnit).toMatch(/^virtdeck-backup-db-example-org-[0-9a-f]{8}\.timer$/);
  });

  it("a tagged timer starts its own service, not the system schedule's", () => {
    const p = schedulePlace({ uri: H1, remoteHost: 'host1', thisMachine: 'vm', home: null, invocation: V });
    const { timer } = systemdUnits(checkSchedule({ at: '02:00', days: [], dest: '/b' }), p.virtdeck, '/l', p.files.serviceUnit);
    expect(timer).toContain(`Unit=${p.files.serviceUnit}\n`);
    expect(p.files.serviceUnit).toBe(p.files.timerUnit.replace(/\.timer$/, '.service'));
  });

  it('the dry-run names the machine whose crontab changes', () => {
    expect(schedulePlaceText({ writtenOn: 'vm', connectsTo: null }, 'cron', true)).toBe('Would write the cron schedule on vm:');
    const remote = schedulePlaceText({ writtenOn: 'vm', connectsTo: 'host1' }, 'cron', true);
    expect(remote).toMatch(/^Would write the cron schedule on this machine \(vm\), not on host1: .*connects to host1/);
  });

  it("the Backups pane's review says this machine runs a remote host's schedule", () => {
    const schedule = checkSchedule({ at: '02:00', days: [], dest: '/b' });
    const change = { kind: 'cron' as const, schedule, files: [{ path: '/etc/cron.d/virtdeck-host1-0123abcd', content: 'x\n' }], commands: [], nextRun: null, dryRun: true };
    expect(scheduleReviewLines({ ...change, writtenOn: 'vm', connectsTo: 'host1' }, new Date())[0]?.text).toBe('This machine (vm) runs the schedule of host1 and connects to it; cron here gets this file:');
    expect(scheduleReviewLines(change, new Date())[0]?.text).toBe('The host uses cron; virtdeck writes this file:');
  });
});
