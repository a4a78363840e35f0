import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { readCatalog } from '../../src/jobs/backupCatalog.js';
import { type InstantListEntry, planDiscard, planFinish } from '../../src/jobs/instant.js';
import { Journal } from '../../src/jobs/journal.js';
import { detectRecovery } from '../../src/jobs/recovery.js';
import type { RunnerEvent, RunResult } from '../../src/jobs/runner.js';
import type { DrillOptions, DrillOutcome } from '../../src/jobs/drill.js';
import type { DrillResult } from '../../src/model/drill.js';
import { UserError } from '../../src/model/userError.js';
import type { InstantRecord } from '../../src/model/instantRecovery.js';
import { type BackupSchedule, CRON_FILE, cronFileText } from '../../src/model/schedule.js';
import { type BackupsController, type BackupsDeps, createBackupsController, defaultBackupsDeps } from '../../src/store/backupsPane.js';
import { demoGuests, ESC, KEYS, renderApp } from './helpers.js';

/**
 * Issue 15 in the console: the Backups pane shows which guests run from a backup (I lists them, the
 * strip says so), moves one home while it runs (F: directory, plan, confirm, a job with progress and
 * cancel) or discards it (D: asks first, naming what is lost), and shows the last restore drill.
 */

afterEach(() => cleanup());

const root = mkdtempSync(join(tmpdir(), 'vdtest-iui-'));
const dest = join(root, 'dest');
const stateDir = join(root, 'state');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RUN = '20261120T010000Z-full';
const COPY = 'demo-web-instant';
const OVERLAY = `/var/lib/libvirt/images/${COPY}-vda.instant.qcow2`;
const DAY = 86_400_000;

mkdirSync(join(dest, 'demo-web', RUN), { recursive: true });
writeFileSync(
  join(dest, 'demo-web', RUN, 'manifest.json'),
  JSON.stringify({
    version: 1, guest: 'demo-web', uuid: 'u', createdAt: new Date(Date.now() - 4 * DAY).toISOString(), finishedAt: new Date().toISOString(),
    kind: 'full', parent: null, checkpoint: null, method: 'backup-api', consistency: 'crash-consistent', hostname: 'h', uri: 'qemu:///system',
    disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 1 << 30, bytesWritten: 300 << 20, sha256: null, backing: null }],
    note: null, verified: null,
  }),
);

const record: InstantRecord = {
  version: 1, name: COPY, guest: 'demo-web', dest, run: RUN, chain: [RUN], uri: 'qemu:///system',
  overlays: [{ target: 'vda', path: OVERLAY, backing: join(dest, 'demo-web', RUN, 'vda.qcow2') }],
  originalXml: null, createdAt: new Date(Date.now() - 2 * 3_600_000).toISOString(), serialLog: null,
};
const entry: InstantListEntry = { ...record, state: 'running' };
const drill = (ok: boolean): DrillResult => ({
  uri: 'qemu:///system', dest, guest: 'demo-web', run: RUN, at: new Date(Date.now() - 3 * DAY - 60_000).toISOString(), ok,
  bootSeconds: ok ? 41 : null, evidence: ok ? 'serial console: SeaBIOS' : null, error: ok ? null : 'demo-web-drill-1a2b showed no serial-console output and no guest-agent answer within 600 s',
});

const virsh = (a: string[]) => ['virsh', ...a];

interface Calls {
  finish: { name: string; dir: string; signal?: AbortSignal; onEvent?: (e: RunnerEvent) => void }[];
  discard: { name: string; signal?: AbortSignal }[];
  prepared: string[];
  schedules: BackupSchedule[];
  drills: DrillOptions[];
  drillEnd: { finish: (r: DrillOutcome) => void; fail: (e: Error) => void };
  end: { finish: (r: RunResult & { record: InstantRecord }) => void };
}

async function open(o: { drills?: DrillResult[]; instant?: InstantListEntry[]; over?: Partial<BackupsDeps> } = {}) {
  const calls: Calls = { finish: [], discard: [], prepared: [], schedules: [], drills: [], drillEnd: { finish: () => {}, fail: () => {} }, end: { finish: () => {} } };
  const d: BackupsDeps = {
    ...defaultBackupsDeps(),
    settings: () => ({ destinations: [dest], snapshotMaxAgeDays: 7 }),
    stateDir: () => stateDir,
    readCatalog: (_h, dir) => readCatalog(new LocalExecutor(), dir),
    snapshotsOf: async () => new Map(),
    scheduleStatus: async () => ({ installed: null, scheduler: 'cron', nextRun: null, lastRuns: [] }),
    detectRecovery: async () => [],
    installSchedule: async (_h, wanted, o) => {
      calls.schedules.push(wanted);
      return { kind: 'cron', schedule: wanted, files: [{ path: `/${CRON_FILE}`, content: cronFileText(wanted, ['/usr/bin/virtdeck'], '/var/log/v.log') }], commands: [], nextRun: null, dryRun: Boolean(o.dryRun) };
    },
    runDrill: (_h, o) => {
      calls.drills.push(o);
      return new Promise((resolve, reject) => {
        calls.drillEnd = { finish: resolve, fail: reject };
      });
    },
    listInstant: async () => o.instant ?? [entry],
    readDrills: async () => o.drills ?? [drill(true)],
    prepareFinish: async (_h, name, dir) => {
      calls.prepared.push(`finish ${name} ${dir}`);
      return { plan: planFinish(record, dir, stateDir, virsh), record };
    },
    finishInstant: (_h, name, dir, opts = {}) => {
      calls.finish.push({ name, dir, signal: opts.signal, onEvent: opts.onEvent });
      return new Promise((resolve) => {
        calls.end.finish = resolve;
      });
    },
    prepareDiscard: async (_h, name) => {
      calls.prepared.push(`discard ${name}`);
      return { plan: planDiscard(record, stateDir, virsh), record };
    },
    discardInstant: async (_h, name, opts = {}) => {
      calls.discard.push({ name, signal: opts.signal });
      return { state: 'done', journal: {} as never, record };
    },
    ...o.over,
  };
  const guests = [...demoGuests(), { name: COPY, state: 'running' as const, vcpus: 1, memoryMiB: 512, macs: ['52:54:00:aa:bb:cc'] }];
  const app = await renderApp(guests, { store: { paneFactories: { backups: (host, a) => createBackupsController(host, a, d) } } });
  await app.press('3');
  await app.waitFor(/demo-web +4 days/);
  const pane = app.store.getState().panes.backups as BackupsController;
  return { app, calls, pane };
}

/** Down to the row of GUEST (the list is sorted: demo-files, demo-web, demo-web-instant, …). */
async function select(app: Awaited<ReturnType<typeof open>>['app'], downs: number, guest: string) {
  for (let i = 0; i < downs; i++) await app.press(KEYS.down);
  return app.waitFor(new RegExp(`── ${guest} ─`));
}

const fits = (f: string) => {
  for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  expect(f.split('\n')).toHaveLength(24);
};
const flat = (f: string) => f.replace(/[│\s]+/g, ' ');

describe('issue 15 in the Backups pane: guests running from a backup, drills', () => {
  test('the strip shows the last drill of a guest and that a guest runs from a backup; fits 80x24', async () => {
    const { app } = await open();
    let f = await select(app, 1, 'demo-web');
    f = await app.waitFor('restorable, proven 3 days ago');
    fits(f);
    expect(f).toContain(`restorable, proven 3 days ago (${RUN} booted in 41 s)`);
    expect(f).toContain(`${COPY} runs from ${RUN}: I lists it`);
    f = await select(app, 1, COPY);
    f = await app.waitFor(`runs from the backup demo-web ${RUN}`);
    fits(f);
    // The key hints are in the line itself, cut or not: i shows it whole.
    await app.press('i');
    f = flat(await app.waitFor('F moves it home'));
    expect(f).toContain(`runs from the backup demo-web ${RUN} (started 2 h ago, running): F moves it home, D discards it`);
  });

  test('a failed drill is a warning; a guest never drilled says how to drill it', async () => {
    let { app } = await open({ drills: [drill(false)] });
    await select(app, 1, 'demo-web');
    let f = await app.waitFor('drill failed 3 days ago');
    expect(f).toContain('⚠ drill failed 3 days ago: demo-web-drill-1a2b showed no');
    cleanup();
    // A drill of another destination or of another host is not this guest's here.
    ({ app } = await open({ drills: [{ ...drill(true), dest: '/elsewhere' }, { ...drill(true), uri: 'qemu+ssh://root@b/system' }] }));
    await select(app, 1, 'demo-web');
    f = await app.waitFor('restore never drilled');
    expect(f).toContain('restore never drilled: K proves the newest run boots');
  });

  test('I lists the guests running from a backup: runs read, overlays, since when; fits 80x24', async () => {
    const { app } = await open();
    await app.press('I');
    const f = await app.waitFor('Guests running from a backup');
    fits(f);
    const t = flat(f);
    expect(t).toContain(`${COPY} running from demo-web ${RUN} in ${dest}`);
    expect(t).toContain(`vda: ${OVERLAY} over`);
    expect(t).toContain(`virtdeck backup instant discard ${COPY}`);
    await app.press(ESC);
    await app.waitFor('LAST RUN');
  });

  test('F and D on a guest that does not run from a backup say so and do nothing', async () => {
    const { app, calls, pane } = await open();
    await select(app, 1, 'demo-web');
    await app.press('F');
    await app.waitFor('demo-web was not started from a backup');
    await app.press('D');
    await app.waitFor('demo-web was not started from a backup, so there is nothing to discar');
    expect(app.store.getState().message?.text).toBe('demo-web was not started from a backup, so there is nothing to discard; I lists the guests that were.');
    expect(calls.prepared).toEqual([]);
    expect(pane.store.getState()).toMatchObject({ form: null, review: null, job: null });
  });

  test('F: the directory, the plan (blockcopy), a confirm, then the copy as a job with progress; c → y cancels it', async () => {
    const { app, calls, pane } = await open();
    await select(app, 2, COPY);
    await app.press('F');
    let f = await app.waitFor(`Move ${COPY} home`);
    fits(f);
    expect(f).toContain('[/var/lib/libvirt/images');
    await app.press(KEYS.enter);
    f = await app.waitFor('blockcopy');
    expect(calls.prepared).toEqual([`finish ${COPY} /var/lib/libvirt/images`]);
    fits(f);
    expect(flat(f)).toContain(`virsh blockcopy --domain ${COPY} --path vda --dest /var/lib/libvirt/images/${COPY}-vda.qcow2`);
    await app.press(KEYS.enter);
    f = flat(await app.waitFor(`move ${COPY} home`));
    expect(f).toContain(`then removes the overlays ${OVERLAY}`);
    expect(calls.finish).toHaveLength(0);
    await app.press('y');
    await app.waitFor('c cancel');
    expect(calls.finish).toEqual([expect.objectContaining({ name: COPY, dir: '/var/lib/libvirt/images' })]);
    const run = calls.finish[0];
    const step = planFinish(record, '/var/lib/libvirt/images', stateDir, virsh).steps[0];
    run?.onEvent?.({ type: 'step-start', index: 0, step: step as never });
    run?.onEvent?.({ type: 'progress', index: 0, progress: { percent: 37, bytesDone: 370 << 20, bytesTotal: 1000 << 20, rateBps: 50 << 20, etaSeconds: 13 } });
    f = await app.waitFor('37%');
    fits(f);
    expect(f).toMatch(/370\.0\/1000\.0 MiB/);
    expect(f).toMatch(/50 MiB\/s +0:13/);
    const key = (name: string) => app.store.getState().pressKey({ name, input: name });
    key('c');
    f = await app.waitFor('aborted');
    expect(flat(f)).toContain(`${COPY} keeps running from the backup`);
    key('y');
    expect(run?.signal?.aborted).toBe(true);
    calls.end.finish({ state: 'cancelled', journal: {} as never, record });
    f = await app.waitFor('was cancelled');
    expect(flat(f)).toContain('It still runs from the backup; F tries again.');
    expect(pane.store.getState().job?.state).toBe('cancelled');
  });

  test('F done: the summary says it no longer needs the backup', async () => {
    const { app, calls } = await open();
    await select(app, 2, COPY);
    await app.press('F');
    await app.waitFor(`Move ${COPY} home`);
    await app.press(KEYS.enter);
    await app.waitFor('blockcopy');
    await app.press(KEYS.enter);
    await app.waitFor(`move ${COPY} home`);
    await app.press('y');
    await app.waitFor('c cancel');
    calls.end.finish({ state: 'done', journal: {} as never, record });
    const f = flat(await app.waitFor('no longer needs'));
    expect(f).toContain(`${COPY} runs from /var/lib/libvirt/images now and no longer needs demo-web ${RUN}`);
  });

  test('F on a copy that is shut off says it must run; nothing is planned', async () => {
    const { app, calls } = await open({ instant: [{ ...entry, state: 'shut off' }] });
    await select(app, 2, COPY);
    await app.press('F');
    await app.waitFor(`${COPY} is shut off; its disks are moved home while it runs`);
    expect(calls.prepared).toEqual([]);
  });

  test('D asks first, naming what is lost and what is kept; n keeps it, y discards it', async () => {
    const { app, calls } = await open();
    await select(app, 2, COPY);
    await app.press('D');
    let f = await app.waitFor(`discard ${COPY}`);
    fits(f);
    const t = flat(f);
    expect(t).toContain(`Stops ${COPY} at once`);
    expect(t).toContain(`everything ${COPY} wrote since it started is lost`);
    expect(t).toContain(`The backup demo-web ${RUN}`);
    await app.press('n');
    await app.waitFor('LAST RUN');
    expect(calls.discard).toEqual([]);
    await app.press('D');
    await app.waitFor(`discard ${COPY}`);
    await app.press('y');
    f = flat(await app.waitFor(`${COPY} is gone`));
    expect(f).toContain('1 overlay removed; the backup was not touched.');
    expect(calls.discard).toEqual([expect.objectContaining({ name: COPY })]);
  });

  test('S: the schedule can add a restore drill of every guest after each run; the file shows it', async () => {
    const { app, calls } = await open();
    await app.press('S');
    let f = await app.waitFor('Set a backup schedule');
    expect(f).toContain('< no >');
    fits(f);
    for (let i = 0; i < 3; i++) await app.press(KEYS.tab);
    await app.press(' ');
    await app.waitFor('< yes, every guest after the run >');
    await app.press(KEYS.enter);
    f = flat(await app.waitFor(`--- /${CRON_FILE}`));
    expect(f).toContain(`backup drill --all --dest ${dest}`);
    expect(calls.schedules).toEqual([{ at: '01:30', days: [], dest, drill: true }]);
  });

  test('K: asks first, then the drill as a job: the wait counts up, the result is the summary', async () => {
    const { app, calls } = await open();
    await select(app, 1, 'demo-web');
    await app.press('K');
    let f = await app.waitFor(`drill demo-web`);
    fits(f);
    let t = flat(f);
    expect(t).toContain(`Starts demo-web's newest run ${RUN} as a throwaway copy`);
    expect(t).toContain('then discards the copy whatever happened');
    expect(calls.drills).toEqual([]);
    await app.press('y');
    await app.waitFor('c cancel');
    expect(calls.drills).toEqual([expect.objectContaining({ guest: 'demo-web', dest, stateDir })]);
    calls.drills[0]?.onWait?.(12, 600);
    f = await app.waitFor('12 of 600 s');
    fits(f);
    expect(f).toContain(`✓ start ${RUN} as a throwaway copy`);
    calls.drillEnd.finish({ ...drill(true), name: 'demo-web-drill-1a2b', timeoutS: 600, cleanedUp: true });
    t = flat(await app.waitFor('is restorable'));
    expect(t).toContain(`demo-web is restorable: ${RUN} booted in 41 s (serial console: SeaBIOS).`);
    expect(t).toContain('demo-web-drill-1a2b is gone');
  });

  test('K then c → y: the wait is cancelled (the copy is discarded by the job) and nothing else runs', async () => {
    const { app, calls, pane } = await open();
    await select(app, 1, 'demo-web');
    await app.press('K');
    await app.waitFor('drill demo-web');
    await app.press('y');
    await app.waitFor('c cancel');
    const key = (name: string) => app.store.getState().pressKey({ name, input: name });
    key('c');
    await app.waitFor('Cancel the restore drill of demo-web?');
    key('y');
    expect(calls.drills[0]?.signal?.aborted).toBe(true);
    calls.drillEnd.fail(new UserError('The drill was cancelled; its copy was discarded.', 'Run it again when ready.'));
    await app.waitFor('The drill was cancelled; its copy was discarded.');
    expect(pane.store.getState().job?.state).toBe('cancelled');
    expect(calls.drills).toHaveLength(1);
  });

  test('a move home cut off by a kill: the recovery dialog offers to finish it, or to roll back (it keeps running from the backup; D discards it)', async () => {
    const recoveryState = join(root, 'recovery-state');
    const j = Journal.create(recoveryState, { plan: planFinish(record, '/srv/vm', recoveryState, virsh), uri: 'qemu:///system', hostname: 'elsewhere' });
    j.step(0, 'running');
    const resolved: string[] = [];
    const { app } = await open({
      over: {
        stateDir: () => recoveryState,
        detectRecovery: (host, o) => detectRecovery(host, o),
        resolveRecovery: async (_h, item, how) => {
          resolved.push(`${item.id}:${how}`);
          return { id: item.id, state: 'rolled-back', message: `Rolled back "${item.title}".` };
        },
      },
    });
    (app.store.getState().panes.backups as BackupsController).start();
    const f = flat(await app.waitFor('virtdeck found a job left half-done'));
    expect(f).toContain(`Move ${COPY} home to /srv/vm`);
    expect(f).toContain('Finish: run steps 1');
    expect(f).toContain(`${COPY} keeps running from the backup`);
    expect(f).toContain(`virtdeck backup instant discard ${COPY}`);
    await app.press('r');
    await app.waitFor('Rolled back');
    expect(resolved).toEqual([`${j.record.id}:rollback`]);
  });
});
