import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrowResult } from '../../src/host/guestfs.js';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { type ExpandOutcome, type ExpandResults, expandActions, planFor, runExpand } from '../../src/jobs/expand.js';
import { listJournals } from '../../src/jobs/journal.js';
import { finishJob } from '../../src/jobs/runner.js';
import type { DiskLayout, ExpandDecision } from '../../src/model/expandPlan.js';
import { buildGrowFixtures, FIXTURE_VG, type GrowFixture, type MeasuredFixture, measureFixtures } from '../helpers/growFixtures.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * The guest side of the expansion on real images beyond MBR + ext4 (expandGuestfs.test.ts): GPT +
 * ext4, MBR + xfs, LVM (PV on partition 2, swap and root LVs) and MBR + ntfs, each a tiny sparse raw
 * grown by 64 MiB through the real plan runner. Then the grow step runs again on each grown image,
 * as finishJob does after a power cut that hit the step just before the journal recorded it done:
 * it must succeed with the same sizes, in one launch (LVM and ntfs adapt their commands to what
 * the launch measured first, see growGuest). Launches: one builds all four images, each job makes
 * two (inspect, then grow-and-measure; the four jobs run side by side), the runs again one each
 * (side by side), one reads all four back. Everything heavy happens in beforeAll; each case then
 * checks its own results.
 */

const host = localHost();
const scratch = scratchDir('vdtest-gx-');
const MiB = 1024 * 1024;
const GROW_MIB = 64;

interface Ran {
  fixture: GrowFixture;
  layout: DiskLayout | null;
  decision: ExpandDecision;
  outcome: ExpandOutcome;
  /** The grow step run again through finishJob, or why that failed. */
  again: GrowResult | Error;
}

const ran = new Map<string, Ran | Error>();
let after = new Map<string, MeasuredFixture>();

function result(name: string): Ran {
  const r = ran.get(name);
  if (!r) throw new Error(`${name} did not run`);
  if (r instanceof Error) throw r;
  return r;
}

/** The finished job's journal with its grow step marked running, as a kill during it leaves it; then finishJob. */
async function growAgain(stateDir: string): Promise<GrowResult> {
  const journal = listJournals(stateDir).find((j) => j.record.kind === 'expand');
  if (!journal) throw new Error(`no expand journal in ${stateDir}`);
  journal.step(journal.record.plan.steps.findIndex((s) => s.id === 'grow-fs'), 'running');
  const results: ExpandResults = {};
  const r = await finishJob(journal, { host, stateDir, actions: expandActions(host, results) });
  if (r.state !== 'done') throw r.error ?? new Error(`the finished job ended ${r.state}`);
  if (!results.grow) throw new Error('the grow step did not run again');
  return results.grow;
}

async function expandOne(fixture: GrowFixture, stateDir: string): Promise<Ran> {
  const { facts, decision } = await planFor(host, fixture.path, { size: `+${GROW_MIB}M`, growFs: true });
  const outcome = await runExpand(host, facts, decision, { stateDir });
  if (outcome.state !== 'done') throw outcome.result.error ?? new Error(`${fixture.name}: the job ended ${outcome.state}`);
  const again = await growAgain(stateDir).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  return { fixture, layout: facts.layout, decision, outcome, again };
}

beforeAll(async () => {
  const env = { ...process.env, ...(await guestfsEnv(host.sysExec)) };
  const fixtures = buildGrowFixtures(scratch.dir, env);
  const settled = await Promise.allSettled(fixtures.map((f) => expandOne(f, join(scratch.dir, `state-${f.name}`))));
  settled.forEach((s, i) => {
    const name = (fixtures[i] as GrowFixture).name;
    ran.set(name, s.status === 'fulfilled' ? s.value : s.reason instanceof Error ? s.reason : new Error(String(s.reason)));
  });
  after = measureFixtures(fixtures, env);
  // The sizes before and after, for the record of what was grown.
  for (const f of fixtures) {
    const r = ran.get(f.name);
    const m = after.get(f.name);
    if (!r || r instanceof Error || !m) continue;
    const partBefore = r.layout?.partitions.find((p) => p.num === f.partition)?.size;
    const g = r.outcome.grow;
    console.log(
      `${f.name}: disk ${f.sizeMiB * MiB} → ${m.diskBytes}; partition ${f.partition} ${partBefore} → ${m.partitionBytes}; fs ${g?.fsBytesBefore} → ${m.fsBytes}`,
    );
  }
}, 900_000);

afterAll(() => scratch.remove());

/** What every case checks: the disk grew by 64 MiB, the partition and filesystem with it, and the data survived. */
function expectGrown(name: string): { r: Ran; m: MeasuredFixture } {
  const r = result(name);
  const m = after.get(name) as MeasuredFixture;
  const diskAfter = (r.fixture.sizeMiB + GROW_MIB) * MiB;
  expect(r.decision.guestSide.kind).toBe('offline');
  expect(r.decision.plan.steps.map((s) => s.id)).toEqual(['resize', 'verify', 'grow-fs']);
  expect(m.diskBytes).toBe(diskAfter);
  const partBefore = r.layout?.partitions.find((p) => p.num === r.fixture.partition)?.size as number;
  expect(m.partitionBytes).toBeGreaterThanOrEqual(partBefore + GROW_MIB * MiB - MiB);
  expect(m.partitionBytes).toBe(r.outcome.grow?.partitionBytes);
  const g = r.outcome.grow;
  expect(g?.fsBytesAfter).toBe(m.fsBytes);
  expect(m.fsBytes - (g?.fsBytesBefore ?? 0)).toBeGreaterThan((GROW_MIB - 8) * MiB);
  expect(m.hello).toBe(`${name} was here`);
  expect(g?.resumed).toBe(false);
  return { r, m };
}

/** The grow step run again on the grown image: no error, recognised as a run again, nothing changed. */
function expectSameAgain(name: string): void {
  const r = result(name);
  const m = after.get(name) as MeasuredFixture;
  if (r.again instanceof Error) throw r.again;
  expect(r.again.resumed).toBe(true);
  expect(r.again.partitionBytesBefore).toBe(m.partitionBytes);
  expect(r.again.partitionBytes).toBe(m.partitionBytes);
  expect(r.again.diskBytes).toBe(m.diskBytes);
  expect(r.again.fsBytesBefore).toBe(r.outcome.grow?.fsBytesAfter);
  expect(r.again.fsBytesAfter).toBe(m.fsBytes);
}

describe('offline growth of the partition and filesystem, on real images', () => {
  it('GPT + ext4: backup header moved to the new end, partition 1 ends at the last usable sector', () => {
    const { r } = expectGrown('gpt');
    expect(r.layout?.partitionTable).toBe('gpt');
    const cmds = r.decision.plan.steps.find((s) => s.id === 'grow-fs')?.command?.argv.join(' ') ?? '';
    expect(cmds).toContain('part-expand-gpt /dev/sda');
    // sgdisk reads the image itself: a backup header not at the end, or overlapping partitions, are problems.
    const verify = execFileSync('sgdisk', ['-v', r.fixture.path], { encoding: 'utf8' });
    expect(verify).toMatch(/No problems found/);
    const print = execFileSync('sgdisk', ['-p', r.fixture.path], { encoding: 'utf8' });
    const lastUsable = Number(print.match(/last usable sector is (\d+)/)?.[1]);
    expect(lastUsable).toBe((r.fixture.sizeMiB + GROW_MIB) * 2048 - 34);
    expect(print).toMatch(new RegExp(`^\\s*1\\s+\\d+\\s+${lastUsable}\\s`, 'm'));
    expectSameAgain('gpt');
  });

  it('MBR + xfs: grown mounted inside the appliance (xfs-growfs)', () => {
    const { r } = expectGrown('xfs');
    expect(r.layout?.features?.xfs).toBe(true);
    const cmds = r.decision.plan.steps.find((s) => s.id === 'grow-fs')?.command?.argv.join(' ') ?? '';
    expect(cmds).toContain('mount /dev/sda1 / : xfs-growfs /');
    expectSameAgain('xfs');
  });

  it('LVM: pvresize, the root LV (not swap) takes the free space, its ext4 grows', () => {
    const { r, m } = expectGrown('lvm');
    const op = r.decision.guestSide.kind === 'offline' ? r.decision.guestSide.op : null;
    expect(op?.lvm).toEqual({ pv: '/dev/sda2', lv: `/dev/${FIXTURE_VG}/root` });
    expect(m.lvBytes.swap).toBe(8 * MiB);
    expect(m.lvBytes.root).toBeGreaterThan((48 + GROW_MIB) * MiB);
    expect(r.outcome.grow?.vgFreeAfter).toBe(0);
    // Run again: the VG has no free extents left, so lvresize-free is left out (it would fail).
    expectSameAgain('lvm');
    expect((r.again as GrowResult).vgFreeBefore).toBe(0);
  });

  it('MBR + ntfs: ntfsresize fills the grown partition', () => {
    const { r } = expectGrown('ntfs');
    expect(r.layout?.features?.ntfsprogs).toBe(true);
    // Run again: the volume ntfsresize marked for chkdsk is resized with force, and keeps its size.
    expectSameAgain('ntfs');
  });
});
