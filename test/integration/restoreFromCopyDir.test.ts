import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyRuns } from '../../src/jobs/backupCopy.js';
import type { CopyTarget } from '../../src/model/copyTarget.js';
import { createAppStore } from '../../src/store/appStore.js';
import { type BackupsController, type BackupsDeps, createBackupsController, defaultBackupsDeps, guestLines } from '../../src/store/backupsPane.js';
import { pressKey } from '../../src/store/keys/owners.js';
import { ext4Disk } from '../helpers/ext4Disk.js';
import { qemuImg, runDir, writeRun } from '../helpers/handRun.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * f in the Backups pane on a run whose copy is on a directory target, on the real stack: the
 * browser reads the copy in place (one libguestfs launch), extracts a file from it, and never
 * reads the destination (its image is made unreadable as garbage after the copy).
 */

const host = localHost();
const scratch = scratchDir('vdtest-rcpd-');
const home = join(scratch.dir, 'home');
const state = join(home, 'state');
const dest = join(scratch.dir, 'dest');
const GUEST = 'vdtest-rcpd-src';
const nas: CopyTarget = { name: 'nas', type: 'dir', path: join(scratch.dir, 'nas') };
let run = { name: '', dir: '' };

const app = createAppStore(host, { size: { columns: 80, rows: 24 }, live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }), paneFactories: {} });
const deps: BackupsDeps = { ...defaultBackupsDeps(), settings: () => ({ destinations: [dest], snapshotMaxAgeDays: 7, copyTargets: [nas] }), stateDir: () => state, detectRecovery: async () => [] };
const pane: BackupsController = createBackupsController(host, app, deps);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, get: () => T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const d = app.getState().dialogs.at(-1);
    if (d?.kind === 'error') throw new Error(`${d.error.sentence} ${d.error.fix}`);
    const v = get();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}; message: ${JSON.stringify(app.getState().message)}`);
    await sleep(20);
  }
}
async function key(name: string) {
  const owner = pane.keyOwner?.();
  if (owner) pressKey(owner, { name, input: name.length === 1 ? name : '' });
  await sleep(5);
}

beforeAll(async () => {
  process.env.VIRTDECK_HOME = home;
  mkdirSync(state, { recursive: true, mode: 0o700 });
  mkdirSync(nas.type === 'dir' ? nas.path : '', { recursive: true });
  const raw = join(scratch.dir, 'a.img');
  ext4Disk(raw, 16, { 'srv/report.txt': 'vdtest-rcpd report\n' });
  const at = new Date('2026-06-01T02:00:00Z');
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, join(runDir(dest, GUEST, at, 'full'), 'vda.qcow2'));
  run = writeRun(dest, GUEST, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: join(scratch.dir, 'x.qcow2'), virtualSize: 16 << 20 }] });
  const r = await copyRuns(host, { target: nas, dest, stateDir: state });
  expect(r.copied.map((c) => c.run)).toEqual([run.name]);
  // The destination's image is damaged after the copy: what the browser shows can only come from nas.
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0 0 16M', join(run.dir, 'vda.qcow2')], { stdio: 'ignore' });
  await app.getState().refresh();
  pane.activate?.();
}, 60_000);

afterAll(() => {
  pane.dispose?.();
  scratch.remove();
});

describe('Backups pane: file-level restore from a directory copy target (real stack)', () => {
  it('f → From nas → the copy is browsed in place and a file extracted from it', async () => {
    await until('the catalog', () => !pane.store.getState().loading && pane.store.getState().catalog.some((c) => c.guest === GUEST));
    const index = guestLines(pane.store.getState(), app.getState().guests.map((g) => g.name)).findIndex((l) => l.guest === GUEST);
    pane.dispatch('top');
    for (let i = 0; i < index; i++) pane.dispatch('down');
    pane.dispatch('backupFiles');
    const form = await until('the source form', () => pane.store.getState().form);
    expect(form.form.fields[0]?.options?.map((o) => o.label)).toEqual([`destination ${dest}`, `copy on nas (${nas.type === 'dir' ? nas.path : ''})`]);
    await key('l');
    await key('enter');
    let b = await until('the top directory', () => pane.store.getState().browser?.entries.some((e) => e.name === 'srv') && pane.store.getState().browser, 120_000);
    expect(b).toMatchObject({ from: 'nas', source: `read from the copy in ${nas.type === 'dir' ? nas.path : ''}` });
    for (let i = 0; i < b.entries.findIndex((e) => e.name === 'srv'); i++) await key('down');
    await key('enter');
    b = await until('/srv', () => pane.store.getState().browser?.path === '/srv' && !pane.store.getState().browser?.loading && pane.store.getState().browser);
    expect(b.entries.map((e) => e.name)).toEqual(['report.txt']);
    await key('x');
    const extract = await until('the extract form', () => pane.store.getState().form);
    for (const _ of extract.form.fields[0]?.value ?? '') await key('backspace');
    const out = join(scratch.dir, 'out');
    for (const ch of out) await key(ch);
    await key('enter');
    await until('the extracted file', () => app.getState().message?.text.startsWith('Extracted') && app.getState().message, 120_000);
    expect(readFileSync(join(out, 'report.txt'), 'utf8')).toBe('vdtest-rcpd report\n');
    await key('esc');
    expect(pane.store.getState().browser).toBeNull();
  }, 240_000);
});
