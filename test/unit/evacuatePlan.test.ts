import { describe, expect, it } from 'vitest';
import { asidePath, EVACUATE_JOB_KIND, EVACUATE_MOVE_KIND, type EvacuateCandidate, evacuationOrder, planEvacuation, reviewEvacuation, summaryLines } from '../../src/model/evacuatePlan.js';
import { type MigrateFacts, reviewMigration } from '../../src/model/migratePlan.js';

/** The review and plan of an evacuation, from facts: what moves, what is skipped and why. */

const TO = { uri: 'qemu+ssh://root@host2/system', name: 'host2', fromConfig: true };
const HOME = { uri: 'qemu:///system', name: 'host1' };
const GiB = 2 ** 30;

function facts(name: string, change: { guest?: Partial<MigrateFacts['guest']>; dest?: Partial<MigrateFacts['dest']> } = {}): MigrateFacts {
  const disk = `/var/lib/libvirt/images/${name}.qcow2`;
  const uuid = `${name.padEnd(8, '0').slice(0, 8)}-bbbb-cccc-dddd-eeeeeeeeeeee`;
  return {
    guest: {
      name,
      uuid,
      state: 'running',
      domainType: 'qemu',
      memoryKiB: 1 << 20,
      persistent: true,
      disks: [{ target: 'vda', source: disk, format: 'qcow2', virtualSize: 20 * GiB, fileBytes: 3 * GiB }],
      otherDisks: [],
      cdroms: [],
      nics: [],
      snapshots: [],
      checkpoints: [],
      activeJob: null,
      xml: `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid></domain>`,
      ...change.guest,
    },
    source: { name: 'host1', uri: 'qemu:///system' },
    dest: {
      ref: TO,
      unreachable: null,
      offersKvm: false,
      cpu: null,
      networks: [],
      bridges: [],
      availableMemoryKiB: 8 << 20,
      guests: [],
      existing: [],
      availBytes: { [disk]: 100 * GiB },
      sharedStorage: false,
      ...change.dest,
    },
  };
}

const cand = (f: MigrateFacts | null, name = f?.guest.name ?? 'x', state: EvacuateCandidate['state'] = f?.guest.state ?? 'shut off'): EvacuateCandidate => ({ name, uuid: f?.guest.uuid ?? `${name}-uuid`, state, facts: f });
const OPTS = { copyStorage: true, migrateUri: 'tcp://host2' };

describe('evacuation review', () => {
  it('moves running guests live first, shut-off ones offline when included, and says why a left-out one stays', () => {
    const r = reviewEvacuation('host1', TO, [cand(facts('db', { guest: { state: 'shut off' } })), cand(facts('web')), cand(null, 'old', 'shut off')], OPTS);
    expect(r.entries.map((e) => [e.guest, e.mode])).toEqual([
      ['web', 'live'],
      ['db', 'offline'],
      ['old', 'skip'],
    ]);
    expect(r.entries[2]?.why).toMatch(/--include-shut-off/);
    expect(r.entries[0]?.why).toBe('live, copying 3.0G');
    expect(r.runningLeft).toEqual([]);
  });

  it('skips a refused guest with its check\'s sentence and fix; the others still move; the host is not empty', () => {
    const r = reviewEvacuation('host1', TO, [cand(facts('web', { dest: { guests: [{ name: 'web', uuid: 'x' }] } })), cand(facts('app'))], OPTS);
    const web = r.entries.find((e) => e.guest === 'web');
    expect(web?.mode).toBe('skip');
    expect(web?.why).toBe('host2 already has a guest named web.');
    expect(web?.refusal?.fix).toMatch(/Rename or remove that guest on host2/);
    expect(r.moving.map((e) => e.guest)).toEqual(['app']);
    expect(r.runningLeft).toEqual(['web']);
  });

  it('counts the memory and the copies of the guests before: the third is refused when the first two fill the destination', () => {
    const dest = { availableMemoryKiB: (2 << 20) + (512 << 10) };
    const r = reviewEvacuation('host1', TO, ['a', 'b', 'c'].map((n) => cand(facts(n, { dest }))), OPTS);
    expect(r.entries.map((e) => e.mode)).toEqual(['live', 'live', 'skip']);
    expect(r.entries[2]?.why).toBe('host2 has 512M of memory free and c needs 1.0G.');
    const disk = (n: string) => `/var/lib/libvirt/images/${n}.qcow2`;
    const space = reviewEvacuation('host1', TO, ['a', 'b'].map((n) => cand(facts(n, { dest: { availBytes: { [disk(n)]: 5 * GiB } } }))), OPTS);
    expect(space.entries.map((e) => e.mode)).toEqual(['live', 'skip']);
    expect(space.entries[1]?.why).toMatch(/host2 has 2.0G free where the disks go and the copy needs 3.0G/);
  });

  it('plans one step per moving guest, each running that guest\'s migration plan as its own job', () => {
    const r = reviewEvacuation('host1', TO, [cand(facts('web')), cand(facts('db', { guest: { state: 'shut off' } }))], OPTS);
    const plan = planEvacuation(r, { home: HOME, away: TO, returning: false });
    expect(plan.kind).toBe(EVACUATE_JOB_KIND);
    expect(plan.targets).toEqual({ guests: [], images: [] });
    expect(plan.steps.map((s) => s.title)).toEqual(['move web live to host2, copying its disks', 'move db offline to host2, copying its disks']);
    const args = plan.steps[0]?.action?.args as { plan: { kind: string; steps: { id: string }[] }; leftFiles: { path: string }[] };
    expect(args.plan.kind).toBe(EVACUATE_MOVE_KIND);
    expect(args.plan.steps.map((s) => s.id)).toEqual(['create-dest-disks', 'migrate', 'verify']);
    // What the copy leaves at home: the return sets these aside.
    expect(args.leftFiles).toEqual([{ path: '/var/lib/libvirt/images/web.qcow2', format: 'qcow2', virtualSize: 20 * GiB }]);
    expect(plan.steps.every((s) => s.undo?.partial && s.undo.action?.name === 'evacuate.undoGuest')).toBe(true);
  });

  it('a return sets the stale copies at home aside first and deletes them only after the guest is verified home', () => {
    const left = [{ path: '/var/lib/libvirt/images/web.qcow2', format: 'qcow2', virtualSize: 20 * GiB }];
    const home = { uri: 'qemu:///system', name: 'host1', fromConfig: false };
    const f = facts('web', { dest: { ref: home } });
    const r = reviewEvacuation('host2', home, [{ ...cand({ ...f, source: { name: 'host2', uri: TO.uri } }), setAside: left }], OPTS);
    expect(r.entries[0]?.mode).toBe('live');
    const move = r.entries[0]?.plan;
    expect(move?.steps.map((s) => s.id)).toEqual(['set-aside', 'create-dest-disks', 'migrate', 'verify', 'drop-aside']);
    expect(move?.steps[0]?.undo?.action?.name).toBe('evacuate.putBack');
    expect(asidePath('/var/lib/libvirt/images/web.qcow2')).toBe('/var/lib/libvirt/images/.web.qcow2.virtdeck-before-return');
    const plan = planEvacuation(r, { home: HOME, away: TO, returning: true });
    expect(plan.steps[0]?.title).toBe('bring web live home to host1, copying its disks');
  });

  it('--remove-source-disks: a return deletes the copies on the host the guest leaves once it is verified home, before the stale ones go; an evacuation that deletes them records nothing left at home', () => {
    const left = [{ path: '/var/lib/libvirt/images/web.qcow2', format: 'qcow2', virtualSize: 20 * GiB }];
    const home = { uri: 'qemu:///system', name: 'host1', fromConfig: false };
    const f = facts('web', { dest: { ref: home } });
    const r = reviewEvacuation('host2', home, [{ ...cand({ ...f, source: { name: 'host2', uri: TO.uri } }), setAside: left }], { ...OPTS, removeSourceDisks: true });
    expect(r.entries[0]?.plan?.steps.map((s) => s.id)).toEqual(['set-aside', 'create-dest-disks', 'migrate', 'verify', 'remove-source-disks', 'drop-aside']);
    expect(r.entries[0]?.review?.removeFromSource).toEqual(['/var/lib/libvirt/images/web.qcow2']);
    const away = reviewEvacuation('host1', TO, [cand(facts('web'))], { ...OPTS, removeSourceDisks: true });
    const args = planEvacuation(away, { home: HOME, away: TO, returning: false }).steps[0]?.action?.args as { leftFiles: unknown[] };
    expect(args.leftFiles).toEqual([]);
  });

  it('the way home: a local destination is not "this host" when the source is remote', () => {
    const home = { uri: 'qemu:///system', name: 'host1', fromConfig: false };
    const back = facts('web', { dest: { ref: home } });
    expect(reviewMigration({ ...back, source: { name: 'host2', uri: TO.uri } }, OPTS).checks.find((c) => c.id === 'other-host')).toBeUndefined();
    // From this machine to itself it still is.
    expect(reviewMigration(back, OPTS).checks.find((c) => c.id === 'other-host')?.ok).toBe(false);
  });

  it('orders running guests before shut-off ones, by name', () => {
    const g = (name: string, state: EvacuateCandidate['state']) => ({ name, state });
    expect(evacuationOrder([g('b', 'shut off'), g('z', 'running'), g('a', 'paused')]).map((x) => x.name)).toEqual(['a', 'z', 'b']);
  });

  it('sums up: how many moved, then each guest that did not with its sentence', () => {
    expect(
      summaryLines(
        [
          { guest: 'web', result: 'moved' },
          { guest: 'db', result: 'failed', sentence: 'Copying failed.' },
          { guest: 'old', result: 'skipped', sentence: 'host2 already has a guest named old.' },
        ],
        'host2',
      ),
    ).toEqual(['1 of 3 guest(s) moved to host2: web.', 'failed db: Copying failed.', 'skipped old: host2 already has a guest named old.']);
  });

  it('a guest that moved but whose old disks could not be deleted counts as moved, and the summary says what was left', () => {
    const sentence = "web is not defined on host1, so web's disk files on host2 were not deleted.";
    expect(summaryLines([{ guest: 'web', result: 'moved', sentence }], 'host1', true)).toEqual(['1 of 1 guest(s) back home: web.', `moved web: ${sentence}`]);
  });
});
