import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ExecOptions, LocalExecutor } from '../../src/host/exec.js';
import { copyRuns } from '../../src/jobs/backupCopy.js';
import { stagingRoot } from '../../src/jobs/copyFetch.js';
import { listJournals } from '../../src/jobs/journal.js';
import { processAlive } from '../../src/jobs/processes.js';
import { detectRecovery, resolveRecovery } from '../../src/jobs/recovery.js';
import { openCopyForFiles, resticMountActions } from '../../src/jobs/resticMount.js';
import type { CopyTarget } from '../../src/model/copyTarget.js';
import { createAppStore } from '../../src/store/appStore.js';
import { type BackupsController, type BackupsDeps, createBackupsController, defaultBackupsDeps, guestLines, runLines } from '../../src/store/backupsPane.js';
import { pressKey } from '../../src/store/keys/owners.js';
import type { ConfirmDialog } from '../../src/store/types.js';
import { ext4Disk } from '../helpers/ext4Disk.js';
import { qemuImg, runDir, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * The Backups pane on the real stack, reading runs from copy targets: a run (full + incremental
 * of an ext4 disk) copied for real to a directory target and into a local restic repository, then
 * R restores it as a new guest from each (qemu-img compare against the destination's chain), and
 * f browses it from restic through restic mount (one libguestfs launch) and extracts a file; the
 * mount is gone when the browser closes. A mount left by a killed virtdeck is unmounted by
 * recovery; without FUSE the run is restored into a private staging dir instead.
 */

const host = localHost();
const scratch = scratchDir('vdtest-rcp-');
const home = join(scratch.dir, 'home');
const state = join(home, 'state');
const dest = join(scratch.dir, 'dest');
const GUEST = 'vdtest-rcp-src';
const FROM_NAS = 'vdtest-rcp-fromnas';
const FROM_VAULT = 'vdtest-rcp-fromvault';
const passwordFile = join(scratch.dir, 'restic.pw');
const PASSWORD = `vdtest-rcp-${process.pid}-s3cr3t`;
const nas: CopyTarget = { name: 'nas', type: 'dir', path: join(scratch.dir, 'nas') };
const vault: CopyTarget = { name: 'vault', type: 'restic', repository: join(scratch.dir, 'repo'), passwordFile, checkSubset: '100%' };
let full = { name: '', dir: '' };
let inc = { name: '', dir: '' };

const app = createAppStore(host, { size: { columns: 80, rows: 24 }, live: false, detectAccel: async () => ({ accel: 'tcg', reason: 'test' }), paneFactories: {} });
const deps: BackupsDeps = {
  ...defaultBackupsDeps(),
  settings: () => ({ destinations: [dest], snapshotMaxAgeDays: 7, copyTargets: [nas, vault] }),
  stateDir: () => state,
  detectRecovery: async () => [],
};
const pane: BackupsController = createBackupsController(host, app, deps);

/** Any process whose argv or environment holds the secret right now. */
function processesShowing(secret: string): string[] {
  const hits: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    for (const f of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${pid}/${f}`).includes(secret)) hits.push(`${pid}/${f}`);
      } catch {
        // gone, or not ours to read
      }
    }
  }
  return hits;
}

/** This host has FUSE: one whose probe finds neither /dev/fuse nor fusermount. */
class NoFuse extends LocalExecutor {
  override run(argv: string[], o?: ExecOptions) {
    return argv[0] === 'sh' && argv[2]?.includes('/dev/fuse') ? super.run(['true'], o) : super.run(argv, o);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: string, get: () => T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting for ${what}; message: ${JSON.stringify(app.getState().message)}; dialogs: ${JSON.stringify(app.getState().dialogs.map((d) => (d.kind === 'error' ? d.error.sentence : d.kind)))}`);
    await sleep(20);
  }
}

async function key(name: string, input = name.length === 1 ? name : '') {
  const owner = pane.keyOwner?.();
  if (owner) pressKey(owner, { name, input });
  await sleep(5);
}

async function typeInto(current: string, text: string) {
  for (const _ of current) await key('backspace');
  for (const ch of text) await key(ch);
}

function errorText(): string | null {
  const d = app.getState().dialogs.at(-1);
  return d?.kind === 'error' ? `${d.error.sentence} ${d.error.fix}` : null;
}

function confirmDialog(): ConfirmDialog | null {
  const d = app.getState().dialogs.at(-1);
  return d?.kind === 'confirm' ? d : null;
}

/** Mount points under the staging root (restic's FUSE mount and the runs bound from it). */
function stagedMounts(): string[] {
  const root = stagingRoot(state);
  return execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' })
    .split('\n')
    .filter((m) => m.startsWith(`${root}/`));
}

const stagingDirs = () => (existsSync(stagingRoot(state)) ? readdirSync(stagingRoot(state)) : []);

/** The incremental run of GUEST, selected on its runs list (newest first). */
async function selectIncremental() {
  pane.dispatch('backupsBack');
  pane.dispatch('refresh');
  await until('the catalog', () => !pane.store.getState().loading && pane.store.getState().catalog.some((c) => c.guest === GUEST));
  const index = guestLines(pane.store.getState(), app.getState().guests.map((g) => g.name)).findIndex((l) => l.guest === GUEST);
  pane.dispatch('top');
  for (let i = 0; i < index; i++) pane.dispatch('down');
  pane.dispatch('backupsOpen');
  pane.dispatch('top');
  const s = pane.store.getState();
  expect(runLines(s.catalog.find((c) => c.guest === GUEST) ?? null)[s.runIndex]?.name).toBe(inc.name);
}

beforeAll(async () => {
  process.env.VIRTDECK_HOME = home;
  mkdirSync(state, { recursive: true, mode: 0o700 });
  mkdirSync(dest, { recursive: true });
  mkdirSync(nas.type === 'dir' ? nas.path : '', { recursive: true });
  const rawA = join(scratch.dir, 'a.img');
  const rawB = join(scratch.dir, 'b.img');
  ext4Disk(rawA, 16, { 'etc/hostname': 'vdtest-rcp-one\n' });
  ext4Disk(rawB, 16, { 'etc/hostname': 'vdtest-rcp-two\n', 'etc/motd': 'from the incremental\n' });
  const disk = { target: 'vda', sourcePath: join(scratch.dir, `${GUEST}.qcow2`), virtualSize: 16 << 20 };
  const xml = tinyGuestXml(GUEST, { disk: disk.sourcePath, mac: '52:54:00:5c:00:01' });
  const atFull = new Date('2026-06-01T02:00:00Z');
  const atInc = new Date('2026-06-02T02:00:00Z');
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', rawA, join(runDir(dest, GUEST, atFull, 'full'), 'vda.qcow2'));
  full = writeRun(dest, GUEST, { at: atFull, kind: 'full', disks: [disk], domainXml: xml });
  // Only what differs from the full run is in the incremental, over ../FULL/vda.qcow2 as a backup writes it.
  qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-B', `../${full.name}/vda.qcow2`, '-F', 'qcow2', rawB, join(runDir(dest, GUEST, atInc, 'incremental'), 'vda.qcow2'));
  inc = writeRun(dest, GUEST, { at: atInc, kind: 'incremental', parent: full.name, disks: [{ ...disk, backing: `../${full.name}/vda.qcow2` }], domainXml: xml });
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  execFileSync('restic', ['init', `--repo=${vault.type === 'restic' ? vault.repository : ''}`], { env: { ...process.env, RESTIC_PASSWORD_FILE: passwordFile }, stdio: 'ignore' });
  for (const target of [nas, vault]) {
    const r = await copyRuns(host, { target, dest, stateDir: state });
    expect(r.failed).toEqual([]);
    expect(r.copied.map((c) => c.run)).toEqual([full.name, inc.name]);
  }
  await app.getState().refresh();
  pane.activate?.();
}, 120_000);

afterAll(async () => {
  pane.dispose?.();
  for (const g of [FROM_NAS, FROM_VAULT]) await removeGuest(host, g);
  for (const m of stagedMounts().sort((a, b) => b.length - a.length)) execFileSync('umount', ['-l', '--', m]);
  scratch.remove();
});

/** R on the incremental: From = `from` (1 nas, 2 vault), as a new guest NAME with its disk in DIR; the job's summary. */
async function restoreFrom(steps: number, name: string, dir: string): Promise<string> {
  await selectIncremental();
  pane.dispatch('backupRestore');
  const form = await until('the restore form', () => pane.store.getState().form);
  const from = form.form.fields[0];
  expect(from?.id).toBe('from');
  expect(from?.options?.map((o) => o.value)).toEqual(['(destination)', 'nas', 'vault']);
  expect(form.lines.join(' ')).toContain('Verified copies of this run: nas');
  for (let i = 0; i < steps; i++) await key('l');
  await key('tab');
  // The guest is not defined here, so the form starts on "same name": h goes to "as a new guest".
  if (pane.store.getState().form?.form.fields[1]?.value !== 'as a new guest') await key('h');
  expect(pane.store.getState().form?.form.fields.map((f) => f.value).slice(0, 2)).toEqual([steps === 1 ? 'nas' : 'vault', 'as a new guest']);
  await key('tab');
  await typeInto(pane.store.getState().form?.form.fields[2]?.value ?? '', name);
  await key('tab');
  await typeInto(pane.store.getState().form?.form.fields[3]?.value ?? '', dir);
  await key('enter');
  const review = await until(
    'the review',
    () => {
      const failed = errorText();
      if (failed) throw new Error(failed);
      return pane.store.getState().review;
    },
    120_000,
  );
  expect(review.lines[0]?.text).toMatch(new RegExp(`^Read from the copy on ${steps === 1 ? 'nas' : 'vault'} `));
  await key('enter');
  const confirm = await until('the confirm', confirmDialog);
  app.getState().popDialog();
  await confirm.onYes();
  const job = await until('the restore to finish', () => pane.store.getState().job?.summary != null && pane.store.getState().job, 120_000);
  expect(errorText()).toBeNull();
  await key('enter');
  return job.summary ?? '';
}

describe('Backups pane: restore and file-level restore from copy targets (real stack)', () => {
  it('R from the directory copy: restored as a new guest, equal to the chain it was copied from', async () => {
    const to = join(scratch.dir, 'fromnas');
    mkdirSync(to);
    const summary = await restoreFrom(1, FROM_NAS, to);
    expect(summary).toContain(`${FROM_NAS} restored from ${inc.name} (the copy on nas)`);
    execFileSync('qemu-img', ['compare', '-q', join(to, `${FROM_NAS}-vda.qcow2`), join(inc.dir, 'vda.qcow2')]);
    expect(stagingDirs()).toEqual([]);
  }, 180_000);

  it('R from restic: the chain is brought back (restic restore) into a private staging dir, restored, then the staging dir is gone', async () => {
    const to = join(scratch.dir, 'fromvault');
    mkdirSync(to);
    const summary = await restoreFrom(2, FROM_VAULT, to);
    expect(summary).toContain(`${FROM_VAULT} restored from ${inc.name} (the copy on vault)`);
    execFileSync('qemu-img', ['compare', '-q', join(to, `${FROM_VAULT}-vda.qcow2`), join(inc.dir, 'vda.qcow2')]);
    await until('the staging dir to go', () => stagingDirs().length === 0, 30_000);
  }, 180_000);

  it('f from restic: read through restic mount (nothing restored first), a file extracted, the mount gone on close', async () => {
    await selectIncremental();
    pane.dispatch('backupFiles');
    await until('the source form', () => pane.store.getState().form);
    await key('l');
    await key('l');
    expect(pane.store.getState().form?.form.fields[0]?.value).toBe('vault');
    await key('enter');
    let b = await until(
      'the top directory',
      () => {
        const failed = errorText();
        if (failed) throw new Error(failed);
        return pane.store.getState().browser?.entries.some((e) => e.name === 'etc') && pane.store.getState().browser;
      },
      120_000,
    );
    expect(b.source).toBe('read through restic mount of vault (nothing restored first)');
    const [staging] = stagingDirs();
    const base = join(stagingRoot(state), staging ?? '');
    expect(stagedMounts().sort()).toEqual([join(base, '.mnt'), join(base, GUEST, full.name), join(base, GUEST, inc.name)].sort());
    // The run was not restored: the staging dir holds only mount points.
    expect(readdirSync(base).sort()).toEqual(['.mnt', GUEST]);
    // restic serves the mount with the password read from its file: in no argv or environment.
    expect(processesShowing(PASSWORD)).toEqual([]);
    const etc = b.entries.findIndex((e) => e.name === 'etc');
    for (let i = 0; i < etc; i++) await key('down');
    await key('enter');
    b = await until('/etc', () => pane.store.getState().browser?.path === '/etc' && !pane.store.getState().browser?.loading && pane.store.getState().browser);
    expect(b.entries.map((e) => e.name).sort()).toEqual(['hostname', 'motd']);
    for (let i = 0; i < b.entries.findIndex((e) => e.name === 'motd'); i++) await key('down');
    await key('x');
    const form = await until('the extract form', () => pane.store.getState().form);
    const out = join(scratch.dir, 'out');
    await typeInto(form.form.fields[0]?.value ?? '', out);
    await key('enter');
    await until('the extracted file', () => app.getState().message?.text.startsWith('Extracted') && app.getState().message, 120_000);
    expect(errorText()).toBeNull();
    expect(readFileSync(join(out, 'motd'), 'utf8')).toBe('from the incremental\n');
    await key('esc');
    // Closing unmounts, removes the dir, then closes the journal: nothing is left for recovery.
    const journalDone = () => listJournals(state).find((j) => j.record.kind === 'restic-mount')?.record.state === 'done';
    await until('the mount, its dir and its journal to go', () => stagedMounts().length === 0 && stagingDirs().length === 0 && journalDone(), 30_000);
  }, 300_000);

  it('a mount left by a killed virtdeck: recovery names it, and finishing unmounts it and removes its dir', async () => {
    const child: ChildProcess = spawn('npx', ['tsx', 'test/helpers/resticMountChild.ts', JSON.stringify(vault), GUEST, inc.name], { env: { ...process.env, VIRTDECK_HOME: home }, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const staging = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\S+)\n/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`the child ended (${code}) before the mount was up: ${out}`)));
    });
    expect(stagedMounts()).toHaveLength(3);
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(-(child.pid as number), 'SIGKILL');
    await gone;
    // npx exits first; the node under it that holds the journal may still be exiting (seen on a
    // loaded CI run: recovery then found it alive, so not interrupted, and offered nothing).
    const pid = listJournals(state).find((j) => j.record.kind === 'restic-mount' && j.record.state === 'running')?.record.pid as number;
    await vi.waitFor(() => expect(processAlive(pid)).toBe(false), { timeout: 15_000, interval: 50 });
    const items = await detectRecovery(host, { stateDir: state, guests: [] });
    const item = items.find((i) => i.kind === 'job' && i.title === `Browse ${GUEST} ${inc.name} through restic mount of vault`);
    expect(item?.finish).toBe('Finish: run step 2 again.');
    expect(item?.rollback).toContain(`Roll back: unmount everything under ${staging} and remove it.`);
    const r = await resolveRecovery(host, item as NonNullable<typeof item>, 'finish', { stateDir: state });
    expect(r.state).toBe('done');
    expect(stagedMounts()).toEqual([]);
    expect(existsSync(staging)).toBe(false);
  }, 120_000);

  it('a cleanup that cannot run (the console quit and refuses commands) leaves the journal running, for recovery to unmount', async () => {
    let refuse = false;
    class Quitting extends LocalExecutor {
      override run(argv: string[], o?: ExecOptions) {
        return refuse ? Promise.reject(new Error(`virtdeck has quit, so ${argv[0]} was not started.`)) : super.run(argv, o);
      }
    }
    const opened = await openCopyForFiles(localHost(new Quitting()), vault, GUEST, inc.name, { stateDir: state });
    expect(opened.method).toBe('mount');
    refuse = true;
    await expect(opened.cleanup()).rejects.toThrow('virtdeck has quit');
    const journal = listJournals(state).find((j) => j.record.kind === 'restic-mount' && j.record.state === 'running');
    expect(journal?.record.steps.map((st) => st.state)).toEqual(['done', 'failed']);
    // What recovery's finish runs once this process is gone.
    await resticMountActions(host).resticMountRemove?.({ staging: opened.dest }, { host, signal: new AbortController().signal, progress: () => {}, log: () => {} });
    expect(stagedMounts()).toEqual([]);
    expect(existsSync(opened.dest)).toBe(false);
  }, 60_000);

  it('a wrong restic password is its one sentence (no fallback to a restore that would fail alike), and nothing is left mounted', async () => {
    const wrong = join(scratch.dir, 'wrong.pw');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const before = listJournals(state).length;
    await expect(openCopyForFiles(host, { ...vault, passwordFile: wrong } as CopyTarget, GUEST, inc.name, { stateDir: state })).rejects.toThrow(`The password in ${wrong} does not open the restic repository`);
    expect(stagedMounts()).toEqual([]);
    expect(stagingDirs()).toEqual([]);
    // It failed before anything was mounted: no journal for recovery to act on.
    expect(listJournals(state)).toHaveLength(before);
  }, 60_000);

  it('without FUSE the run is restored into a private staging dir instead, and says so', async () => {
    const opened = await openCopyForFiles(localHost(new NoFuse()), vault, GUEST, inc.name, { stateDir: state, stagingRoot: stagingRoot(state) });
    try {
      expect(opened.method).toBe('restore');
      expect(opened.via).toBe('restored from vault into a private temp dir (this host has no /dev/fuse, so restic mount cannot work)');
      expect(stagedMounts()).toEqual([]);
      execFileSync('qemu-img', ['compare', '-q', join(opened.dest, GUEST, inc.name, 'vda.qcow2'), join(inc.dir, 'vda.qcow2')]);
      expect(execFileSync('stat', ['-c', '%a', opened.dest], { encoding: 'utf8' }).trim()).toBe('700');
    } finally {
      await opened.cleanup();
    }
    expect(existsSync(opened.dest)).toBe(false);
  }, 120_000);
});
