import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { interruptedJobs, type Journal, listJournals } from '../../src/jobs/journal.js';
import { cliArgv } from '../helpers/cli.js';
import { runCli } from '../helpers/hostileCli.js';
import { killProcessGroup, writeShim } from '../helpers/planFault.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';
import { tinyVmx } from '../helpers/tinyVmx.js';

/**
 * Ctrl-C in a headless job, as a terminal sends it: SIGINT to the whole foreground process group
 * (virtdeck and the qemu-img it runs), about a third of the way through the copy. The first one
 * cancels and undoes: no partial file, the journal rolled back, exit 130. A second one while the
 * undo runs exits at once, 130, and leaves the job interrupted for `virtdeck recover`.
 *
 * The copies are slowed with qemu-img's own rate limit (convert -r) through a PATH shim that execs
 * the real qemu-img, so small images last seconds; the undo, where it must be caught, by an `rm`
 * that waits before it runs.
 */

const host = localHost();
const scratch = scratchDir('vdt13s-sig-');
const dir = scratch.dir;
const SOURCE = join(dir, 'vdt13s-src.raw');
/** 16 MiB, 12 MiB of it data: at 2 MiB/s the copy takes about 6 s. */
const DATA_BYTES = 12 * 1024 * 1024;
const SLOW_COPY = join(dir, 'shim-slow-copy');
const SLOW_UNDO = join(dir, 'shim-slow-undo');
/** While this file exists, the slow-undo rm waits: virtdeck runs rm before the copy too. */
const UNDO_ARMED = join(dir, 'undo-armed');
const P2V_GUEST = 'vdt13s-sig-p2v';
const IMPORT_GUEST = 'vdt13s-sig-imp';
const BACKUP_GUEST = 'vdt13s-sig-bk';
const RESTORE_GUEST = 'vdt13s-sig-rs';
const VMX = join(dir, 'vmware', 'vdt13s-sig-vm.vmx');
const GUEST_DISK = join(dir, 'vdt13s-sig-bk.qcow2');

interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  ended: Promise<{ code: number | null; at: number }>;
}

let current: Running | null = null;

/** The CLI from the sources in its own process group, as a shell runs a foreground job. */
function start(args: string[], o: { home: string; path?: string[] }): Running {
  const child = spawn(...cliArgv(...args), {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: [...(o.path ?? []), process.env.PATH].join(':'),
      HOME: process.env.HOME ?? '/root',
      NO_COLOR: '1',
      LANG: 'C.UTF-8',
      VIRTDECK_HOME: o.home,
    },
  });
  let err = '';
  let out = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const ended = new Promise<{ code: number | null; at: number }>((r) => child.on('exit', (code) => r({ code, at: Date.now() })));
  current = { child, stdout: () => out, stderr: () => err, ended };
  return current;
}

/** Ctrl-C: SIGINT to the foreground process group. */
function ctrlC(r: Running): void {
  process.kill(-(r.child.pid as number), 'SIGINT');
}

async function waitFor(what: string, r: Running, ok: () => boolean, timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) throw new Error(`virtdeck ended (${r.child.exitCode ?? r.child.signalCode}) before ${what}:\n${r.stderr()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const bytesOf = (p: string) => (existsSync(p) ? statSync(p).size : 0);
const theJournal = (home: string): Journal => {
  const all = listJournals(join(home, 'state'));
  expect(all).toHaveLength(1);
  return all[0] as Journal;
};
const guestDefined = (name: string) => execFileSync('virsh', ['-c', host.uri, 'list', '--all', '--name'], { encoding: 'utf8' }).split('\n').includes(name);

/**
 * Every step that ran was undone. Steps with no undo of their own stay as they ended: a checksum,
 * a dumpxml, or a copy into a directory that an earlier step's undo removes.
 */
function expectRolledBack(j: Journal['record']): void {
  const states = j.steps.map((s, i) => (!j.plan.steps[i]?.undo && (s.state === 'done' || s.state === 'failed') ? 'no undo' : s.state));
  expect(states.filter((s) => s !== 'pending' && s !== 'undone' && s !== 'no undo'), states.join(', ')).toEqual([]);
  expect(states).toContain('undone');
}

/** A fresh job directory: its own VIRTDECK_HOME and an output directory. */
function freshJob(name: string): { home: string; out: string } {
  const base = join(dir, name);
  rmSync(base, { recursive: true, force: true });
  mkdirSync(join(base, 'out'), { recursive: true });
  return { home: join(base, 'home'), out: join(base, 'out') };
}

beforeAll(() => {
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', SOURCE, '16M']);
  execFileSync('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 1M 6M', '-c', 'write -P 0xcd 9M 6M', SOURCE]);
  mkdirSync(join(dir, 'vmware'));
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'adapter_type=lsilogic,hwversion=6', SOURCE, join(dir, 'vmware', 'vdt13s-sig-vm.vmdk')]);
  writeFileSync(VMX, tinyVmx({ name: 'vdt13s-sig-vm', disk: 'vdt13s-sig-vm.vmdk' }));
  execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', SOURCE, GUEST_DISK]);
  const xml = join(dir, 'guest.xml');
  writeFileSync(xml, tinyGuestXml(BACKUP_GUEST, { disk: GUEST_DISK }));
  execFileSync('virsh', ['-c', host.uri, 'define', xml], { stdio: 'ignore' });
  writeShim(SLOW_COPY, 'qemu-img', 'if [ "$1" = convert ]; then shift; exec "$REAL" convert -r 2M "$@"; fi\nexec "$REAL" "$@"');
  writeShim(SLOW_UNDO, 'rm', `if [ -e '${UNDO_ARMED}' ]; then sleep 60; fi\nexec "$REAL" "$@"`);
});

afterEach(async () => {
  rmSync(UNDO_ARMED, { force: true });
  if (current && current.child.exitCode === null && current.child.signalCode === null) await killProcessGroup(current.child.pid as number);
  current = null;
});

afterAll(async () => {
  for (const g of [P2V_GUEST, IMPORT_GUEST, BACKUP_GUEST, RESTORE_GUEST]) await removeGuest(host, g);
  scratch.remove();
});

describe('Ctrl-C in a headless job', () => {
  it('disk convert: the first Ctrl-C undoes the partial copy, rolls the journal back and exits 130', async () => {
    const { home, out } = freshJob('convert1');
    const dest = join(out, 'vdt13s-dst.qcow2');
    const temp = join(out, '.vdt13s-dst.qcow2.virtdeck-tmp', 'vdt13s-dst.qcow2');
    const r = start(['disk', 'convert', SOURCE, '--to', 'qcow2', '--dest', dest], { home, path: [SLOW_COPY] });
    await waitFor('a third of the copy', r, () => bytesOf(temp) >= DATA_BYTES / 3);
    ctrlC(r);
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(130);
    expect(r.stderr()).toContain('undo: remove the partial copy');
    expect(r.stderr()).toContain('The conversion was cancelled (Ctrl-C); what it had done was undone.');
    expect(readdirSync(out)).toEqual([]);
    const j = theJournal(home).record;
    expect(j.state).toBe('cancelled');
    expect(j.steps.map((s) => s.state)).toEqual(['undone', 'undone', 'pending', 'pending', 'pending']);
    expect(interruptedJobs(join(home, 'state'), hostname())).toEqual([]);
  });

  it('disk convert: a second Ctrl-C during the undo exits at once, 130, and leaves the job to `virtdeck recover`', async () => {
    const { home, out } = freshJob('convert2');
    const dest = join(out, 'vdt13s-dst.qcow2');
    const temp = join(out, '.vdt13s-dst.qcow2.virtdeck-tmp', 'vdt13s-dst.qcow2');
    const r = start(['disk', 'convert', SOURCE, '--to', 'qcow2', '--dest', dest], { home, path: [SLOW_COPY, SLOW_UNDO] });
    await waitFor('a third of the copy', r, () => bytesOf(temp) >= DATA_BYTES / 3);
    writeFileSync(UNDO_ARMED, '');
    ctrlC(r);
    await waitFor('the undo', r, () => r.stderr().includes('undo: remove the partial copy'));
    const again = Date.now();
    ctrlC(r);
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(130);
    // The undo's rm waits a minute: this exit did not wait for it.
    expect(end.at - again).toBeLessThan(5_000);
    expect(r.stderr()).toContain('Ctrl-C again: stopping now');
    const journal = theJournal(home);
    expect(journal.record.state).toBe('running');
    expect(interruptedJobs(join(home, 'state'), hostname()).map((x) => x.record.id)).toEqual([journal.record.id]);
    expect(existsSync(temp)).toBe(true);
    rmSync(UNDO_ARMED);
    // What it left is for recover, which rolls it back.
    const rec = await runCli(['recover', '--rollback', journal.record.id], { cwd: dir, env: { VIRTDECK_HOME: home } });
    expect(rec.exitCode, rec.stderr).toBe(0);
    expect(readdirSync(out)).toEqual([]);
    expect(theJournal(home).record.state).toBe('rolled-back');
  });

  it('disk convert --json: SIGTERM to virtdeck alone (as `kill PID` or systemd) undoes too, exits 143, and says so in JSON', async () => {
    const { home, out } = freshJob('convert-term');
    const dest = join(out, 'vdt13s-dst.qcow2');
    const temp = join(out, '.vdt13s-dst.qcow2.virtdeck-tmp', 'vdt13s-dst.qcow2');
    const r = start(['--json', 'disk', 'convert', SOURCE, '--to', 'qcow2', '--dest', dest], { home, path: [SLOW_COPY] });
    await waitFor('a third of the copy', r, () => bytesOf(temp) >= DATA_BYTES / 3);
    r.child.kill('SIGTERM');
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(143);
    // stdout stays one JSON document; what is undone goes to stderr.
    expect(JSON.parse(r.stdout())).toMatchObject({ ok: false, error: { sentence: 'The conversion was cancelled (SIGTERM); what it had done was undone.' } });
    expect(r.stderr()).toContain('undo: remove the partial copy');
    expect(readdirSync(out)).toEqual([]);
    expect(theJournal(home).record.state).toBe('cancelled');
  });

  it('p2v --from-file: the first Ctrl-C removes the partial image, defines no guest, exits 130', async () => {
    const { home, out } = freshJob('p2v1');
    const part = join(out, `.${P2V_GUEST}.qcow2.virtdeck-part`);
    const r = start(['p2v', '--from-file', SOURCE, '--name', P2V_GUEST, '--dest', out, '--memory', '64', '--vcpus', '1'], { home, path: [SLOW_COPY] });
    await waitFor('a third of the copy', r, () => bytesOf(part) >= DATA_BYTES / 3);
    ctrlC(r);
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(130);
    expect(r.stderr()).toContain('undo: ');
    expect(r.stderr()).toContain('The P2V was cancelled (Ctrl-C); what it had done was undone.');
    expect(readdirSync(out)).toEqual([]);
    expect(guestDefined(P2V_GUEST)).toBe(false);
    const j = theJournal(home).record;
    expect(j.state).toBe('cancelled');
    expect(j.steps[0]?.state).toBe('undone');
    expect(j.steps.slice(1).every((s) => s.state === 'pending')).toBe(true);
  });

  it('import vmx --convert qcow2: the first Ctrl-C removes the partial copy, defines no guest, exits 130', async () => {
    const { home, out } = freshJob('import1');
    const temp = join(out, '.vdt13s-sig-vm.qcow2.virtdeck-tmp', 'vdt13s-sig-vm.qcow2');
    const r = start(['import', 'vmx', VMX, '--convert', 'qcow2', '--dest', out, '--name', IMPORT_GUEST], { home, path: [SLOW_COPY] });
    await waitFor('a third of the copy', r, () => bytesOf(temp) >= DATA_BYTES / 3);
    ctrlC(r);
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(130);
    expect(r.stderr()).toContain('undo: remove the partial copy');
    expect(r.stderr()).toContain('The import was cancelled (Ctrl-C); what it had done was undone.');
    expect(readdirSync(out)).toEqual([]);
    expect(guestDefined(IMPORT_GUEST)).toBe(false);
    const j = theJournal(home).record;
    expect(j.state).toBe('cancelled');
    expect(j.steps.map((s) => s.state)).toEqual(['undone', 'undone', 'pending', 'pending', 'pending', 'pending']);
  });

  it('backup run: the first Ctrl-C removes the partial run, exits 130', async () => {
    const { home, out } = freshJob('backup1');
    const r = start(['backup', 'run', BACKUP_GUEST, '--dest', out], { home, path: [SLOW_COPY] });
    const copy = () => {
      const runs = existsSync(join(out, BACKUP_GUEST)) ? readdirSync(join(out, BACKUP_GUEST)) : [];
      return runs.length === 1 ? join(out, BACKUP_GUEST, runs[0] as string, 'vda.qcow2') : '';
    };
    await waitFor('a third of the copy', r, () => bytesOf(copy()) >= DATA_BYTES / 3);
    ctrlC(r);
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(130);
    expect(r.stderr()).toContain('undo: ');
    expect(r.stderr()).toContain('The backup was cancelled (Ctrl-C); what it had done was undone.');
    expect(existsSync(join(out, BACKUP_GUEST)) ? readdirSync(join(out, BACKUP_GUEST)) : []).toEqual([]);
    const j = theJournal(home).record;
    expect(j.state).toBe('cancelled');
    expectRolledBack(j);
  });

  it('backup restore --as: the first Ctrl-C removes the partial image, defines no guest, exits 130', async () => {
    const { home, out } = freshJob('restore1');
    const backups = join(dir, 'restore1', 'backups');
    mkdirSync(backups);
    const made = await runCli(['backup', 'run', BACKUP_GUEST, '--dest', backups], { cwd: dir, env: { VIRTDECK_HOME: join(dir, 'restore1', 'backup-home') } });
    expect(made.exitCode, made.stderr).toBe(0);
    const temp = join(out, `${RESTORE_GUEST}-vda.qcow2.virtdeck-restore-tmp`);
    const r = start(['backup', 'restore', BACKUP_GUEST, '--dest', backups, '--as', RESTORE_GUEST, '--to', out], { home, path: [SLOW_COPY] });
    await waitFor('a third of the copy', r, () => bytesOf(temp) >= DATA_BYTES / 3);
    ctrlC(r);
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(130);
    expect(r.stderr()).toContain('undo: ');
    expect(r.stderr()).toContain('The restore was cancelled (Ctrl-C); what it had done was undone.');
    expect(readdirSync(out)).toEqual([]);
    expect(guestDefined(RESTORE_GUEST)).toBe(false);
    const j = theJournal(home).record;
    expect(j.state).toBe('cancelled');
    expectRolledBack(j);
  });

  it('disk expand --keep-copy: the first Ctrl-C during the copy of the original removes it, grows nothing, exits 130', async () => {
    const { home, out } = freshJob('expand1');
    const img = join(out, 'vdt13s-grow.qcow2');
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', SOURCE, img]);
    const part = join(out, '.vdt13s-grow.qcow2.virtdeck-orig.part');
    const r = start(['disk', 'expand', img, '--size', '+16M', '--no-grow-fs', '--keep-copy'], { home, path: [SLOW_COPY] });
    await waitFor('a third of the copy', r, () => bytesOf(part) >= DATA_BYTES / 3);
    ctrlC(r);
    const end = await r.ended;
    expect(end.code, r.stderr()).toBe(130);
    expect(r.stderr()).toContain('undo: remove the unfinished copy');
    expect(r.stderr()).toContain('The expansion was cancelled (Ctrl-C); what it had done was undone.');
    expect(readdirSync(out)).toEqual(['vdt13s-grow.qcow2']);
    expect((JSON.parse(execFileSync('qemu-img', ['info', '--output=json', img], { encoding: 'utf8' })) as { 'virtual-size': number })['virtual-size']).toBe(16 * 1024 * 1024);
    const j = theJournal(home).record;
    expect(j.state).toBe('cancelled');
    expect(j.steps.map((s) => s.state)).toEqual(['undone', 'pending', 'pending', 'pending', 'pending']);
  });
});
