import { describe, expect, it } from 'vitest';
import { parseJobStats } from '../../src/host/migrate.js';
import { jobParts } from '../../src/jobs/migrate.js';
import { copyTempPath, type MigrateFacts, type MigrateOptions, planMigration, reviewMigration } from '../../src/model/migratePlan.js';

/** The checks and the plan of a migration, from facts: each check's bad case refuses with a fix. */

const DISK = '/var/lib/libvirt/images/web.qcow2';

function facts(change: { guest?: Partial<MigrateFacts['guest']>; dest?: Partial<MigrateFacts['dest']> } = {}): MigrateFacts {
  return {
    guest: {
      name: 'web',
      uuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
      state: 'running',
      domainType: 'qemu',
      memoryKiB: 1 << 20,
      persistent: true,
      disks: [{ target: 'vda', source: DISK, format: 'qcow2', virtualSize: 20 * 2 ** 30, fileBytes: 3 * 2 ** 30 }],
      otherDisks: [],
      cdroms: [],
      nics: [{ type: 'network', source: 'default', mac: '52:54:00:00:00:01', model: 'virtio' }] as MigrateFacts['guest']['nics'],
      snapshots: [],
      checkpoints: [],
      activeJob: null,
      xml: "<domain type='qemu'><name>web</name><uuid>aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee</uuid></domain>",
      ...change.guest,
    },
    source: { name: 'host1' },
    dest: {
      ref: { uri: 'qemu+ssh://root@host2/system', name: 'host2', fromConfig: true },
      unreachable: null,
      offersKvm: false,
      cpu: { compatible: true, text: 'CPU described in domain.xml is identical to the CPU provided by hypervisor' },
      networks: [{ name: 'default', active: true }],
      bridges: ['br0'],
      availableMemoryKiB: 8 << 20,
      guests: [{ name: 'other', uuid: '11111111-1111-1111-1111-111111111111' }],
      existing: [],
      availBytes: { [DISK]: 100 * 2 ** 30 },
      sharedStorage: false,
      ...change.dest,
    },
  };
}

const COPY: MigrateOptions = { copyStorage: true, migrateUri: 'tcp://host2' };
const refused = (f: MigrateFacts, o: MigrateOptions = COPY) => reviewMigration(f, o).checks.filter((c) => !c.ok).map((c) => c.id);

describe('migration checks', () => {
  it('pass for a running guest whose disks are copied, and say so', () => {
    const r = reviewMigration(facts(), COPY);
    expect(r.refusals).toEqual([]);
    expect(r.live).toBe(true);
    expect(r.copy).toBe(true);
    expect(r.checks.map((c) => c.id)).toEqual(['answers', 'state', 'accel', 'cpu', 'net-default', 'memory', 'clash', 'space']);
  });

  it.each([
    ['answers', facts({ dest: { unreachable: 'Connection refused' } }), /host2 does not answer \(Connection refused\)/],
    ['accel', facts({ guest: { domainType: 'kvm' } }), /KVM guest and host2 offers no KVM/],
    ['cpu', facts({ dest: { cpu: { compatible: false, text: 'the CPU is incompatible with host CPU' } } }), /CPU model does not run on host2/],
    ['net-default', facts({ dest: { networks: [] } }), /network "default", which does not exist on host2/],
    ['net-default', facts({ dest: { networks: [{ name: 'default', active: false }] } }), /which is not active on host2/],
    ['bridge-br9', facts({ guest: { nics: [{ type: 'bridge', source: 'br9' }] as MigrateFacts['guest']['nics'] } }), /bridge br9, which host2 does not have/],
    ['memory', facts({ dest: { availableMemoryKiB: 512 << 10 } }), /host2 has 512M of memory free and web needs 1.0G/],
    ['clash', facts({ dest: { guests: [{ name: 'web', uuid: 'x' }] } }), /host2 already has a guest named web/],
    ['clash', facts({ dest: { guests: [{ name: 'old', uuid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' }] } }), /a guest \(old\) with web's UUID/],
    ['space', facts({ dest: { availBytes: { [DISK]: 2 ** 30 } } }), /host2 has 1.0G free where the disks go and the copy needs 3.0G/],
    ['dest-files', facts({ dest: { existing: [DISK] } }), /already has a file at \/var\/lib\/libvirt\/images\/web.qcow2/],
    ['snapshots', facts({ guest: { snapshots: ['before-update'] } }), /has snapshots \(before-update\)/],
    ['job', facts({ guest: { activeJob: 'backup' } }), /has a job running \(backup\)/],
    ['persistent', facts({ guest: { persistent: false } }), /no persistent definition/],
  ])('%s refuses its bad case with a sentence and a fix', (id, f, sentence) => {
    const r = reviewMigration(f, COPY);
    const c = r.checks.find((x) => x.id === id && !x.ok);
    expect(c?.refusal?.sentence).toMatch(sentence);
    expect(c?.refusal?.fix.length).toBeGreaterThan(10);
    expect(r.refusals.length).toBeGreaterThan(0);
  });

  it('storage: not shared needs --copy-storage; shared refuses a copy onto itself', () => {
    expect(refused(facts(), { migrateUri: 'tcp://host2' })).toEqual(['storage']);
    expect(refused(facts({ dest: { sharedStorage: true } }))).toEqual(['storage']);
    expect(refused(facts({ dest: { sharedStorage: true } }), { migrateUri: 'tcp://host2' })).toEqual([]);
  });

  it('--offline refuses a running guest; a shut-off guest moves offline', () => {
    expect(refused(facts(), { ...COPY, offline: true })).toEqual(['state']);
    const r = reviewMigration(facts({ guest: { state: 'shut off' } }), COPY);
    expect(r.live).toBe(false);
    // Memory is not needed on the destination for a shut-off guest.
    expect(r.checks.map((c) => c.id)).not.toContain('memory');
  });

  it('checkpoints: the chain ends, the plan drops their metadata first and says the next backup is full', () => {
    const f = facts({ guest: { checkpoints: ['vd-1', 'vd-2'] } });
    const r = reviewMigration(f, COPY);
    expect(r.refusals).toEqual([]);
    expect(r.notes.join(' ')).toMatch(/next backup on host2 is a full one/);
    const plan = planMigration(f, COPY, r);
    expect(plan.steps[0]?.id).toBe('drop-checkpoints');
    expect(plan.steps[0]?.script?.map((c) => c.argv.join(' '))).toEqual([
      'virsh checkpoint-delete --domain web --checkpointname vd-1 --metadata',
      'virsh checkpoint-delete --domain web --checkpointname vd-2 --metadata',
    ]);
  });
});

describe('migration plans', () => {
  it('live with a copy: pre-create the images (undone on failure), migrate, verify', () => {
    const f = facts();
    const o: MigrateOptions = { ...COPY, bandwidthMiB: 100, autoConverge: true };
    const plan = planMigration(f, o, reviewMigration(f, o));
    expect(plan.steps.map((s) => s.id)).toEqual(['create-dest-disks', 'migrate', 'verify']);
    expect(plan.steps[0]?.undo?.action?.name).toBe('migrate.removeDestFiles');
    expect(plan.steps[1]?.command?.argv).toEqual([
      'virsh', 'migrate', '--live', '--persistent', '--undefinesource', '--copy-storage-all', '--auto-converge', '--bandwidth', '100',
      '--domain', 'web', '--desturi', 'qemu+ssh://root@host2/system', '--migrateuri', 'tcp://host2',
    ]);
  });

  it('live on shared storage: no copy, and --unsafe because the marker proved what libvirt cannot see', () => {
    const f = facts({ dest: { sharedStorage: true } });
    const o: MigrateOptions = { migrateUri: 'tcp://host2', keepSource: true };
    const r = reviewMigration(f, o);
    const plan = planMigration(f, o, r);
    expect(plan.steps.map((s) => s.id)).toEqual(['migrate', 'verify']);
    expect(plan.steps[0]?.command?.argv).toContain('--unsafe');
    expect(plan.steps[0]?.command?.argv).not.toContain('--undefinesource');
    expect(r.notes.join(' ')).toMatch(/stays defined \(shut off\) on host1/);
  });

  it('offline: copy to a temp name, rename into place, define there, verify, and only then undefine here', () => {
    const f = facts({ guest: { state: 'shut off' } });
    const plan = planMigration(f, COPY, reviewMigration(f, COPY));
    expect(plan.steps.map((s) => s.id)).toEqual(['copy-0', 'place-disks', 'define-dest', 'verify', 'undefine-source']);
    expect(plan.steps[0]?.action?.args).toMatchObject({ from: DISK, to: '/var/lib/libvirt/images/.web.qcow2.virtdeck-migrate' });
    expect(copyTempPath(DISK)).toBe('/var/lib/libvirt/images/.web.qcow2.virtdeck-migrate');
    expect(plan.steps.every((s) => s.id === 'verify' || s.undo)).toBe(true);
  });
});

describe('--remove-source-disks', () => {
  const REMOVE: MigrateOptions = { ...COPY, removeSourceDisks: true };

  it('live or offline with a copy: the last step deletes the source files, after the guest is checked there; the job is never rolled back past it', () => {
    for (const [state, ids] of [
      ['running', ['create-dest-disks', 'migrate', 'verify', 'remove-source-disks']],
      ['shut off', ['copy-0', 'place-disks', 'define-dest', 'verify', 'undefine-source', 'remove-source-disks']],
    ] as const) {
      const f = facts({ guest: { state } });
      const r = reviewMigration(f, REMOVE);
      expect(r.refusals).toEqual([]);
      expect(r.removeFromSource).toEqual([DISK]);
      const plan = planMigration(f, REMOVE, r);
      expect(plan.steps.map((s) => s.id)).toEqual(ids);
      const last = plan.steps.at(-1);
      expect(last).toMatchObject({ final: true, action: { name: 'migrate.removeSourceDisks', args: { guest: 'web', paths: [DISK], running: state === 'running' } } });
      expect(last?.undo).toBeUndefined();
      expect(last?.title).toBe(`delete ${DISK} on host1 (web ${state === 'running' ? 'runs' : 'is defined'} on host2 from its copies)`);
      expect(r.notes.join(' ')).toContain(`its disk files on host1 are deleted: ${DISK}.`);
    }
  });

  it('refused where it would delete what the guest still reads: shared storage, or a source definition kept', () => {
    const shared = reviewMigration(facts({ dest: { sharedStorage: true } }), { migrateUri: 'tcp://host2', removeSourceDisks: true });
    expect(shared.refusals.map((e) => e.sentence)).toEqual(["web's disks are not copied (host2 reads the same files), so there is nothing left behind on host1 to delete."]);
    expect(shared.removeFromSource).toEqual([]);
    const kept = reviewMigration(facts(), { ...REMOVE, keepSource: true });
    expect(kept.refusals.map((e) => e.fix)).toEqual(['Choose one: --keep-source or --remove-source-disks.']);
    // Without the option nothing is deleted and the note says the files stay.
    const plain = reviewMigration(facts(), COPY);
    expect(plain.removeFromSource).toEqual([]);
    expect(planMigration(facts(), COPY, plain).steps.some((s) => s.final)).toBe(false);
  });
});

describe('domjobinfo --rawstats', () => {
  const text = [
    'Job type:         2',
    'operation: 5',
    'time_elapsed: 5012',
    'data_total: 134217728',
    'data_processed: 67108864',
    'data_remaining: 67108864',
    'memory_total: 71303168',
    'memory_processed: 35651584',
    'memory_remaining: 35651584',
    'memory_bps: 10485760',
    'disk_total: 62914560',
    'disk_processed: 31457280',
    'disk_remaining: 31457280',
    'disk_bps: 5242880',
    'downtime: 300',
    '',
  ].join('\n');

  it('reads the figures and names the job type and operation', () => {
    const s = parseJobStats(text);
    expect(s).toMatchObject({ type: 'Unbounded', operation: 'outgoing migration', dataTotal: 134217728, memoryRemaining: 35651584, diskBps: 5242880, expectedDowntimeMs: 300 });
    expect(parseJobStats('Job type: 0\n').type).toBe('None');
  });

  it('gives memory and disks as parts with rate, ETA and the expected downtime', () => {
    const parts = jobParts(parseJobStats(text));
    expect(parts.map((p) => p.label)).toEqual(['memory (downtime ~300 ms)', 'disks']);
    expect(parts[0]).toMatchObject({ percent: 50, rateBps: 10485760, etaSeconds: 3.4 });
    expect(parts[1]).toMatchObject({ percent: 50, etaSeconds: 6 });
  });
});
