import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { runBackup } from '../../src/jobs/backup.js';
import { jobsDir } from '../../src/jobs/journal.js';
import { processAlive } from '../../src/jobs/processes.js';
import { detectRecovery, type JobRecoveryItem, resolveRecovery } from '../../src/jobs/recovery.js';
import { RESTORE_JOB_KIND } from '../../src/jobs/restore.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { sh, sha256 } from '../helpers/backupFixtures.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * A whole-guest restore over its own guest, SIGKILLed while qemu-img rebuilds the disk into its
 * temp file: the guest must be untouched, recovery must find the journal, and both of its choices
 * must leave one consistent state (finish: the restored disk; roll back: the guest as it was).
 */

const host = localHost();
const GUEST = 'vdtest-bk3-rskill';
const scratch = scratchDir('vdtest-bk3-rskill-');
const dir = scratch.dir;
const disk = join(dir, 'vdtest-bk3-rskill.qcow2');
const temp = `${disk}.virtdeck-restore-tmp`;
const dest = join(dir, 'dest');
let runImage = '';
let currentSha = '';
const children: ChildProcess[] = [];

/** Enough data that qemu-img convert runs for a while even on a fast disk. */
const DATA_MIB = 768;

beforeAll(async () => {
  await removeGuest(host, GUEST);
  sh(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, `${DATA_MIB + 64}M`]);
  sh(['qemu-io', '-f', 'qcow2', '-c', `write -P 0x5a 0 ${DATA_MIB}M`, disk]);
  sh(['mkdir', '-p', dest]);
  await virsh.defineXml(host, tinyGuestXml(GUEST, { disk }));
  const r = await runBackup(host, { guests: [GUEST], dest, stateDir: join(dir, 'backup-state'), log: false });
  expect(r.guests[0]?.error?.sentence).toBeUndefined();
  runImage = join(dest, GUEST, r.guests[0]?.run as string, 'vda.qcow2');
  // The guest's disk moved on since the backup: a restore must bring back the run, a rollback this.
  sh(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xe1 0 1M', disk]);
  currentSha = sha256(disk);
}, 180_000);

afterAll(async () => {
  for (const c of children) {
    try {
      process.kill(-(c.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await removeGuest(host, GUEST);
  scratch.remove();
});

function journalOf(state: string): { id: string; pid: number; steps: { state: string }[]; plan: { steps: { id: string }[] } } | null {
  const jobs = jobsDir(state);
  for (const f of existsSync(jobs) ? readdirSync(jobs).filter((x) => x.endsWith('.json') && !x.endsWith('.progress.json')) : []) {
    try {
      const rec = JSON.parse(readFileSync(join(jobs, f), 'utf8'));
      if (rec.kind === RESTORE_JOB_KIND) return rec;
    } catch {
      // caught mid-rename
    }
  }
  return null;
}

function stepState(state: string, id: string): string | undefined {
  const rec = journalOf(state);
  const i = rec?.plan.steps.findIndex((s) => s.id === id) ?? -1;
  return i >= 0 ? rec?.steps[i]?.state : undefined;
}

/**
 * Starts a restore in a child and SIGKILLs its whole process group (qemu-img too) while step `id`
 * runs: for the copy, once qemu-img has written part of the temp file, so the partial result is real.
 */
async function killDuring(home: string, id = 'convert-vda'): Promise<void> {
  const state = join(home, 'state');
  const env = { ...process.env, VIRTDECK_HOME: home, ...(id === 'convert-vda' ? {} : { VD_HANG_AT: id }) };
  const child = spawn('npx', ['tsx', 'test/helpers/restoreChild.ts', GUEST, dest], { env, detached: true, stdio: 'ignore' });
  children.push(child);
  const deadline = Date.now() + 90_000;
  let killed = false;
  while (Date.now() < deadline && !killed) {
    if (stepState(state, id) === 'running' && (id !== 'convert-vda' || (existsSync(temp) && statSync(temp).size > 4 << 20))) {
      process.kill(-(child.pid as number), 'SIGKILL');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(killed).toBe(true);
  // The journal's process (a grandchild under npx and tsx) may outlive the child's exit event briefly.
  const pid = journalOf(state)?.pid ?? 0;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(processAlive(pid)).toBe(false);
  expect(stepState(state, id)).toBe('running');
  expect(existsSync(temp)).toBe(true);
}

async function diskSource(): Promise<string | null | undefined> {
  return getSettings(parseDomainXml(await virsh.dumpXml(host, GUEST, { inactive: true }))).disks.find((d) => d.target === 'vda')?.source;
}

function leftovers(): string[] {
  return readdirSync(dir).filter((f) => f.includes('virtdeck-restore-tmp') || f.includes('virtdeck-before-restore'));
}

async function interruptedItem(state: string, during = 'rebuild vda'): Promise<JobRecoveryItem> {
  const items = await detectRecovery(host, { stateDir: state, guests: [] });
  const jobs = items.filter((i): i is JobRecoveryItem => i.kind === 'job');
  expect(jobs.map((j) => j.id)).toEqual([journalOf(state)?.id]);
  const item = jobs[0] as JobRecoveryItem;
  expect(item.guests).toEqual([GUEST]);
  expect(item.explanation[0]).toMatch(new RegExp(`during step \\d+ of \\d+: ${during}`));
  return item;
}

describe('restore killed by SIGKILL during the copy', () => {
  it('leaves the guest untouched; rolling back removes the partial image and keeps the original', async () => {
    const home = join(dir, 'home-rollback');
    await killDuring(home);
    expect(sha256(disk)).toBe(currentSha);
    expect(await diskSource()).toBe(disk);
    const item = await interruptedItem(join(home, 'state'));
    expect(item.rollback).toMatch(/remove .*virtdeck-restore-tmp/);

    const r = await resolveRecovery(host, item, 'rollback', { stateDir: join(home, 'state') });
    expect(r.message).toMatch(/^Rolled back/);
    expect(r.state).toBe('rolled-back');
    expect(leftovers()).toEqual([]);
    expect(sha256(disk)).toBe(currentSha);
    expect(await diskSource()).toBe(disk);
    expect(await detectRecovery(host, { stateDir: join(home, 'state'), guests: [] })).toEqual([]);
  }, 180_000);

  it('killed just after putting the restored disk in place, before the journal said so: rolling back still brings the old disk back', async () => {
    const home = join(dir, 'home-place');
    await killDuring(home, 'place-vda');
    // The aside step finished: the guest's disk is moved aside, the restored one waits at its temp name.
    expect(existsSync(disk)).toBe(false);
    // What the kill could have cut short: the rename done, its end not journaled.
    sh(['mv', '-T', '--', temp, disk]);
    const item = await interruptedItem(join(home, 'state'), 'put the restored vda in place');
    const r = await resolveRecovery(host, item, 'rollback', { stateDir: join(home, 'state') });
    expect(r.state).toBe('rolled-back');
    expect(leftovers()).toEqual([]);
    expect(sha256(disk)).toBe(currentSha);
    expect(await diskSource()).toBe(disk);
  }, 180_000);

  it('finishing instead rebuilds the disk from the run: it verifies, equals the backup, and the old disk is kept aside', async () => {
    const home = join(dir, 'home-finish');
    await killDuring(home);
    expect(sha256(disk)).toBe(currentSha);
    const item = await interruptedItem(join(home, 'state'));

    const r = await resolveRecovery(host, item, 'finish', { stateDir: join(home, 'state') });
    expect(r.message).toMatch(/^Finished/);
    expect(r.state).toBe('done');
    sh(['qemu-img', 'check', '-q', '-f', 'qcow2', disk]);
    expect(sh(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'qcow2', disk, runImage])).toMatch(/identical/);
    const aside = leftovers();
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/\.virtdeck-before-restore-\d{8}T\d{6}Z$/);
    expect(sha256(join(dir, aside[0] as string))).toBe(currentSha);
    expect(await diskSource()).toBe(disk);
    expect(await detectRecovery(host, { stateDir: join(home, 'state'), guests: [] })).toEqual([]);
  }, 180_000);
});
