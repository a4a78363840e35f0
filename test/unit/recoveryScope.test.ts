import { describe, expect, test } from 'vitest';
import { Journal, type JournalRecord } from '../../src/jobs/journal.js';
import { describeScopedJob } from '../../src/jobs/recovery.js';
import { planHostUris, recoveryScope } from '../../src/jobs/recoveryScope.js';
import type { Plan } from '../../src/model/plan.js';

const HOME = 'qemu:///system';
const AWAY = 'qemu+ssh://root@away/system';
const OTHER = 'qemu+ssh://root@third/system';
const homeRef = { uri: HOME, name: 'home', fromConfig: true };
const awayRef = { uri: AWAY, name: 'away', fromConfig: true };

/** A return's own plan: one step per guest, run against home. */
const returnPlan: Plan = {
  kind: 'evacuate',
  title: 'Bring 2 guest(s) home from away to home',
  targets: { guests: [], images: [] },
  steps: ['web', 'db'].map((guest, i) => ({
    id: `guest-${i + 1}`,
    title: `bring ${guest} live home to home`,
    action: { name: 'evacuate.guest', args: { guest, uuid: `u-${guest}`, home: { uri: HOME, name: 'home' }, away: awayRef, dest: homeRef, returning: true } },
    undo: { title: `undo ${guest}'s move if it was left half-done`, action: { name: 'evacuate.undoGuest', args: { guest, away: awayRef, returning: true } }, partial: true },
  })),
};

/** One guest's move home: journaled under the away host it runs from. */
const movePlan = (guest: string, dest = homeRef): Plan => ({
  kind: 'evacuate-move',
  title: `Migrate ${guest} to ${dest.name} (live, copying disks)`,
  targets: { guests: [guest], images: [] },
  steps: [
    { id: 'create-dest-disks', title: 'create empty disks', action: { name: 'migrate.createDestDisks', args: { dest, guest, disks: [] } } },
    { id: 'migrate', title: `move ${guest} live to ${dest.name}`, action: { name: 'migrate.live', args: { guest, uuid: `u-${guest}`, dest } } },
    { id: 'verify', title: 'check', action: { name: 'migrate.verify', args: { guest, dest } } },
  ],
});

function journal(id: string, plan: Plan, uri: string, steps: JournalRecord['steps'][number]['state'][], createdAt: string): Journal {
  const rec: JournalRecord = { id, kind: plan.kind, title: plan.title, uri, pid: 4242, hostname: 'vm', createdAt, updatedAt: createdAt, state: 'running', plan, steps: steps.map((state) => ({ state })) };
  return Journal.fromRecord(`/state/jobs/${id}.json`, rec);
}

const parent = journal('P-evacuate', returnPlan, HOME, ['running', 'pending'], '2026-12-07T21:00:00.000Z');
const child = journal('C-evacuate-move', movePlan('web'), AWAY, ['done', 'running', 'pending'], '2026-12-07T21:00:01.000Z');

describe('which interrupted jobs a recovery against one host covers', () => {
  test('a plan names the hosts its moves go to and come from', () => {
    expect(planHostUris(returnPlan).sort()).toEqual([AWAY, HOME].sort());
    expect(planHostUris(movePlan('web'))).toEqual([HOME]);
  });

  test('a return killed mid-move: one item, the return, against home and against away alike; its move is folded in', () => {
    for (const uri of [HOME, AWAY]) {
      const scope = recoveryScope([parent, child], uri);
      expect(scope.map((s) => s.journal.record.id), uri).toEqual(['P-evacuate']);
      expect(scope[0]?.moves.map((m) => m.record.id)).toEqual(['C-evacuate-move']);
    }
    expect(recoveryScope([parent, child], OTHER)).toEqual([]);
  });

  test('the item says where the guest\'s move stopped and, from the other host, where the job runs', () => {
    const [scoped] = recoveryScope([parent, child], AWAY);
    const item = describeScopedJob(scoped as NonNullable<typeof scoped>, AWAY);
    expect(item.explanation).toContain("web's move (job C-evacuate-move) stopped during step 2 of 3: move web live to home; finishing this job finishes that move, rolling it back undoes it.");
    expect(item.explanation).toContain(`It runs against ${HOME}: finishing or rolling it back from here works there.`);
    expect(item.guests).toEqual(['web']);
    const fromHome = describeScopedJob(scoped as NonNullable<typeof scoped>, HOME);
    expect(fromHome.explanation.some((l) => l.startsWith('It runs against'))).toBe(false);
  });

  test('a move that had started its final step (deleting the disks it left) makes the job around it one that can only be finished', () => {
    const plan = movePlan('web');
    plan.steps.push({ id: 'remove-source-disks', title: 'delete /img/web.qcow2 on away', action: { name: 'migrate.removeSourceDisks', args: { guest: 'web', dest: homeRef } }, final: true });
    const deleting = journal('D-evacuate-move', plan, AWAY, ['done', 'done', 'done', 'running'], '2026-12-07T21:00:01.000Z');
    const [scoped] = recoveryScope([parent, deleting], HOME);
    const item = describeScopedJob(scoped as NonNullable<typeof scoped>, HOME);
    // null: `recover --rollback` refuses it, and the console offers finish only.
    expect(item.rollback).toBeNull();
    expect(item.explanation).toContain("web's move had started to delete /img/web.qcow2 on away, so this job can only be finished.");
  });

  test('a move left alone (its evacuation resolved, or a plain migrate from away) is its own item at both ends', () => {
    const alone = journal('M-migrate', { ...movePlan('db'), kind: 'migrate' }, AWAY, ['running', 'pending', 'pending'], '2026-12-07T21:05:00.000Z');
    expect(recoveryScope([alone], HOME).map((s) => s.journal.record.id)).toEqual(['M-migrate']);
    expect(recoveryScope([alone], AWAY).map((s) => s.journal.record.id)).toEqual(['M-migrate']);
    expect(recoveryScope([alone], OTHER)).toEqual([]);
    // A move older than the evacuation is not one of its steps.
    const old = journal('O-evacuate-move', movePlan('db'), AWAY, ['running', 'pending', 'pending'], '2026-12-07T20:00:00.000Z');
    expect(recoveryScope([parent, old], HOME).map((s) => s.journal.record.id)).toEqual(['P-evacuate', 'O-evacuate-move']);
  });

  test('any other job stays with the host it was journaled under', () => {
    const convert = journal('X-convert', { kind: 'convert', title: 'convert', targets: { guests: ['web'], images: [] }, steps: [{ id: 'a', title: 'a', command: { runsOn: 'sys', argv: ['qemu-img'] } }] }, AWAY, ['running'], '2026-12-07T21:00:00.000Z');
    expect(recoveryScope([convert], HOME)).toEqual([]);
    expect(recoveryScope([convert], AWAY).map((s) => s.journal.record.id)).toEqual(['X-convert']);
  });
});
