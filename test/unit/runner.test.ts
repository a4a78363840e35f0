import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import type { Launched } from '../../src/jobs/detached.js';
import { HandOver } from '../../src/jobs/handOver.js';
import { interruptedJobs, Journal, listJournals, resumePoint } from '../../src/jobs/journal.js';
import { acquireLocks, readLocks } from '../../src/jobs/locks.js';
import { finishJob, type RunnerEvent, rollbackJob, runPlan } from '../../src/jobs/runner.js';
import { describePlan, type Plan, planScript } from '../../src/model/plan.js';

const local = new LocalExecutor();
const host: HostContext = { name: 'test', uri: 'test:///default', virshExec: local, sysExec: local };

let dir: string;
let state: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vd-runner-'));
  state = join(dir, 'state');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** touch a, touch b, then a step that may fail; each touch undone by rm. */
function plan(failLast: boolean): Plan {
  const touch = (id: string) => ({
    id,
    title: `create ${id}`,
    command: { runsOn: 'sys' as const, argv: ['touch', join(dir, id)] },
    undo: { title: `remove ${id}`, command: { runsOn: 'sys' as const, argv: ['rm', '-f', join(dir, id)] }, partial: true },
  });
  return {
    kind: 'test',
    title: 'touch two files',
    targets: { guests: [], images: [join(dir, 'a')] },
    steps: [touch('a'), touch('b'), { id: 'last', title: 'last', command: { runsOn: 'sys', argv: [failLast ? 'false' : 'true'] } }],
  };
}

describe('plan runner', () => {
  it('runs every step, journals each, and reports events in order', async () => {
    const events: RunnerEvent['type'][] = [];
    const r = await runPlan(plan(false), { host, stateDir: state, onEvent: (e) => events.push(e.type) });
    expect(r.state).toBe('done');
    expect(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b'))).toBe(true);
    // 'journal' first (issue 13 item 4): from then on the job can be handed to a worker.
    expect(events).toEqual(['journal', 'step-start', 'step-end', 'step-start', 'step-end', 'step-start', 'step-end']);
    const rec = JSON.parse(readFileSync(r.journal.path, 'utf8'));
    expect(rec.state).toBe('done');
    expect(rec.steps.map((s: { state: string }) => s.state)).toEqual(['done', 'done', 'done']);
  });

  it('undoes finished steps in reverse when a step fails, and keeps the error as a sentence', async () => {
    const events: string[] = [];
    const r = await runPlan(plan(true), {
      host,
      stateDir: state,
      onEvent: (e) => e.type === 'undo' && events.push(e.title),
    });
    expect(r.state).toBe('failed');
    expect(r.error?.sentence).toMatch(/false/);
    expect(events).toEqual(['remove b', 'remove a']);
    expect(existsSync(join(dir, 'a')) || existsSync(join(dir, 'b'))).toBe(false);
  });

  it('cancels: the running command is killed and finished steps are undone', async () => {
    const p = plan(false);
    p.steps[2] = { id: 'slow', title: 'slow', command: { runsOn: 'sys', argv: ['sleep', '30'] }, long: true };
    const ac = new AbortController();
    const started = Date.now();
    const r = await runPlan(p, {
      host,
      stateDir: state,
      signal: ac.signal,
      onEvent: (e) => e.type === 'step-start' && e.index === 2 && setTimeout(() => ac.abort(), 50),
    });
    expect(r.state).toBe('cancelled');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  it('a cancel that comes after the step that finishes the job undoes nothing and runs the rest (a live migration that completed)', async () => {
    const p = plan(false);
    const ac = new AbortController();
    // Step b is the point of no return; the cancel arrives while it runs, too late to stop it.
    p.steps[1] = { id: 'b', title: 'create b', action: { name: 'lateCancel' }, finishes: true };
    const lines: string[] = [];
    const r = await runPlan(p, {
      host,
      stateDir: state,
      signal: ac.signal,
      actions: {
        lateCancel: async () => {
          ac.abort();
          writeFileSync(join(dir, 'b'), '');
        },
      },
      onEvent: (e) => {
        if (e.type === 'log') lines.push(e.line);
      },
    });
    expect(r.state).toBe('done');
    expect(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b'))).toBe(true);
    expect(JSON.parse(readFileSync(r.journal.path, 'utf8')).steps.map((s: { state: string }) => s.state)).toEqual(['done', 'done', 'done']);
    expect(lines).toEqual(['The cancel came after "create b" was done: nothing is undone, the job runs to its end.']);
    // Before that step, a cancel still undoes.
    const q = plan(false);
    q.steps[1] = { ...(q.steps[1] as Plan['steps'][number]), finishes: true };
    const early = new AbortController();
    const r2 = await runPlan(q, { host, stateDir: state, signal: early.signal, onEvent: (e) => e.type === 'step-end' && e.index === 0 && early.abort() });
    expect(r2.state).toBe('cancelled');
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  it('a final step that fails leaves the job failed with nothing undone; a job whose final step started is never rolled back (it can only be finished)', async () => {
    const p = plan(false);
    // The last step deletes what the steps before it would need to undo around.
    p.steps[2] = { id: 'last', title: 'delete the old copies', command: { runsOn: 'sys', argv: ['false'] }, final: true };
    const undone: string[] = [];
    const r = await runPlan(p, { host, stateDir: state, onEvent: (e) => e.type === 'undo' && undone.push(e.title) });
    expect(r.state).toBe('failed');
    expect(undone).toEqual([]);
    expect(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b'))).toBe(true);
    // Killed during the final step: recovery can finish it, not roll it back.
    const j = Journal.create(state, { plan: p, uri: host.uri, hostname: 'here' });
    for (const i of [0, 1]) {
      j.step(i, 'running');
      j.step(i, 'done');
    }
    j.step(2, 'running');
    await expect(rollbackJob(j, { host, stateDir: state })).rejects.toThrow('"touch two files" had started to delete the old copies, so it cannot be rolled back.');
    expect(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b'))).toBe(true);
    // Before it started, the job rolls back as any other.
    const k = Journal.create(state, { plan: p, uri: host.uri, hostname: 'here' });
    k.step(0, 'running');
    k.step(0, 'done');
    expect((await rollbackJob(k, { host, stateDir: state })).state).toBe('rolled-back');
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  it('finds a job whose process died, and finishes it from the step that was running', async () => {
    const j = Journal.create(state, { plan: plan(false), uri: host.uri, hostname: 'here' });
    j.step(0, 'running');
    j.step(0, 'done');
    j.step(1, 'running');
    // Simulate the kill: a pid that is certainly not running.
    const rec = JSON.parse(readFileSync(j.path, 'utf8'));
    rec.pid = 2 ** 22 + 7;
    writeFileSync(j.path, JSON.stringify(rec));
    const found = interruptedJobs(state, 'here');
    expect(found.map((x) => x.record.id)).toEqual([j.record.id]);
    expect(resumePoint(found[0]!.record)).toBe(1);
    const r = await finishJob(found[0]!, { host, stateDir: state });
    expect(r.state).toBe('done');
    // Only b and last ran in this process: a was done before the "crash".
    expect(existsSync(join(dir, 'a'))).toBe(false);
    expect(existsSync(join(dir, 'b'))).toBe(true);
    expect(interruptedJobs(state, 'here')).toEqual([]);
  });

  it('rolls an interrupted job back, including the step caught running', async () => {
    writeFileSync(join(dir, 'a'), '');
    writeFileSync(join(dir, 'b'), '');
    const j = Journal.create(state, { plan: plan(false), uri: host.uri, hostname: 'here' });
    j.step(0, 'done');
    j.step(1, 'running');
    const r = await rollbackJob(Journal.load(j.path), { host, stateDir: state });
    expect(r.state).toBe('rolled-back');
    expect(existsSync(join(dir, 'a')) || existsSync(join(dir, 'b'))).toBe(false);
    expect(listJournals(state)[0]?.record.steps.map((s) => s.state)).toEqual(['undone', 'undone', 'pending']);
  });

  it('does not undo a failed step unless its undo is safe on a partial result', async () => {
    const p = plan(false);
    p.steps[2] = {
      id: 'define',
      title: 'define',
      command: { runsOn: 'sys', argv: ['false'] },
      undo: { title: 'undefine (would hit the guest that made define fail)', command: { runsOn: 'sys', argv: ['touch', join(dir, 'wrong-undo')] } },
    };
    const r = await runPlan(p, { host, stateDir: state });
    expect(r.state).toBe('failed');
    expect(existsSync(join(dir, 'wrong-undo'))).toBe(false);
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  it('describes a plan as numbered commands and as a script', () => {
    const p = plan(false);
    expect(describePlan(p)[0]).toBe(`1 touch ${join(dir, 'a')}`);
    expect(planScript(p)).toContain('set -e');
    expect(planScript(p)).toContain(`# create b\ntouch ${join(dir, 'b')}`);
  });
});

describe('handing a running job to a worker (issue 13 item 4)', () => {
  /** touch a (undone by rm), then a long sleep: the step the hand-over stops. */
  function longPlan(): Plan {
    const p = plan(false);
    return { ...p, steps: [p.steps[0]!, { id: 'wait', title: 'wait', command: { runsOn: 'sys', argv: ['sleep', '30'] }, long: true }] };
  }
  const running = (events: RunnerEvent[]) => events.some((e) => e.type === 'step-start' && e.index === 1);
  async function until(test: () => boolean) {
    for (let i = 0; i < 500 && !test(); i++) await new Promise((r) => setTimeout(r, 10));
  }

  it('stops the running step, undoes nothing, and gives the journal (still running at that step) to the worker', async () => {
    const abort = new AbortController();
    const events: RunnerEvent[] = [];
    const given: string[] = [];
    const started = Date.now();
    const result = runPlan(longPlan(), { host, stateDir: state, signal: abort.signal, onEvent: (e) => events.push(e) });
    await until(() => running(events));
    abort.abort(
      new HandOver(async (j): Promise<Launched> => {
        given.push(j.record.id);
        // The worker's view of the journal: the stopped step is the one to run again.
        expect(resumePoint(Journal.load(j.path).record)).toBe(1);
        return { id: j.record.id, pid: 4246, journalPath: j.path, logPath: '/x', via: 'setsid' };
      }),
    );
    const r = await result;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.state).toBe('running');
    expect(r.worker?.pid).toBe(4246);
    expect(given).toEqual([r.journal.record.id]);
    const rec = Journal.load(r.journal.path).record;
    expect(rec.state).toBe('running');
    expect(rec.steps.map((x) => x.state)).toEqual(['done', 'running']);
    expect(existsSync(join(dir, 'a'))).toBe(true);
    expect(events.some((e) => e.type === 'undo')).toBe(false);
  });

  it('the launcher releasing its locks after the hand-over leaves the worker\'s (same job, the worker\'s pid)', () => {
    const owner = { jobId: 'job-x', kind: 'test', title: 't', pid: process.pid, startedAt: new Date().toISOString() };
    const targets = { guests: ['g1'], images: [] };
    const mine = acquireLocks(state, 'qemu:///system', targets, owner);
    const before = process.env.VIRTDECK_LAUNCHER_PID;
    process.env.VIRTDECK_LAUNCHER_PID = String(process.pid);
    try {
      // The worker (a live process of its own) takes the job's lock over from its launcher.
      acquireLocks(state, 'qemu:///system', targets, { ...owner, pid: process.ppid });
    } finally {
      if (before === undefined) delete process.env.VIRTDECK_LAUNCHER_PID;
      else process.env.VIRTDECK_LAUNCHER_PID = before;
    }
    mine.release();
    expect(readLocks(state).map((l) => l.pid)).toEqual([process.ppid]);
  });

  it('when no worker starts, the job is undone here as a failed one, and its locks are released', async () => {
    const abort = new AbortController();
    const events: RunnerEvent[] = [];
    const result = runPlan(longPlan(), { host, stateDir: state, signal: abort.signal, onEvent: (e) => events.push(e) });
    await until(() => running(events));
    abort.abort(new HandOver(async () => Promise.reject(new Error('no worker'))));
    const r = await result;
    expect(r.state).toBe('failed');
    expect(existsSync(join(dir, 'a'))).toBe(false);
    expect(readLocks(state)).toEqual([]);
  });
});

