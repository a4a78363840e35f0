import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { createAppStore } from '../../src/store/appStore.js';
import { type BackupsController, type BackupsDeps, createBackupsController, defaultBackupsDeps, guestLines, runLines } from '../../src/store/backupsPane.js';
import { pressKey } from '../../src/store/keys/owners.js';
import type { ConfirmDialog } from '../../src/store/types.js';
import { ext4Disk } from '../helpers/ext4Disk.js';
import { qemuImg, qemuIo, runDir, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * The Backups pane's controller (no Ink) on the real stack: prune of a hand-made catalog, a
 * restore as a new guest of a hand-made run, and the file browser on a run holding an ext4 disk
 * (one libguestfs launch builds it, one browses it), driven by the keys and dialogs the console uses.
 */

const host = localHost();
const scratch = scratchDir('vdtest-bp-');
const dest = join(scratch.dir, 'dest');
const state = join(scratch.dir, 'state');
const PRUNED = 'vdtest-bp-pruneg';
const FILES = 'vdtest-bp-files';
const SRC = 'vdtest-bp-src';
const COPY = 'vdtest-bp-copy';
const orig = join(scratch.dir, 'vdtest-bp-src.qcow2');
const day = (d: number) => new Date(Date.UTC(2026, 5, d, 2));
const runs: Record<string, string> = {};
let restoreRun = '';

const app = createAppStore(host, { size: { columns: 80, rows: 24 }, live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }), paneFactories: {} });
const deps: BackupsDeps = {
  ...defaultBackupsDeps(),
  settings: () => ({ destinations: [dest], retention: { keepLast: 1 }, snapshotMaxAgeDays: 7 }),
  stateDir: () => state,
  detectRecovery: async () => [],
  // The host's real schedule is read only, never written, by this test.
};
const pane: BackupsController = createBackupsController(host, app, deps);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, get: () => T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}; message: ${JSON.stringify(app.getState().message)}; dialogs: ${JSON.stringify(app.getState().dialogs.map((d) => d.kind))}`);
    await sleep(20);
  }
}

/** A key through the router to the pane's own screen (form, review, browser, job), as the console routes it. */
async function key(name: string, input = name.length === 1 ? name : '') {
  const owner = pane.keyOwner?.();
  if (owner) pressKey(owner, { name, input });
  await sleep(5);
}

async function selectGuest(guest: string) {
  pane.dispatch('backupsBack');
  await until('the catalog', () => !pane.store.getState().loading && pane.store.getState().catalog.some((c) => c.guest === guest));
  const names = app.getState().guests.map((g) => g.name);
  const index = guestLines(pane.store.getState(), names).findIndex((l) => l.guest === guest);
  pane.dispatch('top');
  for (let i = 0; i < index; i++) pane.dispatch('down');
  pane.dispatch('backupsOpen');
  expect(pane.store.getState().level).toBe('runs');
}

function confirmDialog(): ConfirmDialog | null {
  const d = app.getState().dialogs.at(-1);
  return d?.kind === 'confirm' ? d : null;
}

function errorText(): string | null {
  const d = app.getState().dialogs.at(-1);
  return d?.kind === 'error' ? `${d.error.sentence} ${d.error.fix}` : null;
}

beforeAll(async () => {
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  mkdirSync(dest, { recursive: true });
  const disk = { target: 'vda', sourcePath: '/var/lib/libvirt/images/x.qcow2', virtualSize: 1 << 20 };
  // Two chains: full 1 + inc 2, full 3 + inc 4. keep-last 1 keeps inc 4, and full 3 for it.
  runs.fullA = writeRun(dest, PRUNED, { at: day(1), kind: 'full', disks: [disk] }).name;
  runs.incA = writeRun(dest, PRUNED, { at: day(2), kind: 'incremental', parent: runs.fullA, disks: [disk] }).name;
  runs.fullB = writeRun(dest, PRUNED, { at: day(3), kind: 'full', disks: [disk] }).name;
  runs.incB = writeRun(dest, PRUNED, { at: day(4), kind: 'incremental', parent: runs.fullB, disks: [disk] }).name;

  qemuImg('create', '-q', '-f', 'qcow2', orig, '8M');
  qemuIo(orig, 'write -P 0xab 0 1M');
  await virsh.defineXml(host, tinyGuestXml(SRC, { disk: orig, mac: '52:54:00:5b:00:01' }));
  const xml = await virsh.dumpXml(host, SRC, { inactive: true });
  const at = day(5);
  const dir = runDir(dest, SRC, at, 'full');
  qemuImg('convert', '-O', 'qcow2', orig, join(dir, 'vda.qcow2'));
  restoreRun = writeRun(dest, SRC, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: orig, virtualSize: 8 << 20 }], domainXml: xml, uuid: getSettings(parseDomainXml(xml)).uuid ?? '' }).name;
  // The guest moved on after the backup; the copy must hold the backed-up bytes.
  qemuIo(orig, 'write -P 0xee 0 512k');

  await app.getState().refresh();
  pane.activate?.();
}, 120_000);

afterAll(async () => {
  pane.dispose?.();
  for (const g of [COPY, SRC]) await removeGuest(host, g);
  scratch.remove();
});

describe('Backups pane on the real stack', () => {
  it('prunes a hand-made catalog: dry run listed, confirm names the runs, only those go', async () => {
    await selectGuest(PRUNED);
    pane.dispatch('backupPrune');
    const form = await until('the prune form', () => pane.store.getState().form);
    expect(form.form.fields.map((f) => f.value)).toEqual(['1', '', '', '', '', '']);
    await key('enter');
    const review = await until('the dry run', () => pane.store.getState().review);
    const text = review.lines.map((l) => l.text).join('\n');
    expect(text).toMatch(new RegExp(`keep +${runs.incB} +keep-last`));
    expect(text).toMatch(new RegExp(`keep +${runs.fullB} +chain: needed by ${runs.incB}`));
    expect(text).toMatch(new RegExp(`REMOVE +${runs.fullA} +no rule keeps it`));
    expect(text).toMatch(new RegExp(`REMOVE +${runs.incA}`));
    expect(readdirSync(join(dest, PRUNED))).toHaveLength(4);
    await key('enter');
    const confirm = await until('the confirm', confirmDialog);
    expect(confirm.lines.join('\n')).toContain(`${PRUNED}/${runs.fullA}`);
    expect(confirm.lines.join('\n')).toContain(`${PRUNED}/${runs.incA}`);
    expect(confirm.lines.join('\n')).not.toContain(runs.fullB);
    app.getState().popDialog();
    await confirm.onYes();
    const job = await until('the prune to finish', () => pane.store.getState().job?.summary != null && pane.store.getState().job);
    expect(errorText()).toBeNull();
    expect(job.summary).toBe(`Deleted 2 directories from ${dest}; 2 kept.`);
    expect(readdirSync(join(dest, PRUNED)).sort()).toEqual([runs.fullB, runs.incB].sort());
    await key('enter');
    expect(pane.store.getState().job).toBeNull();
  });

  it('restores a hand-made run as a new guest: review of the real plan, then the runner, a standalone disk equal to the run', async () => {
    await selectGuest(SRC);
    const lines = runLines(pane.store.getState().catalog.find((c) => c.guest === SRC) ?? null);
    expect(lines.map((l) => l.name)).toEqual([restoreRun]);
    pane.dispatch('backupRestore');
    const form = await until('the restore form', () => pane.store.getState().form);
    // SRC is defined, so a copy is the default.
    expect(form.form.fields[0]?.value).toBe('as a new guest');
    const to = join(scratch.dir, 'new');
    mkdirSync(to);
    await key('tab');
    for (const _ of form.form.fields[1]?.value ?? '') await key('backspace');
    for (const ch of COPY) await key(ch);
    await key('tab');
    for (const _ of form.form.fields[2]?.value ?? '') await key('backspace');
    for (const ch of to) await key(ch);
    expect(pane.store.getState().form?.form.fields.map((f) => f.value).slice(0, 3)).toEqual(['as a new guest', COPY, to]);
    await key('enter');
    const review = await until('the restore review', () => {
      const failed = errorText();
      if (failed) throw new Error(failed);
      return pane.store.getState().review;
    });
    const text = review.lines.map((l) => l.text).join('\n');
    const path = join(to, `${COPY}-vda.qcow2`);
    expect(text).toContain(`vda  → ${path} (qcow2)`);
    // A full qcow2 run restored as qcow2 is copied straight, its sha256 checked on the copy (one read).
    expect(text).toMatch(/cp -T -- .*sha256sum -c/);
    expect(text).toContain(`define the new guest ${COPY}`);
    await key('enter');
    const confirm = await until('the confirm', confirmDialog);
    expect(confirm.lines[0]).toBe(`Creates the new guest ${COPY} (new UUID and MACs) from ${restoreRun}:`);
    expect(confirm.lines).toContain(`${SRC} and its disks are not touched.`);
    app.getState().popDialog();
    await confirm.onYes();
    const job = await until('the restore to finish', () => pane.store.getState().job?.summary != null && pane.store.getState().job, 120_000);
    expect(errorText()).toBeNull();
    expect(job.summary).toContain(`${COPY} restored from ${restoreRun}: vda → ${path}.`);
    expect(job.rows.map((r) => r.state)).toEqual(job.rows.map(() => 'done'));
    expect(existsSync(path)).toBe(true);
    execFileSync('qemu-img', ['compare', '-q', path, join(dest, SRC, restoreRun, 'vda.qcow2')]);
    const copyXml = await virsh.dumpXml(host, COPY, { inactive: true });
    const s = getSettings(parseDomainXml(copyXml));
    expect(s.disks.map((d) => d.source)).toEqual([path]);
    expect(s.nics[0]?.mac).not.toBe('52:54:00:5b:00:01');
    await key('enter');
    expect(pane.store.getState().job).toBeNull();
  }, 180_000);

  it('browses a run through one libguestfs session, extracts to a typed host dir, closes the session on leaving', async () => {
    const raw = join(scratch.dir, 'files.img');
    ext4Disk(raw, 32, { 'etc/hostname': 'vdtest-bp\n' });
    const at = day(6);
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, join(runDir(dest, FILES, at, 'full'), 'vda.qcow2'));
    const run = writeRun(dest, FILES, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: '/var/lib/libvirt/images/x.qcow2', virtualSize: 32 << 20 }] });
    // Guestfish servers on this run; libguestfs forks a recovery child with the same arguments, not counted.
    const guestfishOnRun = () => {
      const procs = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
        .split('\n')
        .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && (m[3] ?? '').startsWith('guestfish') && (m[3] ?? '').includes(run.dir));
      const pids = new Set(procs.map((m) => m[1]));
      return procs.filter((m) => !pids.has(m[2] ?? ''));
    };
    pane.dispatch('refresh');
    await selectGuest(FILES);
    pane.dispatch('backupFiles');
    expect(pane.store.getState().browser?.opening).toBe(true);
    let b = await until('the top directory', () => pane.store.getState().browser?.entries.some((e) => e.name === 'etc') && pane.store.getState().browser, 120_000);
    expect(guestfishOnRun()).toHaveLength(1);
    // Down to etc/ and back up: the same session answers.
    const etc = b.entries.findIndex((e) => e.name === 'etc');
    for (let i = 0; i < etc; i++) await key('down');
    await key('enter');
    b = await until('/etc', () => pane.store.getState().browser?.path === '/etc' && !pane.store.getState().browser?.loading && pane.store.getState().browser);
    expect(b.entries.map((e) => e.name)).toEqual(['hostname']);
    await key('x');
    const form = await until('the extract form', () => pane.store.getState().form);
    const out = join(scratch.dir, 'out');
    for (const _ of form.form.fields[0]?.value ?? '') await key('backspace');
    for (const ch of out) await key(ch);
    await key('enter');
    await until('the extracted file', () => app.getState().message?.text.startsWith('Extracted') && app.getState().message, 60_000);
    expect(errorText()).toBeNull();
    expect(readFileSync(join(out, 'hostname'), 'utf8')).toBe('vdtest-bp\n');
    expect(guestfishOnRun()).toHaveLength(1);
    await key('esc');
    expect(pane.store.getState().browser).toBeNull();
    await until('the session to end', () => guestfishOnRun().length === 0, 30_000);
  }, 240_000);
});
