import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/jobs/atomicFile.js';
import { processAlive, processStart } from '../../src/jobs/processes.js';
import type { RunnerEvent } from '../../src/jobs/runner.js';
import type { PlanStep } from '../../src/model/plan.js';
import { coalesced } from '../../src/store/coalesced.js';
import { createJobController } from '../../src/store/jobs/jobController.js';
import { reduceRun, startView, undoing } from '../../src/store/jobs/runView.js';
import { pressKey } from '../../src/store/keys/owners.js';

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

describe('writeFileAtomic', () => {
  it('replaces the file whole, with the mode asked, and leaves no temp file', () => {
    dir = mkdtempSync(join(tmpdir(), 'vdtest-atomic-'));
    const path = join(dir, 'j.json');
    writeFileAtomic(path, 'one\n');
    writeFileAtomic(path, 'two\n', 0o640);
    expect(readFileSync(path, 'utf8')).toBe('two\n');
    expect(readdirSync(dir)).toEqual(['j.json']);
    expect(statSync(path).mode & 0o777).toBe(0o640 & ~process.umask());
  });
});

describe('processAlive / processStart', () => {
  it('sees this process alive with a start time, and an exited child as dead', async () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processStart(process.pid)).toMatch(/^\d+$/);
    const child = spawn('true');
    const pid = child.pid as number;
    await new Promise((r) => child.on('exit', r));
    expect(processAlive(pid)).toBe(false);
  });
});

describe('coalesced', () => {
  it('runs one round at a time and folds calls made during a round into one more', async () => {
    let rounds = 0;
    let release: () => void = () => {};
    const refresh = coalesced(async () => {
      rounds++;
      if (rounds === 1) await new Promise<void>((r) => (release = r));
    });
    const first = refresh();
    const second = refresh();
    const third = refresh();
    expect(second).toBe(first);
    expect(third).toBe(first);
    release();
    await first;
    expect(rounds).toBe(2);
    await refresh();
    expect(rounds).toBe(3);
  });
});

describe('the run view (one reducer of runner events)', () => {
  const step = (id: string): PlanStep => ({ id, title: id });
  const spec = { what: 'the job', undo: 'Nothing to undo.', title: 't', rows: ['a', 'b'] };
  it('folds runner events into the steps screen and ignores what it does not show', () => {
    const events: RunnerEvent[] = [
      { type: 'step-start', index: 0, step: step('a') },
      { type: 'progress', index: 0, progress: { percent: 50, bytesDone: 1, bytesTotal: 2, rateBps: null, etaSeconds: null } },
      { type: 'step-end', index: 0, step: step('a') },
      { type: 'step-start', index: 1, step: step('b') },
      { type: 'log', line: 'hello' },
    ];
    let v = startView(spec);
    for (const e of events) {
      const next = reduceRun(v, e);
      expect(next).not.toBe(v);
      v = next;
    }
    expect(v).toMatchObject({ current: 1, logs: ['hello'] });
    expect(v.rows.map((r) => [r.label, r.state, r.progress])).toEqual([
      ['a', 'done', null],
      ['b', 'running', null],
    ]);
    v = reduceRun(v, { type: 'step-failed', index: 1, step: step('b'), error: { sentence: 's', fix: 'f' } as never });
    v = reduceRun(v, { type: 'undo', index: 0, title: 'undo a' });
    expect(v.rows[1]).toMatchObject({ state: 'failed', note: 's' });
    expect(undoing(v)).toBe('undo a');
    v = reduceRun(v, { type: 'undo-end', index: 0, title: 'undo a', ok: true });
    expect(undoing(v)).toBeNull();
    expect(v.rows[2]).toMatchObject({ label: 'undo a', undo: true, state: 'done' });
  });

  it('asks before cancelling: Esc, Ctrl-C or c ask, y cancels, n or Esc keeps going', async () => {
    let cancelled = 0;
    const jobs = createJobController(() => {});
    void jobs.start(spec, (io) => new Promise<void>((resolve) => io.signal.addEventListener('abort', () => { cancelled++; resolve(); })));
    const key = (name: string) => pressKey(jobs, { name, input: name.length === 1 ? name : '' });
    expect(key('x')).toBe(false);
    key('esc');
    expect(jobs.view()?.asking).toBe(true);
    expect(key('x')).toBe(false);
    key('n');
    expect(jobs.view()?.asking).toBe(false);
    key('ctrl-c');
    expect(jobs.view()?.asking).toBe(true);
    key('esc');
    expect(jobs.view()?.asking).toBe(false);
    expect(cancelled).toBe(0);
    key('c');
    key('y');
    await Promise.resolve();
    expect(cancelled).toBe(1);
    expect(jobs.view()?.state).toBe('cancelling');
  });
});
