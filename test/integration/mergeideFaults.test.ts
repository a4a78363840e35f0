import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interruptedJobs, Journal, resumePoint } from '../../src/jobs/journal.js';
import { type OfflineFacts, prepareMergeIde } from '../../src/jobs/mergeide.js';
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
 * it. The fixture image is built once (on the host, no appliance) and copied per scenario; the job's
 * own prepare runs once, and the guest's hive and backup are read back from the image on the host
 * (qemu-img, sfdisk, ntfscat: no appliance) where the image was written. The kill after the
 * upload happens once: what it left (image, journal, working files) is kept and put back for the
 * second case. Its upload is the one the finish after the merge ran for real on the same plan
 * (same hive, same backup name): a guestfish shim puts that launch's image and read-back in place
 * instead of launching the appliance again, then hangs, so the kill lands where a real one would.
 * Run on its own (no finish before it), the case launches for real.
 */
const host = localHost();
const GUEST = 'vdtest-fk-mi';
const scratch = scratchDir('vdtest-fk-mi-');
const dir = scratch.dir;
const HOME = join(dir, 'home');
const STATE = join(HOME, 'state');
const STEPS = ['copy', 'merge-ControlSet001', 'merge-ControlSet002', 'verify', 'upload', 'verify-upload'];
const SHIMS = { merge: join(dir, 'shim-merge'), upload: join(dir, 'shim-upload'), replay: join(dir, 'shim-replay') };
/** The image and read-back hive of the finish's real upload, for the replay shim. */
const RECORDED = { disk: join(dir, 'recorded-upload.qcow2'), uploaded: join(dir, 'recorded-system.uploaded') };
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
  disk = await buildTinyWindowsImage(dir);
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
  const q = (p: string) => `'${p}'`;
  writeShim(
    SHIMS.replay,
    'guestfish',
    `case " $* " in *" --rw "*) cp ${q(RECORDED.disk)} ${q(disk)} && cp ${q(RECORDED.uploaded)} ${q(join(facts.workdir, 'system.uploaded'))} && : > ${q(UPLOADED_MARK)}; sleep 900 ;; *) "$REAL" "$@"; rc=$? ;; esac`,
  );
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

/**
 * The guest's hive and its in-guest backup (null when there is none), read from the image without
 * an appliance: the image as raw, its first partition cut out at sfdisk's offsets, ntfscat (ntfs-3g)
 * for each file.
 */
function readGuest(tag: string): { hive: string; backup: string | null } {
  const raw = join(dir, `${tag}.raw`);
  const part = join(dir, `${tag}.part`);
  execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', disk, raw]);
  const table = JSON.parse(execFileSync('sfdisk', ['-J', raw], { encoding: 'utf8' })) as { partitiontable: { partitions: { node: string; start: number; size: number }[] } };
  const p = table.partitiontable.partitions.find((x) => x.node.endsWith(facts.device.replace('/dev/sda', '')));
  if (!p) throw new Error(`no partition for ${facts.device} in ${raw}`);
  execFileSync('dd', [`if=${raw}`, `of=${part}`, 'bs=512', `skip=${p.start}`, `count=${p.size}`, 'conv=sparse', 'status=none']);
  const cat = (path: string, to: string): string | null => {
    try {
      writeFileSync(to, execFileSync('ntfscat', [part, path], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 }));
      return to;
    } catch {
      return null;
    }
  };
  const hive = cat(facts.hivePath, join(dir, `${tag}.hive`));
  if (!hive) throw new Error(`${facts.hivePath} is not in ${disk}`);
  const backup = cat(backupPath(), join(dir, `${tag}.backup`));
  rmSync(raw);
  rmSync(part);
  return { hive, backup };
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
    // What this real upload left, for the kill after the upload below.
    copyFileSync(disk, RECORDED.disk);
    copyFileSync(join(facts.workdir, 'system.uploaded'), RECORDED.uploaded);
  }, 900_000);
});

describe('MergeIDE killed with SIGKILL after the read-write launch uploaded the new hive', () => {
  const caught = () => existsSync(UPLOADED_MARK);
  const kept = join(dir, 'killed-after-upload');
  let keptJournal = '';

  /** The kill after the upload: run once, then the state it left is put back for each later case. */
  async function killedAfterUpload(): Promise<Journal> {
    if (!keptJournal) {
      const journal = await killAfter('upload', existsSync(RECORDED.disk) ? SHIMS.replay : SHIMS.upload, caught);
      mkdirSync(join(kept, 'workdir'), { recursive: true });
      cpSync(HOME, join(kept, 'home'), { recursive: true });
      copyFileSync(disk, join(kept, 'disk'));
      for (const f of readdirSync(facts.workdir)) if (!workdirBefore.includes(f)) copyFileSync(join(facts.workdir, f), join(kept, 'workdir', f));
      keptJournal = journal.path;
      return journal;
    }
    reset();
    cpSync(join(kept, 'home'), HOME, { recursive: true });
    copyFileSync(join(kept, 'disk'), disk);
    for (const f of readdirSync(join(kept, 'workdir'))) copyFileSync(join(kept, 'workdir', f), join(facts.workdir, f));
    return Journal.load(keptJournal);
  }

  it('rollback uploads the original again and leaves no backup or download behind', async () => {
    const journal = await killedAfterUpload();
    expectInterruptedAt(journal, 'upload');
    expect(describeInterruptedJob(journal.record).rollback).toContain(`upload the original hive from ${facts.original} again`);
    const r = await rollbackJob(journal, opts());
    expect(r.state).toBe('rolled-back');
    expect(readdirSync(facts.workdir).sort()).toEqual(workdirBefore);
    const guest = readGuest('after-rollback');
    expect(sha(guest.hive)).toBe(originalSum);
    expect(guest.backup).toBeNull();
    expect(sha(facts.original)).toBe(originalSum);
  }, 900_000);

  it('finish uploads again; the in-guest backup still holds the original hive', async () => {
    const journal = await killedAfterUpload();
    expectInterruptedAt(journal, 'upload');
    const r = await finishJob(journal, opts());
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const guest = readGuest('after-finish');
    expect(sha(guest.hive)).toBe(sha(newHive()));
    expectKeysIn(guest.hive);
    expect(guest.backup && sha(guest.backup)).toBe(originalSum);
    expect(sha(facts.original)).toBe(originalSum);
  }, 900_000);
});
