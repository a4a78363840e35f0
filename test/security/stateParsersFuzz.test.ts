/**
 * Item 10 (state share): the parsers of what virtdeck reads back from its state and config
 * directories — journals, locks, progress snapshots, the disk facts cache, the config file — and
 * the recovery guard that judges a parsed journal, fed arbitrary text and arbitrary JSON: each gives
 * a result (or null) or a UserError, never any other throw.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { parseCacheFile } from '../../src/jobs/diskInventory.js';
import { listJobSummaries, parseProgress } from '../../src/jobs/jobStatus.js';
import { interruptedJobs, parseJournal } from '../../src/jobs/journal.js';
import { parseLock, readLocks } from '../../src/jobs/locks.js';
import { describeInterruptedJob } from '../../src/jobs/recovery.js';
import { assertRecoverablePlan } from '../../src/jobs/recoveryGuard.js';
import { UserError } from '../../src/model/userError.js';

function resultOrUserError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
  }
}

const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v)));

/** Objects in roughly the right shape with hostile values: the fuzzer's best chance at a deep bug. */
const nasty = fc.oneof(fc.jsonValue(), fc.constant('__proto__'), fc.constant({ __proto__: { polluted: 1 } }), fc.constant(Number.MAX_VALUE));
const step = fc.record(
  {
    id: fc.oneof(fc.string(), nasty),
    title: fc.oneof(fc.string(), nasty),
    command: fc.record({ runsOn: fc.constantFrom('sys', 'virsh', 'x'), argv: fc.array(fc.oneof(fc.string(), fc.constantFrom('sh', '-c', 'qemu-img', 'virsh', 'ssh', '-oProxyCommand=x'))) }, { requiredKeys: [] }),
    action: fc.record({ name: fc.string(), args: nasty }, { requiredKeys: [] }),
    writesFile: fc.record({ path: fc.oneof(fc.string(), fc.constantFrom('/tmp/virtdeck-x/a.xml', '/etc/cron.d/x', '/tmp/virtdeck-x/../../etc/x')), content: fc.string() }),
    undo: fc.record({ title: fc.string(), command: fc.record({ runsOn: fc.constant('sys'), argv: fc.array(fc.string()) }), partial: fc.boolean() }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const kind = fc.oneof(fc.string(), fc.constantFrom('convert', 'backup', 'p2v', 'constructor', '__proto__', 'toString', 'hasOwnProperty'));
const journalish = fc.record(
  {
    id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,20}$/), nasty),
    kind,
    title: fc.string(),
    uri: fc.string(),
    pid: fc.oneof(fc.integer(), nasty),
    hostname: fc.string(),
    createdAt: fc.string(),
    updatedAt: fc.string(),
    state: fc.constantFrom('running', 'done', 'failed', 'bogus'),
    plan: fc.record({ kind, title: fc.string(), targets: fc.record({ guests: fc.array(fc.string()), images: fc.array(fc.string()) }), steps: fc.array(step, { maxLength: 4 }) }, { requiredKeys: [] }),
    steps: fc.array(fc.record({ state: fc.constantFrom('pending', 'running', 'done', 'weird') }), { maxLength: 4 }),
    params: nasty,
  },
  { requiredKeys: [] },
);

const home = mkdtempSync(join(tmpdir(), 'vdsec-st-fuzz-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('state files read from disk never throw anything but a UserError', () => {
  test('a journal, a progress snapshot and a lock of any content: job list, recovery and lock listing', () => {
    const state = join(home, 'state');
    mkdirSync(join(state, 'jobs'), { recursive: true, mode: 0o700 });
    mkdirSync(join(state, 'locks'), { recursive: true, mode: 0o700 });
    const id = '20260101T000000000Z-convert-abcdef';
    fc.assert(
      fc.property(fc.oneof(text, journalish.map((j) => JSON.stringify({ ...j, state: 'running', pid: 2 ** 22 + 1 }))), text, text, (journal, progress, lock) => {
        writeFileSync(join(state, 'jobs', `${id}.json`), journal, { mode: 0o600 });
        writeFileSync(join(state, 'jobs', `${id}.progress.json`), progress, { mode: 0o600 });
        writeFileSync(join(state, 'locks', 'x.lock'), lock, { mode: 0o600 });
        resultOrUserError(() => {
          for (const j of interruptedJobs(state, 'elsewhere')) describeInterruptedJob(j.record);
        });
        resultOrUserError(() => listJobSummaries(state, { hostname: 'h', alive: () => false }));
        resultOrUserError(() => readLocks(state).map((l) => `${l.target.kind}:${l.target.name}`));
      }),
      { numRuns: 300 },
    );
  });
});

describe('state parsers never throw anything but a UserError', () => {
  test('journal: parse, then the recovery guard', () => {
    fc.assert(
      fc.property(fc.oneof(text, journalish.map((j) => JSON.stringify(j))), (t) => {
        resultOrUserError(() => {
          const rec = parseJournal(t);
          if (rec) assertRecoverablePlan(rec, ['save-domain-xml', 'write-manifest']);
        });
      }),
      { numRuns: 1500 },
    );
  });

  test('lock file', () => {
    fc.assert(fc.property(text, (t) => resultOrUserError(() => parseLock(t))), { numRuns: 800 });
  });

  test('progress snapshot', () => {
    fc.assert(fc.property(text, (t) => resultOrUserError(() => parseProgress(t))), { numRuns: 800 });
  });

  test('disk facts cache', () => {
    const cacheish = fc.record({ version: fc.oneof(fc.constant(1), nasty), hosts: fc.dictionary(fc.string(), fc.dictionary(fc.string(), nasty)) }, { requiredKeys: [] });
    fc.assert(fc.property(fc.oneof(text, cacheish.map((c) => JSON.stringify(c))), (t) => resultOrUserError(() => parseCacheFile(t))), { numRuns: 800 });
  });

  test('config file', () => {
    const configish = fc.record(
      { hosts: fc.array(fc.record({ name: nasty, uri: fc.oneof(fc.string(), nasty), ssh: nasty }, { requiredKeys: [] })), imageDirs: nasty, group: nasty, demoDir: nasty },
      { requiredKeys: [] },
    );
    fc.assert(fc.property(fc.oneof(text, configish.map((c) => JSON.stringify(c))), (t) => resultOrUserError(() => parseConfig(t, '/etc/virtdeck/config.json'))), { numRuns: 1000 });
  });

  test('a well-formed journal of a known kind passes the guard, and a hostile step in it does not', () => {
    const base = {
      id: '20260101T000000000Z-convert-abcdef',
      kind: 'convert',
      title: 't',
      uri: 'qemu:///system',
      pid: 1,
      hostname: 'h',
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      state: 'running',
      steps: [{ state: 'pending' }],
    };
    const plan = (argv: string[]) => ({ kind: 'convert', title: 't', targets: { guests: [], images: [] }, steps: [{ id: 'a', title: 'a', command: { runsOn: 'sys', argv } }] });
    const ok = parseJournal(JSON.stringify({ ...base, plan: plan(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', '/a', '/b']) }));
    expect(ok).not.toBeNull();
    expect(() => assertRecoverablePlan(ok!, [])).not.toThrow();
    const bad = parseJournal(JSON.stringify({ ...base, plan: plan(['bash', '-c', 'id']) }));
    expect(() => assertRecoverablePlan(bad!, [])).toThrow(UserError);
    // Wrappers a builder uses only around its own tools.
    const wrapped = parseJournal(JSON.stringify({ ...base, plan: plan(['setpriv', '--pdeathsig', 'KILL', '--', 'qemu-img', 'convert', '/a', '/b']) }));
    expect(() => assertRecoverablePlan(wrapped!, [])).not.toThrow();
    for (const argv of [['setpriv', '--pdeathsig', 'KILL', '--', 'touch', '/owned'], ['sh', '-c', 'touch /owned']]) {
      const j = parseJournal(JSON.stringify({ ...base, plan: plan(argv) }));
      expect(() => assertRecoverablePlan(j!, [])).toThrow(/which no virtdeck plan contains/);
    }
    const expand = (argv: string[], input?: string) =>
      parseJournal(JSON.stringify({ ...base, kind: 'expand', plan: { ...plan(argv), kind: 'expand', steps: [{ id: 'a', title: 'a', command: { runsOn: 'sys', argv, ...(input ? { input } : {}) } }] } }));
    expect(() => assertRecoverablePlan(expand(['env', 'LIBGUESTFS_BACKEND=direct', 'guestfish', '--rw', '-a', '/i', '--', 'resize2fs', '/dev/sda1'])!, [])).not.toThrow();
    expect(() => assertRecoverablePlan(expand(['env', 'X=1', 'touch', '/owned'])!, [])).toThrow(UserError);
    expect(() => assertRecoverablePlan(expand(['guestfish', '--rw', '-a', '/i', '--', '!touch', '/owned'])!, [])).toThrow(/host shell command/);
    expect(() => assertRecoverablePlan(expand(['guestfish', '--rw', '-a', '/i'], 'run\n!touch /owned\n')!, [])).toThrow(/host shell command/);
  });
});
