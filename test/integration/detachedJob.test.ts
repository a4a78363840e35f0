import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostContext } from '../../src/config/connect.js';
import { prepareConvert } from '../../src/jobs/convert.js';
import { cancelJob, launchDetached } from '../../src/jobs/detached.js';
import { readProgress } from '../../src/jobs/jobStatus.js';
import { interruptedJobs, type Journal, listJournals } from '../../src/jobs/journal.js';
import { readLocks } from '../../src/jobs/locks.js';
import { processAlive } from '../../src/jobs/processes.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { rollbackJob } from '../../src/jobs/runner.js';
import { targetFrom } from '../../src/model/convertPlan.js';
import { UserError } from '../../src/model/userError.js';
import { cliArgv } from '../helpers/cli.js';

/**
 * A conversion in a detached worker on the real host: launched by a CLI process that exits at
 * once, followed through its progress snapshots, cancelled (rolled back, no temp files), run to
 * the end, and killed with SIGKILL mid-copy, after which the journal offers finish and roll back.
 * The copy is slowed by writing a compressed vmdk (streamOptimized) of 300 MiB of random data.
 */

const root = path.resolve(import.meta.dirname, '../..');
let dir = '';
let home = '';
let state = '';
let src = '';
const env = () => ({ VIRTDECK_HOME: home });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cli(args: string[], reject = true) {
  return execa(...cliArgv(...args), { cwd: root, env: env(), reject });
}

async function launch(dest: string): Promise<string> {
  const r = await cli(['disk', 'convert', src, '--to', 'vmdk', '-o', 'subformat=streamOptimized', '--dest', dest, '--detach', '--json']);
  const out = JSON.parse(r.stdout) as { id: string; pid: number };
  expect(out.pid).toBeGreaterThan(0);
  return out.id;
}

function journalOf(id: string): Journal {
  const j = listJournals(state).find((x) => x.record.id === id);
  if (!j) throw new Error(`no journal ${id}`);
  return j;
}

async function until<T>(what: string, test: () => T | null | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = test();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The percentages the worker's snapshots showed while the copy step ran. */
async function watchCopy(id: string, enough: number): Promise<number[]> {
  const seen: number[] = [];
  await until('progress of the copy', () => {
    const p = readProgress(state, id);
    if (p?.stepIndex === 1 && p.progress && !seen.includes(p.progress.percent)) seen.push(p.progress.percent);
    return seen.length >= enough && seen[seen.length - 1]! > 5;
  });
  return seen;
}

function leftovers(): string[] {
  return readdirSync(dir).filter((n) => n.includes('virtdeck-tmp'));
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vdtest-jb-detached-'));
  home = path.join(dir, 'home');
  state = path.join(home, 'state');
  await mkdir(home);
  src = path.join(dir, 'vdtest-jb-src.raw');
  await execa('qemu-img', ['create', '-f', 'raw', src, '1536M']);
  for (const at of [0, 400, 800, 1300]) {
    await execa('dd', ['if=/dev/urandom', `of=${src}`, 'bs=1M', 'count=100', `seek=${at}`, 'conv=notrunc', 'status=none']);
  }
});

afterAll(async () => {
  for (const j of listJournals(state)) {
    if (j.record.state === 'running' && processAlive(j.record.pid)) {
      try {
        process.kill(-j.record.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('detached convert job', () => {
  it('outlives its launcher, shows progress, and job cancel rolls it back without temp files', async () => {
    const dest = path.join(dir, 'vdtest-jb-a.vmdk');
    const id = await launch(dest);
    // The launching CLI has exited; the worker runs on.
    const j = journalOf(id);
    expect(j.record.state).toBe('running');
    expect(processAlive(j.record.pid)).toBe(true);
    expect(readLocks(state).map((l) => l.jobId)).toContain(id);
    const seen = await watchCopy(id, 3);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);

    // What `virtdeck job cancel ID` runs (called here directly: a CLI start-up could outlast the copy).
    expect(await cancelJob(state, id)).toEqual({ id, state: 'cancelled' });
    expect(existsSync(dest)).toBe(false);
    expect(leftovers()).toEqual([]);
    expect(readLocks(state).filter((l) => l.jobId === id)).toEqual([]);
    const log = (await cli(['job', 'log', id])).stdout;
    expect(log).toMatch(/SIGTERM: cancelling/);
    expect(log).toMatch(/job cancelled/);
  });

  it('refuses a second job on the same image while one runs, then runs to done', async () => {
    const dest = path.join(dir, 'vdtest-jb-b.vmdk');
    const id = await launch(dest);
    const host = createHostContext({ uri: 'qemu:///system' });
    const other = await prepareConvert(host, { source: src, target: targetFrom('qcow2'), dest: path.join(dir, 'vdtest-jb-x.qcow2') });
    expect(journalOf(id).record.state).toBe('running');
    const refused = await launchDetached(host, other.plan!, { stateDir: state }).then(
      () => null,
      (e: unknown) => e as UserError,
    );
    expect(refused).toBeInstanceOf(UserError);
    expect(refused?.sentence).toContain(`${src} is busy: job ${id} (convert, started`);
    expect(refused?.fix).toBe(`Wait for it or cancel it (virtdeck job cancel ${id}).`);
    // Refused before anything started: no journal of it is left behind.
    expect(listJournals(state).filter((j) => j.record.plan.targets.images.includes(path.join(dir, 'vdtest-jb-x.qcow2')))).toEqual([]);
    // The worker writes its journal's end, then its snapshot's: wait for both (a loaded machine can pause it between them).
    await until('the job to finish', () => journalOf(id).record.state !== 'running' && readProgress(state, id)?.final, 120_000);
    expect(journalOf(id).record.state).toBe('done');
    expect(existsSync(dest)).toBe(true);
    expect(readProgress(state, id)?.final).toBe('done');
    const list = JSON.parse((await cli(['job', 'list', '--json'])).stdout) as { jobs: { id: string; state: string }[] };
    expect(list.jobs.find((x) => x.id === id)?.state).toBe('done');
  });

  it('kill -9 of the worker mid-copy leaves a journal that rolls back, and one that finishes', async () => {
    const host = createHostContext({ uri: 'qemu:///system' });
    for (const how of ['rollback', 'finish'] as const) {
      const dest = path.join(dir, `vdtest-jb-${how}.vmdk`);
      const id = await launch(dest);
      await watchCopy(id, 2);
      const pid = journalOf(id).record.pid;
      // The worker and its qemu-img together, like a crash of the whole process group.
      process.kill(-pid, 'SIGKILL');
      await until('the worker to die', () => !processAlive(pid), 10_000);
      const interrupted = interruptedJobs(state, hostname()).map((x) => x.record.id);
      expect(interrupted).toContain(id);
      const list = JSON.parse((await cli(['job', 'list', '--json'])).stdout) as { jobs: { id: string; state: string }[] };
      expect(list.jobs.find((x) => x.id === id)?.state).toBe('interrupted');
      if (how === 'rollback') {
        const r = await rollbackJob(journalOf(id), { host, stateDir: state, actions: actionsFor('convert', host) });
        expect(r.state).toBe('rolled-back');
        expect(existsSync(dest)).toBe(false);
        expect(leftovers()).toEqual([]);
      } else {
        const r = await cli(['job', 'finish', id, '--json']);
        expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, state: 'done' });
        expect(existsSync(dest)).toBe(true);
        expect(leftovers()).toEqual([]);
      }
      expect(readLocks(state).filter((l) => l.jobId === id)).toEqual([]);
    }
  });
});
