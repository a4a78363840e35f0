import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { CountingExecutor, LocalExecutor } from '../../src/host/exec.js';
import { copyRuns } from '../../src/jobs/backupCopy.js';
import { fetchRun } from '../../src/jobs/copyFetch.js';
import { copiesOn, copyStateFile } from '../../src/jobs/copyState.js';
import { restore } from '../../src/jobs/restore.js';
import type { CopyTarget } from '../../src/model/copyTarget.js';
import { qemuImg, qemuIo, runDir, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * Offsite copies on the real stack: hand-written runs (full + incremental) copied to a second
 * directory and into a local restic repository, restored from each and compared with qemu-img
 * compare; an interrupted copy, the target's retention, a wrong restic password, and the password
 * never in any argv or process environment.
 */

const scratch = scratchDir('vdtest-cp-');
const counting = new CountingExecutor(new LocalExecutor());
const host = localHost(counting);
const dest = join(scratch.dir, 'dest');
const stateDir = join(scratch.dir, 'home', 'state');
const GUEST = 'vdtest-cp-src';
const FROM_DIR = 'vdtest-cp-fromdir';
const FROM_RESTIC = 'vdtest-cp-fromrestic';
const PASSWORD = `pw-${process.pid}-s3cr3t-offsite`;
const passwordFile = join(scratch.dir, 'restic.pw');
const repo = join(scratch.dir, 'repo');
let full = { name: '', dir: '' };
let inc = { name: '', dir: '' };

const dirTarget: CopyTarget = { name: 'nas', type: 'dir', path: join(scratch.dir, 'nas') };
const resticTarget: CopyTarget = { name: 'vault', type: 'restic', repository: repo, passwordFile, checkSubset: '100%' };

const compare = (a: string, b: string) => execFileSync('qemu-img', ['compare', '-q', a, b], { encoding: 'utf8' });

function addRun(at: string, kind: 'full' | 'incremental', parent: { name: string } | null, pattern: string): { name: string; dir: string } {
  const when = new Date(at);
  const dir = runDir(dest, GUEST, when, kind);
  const image = join(dir, 'vda.qcow2');
  if (kind === 'full') {
    qemuImg('create', '-q', '-f', 'qcow2', image, '4M');
    qemuIo(image, `write -P ${pattern} 0 1M`);
  } else {
    qemuImg('create', '-q', '-f', 'qcow2', '-b', `../${parent?.name}/vda.qcow2`, '-F', 'qcow2', image);
    qemuIo(image, `write -P ${pattern} 2M 256k`);
  }
  const disk = { target: 'vda', sourcePath: '/var/lib/libvirt/images/vdtest-cp-src.qcow2', virtualSize: 4 << 20, backing: parent ? `../${parent.name}/vda.qcow2` : null };
  return writeRun(dest, GUEST, { at: when, kind, parent: parent?.name ?? null, disks: [disk], domainXml: tinyGuestXml(GUEST, { disk: disk.sourcePath }) });
}

beforeAll(() => {
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  mkdirSync(dest, { recursive: true });
  mkdirSync(dirTarget.type === 'dir' ? dirTarget.path : '', { recursive: true });
  full = addRun('2026-06-01T02:00:00Z', 'full', null, '0xab');
  inc = addRun('2026-06-02T02:00:00Z', 'incremental', full, '0xcd');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  execFileSync('restic', ['init', `--repo=${repo}`], { env: { ...process.env, RESTIC_PASSWORD_FILE: passwordFile }, stdio: 'ignore' });
});

afterAll(async () => {
  for (const g of [FROM_DIR, FROM_RESTIC]) await removeGuest(host, g);
  scratch.remove();
});

/** Any process whose argv or environment holds the password right now. */
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

describe('backup copy', () => {
  it('an interrupted copy is not listed as copied and leaves no run on the target', async () => {
    const ac = new AbortController();
    const r = await copyRuns(host, {
      target: dirTarget,
      dest,
      stateDir,
      signal: ac.signal,
      onEvent: (e) => {
        // Mid-transfer: tar has written part of the run under its temp name.
        if (e.type === 'progress') ac.abort();
      },
    });
    expect(r.ok).toBe(false);
    expect(r.copied).toEqual([]);
    expect(copiesOn('nas', stateDir)).toEqual([]);
    expect(existsSync(join(dirTarget.type === 'dir' ? dirTarget.path : '', GUEST, full.name))).toBe(false);
    expect(existsSync(join(dirTarget.type === 'dir' ? dirTarget.path : '', GUEST, `${full.name}.partial`))).toBe(false);
  });

  it('copies the chain to another directory under a temp name, verified, recorded 0600; a restore from it compares identical', async () => {
    const events: string[] = [];
    const r = await copyRuns(host, { target: dirTarget, dest, stateDir, onEvent: (e) => events.push(e.type) });
    expect(r.failed).toEqual([]);
    expect(r.copied.map((c) => c.run)).toEqual([full.name, inc.name]);
    expect(events).toContain('progress');
    const there = join(scratch.dir, 'nas', GUEST);
    expect(readdirSync(there).sort()).toEqual([full.name, inc.name]);
    expect(statSync(join(there, inc.name)).mode & 0o777).toBe(0o700);
    // The temp name was used: tar unpacked into RUN.partial.
    expect(counting.calls.some((c) => c.includes(join(there, `${inc.name}.partial`)))).toBe(true);
    expect(copiesOn('nas', stateDir).map((c) => c.run)).toEqual([full.name, inc.name]);
    expect(statSync(copyStateFile(stateDir)).mode & 0o777).toBe(0o600);
    // Nothing new: a second copy sends nothing.
    const again = await copyRuns(host, { target: dirTarget, dest, stateDir });
    expect(again.copied).toEqual([]);

    const fetched = await fetchRun(host, dirTarget, GUEST, inc.name);
    const to = join(scratch.dir, 'fromdir');
    mkdirSync(to);
    const res = await restore(host, { guest: GUEST, dest: fetched.dest, run: inc.name, asName: FROM_DIR, toDir: to });
    expect(res.error?.sentence).toBeUndefined();
    expect(() => compare(join(to, `${FROM_DIR}-vda.qcow2`), join(inc.dir, 'vda.qcow2'))).not.toThrow();
  });

  it('copies into a local restic repository without the password in any argv or environment; a restore from it compares identical', async () => {
    // A snapshot of the full run from a copy that was interrupted before it was verified: never recorded.
    execFileSync('restic', ['backup', `--repo=${repo}`, '--tag', 'virtdeck', '--', full.dir], { env: { ...process.env, RESTIC_PASSWORD_FILE: passwordFile }, stdio: 'ignore' });
    const seen: string[] = [];
    const before = counting.calls.length;
    const r = await copyRuns(host, {
      target: resticTarget,
      dest,
      stateDir,
      onEvent: (e) => {
        if (e.type === 'progress' || e.type === 'run-start') seen.push(...processesShowing(PASSWORD));
      },
    });
    expect(r.failed).toEqual([]);
    expect(r.copied.map((c) => c.run)).toEqual([full.name, inc.name]);
    expect(r.copied.every((c) => typeof c.snapshot === 'string')).toBe(true);
    expect(seen).toEqual([]);
    const resticCalls = counting.calls.slice(before).filter((c) => c[0] === 'restic');
    expect(resticCalls.some((c) => c.includes('check') && c.includes('--read-data-subset=100%'))).toBe(true);
    expect(counting.calls.flat().some((w) => w.includes(PASSWORD))).toBe(false);
    expect(copiesOn('vault', stateDir).map((c) => c.run)).toEqual([full.name, inc.name]);
    // The interrupted copy's snapshot is gone: one snapshot per run, each the one recorded.
    const snaps = JSON.parse(execFileSync('restic', ['snapshots', '--json', `--repo=${repo}`], { env: { ...process.env, RESTIC_PASSWORD_FILE: passwordFile }, encoding: 'utf8' })) as { id: string; paths: string[] }[];
    expect(snaps.map((x) => x.paths[0]).sort()).toEqual([full.dir, inc.dir]);
    expect(snaps.map((x) => x.id.slice(0, 8)).sort()).toEqual(copiesOn('vault', stateDir).map((c) => (c.snapshot ?? '').slice(0, 8)).sort());

    const fetched = await fetchRun(host, resticTarget, GUEST, undefined, { stagingRoot: join(scratch.dir, 'staging') });
    try {
      expect(fetched.run).toBe(inc.name);
      expect(statSync(fetched.dest).mode & 0o777).toBe(0o700);
      const to = join(scratch.dir, 'fromrestic');
      mkdirSync(to);
      const res = await restore(host, { guest: GUEST, dest: fetched.dest, run: fetched.run, asName: FROM_RESTIC, toDir: to });
      expect(res.error?.sentence).toBeUndefined();
      expect(() => compare(join(to, `${FROM_RESTIC}-vda.qcow2`), join(inc.dir, 'vda.qcow2'))).not.toThrow();
    } finally {
      await fetched.cleanup();
    }
    expect(existsSync(fetched.dest)).toBe(false);
  });

  it("applies the target's retention: keep 1 keeps the newest run and the runs it builds on", async () => {
    const newer = addRun('2026-06-03T02:00:00Z', 'full', null, '0xef');
    const keep1 = { ...dirTarget, keepLast: 1 } as CopyTarget;
    const r = await copyRuns(host, { target: keep1, dest, stateDir });
    expect(r.failed).toEqual([]);
    expect(r.copied.map((c) => c.run)).toEqual([newer.name]);
    expect(r.dropped.map((d) => d.run)).toEqual([full.name, inc.name]);
    expect(readdirSync(join(scratch.dir, 'nas', GUEST))).toEqual([newer.name]);
    expect(copiesOn('nas', stateDir).map((c) => c.run)).toEqual([newer.name]);

    const vault1 = { ...resticTarget, keepLast: 1 } as CopyTarget;
    const v = await copyRuns(host, { target: vault1, dest, stateDir });
    expect(v.failed).toEqual([]);
    expect(v.dropped.map((d) => d.run)).toEqual([full.name, inc.name]);
    const snaps = JSON.parse(execFileSync('restic', ['snapshots', '--json', `--repo=${repo}`], { env: { ...process.env, RESTIC_PASSWORD_FILE: passwordFile }, encoding: 'utf8' })) as { paths: string[] }[];
    expect(snaps.map((s) => s.paths[0])).toEqual([newer.dir]);
  });

  it('a wrong restic password is one clear sentence, and nothing is recorded', async () => {
    const wrong = join(scratch.dir, 'wrong.pw');
    writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
    const other = addRun('2026-06-04T02:00:00Z', 'incremental', { name: runDirName3() }, '0x11');
    const r = await copyRuns(host, { target: { ...resticTarget, name: 'vault2', passwordFile: wrong } as CopyTarget, dest, stateDir });
    expect(r.ok).toBe(false);
    expect(r.failed[0]?.error.sentence).toBe(`The password in ${wrong} does not open the restic repository ${repo}.`);
    expect(copiesOn('vault2', stateDir)).toEqual([]);
    expect(other.name).toMatch(/inc$/);
  });
});

describe('backup copy to another host over ssh', () => {
  let sshd: ThrowawaySshd | null = null;
  let target: CopyTarget | null = null;
  beforeAll(async () => {
    const dir = join(scratch.dir, 'sshd');
    mkdirSync(dir);
    sshd = await startThrowawaySshd(dir);
    // The offsite host's key pinned in a file of the target's own: BatchMode never asks.
    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${sshd.port} ${readFileSync(join(dir, 'host_key.pub'), 'utf8')}`);
    mkdirSync(join(scratch.dir, 'dr'));
    target = { name: 'dr', type: 'ssh', host: 'root@127.0.0.1', port: sshd.port, identityFile: sshd.keyFile, knownHostsFile, path: join(scratch.dir, 'dr') };
  });
  afterAll(() => sshd?.stop());

  it('sends the chain over ssh under a temp name, checks it there, and a run fetched back compares identical', async () => {
    const t = target as CopyTarget;
    sshd?.clearCommands();
    const r = await copyRuns(host, { target: t, dest, stateDir, guests: [GUEST], runs: [`${GUEST}/${full.name}`, `${GUEST}/${inc.name}`] });
    expect(r.failed).toEqual([]);
    expect(r.copied.map((c) => c.run)).toEqual([full.name, inc.name]);
    expect(readdirSync(join(scratch.dir, 'dr', GUEST)).sort()).toEqual([full.name, inc.name]);
    const remote = sshd?.commands() ?? [];
    // tar unpacked on the far side into RUN.partial, sha256sum read it there, then mv renamed it.
    expect(remote.some((c) => c.startsWith('tar') && c.includes(`${inc.name}.partial`))).toBe(true);
    expect(remote.some((c) => c.includes(' sha256sum -- ') && c.includes(`${inc.name}.partial/vda.qcow2`))).toBe(true);
    expect(remote.some((c) => c.includes(` mv -T -- ${join(scratch.dir, 'dr', GUEST, inc.name)}.partial `))).toBe(true);
    expect(copiesOn('dr', stateDir).map((c) => c.run)).toEqual([full.name, inc.name]);

    const fetched = await fetchRun(host, t, GUEST, inc.name, { stagingRoot: join(scratch.dir, 'staging-ssh') });
    try {
      expect(fetched.run).toBe(inc.name);
      expect(() => compare(join(fetched.dest, GUEST, inc.name, 'vda.qcow2'), join(inc.dir, 'vda.qcow2'))).not.toThrow();
    } finally {
      await fetched.cleanup();
    }
  });
});

function runDirName3(): string {
  return readdirSync(join(dest, GUEST)).filter((n) => n.startsWith('20260603')).sort()[0] as string;
}
