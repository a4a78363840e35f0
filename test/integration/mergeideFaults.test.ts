import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { interruptedJobs, type Journal, resumePoint } from '../../src/jobs/journal.js';
import { gfQuote, type OfflineFacts, prepareMergeIde } from '../../src/jobs/mergeide.js';
import { describeInterruptedJob } from '../../src/jobs/recovery.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { finishJob, rollbackJob } from '../../src/jobs/runner.js';
import { MERGEIDE_KEYS, missingAfterMerge, parseReg } from '../../src/model/mergeide.js';
import type { Plan } from '../../src/model/plan.js';
import { hangAfter, killGroup, type PlanChild, startPlanChild, theJournal, waitForStep, writeShim } from '../helpers/planFault.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';
import { buildTinyWindowsImage } from '../helpers/tinyWindows.js';

/**
 * kill -9 of an offline MergeIDE (a) after it merged the keys into the local working copy of the
 * hive and (b) after its read-write launch uploaded the new hive into the image — each time
 * before the journal recorded the step done — then recovery the way a restarted virtdeck does
 * it. The fixture image is built once (one guestfish launch) and copied per scenario; the job's
 * own prepare runs once, and a read-only launch reads the guest's hive and backup back only
 * where the image was written.
 */
const host = localHost();
const exec = new LocalExecutor();
const GUEST = 'vdtest-fk-mi';
const scratch = scratchDir('vdtest-fk-mi-');
const dir = scratch.dir;
const HOME = join(dir, 'home');
const STATE = join(HOME, 'state');
const STEPS = ['copy', 'merge-ControlSet001', 'merge-ControlSet002', 'verify', 'upload', 'verify-upload'];
const SHIMS = { merge: join(dir, 'shim-merge'), upload: join(dir, 'shim-upload') };
const UPLOADED_MARK = join(dir, 'upload-finished');
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
let disk = '';
let pristine = '';
let plan: Plan;
let facts: OfflineFacts;
let originalSum = '';
let diskSum = '';
let workdirBefore: string[] = [];
let current: PlanChild | null = null;

beforeAll(async () => {
  disk = await buildTinyWindowsImage(exec, dir);
  pristine = join(dir, 'pristine.qcow2');
  copyFileSync(disk, pristine);
  const xml = join(dir, 'g.xml');
  writeFileSync(xml, tinyGuestXml(GUEST, { disk }));
  execFileSync('virsh', ['-c', host.uri, 'define', '--file', xml], { stdio: 'ignore' });
  const prepared = await prepareMergeIde(host, { guest: GUEST, mode: 'offline', stateDir: join(dir, 'prep') });
  if (prepared.mode !== 'offline') throw new Error('offline expected');
  plan = prepared.plan;
  facts = prepared.facts;
  expect(plan.steps.map((s) => s.id)).toEqual(STEPS);
  originalSum = sha(facts.original);
  diskSum = sha(disk);
  workdirBefore = readdirSync(facts.workdir).sort();
  writeShim(SHIMS.merge, 'hivexregedit', hangAfter('--merge'));
  writeShim(SHIMS.upload, 'guestfish', hangAfter('--rw', UPLOADED_MARK));
}, 900_000);

afterAll(async () => {
  if (current) await killGroup(current);
  await removeGuest(host, GUEST);
  scratch.remove();
});

function reset(): void {
  rmSync(HOME, { recursive: true, force: true });
  rmSync(UPLOADED_MARK, { force: true });
  for (const f of readdirSync(facts.workdir)) if (!workdirBefore.includes(f)) rmSync(join(facts.workdir, f), { force: true });
  copyFileSync(pristine, disk);
}

async function killAfter(step: string, shimDir: string, ready: () => boolean): Promise<Journal> {
  reset();
  current = startPlanChild(plan, { home: HOME, shimDir });
  const pc = current;
  await waitForStep(pc, HOME, STEPS.indexOf(step), ready, 600_000);
  await killGroup(pc);
  current = null;
  return theJournal(HOME) as Journal;
}

/** What a restarted virtdeck reports, and that the local backup of the hive is untouched. */
function expectInterruptedAt(journal: Journal, step: string): void {
  const index = STEPS.indexOf(step);
  expect(sha(facts.original)).toBe(originalSum);
  expect(interruptedJobs(STATE, hostname()).map((j) => j.record.id)).toEqual([journal.record.id]);
  expect(journal.record.steps[index]?.state).toBe('running');
  expect(resumePoint(journal.record)).toBe(index);
  const item = describeInterruptedJob(journal.record);
  expect(item.explanation[0]).toContain(`during step ${index + 1} of ${STEPS.length}: ${plan.steps[index]?.title}`);
  expect(item.finish).toContain('(the interrupted step starts over)');
}

const backupPath = () => `${facts.hivePath}.virtdeck-backup-${facts.stamp}`;

/** One read-only launch: the guest's hive and its in-guest backup (null when there is none). */
async function readGuest(tag: string): Promise<{ hive: string; backup: string | null }> {
  const hive = join(dir, `${tag}.hive`);
  const backup = join(dir, `${tag}.backup`);
  const script = ['run', `mount-ro ${gfQuote(facts.device)} /`, `download ${gfQuote(facts.hivePath)} ${gfQuote(hive)}`, `-download ${gfQuote(backupPath())} ${gfQuote(backup)}`, ''].join('\n');
  const env = { ...process.env, ...(await guestfsEnv(exec)) };
  execFileSync('guestfish', ['--ro', '--format=qcow2', '-a', disk], { input: script, env, timeout: 600_000, stdio: ['pipe', 'ignore', 'ignore'] });
  return { hive, backup: existsSync(backup) ? backup : null };
}

function expectKeysIn(hive: string): void {
  for (const cs of facts.controlSets) {
    const text = execFileSync('hivexregedit', ['--export', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', hive, cs], { encoding: 'utf8' });
    expect(missingAfterMerge(MERGEIDE_KEYS, cs, parseReg(text))).toEqual([]);
  }
}

const opts = () => ({ host, stateDir: STATE, actions: actionsFor('mergeide', host) });
const newHive = () => join(facts.workdir, 'system.new');

describe('MergeIDE killed with SIGKILL after merging into the working copy', () => {
  const caught = () => existsSync(newHive());

  it('rollback removes the working copy; the image was never opened for writing', async () => {
    const journal = await killAfter('merge-ControlSet001', SHIMS.merge, caught);
    expectInterruptedAt(journal, 'merge-ControlSet001');
    expect(sha(disk)).toBe(diskSum);
    const r = await rollbackJob(journal, opts());
    expect(r.state).toBe('rolled-back');
    expect(readdirSync(facts.workdir).sort()).toEqual(workdirBefore);
    expect(sha(disk)).toBe(diskSum);
    expect(sha(facts.original)).toBe(originalSum);
  }, 900_000);

  it('finish merges again (idempotent), uploads and verifies', async () => {
    const journal = await killAfter('merge-ControlSet001', SHIMS.merge, caught);
    expectInterruptedAt(journal, 'merge-ControlSet001');
    const r = await finishJob(journal, opts());
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    expectKeysIn(join(facts.workdir, 'system.uploaded'));
    expect(sha(facts.original)).toBe(originalSum);
  }, 900_000);
});

describe('MergeIDE killed with SIGKILL after the read-write launch uploaded the new hive', () => {
  const caught = () => existsSync(UPLOADED_MARK);

  it('rollback uploads the original again and leaves no backup or download behind', async () => {
    const journal = await killAfter('upload', SHIMS.upload, caught);
    expectInterruptedAt(journal, 'upload');
    expect(describeInterruptedJob(journal.record).rollback).toContain(`upload the original hive from ${facts.original} again`);
    const r = await rollbackJob(journal, opts());
    expect(r.state).toBe('rolled-back');
    expect(readdirSync(facts.workdir).sort()).toEqual(workdirBefore);
    const guest = await readGuest('after-rollback');
    expect(sha(guest.hive)).toBe(originalSum);
    expect(guest.backup).toBeNull();
    expect(sha(facts.original)).toBe(originalSum);
  }, 900_000);

  it('finish uploads again; the in-guest backup still holds the original hive', async () => {
    const journal = await killAfter('upload', SHIMS.upload, caught);
    expectInterruptedAt(journal, 'upload');
    const r = await finishJob(journal, opts());
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const guest = await readGuest('after-finish');
    expect(sha(guest.hive)).toBe(sha(newHive()));
    expectKeysIn(guest.hive);
    expect(guest.backup && sha(guest.backup)).toBe(originalSum);
    expect(sha(facts.original)).toBe(originalSum);
  }, 900_000);
});
