import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { readCatalog } from '../../src/jobs/backupCatalog.js';
import type { CopyOptions, CopyResult } from '../../src/jobs/backupCopy.js';
import { recordCopy } from '../../src/jobs/copyState.js';
import type { CopyTarget } from '../../src/model/copyTarget.js';
import { type BackupsController, type BackupsDeps, createBackupsController, defaultBackupsDeps } from '../../src/store/backupsPane.js';
import { ESC, KEYS, renderApp } from './helpers.js';

/** The Backups pane's offsite copies: where each run has copies, and O copying the selected run (asks first). */

afterEach(() => cleanup());
const root = mkdtempSync(join(tmpdir(), 'vdtest-cpui-'));
const dest = join(root, 'dest');
const stateDir = join(root, 'state');
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
for (const [run, kind, parent] of [[RUN_FULL, 'full', null], [RUN_INC, 'incremental', RUN_FULL]] as const) {
  mkdirSync(join(dest, 'demo-web', run), { recursive: true });
  writeFileSync(join(dest, 'demo-web', run, 'manifest.json'), JSON.stringify(manifest(kind, parent)));
}
recordCopy('nas', { guest: 'demo-web', run: RUN_FULL, parent: null, at: new Date(Date.now() - 2 * 3600_000).toISOString(), bytes: 4 << 20 }, stateDir);

const nas: CopyTarget = { name: 'nas', type: 'dir', path: '/mnt/nas/backup' };
const vault: CopyTarget = { name: 'vault', type: 'restic', repository: 'sftp:bk@vault:/srv/restic', passwordFile: '/etc/virtdeck/restic.pw', keepLast: 7 };

async function open(targets: CopyTarget[], over: Partial<BackupsDeps> = {}, state = stateDir) {
  const calls: CopyOptions[] = [];
  let finish: (r: CopyResult) => void = () => {};
  const d: BackupsDeps = {
    ...defaultBackupsDeps(),
    settings: () => ({ destinations: [dest], snapshotMaxAgeDays: 7, copyTargets: targets }),
    stateDir: () => state,
    readCatalog: (_h, dir) => readCatalog(new LocalExecutor(), dir),
    snapshotsOf: async () => new Map(),
    scheduleStatus: async () => ({ installed: null, scheduler: 'cron', nextRun: null, lastRuns: [] }),
    detectRecovery: async () => [],
    copyRuns: (_h, o) => {
      calls.push(o);
      return new Promise((resolve) => {
        finish = resolve;
      });
    },
    ...over,
  };
  const app = await renderApp(undefined, { store: { paneFactories: { backups: (host, a) => createBackupsController(host, a, d) } } });
  await app.press('3');
  await app.waitFor(/demo-web +24 h/);
  await app.press(KEYS.down);
  return { app, calls, finish: (r: CopyResult) => finish(r) };
}

const result = (o: CopyOptions, copied: string[]): CopyResult => ({
  ok: true, target: o.target.name, where: '/mnt/nas/backup', dest, dryRun: false, planned: [],
  copied: copied.map((run) => ({ guest: 'demo-web', run, bytes: 4 << 20, bytesSent: 4 << 20 })), skipped: [], failed: [], dropped: [],
});

describe('Backups pane: offsite copies', () => {
  test('the lists show where each run has copies; the strip names the targets and how long ago', async () => {
    const { app } = await open([nas, vault]);
    let f = await app.waitFor(/COPIES/);
    // The guest list: the last run (the incremental) is on no target yet.
    expect(f).toMatch(/demo-web +24 h +inc +\? +2 +- +-/);
    expect(f).toContain('last run not copied offsite yet (O copies it)');
    await app.press(KEYS.enter);
    f = await app.waitFor(`${RUN_INC}: incremental`);
    expect(f).toMatch(new RegExp(`${RUN_INC} +inc .* - +${RUN_FULL.slice(0, 8)}`));
    expect(f).toMatch(new RegExp(`${RUN_FULL} +full .* nas +-`));
    for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    await app.press(KEYS.down);
    f = await app.waitFor(`${RUN_FULL}: full`);
    expect(f).toContain('copied to nas (2 h ago)');
  });

  test('without copy targets the lists are as before and O says how to add one', async () => {
    const { app, calls } = await open([], {}, join(root, 'empty-state'));
    const f = app.frame();
    expect(f).not.toContain('COPIES');
    await app.press('O');
    await app.waitFor('No copy target is configured: add one to backup.copyTargets');
    expect(calls).toEqual([]);
  });

  test('O on a run: choose the target, the question names what goes (the parent already there is not sent), then progress and the summary', async () => {
    const { app, calls, finish } = await open([nas, vault]);
    const pane = app.store.getState().panes.backups as BackupsController;
    await app.press(KEYS.enter);
    await app.waitFor(`${RUN_INC}: incremental`);
    await app.press('O');
    let f = await app.waitFor(`Copy demo-web ${RUN_INC} offsite`);
    expect(f).toContain('nas (/mnt/nas/backup)');
    await app.press(KEYS.enter);
    f = (await app.waitFor(`Copy demo-web ${RUN_INC} to nas`)).replace(/[│\s]+/g, ' ');
    expect(f).toContain(`To /mnt/nas/backup: ${RUN_INC} Each run is checked`);
    expect(f).not.toContain(`${RUN_FULL} Each`);
    // Asked first: nothing runs before y.
    expect(calls).toEqual([]);
    await app.press('y');
    await app.waitFor(`Copy demo-web to nas (/mnt/nas/backup)`);
    expect(calls[0]?.target).toEqual(nas);
    expect(calls[0]?.runs).toEqual([`demo-web/${RUN_INC}`]);
    expect(calls[0]?.stateDir).toBe(stateDir);
    const o = calls[0] as CopyOptions;
    o.onEvent?.({ type: 'run-start', guest: 'demo-web', run: RUN_INC, index: 0, count: 1, bytes: 4 << 20 });
    o.onEvent?.({ type: 'progress', guest: 'demo-web', run: RUN_INC, progress: { percent: 42, bytesDone: 42 << 20, bytesTotal: 100 << 20, rateBps: 20e6, etaSeconds: 3 } });
    f = await app.waitFor('42%');
    expect(f).toMatch(/42\.0\/100\.0 MiB/);
    expect(f).toContain('c cancel');
    o.onEvent?.({ type: 'run-end', guest: 'demo-web', run: RUN_INC, ok: true, bytesSent: 4 << 20 });
    recordCopy('nas', { guest: 'demo-web', run: RUN_INC, parent: RUN_FULL, at: new Date().toISOString(), bytes: 4 << 20 }, stateDir);
    finish(result(o, [RUN_INC]));
    await app.waitFor('1 run(s) copied to nas and verified there, 4.0M sent.');
    await app.press(KEYS.enter);
    f = await app.waitFor(/NAME +KIND/);
    expect(pane.store.getState().job).toBeNull();
    expect(f).toMatch(new RegExp(`${RUN_INC} +inc .* nas +${RUN_FULL.slice(0, 8)}`));
  });

  test('a single target asks at once; a failed copy shows its sentence; a partial run is refused', async () => {
    const failing: Partial<BackupsDeps> = {
      copyRuns: async (_h, o) => ({ ...result(o, []), ok: false, failed: [{ guest: 'demo-web', run: RUN_INC, error: { sentence: 'The password in /etc/virtdeck/restic.pw does not open the restic repository sftp:bk@vault:/srv/restic.', fix: 'Put the right password there.' } }] }),
    };
    mkdirSync(join(dest, 'demo-web', '20261123T010000Z-inc.partial'), { recursive: true });
    try {
      const { app } = await open([vault], failing);
      await app.press('O');
      // On the guest list O takes the guest's last run; the full one is not on vault either.
      const f = (await app.waitFor(`Copy demo-web ${RUN_INC} to vault`)).replace(/[│\s]+/g, ' ');
      expect(f).toContain(`${RUN_FULL} ${RUN_INC}`);
      expect(f).toContain('Then vault keeps the newest 7 run(s) per guest');
      await app.press('y');
      await app.waitFor('does not open the restic repository');
      await app.press(ESC);
      await app.press(KEYS.enter);
      await app.press(KEYS.enter);
      await app.waitFor('PARTIAL');
      await app.press('O');
      expect(await app.waitFor('is partial: only finished')).toContain('20261123T010000Z-inc.partial is partial');
    } finally {
      rmSync(join(dest, 'demo-web', '20261123T010000Z-inc.partial'), { recursive: true, force: true });
    }
  });
});
