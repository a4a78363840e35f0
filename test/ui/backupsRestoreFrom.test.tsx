import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { readCatalog } from '../../src/jobs/backupCatalog.js';
import type { FetchedRun } from '../../src/jobs/copyFetch.js';
import { recordCopy } from '../../src/jobs/copyState.js';
import { pickRun, type RestoreOptions } from '../../src/jobs/restore.js';
import type { CopyTarget } from '../../src/model/copyTarget.js';
import type { PlanStep } from '../../src/model/plan.js';
import { UserError } from '../../src/model/userError.js';
import { type BackupFs, type BackupsController, type BackupsDeps, createBackupsController, defaultBackupsDeps } from '../../src/store/backupsPane.js';
import { ESC, KEYS, renderApp } from './helpers.js';

/**
 * R and f where the run has offsite copies: From chooses the destination or a copy target holding
 * the run (only those), with the same review, confirm and job as from the destination. A restic
 * copy is brought back first as a job of its own (cancel leaves nothing), and everything it
 * brought back is released when the review is left or the restore ends.
 */

afterEach(() => cleanup());
const root = mkdtempSync(join(tmpdir(), 'vdtest-rcpui-'));
const dest = join(root, 'dest');
const stateDir = join(root, 'state');
const staging = join(root, 'staging');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const RUN_FULL = '20261120T010000Z-full';
const RUN_INC = '20261122T010000Z-inc';
function manifest(kind: 'full' | 'incremental', parent: string | null) {
  return {
    version: 1, guest: 'demo-web', uuid: 'u', createdAt: new Date(Date.now() - (kind === 'full' ? 3 : 1) * 86400_000).toISOString(), finishedAt: new Date().toISOString(),
    kind, parent, checkpoint: null, method: 'backup-api', consistency: 'crash-consistent', hostname: 'h', uri: 'qemu:///system',
    disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 1 << 30, bytesWritten: 4 << 20, sha256: null, backing: null }],
    note: null, verified: null,
  };
}
const nas: CopyTarget = { name: 'nas', type: 'dir', path: join(root, 'nas') };
const vault: CopyTarget = { name: 'vault', type: 'restic', repository: '/srv/restic', passwordFile: '/etc/virtdeck/restic.pw' };
const other: CopyTarget = { name: 'other', type: 'dir', path: '/mnt/other' };
// The same catalog in the destination, on nas and (once brought back) in vault's staging directory.
for (const base of [dest, nas.type === 'dir' ? nas.path : '', staging]) {
  for (const [run, kind, parent] of [[RUN_FULL, 'full', null], [RUN_INC, 'incremental', RUN_FULL]] as const) {
    mkdirSync(join(base, 'demo-web', run), { recursive: true });
    writeFileSync(join(base, 'demo-web', run, 'manifest.json'), JSON.stringify(manifest(kind, parent)));
  }
}
// The full run is on nas and vault; the incremental on none; `other` holds nothing.
for (const t of ['nas', 'vault']) recordCopy(t, { guest: 'demo-web', run: RUN_FULL, parent: null, at: new Date(Date.now() - 2 * 3600_000).toISOString(), bytes: 4 << 20 }, stateDir);
// An older run pruned here but kept on vault, and a guest whose runs are only on nas (its destination was lost).
const RUN_OLD = '20261118T010000Z-full';
recordCopy('vault', { guest: 'demo-web', run: RUN_OLD, parent: null, at: new Date(Date.now() - 4 * 86400_000).toISOString(), bytes: 4 << 20 }, stateDir);
recordCopy('nas', { guest: 'gone-web', run: '20261119T010000Z-full', parent: null, at: new Date(Date.now() - 3 * 86400_000).toISOString(), bytes: 4 << 20 }, stateDir);
mkdirSync(join(staging, 'demo-web', RUN_OLD), { recursive: true });
writeFileSync(join(staging, 'demo-web', RUN_OLD, 'manifest.json'), JSON.stringify(manifest('full', null)));

async function plannedFor(req: { guest: string; dest: string; run?: string; asName?: string; toDir?: string }) {
  const backups = (await readCatalog(new LocalExecutor(), req.dest)).find((g) => g.guest === req.guest);
  if (!backups) throw new UserError(`There are no backups of ${req.guest} in ${req.dest}.`, 'List them.');
  const picked = pickRun(backups, req.run);
  const name = req.asName ?? req.guest;
  const path = `${req.toDir}/${name}-vda.qcow2`;
  const from = `${req.dest}/${req.guest}/${picked.run.name}/vda.qcow2`;
  const steps: PlanStep[] = [
    { id: 'convert-vda', title: `rebuild vda from ${picked.run.name}`, command: { runsOn: 'sys', argv: ['qemu-img', 'convert', '-p', '-O', 'qcow2', from, `${path}.tmp`] }, long: true },
    { id: 'define', title: `define the new guest ${name}`, command: { runsOn: 'virsh', argv: ['virsh', 'define', '--file', '/tmp/r.xml'] } },
  ];
  return {
    plan: { kind: 'backup-restore', title: `Restore ${req.guest} (${picked.run.name}) as ${name}`, targets: { guests: [name], images: [path] }, steps },
    name,
    disks: [{ target: 'vda', from, path, format: 'qcow2', temp: `${path}.tmp`, aside: null }],
    xml: '<domain/>',
    notes: [],
    damage: [],
    at: '2026-11-25T00:00:00.000Z',
    found: { backups, ...picked },
  };
}

interface Calls {
  fetched: { target: string; run: string; signal?: AbortSignal; onBytes?: (bytes: number) => void }[];
  released: string[];
  prepared: { dest: string; run?: string }[];
  restore: RestoreOptions[];
  opened: { dest: string; run: string; from?: string }[];
}

async function open(over: Partial<BackupsDeps> = {}) {
  const calls: Calls = { fetched: [], released: [], prepared: [], restore: [], opened: [] };
  let finishFetch: (ok: boolean) => void = () => {};
  let finishRestore: (r: Awaited<ReturnType<NonNullable<BackupsDeps['restore']>>>) => void = () => {};
  const fs: BackupFs = { list: async () => [{ name: 'etc', type: 'dir', size: 0 }], extract: async () => [], close: async () => {}, source: 'read through restic mount of vault (nothing restored first)' };
  const d: BackupsDeps = {
    ...defaultBackupsDeps(),
    settings: () => ({ destinations: [dest], snapshotMaxAgeDays: 7, copyTargets: [vault, nas, other] }),
    stateDir: () => stateDir,
    readCatalog: (_h, dir) => readCatalog(new LocalExecutor(), dir),
    snapshotsOf: async () => new Map(),
    scheduleStatus: async () => ({ installed: null, scheduler: 'cron', nextRun: null, lastRuns: [] }),
    detectRecovery: async () => [],
    fetchCopy: (_h, t, _g, run, o) => {
      calls.fetched.push({ target: t.name, run, signal: o.signal, onBytes: o.onBytes });
      const got = (where: string): FetchedRun => ({ dest: where, run, staging: t.type === 'dir' ? null : where, cleanup: async () => void calls.released.push(t.name) });
      if (t.type === 'dir') return Promise.resolve(got(t.path));
      return new Promise((resolve, reject) => {
        finishFetch = (ok) => (ok ? resolve(got(staging)) : reject(new UserError('Bringing it back was cancelled.', 'Nothing is left.')));
        o.signal?.addEventListener('abort', () => reject(new UserError('cancelled', 'nothing left')));
      });
    },
    prepareRestore: async (_h, req) => {
      calls.prepared.push({ dest: req.dest, run: req.run });
      return plannedFor(req);
    },
    restore: (_h, o) => {
      calls.restore.push(o);
      return new Promise((resolve) => {
        finishRestore = resolve;
      });
    },
    openBackupFs: async (_h, o) => {
      calls.opened.push({ dest: o.dest, run: o.run, ...(o.from ? { from: o.from.name } : {}) });
      return fs;
    },
    ...over,
  };
  const app = await renderApp(undefined, { store: { paneFactories: { backups: (host, a) => createBackupsController(host, a, d) } } });
  await app.press('3');
  await app.waitFor(/demo-web +24 h/);
  await app.press(KEYS.down);
  await app.press(KEYS.enter);
  await app.waitFor(`${RUN_INC}: incremental`);
  const pane = app.store.getState().panes.backups as BackupsController;
  return { app, calls, pane, finishFetch: (ok: boolean) => finishFetch(ok), finishRestore: (r: Awaited<ReturnType<NonNullable<BackupsDeps['restore']>>>) => finishRestore(r) };
}

const fits = (f: string) => {
  for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
  expect(f.split('\n')).toHaveLength(24);
};
const flat = (f: string) => f.replace(/[│|\s]+/g, ' ');

describe('Backups pane: restore and browse from a copy target', () => {
  test('a run without copies: R has no From field and reads the destination, as before', async () => {
    const { app, calls, pane } = await open();
    await app.press('R');
    const f = await app.waitFor(`Restore demo-web from ${RUN_INC}`);
    expect(f).not.toMatch(/From +</);
    expect(pane.store.getState().form?.form.fields.map((x) => x.id)).not.toContain('from');
    await app.press(KEYS.enter);
    await app.waitFor(`Restore demo-web (${RUN_INC}) as demo-web-restored`);
    expect(calls.prepared).toEqual([{ dest, run: RUN_INC }]);
    expect(calls.fetched).toEqual([]);
  });

  test('R on a copied run: From offers the destination and each target holding it (not the others); nas is read in place, through review, confirm and job', async () => {
    const { app, calls, pane, finishRestore } = await open();
    await app.press(KEYS.down);
    await app.waitFor(`${RUN_FULL}: full`);
    await app.press('R');
    let f = await app.waitFor(`Restore demo-web from ${RUN_FULL}`);
    fits(f);
    expect(flat(f)).toContain('Verified copies of this run: nas (2 h ago), vault (2 h ago).');
    expect(f).toContain(`< destination ${dest}`);
    const from = pane.store.getState().form?.form.fields[0];
    expect(from?.id).toBe('from');
    expect(from?.options?.map((o) => o.value)).toEqual(['(destination)', 'nas', 'vault']);
    await app.press('l');
    f = await app.waitFor('< copy on nas');
    fits(f);
    await app.press(KEYS.enter);
    f = await app.waitFor(`Restore demo-web (${RUN_FULL}) as demo-web-restored`);
    const nasPath = nas.type === 'dir' ? nas.path : '';
    expect(flat(f)).toContain(`Read from the copy on nas (${nasPath}), not from the destination.`);
    expect(calls.fetched.map((c) => c.target)).toEqual(['nas']);
    expect(calls.prepared).toEqual([{ dest: nasPath, run: RUN_FULL }]);
    await app.press(KEYS.enter);
    f = flat(await app.waitFor('Creates the new guest demo-web-restored'));
    expect(f).toContain('The run is read from the copy on nas.');
    await app.press('y');
    await app.waitFor('c cancel');
    expect(calls.restore[0]).toMatchObject({ guest: 'demo-web', dest: nasPath, run: RUN_FULL, asName: 'demo-web-restored' });
    const planned = await plannedFor({ guest: 'demo-web', dest: nasPath, run: RUN_FULL, asName: 'demo-web-restored', toDir: '/img' });
    finishRestore({ name: 'demo-web-restored', run: RUN_FULL, disks: planned.disks, notes: [], state: 'done' });
    f = flat(await app.waitFor('demo-web-restored restored from'));
    expect(f).toContain(`demo-web-restored restored from ${RUN_FULL} (the copy on nas): vda → /img/demo-web-restored-vda.qcow2.`);
    expect(calls.released).toEqual(['nas']);
  });

  test('R from a restic copy: brought back as a job first, then the review reads the staging dir; Esc on the review releases it', async () => {
    const { app, calls, pane, finishFetch } = await open();
    await app.press(KEYS.down);
    await app.waitFor(`${RUN_FULL}: full`);
    await app.press('R');
    await app.waitFor(`Restore demo-web from ${RUN_FULL}`);
    await app.press('l');
    await app.press('l');
    await app.waitFor('< copy on vault (restic /srv/restic)');
    await app.press(KEYS.enter);
    let f = await app.waitFor('and the runs it builds on');
    fits(f);
    expect(f).toContain(`Bring demo-web ${RUN_FULL} back from vault (restic /srv/restic)`);
    expect(flat(f)).toContain('restic restore into a private temp dir, then sha256 against the manifests');
    expect(f).toContain('c cancel');
    expect(calls.prepared).toEqual([]);
    // Progress against the size the copy record holds for the chain (4 MiB here).
    calls.fetched[0]?.onBytes?.(1 << 20);
    calls.fetched[0]?.onBytes?.(2 << 20);
    f = await app.waitFor('50%');
    expect(f).toMatch(/2\.0\/4\.0 MiB/);
    finishFetch(true);
    f = await app.waitFor(`Restore demo-web (${RUN_FULL}) as demo-web-restored`);
    expect(flat(f)).toContain(`Read from the copy on vault (${staging}), not from the destination.`);
    expect(calls.prepared).toEqual([{ dest: staging, run: RUN_FULL }]);
    expect(pane.store.getState().job).toBeNull();
    expect(calls.released).toEqual([]);
    await app.press(ESC);
    await app.waitFor('Cancelled: nothing was changed.');
    expect(calls.released).toEqual(['vault']);
    expect(calls.restore).toEqual([]);
  });

  test('R → run it from the backup now, from a restic copy: planned on what was brought back; a plan that fails releases it', async () => {
    const instantDests: string[] = [];
    const { app, calls, finishFetch } = await open({
      prepareInstant: async (_h, o) => {
        instantDests.push(o.dest);
        throw new UserError('A guest named demo-web-instant already exists.', 'Choose another name.');
      },
      runInstant: async () => {
        throw new Error('not reached');
      },
    });
    await app.press(KEYS.down);
    await app.waitFor(`${RUN_FULL}: full`);
    await app.press('R');
    await app.waitFor(`Restore demo-web from ${RUN_FULL}`);
    await app.press('h');
    await app.waitFor('< copy on vault');
    await app.press(KEYS.tab);
    await app.press('l');
    await app.press('l');
    await app.waitFor('< run it from the backup now (instant) >');
    await app.press(KEYS.enter);
    await app.waitFor('and the runs it builds on');
    finishFetch(true);
    const f = await app.waitFor('Choose another name.');
    expect(f).toContain('A guest named demo-web-instant already exists.');
    expect(instantDests).toEqual([staging]);
    expect(calls.released).toEqual(['vault']);
  });

  test('a run only on a copy target (pruned here) is a COPY row: R and f read it there (From offers only the targets), V says why not', async () => {
    const { app, calls, pane, finishFetch } = await open();
    await app.press(KEYS.down);
    await app.press(KEYS.down);
    let f = await app.waitFor(new RegExp(`${RUN_OLD} +COPY: only on vault, not in this destination`));
    fits(f);
    await app.press('V');
    await app.waitFor(`${RUN_OLD} is only on copy targets`);
    expect(app.store.getState().message?.text).toContain('R restores it and f browses it from there');
    await app.press('R');
    await app.waitFor(`Restore demo-web from ${RUN_OLD}`);
    const from = pane.store.getState().form?.form.fields[0];
    expect(from?.options?.map((o) => o.value)).toEqual(['vault']);
    expect(from?.value).toBe('vault');
    await app.press(KEYS.enter);
    await app.waitFor('and the runs it builds on');
    finishFetch(true);
    await app.waitFor(`Restore demo-web (${RUN_OLD}) as demo-web-restored`);
    expect(calls.prepared).toEqual([{ dest: staging, run: RUN_OLD }]);
    await app.press(ESC);
    await app.waitFor('Cancelled: nothing was changed.');
    expect(calls.released).toEqual(['vault']);
    await app.press('f');
    await app.waitFor(`Browse the files of demo-web ${RUN_OLD}`);
    expect(pane.store.getState().form?.form.fields[0]?.options?.map((o) => o.value)).toEqual(['vault']);
    await app.press(KEYS.enter);
    await app.waitFor('copy on vault (restic mount)');
    expect(calls.opened).toEqual([{ dest, run: RUN_OLD, from: 'vault' }]);
    await app.press(ESC);
    // A guest whose runs are only on a copy target is listed, and its strip says where they are.
    await app.press(ESC);
    await app.press(KEYS.down);
    f = await app.waitFor(/▶ gone-web/);
    expect(flat(f)).toContain('1 run only on nas, not here: Enter lists them, R and f read them there');
  });

  test('cancelling while a restic copy is brought back: asks, stops it, no review, nothing restored', async () => {
    const { app, calls, pane } = await open();
    await app.press(KEYS.down);
    await app.waitFor(`${RUN_FULL}: full`);
    await app.press('R');
    await app.waitFor(`Restore demo-web from ${RUN_FULL}`);
    await app.press('h');
    await app.waitFor('< copy on vault');
    await app.press(KEYS.enter);
    await app.waitFor('and the runs it builds on');
    await app.press('c');
    await app.press('y');
    expect(flat(await app.waitFor('was cancelled;'))).toContain('was cancelled; nothing is left behind');
    expect(calls.fetched[0]?.signal?.aborted).toBe(true);
    expect(pane.store.getState().review).toBeNull();
    expect(calls.prepared).toEqual([]);
  });

  test('f on a copied run: From first, then the browser opens the copy on vault and says how it was reached', async () => {
    const { app, calls, pane } = await open();
    await app.press(KEYS.down);
    await app.waitFor(`${RUN_FULL}: full`);
    await app.press('f');
    let f = await app.waitFor(`Browse the files of demo-web ${RUN_FULL}`);
    fits(f);
    expect(flat(f)).toContain('restic mount where FUSE works');
    expect(calls.opened).toEqual([]);
    await app.press('h');
    await app.waitFor('< copy on vault');
    await app.press(KEYS.enter);
    f = await app.waitFor('copy on vault (restic mount)');
    fits(f);
    expect(calls.opened).toEqual([{ dest, run: RUN_FULL, from: 'vault' }]);
    expect(pane.store.getState().browser).toMatchObject({ from: 'vault', source: 'read through restic mount of vault (nothing restored first)' });
    expect(app.store.getState().message?.text).toContain('read through restic mount of vault');
    // The incremental has no copy: f opens it from the destination at once, as before.
    await app.press(ESC);
    await app.press(KEYS.up);
    await app.waitFor(`${RUN_INC}: incremental`);
    await app.press('f');
    await app.waitFor('0 marked · read-only view of the backup');
    expect(calls.opened[1]).toEqual({ dest, run: RUN_INC });
  });
});
