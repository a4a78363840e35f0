import { describe, expect, test } from 'vitest';
import type { GuestRow } from '../../src/host/virsh.js';
import type { JournalRecord } from '../../src/jobs/journal.js';
import { describeInterruptedJob, overlayItems } from '../../src/jobs/recovery.js';
import type { Plan } from '../../src/model/plan.js';

const plan: Plan = {
  kind: 'convert',
  title: 'convert web.vmdk to web.raw',
  targets: { guests: ['web'], images: ['/img/web.vmdk'] },
  steps: [
    { id: 'copy', title: 'convert to raw', command: { runsOn: 'sys', argv: ['qemu-img', 'convert'] }, undo: { title: 'remove the partial copy', command: { runsOn: 'sys', argv: ['rm', '-f', 'x'] }, partial: true } },
    { id: 'compare', title: 'compare', command: { runsOn: 'sys', argv: ['qemu-img', 'compare'] } },
    { id: 'swap', title: 'swap', command: { runsOn: 'sys', argv: ['mv'] }, undo: { title: 'put the original back', command: { runsOn: 'sys', argv: ['mv'] } } },
  ],
};

function record(states: JournalRecord['steps'][number]['state'][]): JournalRecord {
  return {
    id: '20261125T120000Z-convert-abcdef',
    kind: 'convert',
    title: plan.title,
    uri: 'qemu:///system',
    pid: 4242,
    hostname: 'host1',
    createdAt: '2026-11-25T12:00:00.000Z',
    updatedAt: '2026-11-25T12:01:00.000Z',
    state: 'running',
    plan,
    steps: states.map((state) => ({ state })),
  };
}

describe('interrupted journals in plain words', () => {
  test('killed during step 2: what ran, what finish and roll back do', () => {
    const item = describeInterruptedJob(record(['done', 'running', 'pending']));
    expect(item.explanation[0]).toBe('virtdeck (pid 4242 on host1) was stopped while running "convert web.vmdk to web.raw", during step 2 of 3: compare.');
    expect(item.explanation).toContain('step 1 finished.');
    expect(item.explanation).toContain('Not undoable: compare.');
    expect(item.finish).toBe('Finish: run steps 2–3 again (the interrupted step starts over).');
    expect(item.rollback).toBe('Roll back: remove the partial copy.');
    expect(item.guests).toEqual(['web']);
  });
  test('killed during step 1 with an undo: everything can be undone', () => {
    const item = describeInterruptedJob(record(['running', 'pending', 'pending']));
    expect(item.explanation).toContain('Everything it did so far can be undone.');
    expect(item.finish).toBe('Finish: run steps 1–3 again (the interrupted step starts over).');
  });
  test('killed after the last step: finish only marks it done; roll back undoes in reverse', () => {
    const item = describeInterruptedJob(record(['done', 'done', 'done']));
    expect(item.finish).toBe('Finish: nothing is left to run; mark the job done.');
    expect(item.rollback).toBe('Roll back: put the original back; remove the partial copy.');
  });
});

describe('guests left on a backup overlay', () => {
  const guest = (name: string, source: string, state: GuestRow['state'] = 'running'): GuestRow => ({
    name, uuid: 'u', id: 1, state, vcpus: 1, memoryKiB: 1024, disks: [{ target: 'vda', device: 'disk', bus: 'virtio', source, format: 'qcow2' }],
    nics: [], vnc: null, autostart: false, persistent: true, osType: null, hasSerial: false,
  });
  test('found by the overlay file name; an overlay owned by an interrupted job is left to that job', () => {
    const ov = '/img/db.qcow2.virtdeck-overlay-20261125T120000Z.qcow2';
    const guests = [guest('db', ov), guest('web', '/img/web.qcow2'), guest('off', '/img/off.raw.virtdeck-overlay-1.qcow2', 'shut off')];
    const items = overlayItems(guests);
    expect(items.map((i) => [i.id, i.running])).toEqual([['db:vda', true], ['off:vda', false]]);
    expect(items[0]?.finish).toContain('blockcommit --active --pivot');
    expect(items[1]?.finish).toContain('qemu-img commit');
    expect(overlayItems(guests, [describeInterruptedJob({ ...record(['done']), plan: { ...plan, targets: { guests: ['db'], images: [] } } })]).map((i) => i.guest)).toEqual(['off']);
  });
});
