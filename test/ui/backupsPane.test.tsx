import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup } from 'ink-testing-library';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { parseSnapshotXml } from '../../src/host/snapshots.js';
import { readCatalog } from '../../src/jobs/backupCatalog.js';
import type { BackupEvent } from '../../src/jobs/backup.js';
import { Journal } from '../../src/jobs/journal.js';
import { detectRecovery } from '../../src/jobs/recovery.js';
import { type BackupFs, type BackupsController, type BackupsDeps, createBackupsController, defaultBackupsDeps } from '../../src/store/backupsPane.js';
import { guestWarnings } from '../../src/store/warnings.js';
import { ESC, KEYS, renderApp } from './helpers.js';

afterEach(() => cleanup());

const root = mkdtempSync(join(tmpdir(), 'vdtest-sn-ui-'));
const dest = join(root, 'dest');
afterAll(() => rmSync(root, { recursive: true, force: true }));

function manifest(kind: 'full' | 'incremental', parent: string | null, verified: boolean | null) {
  return {
    version: 1, guest: 'demo-web', uuid: 'u', createdAt: new Date(Date.now() - (kind === 'full' ? 3 : 1) * 86400_000).toISOString(), finishedAt: new Date().toISOString(),
    kind, parent, checkpoint: null, method: 'backup-api', consistency: 'crash-consistent', hostname: 'h', uri: 'qemu:///system',
    disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: '/img/web.qcow2', sourceFormat: 'qcow2', virtualSize: 1 << 30, bytesWritten: kind === 'full' ? 300 << 20 : 4 << 20, sha256: null, backing: null }],
    note: null, verified: verified === null ? null : { at: 'x', ok: verified, findings: [], testRestore: false },
  };
}
for (const [run, kind, parent, verified] of [['20261120T010000Z-full', 'full', null, true], ['20261122T010000Z-inc', 'incremental', '20261120T010000Z-full', null]] as const) {
  mkdirSync(join(dest, 'demo-web', run), { recursive: true });
  writeFileSync(join(dest, 'demo-web', run, 'manifest.json'), JSON.stringify(manifest(kind, parent, verified)));
}
mkdirSync(join(dest, 'demo-web', '20261123T010000Z-inc.partial'), { recursive: true });

const oldSnapshot = parseSnapshotXml(`<domainsnapshot><name>before-update</name><state>running</state><creationTime>${Math.floor(Date.now() / 1000) - 10 * 86400}</creationTime><memory snapshot='internal'/><disks><disk name='vda' snapshot='internal'/></disks></domainsnapshot>`, true);

interface Calls {
  restore: unknown[];
  extract: unknown[];
  listed: string[];
  resolved: string[];
}

function deps(calls: Calls, over: Partial<BackupsDeps> = {}): { deps: BackupsDeps; finishBackup: () => void; emit: (e: BackupEvent) => void } {
  let finish = () => {};
  let emit: (e: BackupEvent) => void = () => {};
  const fs: BackupFs = {
    list: async (path) => {
      calls.listed.push(path);
      return path === '/' ? [{ name: 'etc', type: 'dir', size: 0 }, { name: 'home', type: 'dir', size: 0 }, { name: 'vmlinuz', type: 'file', size: 7 << 20 }] : [{ name: 'hosts', type: 'file', size: 180 }, { name: 'passwd', type: 'file', size: 1200 }];
    },
    extract: async (paths, dir) => {
      calls.extract.push({ paths, dir });
    },
    close: async () => {},
  };
  const d: BackupsDeps = {
    ...defaultBackupsDeps(),
    settings: () => ({ destinations: [dest], snapshotMaxAgeDays: 7 }),
    stateDir: () => join(root, 'state'),
    readCatalog: (_host, dir) => readCatalog(new LocalExecutor(), dir),
    snapshotsOf: async () => new Map([['demo-web', [oldSnapshot]]]),
    scheduleLine: async () => 'nightly 01:30 → next in 5 h 12 min',
    runBackup: (_host, o) =>
      new Promise((resolve) => {
        emit = o.onEvent;
        finish = () => resolve({ guests: [{ guest: 'demo-web', ok: true, state: 'done' }] });
      }),
    verify: async (_h, o) => [{ run: o.run, ok: true, findings: [] }],
    restore: async (_h, o) => {
      calls.restore.push(o);
      return `Restored ${o.guest} as ${o.asName ?? o.guest}.`;
    },
    openBackupFs: async () => fs,
    detectRecovery: async () => [],
    resolveRecovery: async (_h, item, how) => {
      calls.resolved.push(`${item.id}:${how}`);
      return { id: item.id, state: 'done', message: `Finished "${item.title}".` };
    },
    ...over,
  };
  return { deps: d, finishBackup: () => finish(), emit: (e) => emit(e) };
}

async function open(over: Partial<BackupsDeps> = {}) {
  const calls: Calls = { restore: [], extract: [], listed: [], resolved: [] };
  const made = deps(calls, over);
  const app = await renderApp(undefined, { store: { paneFactories: { backups: (host, a) => createBackupsController(host, a, made.deps) } } });
  return { app, calls, ...made };
}

describe('Backups pane', () => {
  test('guests → runs → back; partial runs shown as such; snapshot flagged; fits 80x24', async () => {
    const { app } = await open();
    await app.press('3');
    await app.waitFor('LAST RUN');
    await app.press(KEYS.down);
    let f = await app.waitFor(/▶ demo-web +24 h +inc +\? +2 +1 ⚠ too old +1 partial/);
    expect(f).toContain(`Destination ${dest}`);
    expect(f).toContain('nightly 01:30');
    for (const l of f.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    expect(f.split('\n')).toHaveLength(24);
    await app.press(KEYS.enter);
    f = await app.waitFor('PARTIAL');
    expect(f).toMatch(/20261123T010000Z-inc\.partial +PARTIAL: interrupted/);
    expect(f).toMatch(/20261122T010000Z-inc +inc +4\.0M +24 h +\? +20261120T/);
    expect(f).toMatch(/20261120T010000Z-full +full +300M +3 days +✓ +-/);
    expect(f).toContain('snapshots: *before-update (internal+memory, 10 days)');
    await app.press(KEYS.down);
    f = await app.waitFor('20261122T010000Z-inc: incremental');
    expect(f).toContain('24 h ago · backup-api · crash-consisten');
    await app.press(ESC);
    await app.waitFor('LAST RUN');
  });

  test('the Guests pane flags the snapshot kept too long', async () => {
    const { app } = await open();
    app.store.getState().panes.backups?.start?.();
    await app.press('3');
    await app.press('1');
    await app.press(KEYS.down);
    const guest = app.store.getState().guests.find((g) => g.name === 'demo-web');
    await new Promise((r) => setTimeout(r, 50));
    expect(guestWarnings(guest!, app.store.getState().guests)[0]).toMatch(/^Snapshot "before-update" kept for 10 days/);
    expect(await app.waitFor('Snapshot "before-update" kept for 10 days')).toContain('⚠');
  });

  test('back up now: progress rows, then the summary', async () => {
    const { app, emit, finishBackup } = await open();
    await app.press('3');
    await app.waitFor('LAST RUN');
    await app.press('b');
    await app.waitFor(`Back up all guests to ${dest}`);
    emit({ type: 'guest-start', guest: 'demo-web', decision: { kind: 'incremental', method: 'backup-api', consistency: 'crash-consistent' } as never, plan: {} as never });
    emit({ type: 'runner', guest: 'demo-web', event: { type: 'progress', index: 1, progress: { percent: 61, bytesDone: 610 << 20, bytesTotal: 1000 << 20, rateBps: 200e6, etaSeconds: 23 } } });
    const f = await app.waitFor('61%');
    expect(f).toContain('incremental · backup-api · crash-consiste');
    expect(f).toContain('c cancel');
    finishBackup();
    await app.waitFor('Backed up 1 guest.');
    await app.press(KEYS.enter);
    await app.waitFor('LAST RUN');
  });

  test('verify and restore flows', async () => {
    const { app, calls } = await open();
    await app.press('3');
    await app.waitFor('LAST RUN');
    await app.press(KEYS.down);
    await app.press(KEYS.enter);
    await app.waitFor('PARTIAL');
    await app.press('V');
    await app.waitFor('is partial: there is nothing to verify');
    await app.press(KEYS.down);
    await app.press('V');
    await app.waitFor('20261122T010000Z-inc verified.');
    await app.press(KEYS.enter);
    await app.waitFor('PARTIAL');
    await app.press('R');
    await app.waitFor('Restore demo-web from 20261122T010000Z-inc');
    for (let i = 0; i < 'demo-web'.length; i++) await app.press(KEYS.backspace);
    await app.type('web-copy');
    await app.waitFor('[web-copy');
    await app.press(KEYS.enter);
    await app.waitFor('Restored demo-web as web-copy.');
    expect(calls.restore).toEqual([{ dest, guest: 'demo-web', run: '20261122T010000Z-inc', asName: 'web-copy' }]);
  });

  test('file browser: descend, go up, mark, extract', async () => {
    const { app, calls } = await open();
    await app.press('3');
    await app.waitFor('LAST RUN');
    await app.press(KEYS.down);
    await app.press('f');
    let f = await app.waitFor('vmlinuz');
    expect(f).toContain('etc/');
    await app.press(KEYS.enter);
    f = await app.waitFor('passwd');
    expect(f).toContain(':/etc');
    await app.press(' ');
    await app.waitFor('1 marked');
    await app.press('x');
    await app.waitFor('Extract 1 item from demo-web');
    for (let i = 0; i < 4; i++) await app.press(KEYS.backspace);
    await app.type('/root/out');
    await app.press(KEYS.enter);
    await app.waitFor('Extracted 1 item to /root/out.');
    expect(calls.extract).toEqual([{ paths: ['/etc/hosts'], dir: '/root/out' }]);
    await app.press(KEYS.backspace);
    await app.waitFor('vmlinuz');
    expect(calls.listed).toEqual(['/', '/etc', '/']);
    await app.press(ESC);
    await app.waitFor('LAST RUN');
  });

  test('recovery dialog at start from a hand-made interrupted journal', async () => {
    const stateDir = join(root, 'recovery-state');
    const j = Journal.create(stateDir, {
      plan: { kind: 'convert', title: 'convert web.vmdk to web.raw', targets: { guests: [], images: [] }, steps: [{ id: 'copy', title: 'convert', undo: { title: 'remove the partial copy', partial: true } }, { id: 'compare', title: 'compare' }] },
      uri: 'qemu:///system',
      hostname: 'elsewhere',
    });
    j.step(0, 'running');
    const { app, calls } = await open({ stateDir: () => stateDir, detectRecovery: (host, o) => detectRecovery(host, o) });
    (app.store.getState().panes.backups as BackupsController).start();
    const raw = await app.waitFor('virtdeck found a job left half-done');
    const f = raw.replace(/[│\n ]+/g, ' ');
    expect(f).toContain('was stopped while running "convert web.vmdk to web.raw", during step 1 of 2: convert.');
    expect(f).toContain('Finish: run steps 1–2 again');
    expect(f).toContain('Roll back: remove the partial copy.');
    await app.press('f');
    await app.waitFor('Done: Finished "convert web.vmdk to web.raw".');
    expect(calls.resolved).toEqual([`${j.record.id}:finish`]);
    await app.press(ESC);
    await app.waitFor('demo-web');
  });
});
