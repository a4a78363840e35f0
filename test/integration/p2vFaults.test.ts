import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interruptedJobs, type Journal, resumePoint } from '../../src/jobs/journal.js';
import { prepareP2v } from '../../src/jobs/p2v.js';
import { describeInterruptedJob } from '../../src/jobs/recovery.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { finishJob, rollbackJob } from '../../src/jobs/runner.js';
import type { P2vUndefineArgs } from '../../src/model/p2vPlan.js';
import type { Plan } from '../../src/model/plan.js';
import { hangAfter, killGroup, type PlanChild, startPlanChild, theJournal, waitForStep, writeShim } from '../helpers/planFault.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

/**
 * kill -9 of a P2V from a raw dump file during each step, then recovery the way a restarted
 * virtdeck does it: the source is untouched, the journal is reported interrupted at that step,
 * rollback leaves an empty destination and no guest, finish leaves a verified image and the guest
 * defined once. Steps that last milliseconds are caught by shims that run the real program and
 * then hang (the kill lands after the effect, before the journal records it: the hardest moment),
 * the copy by rate-limiting qemu-img so the kill lands midway through the write.
 */
const host = localHost();
const GUEST = 'vdtest-fk-p2v';
const scratch = scratchDir('vdtest-fk-p2v-');
const dir = scratch.dir;
const SOURCE = join(dir, 'physical.raw');
const OUT = join(dir, 'out');
const FINAL = join(OUT, `${GUEST}.qcow2`);
const HOME = join(dir, 'home');
const STATE = join(HOME, 'state');
const SHIMS = { slowCopy: join(dir, 'shim-copy'), ln: join(dir, 'shim-ln'), virsh: join(dir, 'shim-virsh') };
const STEPS = ['copy', 'compare', 'place', 'define', 'cleanup'];
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const definedNames = () => sh('virsh', '-c', host.uri, 'list', '--all', '--name').split('\n').filter((n) => n.trim() === GUEST);
const guestExists = () => definedNames().length > 0;
let sourceSum = '';
let current: PlanChild | null = null;

beforeAll(() => {
  // 16 MiB with an MBR and data spread over it: the rate-limited copy takes seconds, not milliseconds.
  sh('qemu-img', 'create', '-q', '-f', 'raw', SOURCE, '16M');
  execFileSync('sfdisk', ['-q', SOURCE], { input: 'label: dos\nstart=2048, size=28672, type=83\n' });
  sh('qemu-io', '-f', 'raw', '-c', 'write -P 0xab 1M 6M', '-c', 'write -P 0xcd 9M 6M', '-c', 'write -P 0x11 16320k 64k', SOURCE);
  sourceSum = sha(SOURCE);
  writeShim(SHIMS.slowCopy, 'qemu-img', 'if [ "$1" = convert ]; then shift; "$REAL" convert -r 2M "$@"; else "$REAL" "$@"; fi; rc=$?');
  writeShim(SHIMS.ln, 'ln', hangAfter('--'));
  writeShim(SHIMS.virsh, 'virsh', hangAfter('define'));
});

afterAll(async () => {
  if (current) await killGroup(current);
  await removeGuest(host, GUEST);
  scratch.remove();
});

async function freshPlan(): Promise<Plan> {
  if (current) await killGroup(current);
  await removeGuest(host, GUEST);
  rmSync(OUT, { recursive: true, force: true });
  rmSync(HOME, { recursive: true, force: true });
  mkdirSync(OUT);
  const prepared = await prepareP2v(host, { source: { kind: 'file', path: SOURCE }, name: GUEST, destDir: OUT, format: 'qcow2', macs: ['52:54:00:fa:17:01'], memoryMiB: 64, bus: 'ide' });
  expect(prepared.refusals).toEqual([]);
  if (!prepared.plan) throw new Error('refused');
  expect(prepared.plan.steps.map((s) => s.id)).toEqual(STEPS);
  return prepared.plan;
}

function defineArgs(plan: Plan): P2vUndefineArgs {
  return plan.steps.find((s) => s.id === 'define')?.undo?.action?.args as P2vUndefineArgs;
}

type Catch = { hangAt?: string; shimDir?: string; ready?: (pc: PlanChild) => boolean };
const CATCH: Record<string, Catch> = {
  // Killed midway through qemu-img convert: the temp image is half written.
  copy: { shimDir: SHIMS.slowCopy, ready: (pc) => pc.output().split('\n').some((l) => /^progress 0 /.test(l) && Number(l.split(' ')[2]) >= 10) },
  compare: { hangAt: 'compare' },
  // ln has linked the final name; the journal still says running.
  place: { shimDir: SHIMS.ln, ready: () => existsSync(FINAL) },
  // virsh has defined the guest; the journal still says running.
  define: { shimDir: SHIMS.virsh, ready: guestExists },
  cleanup: { hangAt: 'cleanup' },
};

async function killDuring(plan: Plan, step: string): Promise<Journal> {
  const c = CATCH[step] as Catch;
  current = startPlanChild(plan, { home: HOME, hangAt: c.hangAt, shimDir: c.shimDir });
  const pc = current;
  await waitForStep(pc, HOME, STEPS.indexOf(step), () => c.ready?.(pc) ?? true);
  await killGroup(pc);
  current = null;
  return theJournal(HOME) as Journal;
}

describe('P2V killed with SIGKILL during each step', () => {
  for (const step of STEPS) {
    const index = STEPS.indexOf(step);
    for (const recovery of ['rollback', 'finish'] as const) {
      it(`during ${step}, then ${recovery}`, async () => {
        const plan = await freshPlan();
        const journal = await killDuring(plan, step);

        // (a) the source is untouched
        expect(sha(SOURCE)).toBe(sourceSum);
        // (b) a restarted virtdeck reports it interrupted, to be resumed at the killed step
        const found = interruptedJobs(STATE, hostname());
        expect(found.map((j) => j.record.id)).toEqual([journal.record.id]);
        expect(journal.record.steps[index]?.state).toBe('running');
        expect(resumePoint(journal.record)).toBe(index);
        const item = describeInterruptedJob(journal.record);
        expect(item.explanation[0]).toContain(`during step ${index + 1} of ${STEPS.length}: ${plan.steps[index]?.title}`);
        expect(item.finish).toContain('(the interrupted step starts over)');
        expect(item.rollback).toContain(`remove the partial copy ${join(OUT, `.${GUEST}.qcow2.virtdeck-part`)}`);

        const opts = { host, stateDir: STATE, actions: actionsFor('p2v', host) };
        const xmlFile = defineArgs(plan).xmlFile;
        if (recovery === 'rollback') {
          // (c) nothing left: no image, no temp name, no guest, no XML file
          const r = await rollbackJob(journal, opts);
          expect(r.state).toBe('rolled-back');
          expect(readdirSync(OUT)).toEqual([]);
          expect(guestExists()).toBe(false);
          expect(existsSync(xmlFile)).toBe(false);
        } else {
          // (d) a verified image under the final name and the guest defined once, on that image
          const r = await finishJob(journal, opts);
          expect(r.error?.sentence).toBeUndefined();
          expect(r.state).toBe('done');
          expect(readdirSync(OUT)).toEqual([`${GUEST}.qcow2`]);
          sh('qemu-img', 'check', '-q', '-f', 'qcow2', FINAL);
          sh('qemu-img', 'compare', '-q', '-f', 'raw', '-F', 'qcow2', SOURCE, FINAL);
          expect(definedNames()).toHaveLength(1);
          expect(sh('virsh', '-c', host.uri, 'domuuid', '--domain', GUEST).trim()).toBe(defineArgs(plan).uuid);
          expect(sh('virsh', '-c', host.uri, 'domblklist', '--domain', GUEST, '--inactive')).toContain(FINAL);
          expect(existsSync(xmlFile)).toBe(false);
        }
        expect(sha(SOURCE)).toBe(sourceSum);
        expect(interruptedJobs(STATE, hostname())).toEqual([]);
      }, 240_000);
    }
  }
});

describe('P2V rollback never takes away a guest it did not define', () => {
  it('a same-named guest defined by someone else after a kill during define stays', async () => {
    const plan = await freshPlan();
    // Frozen at the start of define: the guest does not exist yet, then someone else defines it.
    current = startPlanChild(plan, { home: HOME, hangAt: 'define' });
    const pc = current;
    await waitForStep(pc, HOME, STEPS.indexOf('define'));
    await killGroup(pc);
    current = null;
    const other = join(dir, 'other.xml');
    execFileSync('sh', ['-c', `cat > '${other}'`], { input: `<domain type='qemu'><name>${GUEST}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>` });
    sh('virsh', '-c', host.uri, 'define', '--file', other);
    const r = await rollbackJob(theJournal(HOME) as Journal, { host, stateDir: STATE, actions: actionsFor('p2v', host) });
    expect(r.state).toBe('rolled-back');
    expect(definedNames()).toHaveLength(1);
    expect(sh('virsh', '-c', host.uri, 'domuuid', '--domain', GUEST).trim()).not.toBe(defineArgs(plan).uuid);
    expect(readdirSync(OUT)).toEqual([]);
  }, 240_000);
});

describe('P2V killed after its cleanup removed the temporary name', () => {
  it('rollback undefines the guest but refuses, in one sentence, to delete an image it can no longer prove is its own', async () => {
    const plan = await freshPlan();
    const shimRm = join(dir, 'shim-rm');
    writeShim(shimRm, 'rm', hangAfter('--'));
    current = startPlanChild(plan, { home: HOME, shimDir: shimRm });
    const pc = current;
    await waitForStep(pc, HOME, STEPS.indexOf('cleanup'), () => !existsSync(join(OUT, `.${GUEST}.qcow2.virtdeck-part`)));
    await killGroup(pc);
    current = null;
    const journal = theJournal(HOME) as Journal;
    const r = await rollbackJob(journal, { host, stateDir: STATE, actions: actionsFor('p2v', host) });
    expect(r.state).toBe('rollback-failed');
    expect(guestExists()).toBe(false);
    expect(readdirSync(OUT)).toEqual([`${GUEST}.qcow2`]);
    const place = journal.record.steps[STEPS.indexOf('place')];
    expect(place?.state).toBe('undo-failed');
    expect(place?.error).toMatch(/was left in place: its temporary twin is already gone.*rm -- /);
    expect(sha(SOURCE)).toBe(sourceSum);
  }, 240_000);
});
