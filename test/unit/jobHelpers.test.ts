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
import { applyRunnerEvent, cancelPromptKey, emptyRun, shownRun } from '../../src/ui/components/JobSteps.js';

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

describe('JobSteps view', () => {
  const step = (id: string): PlanStep => ({ id, title: id });
  it('folds runner events into the steps screen and ignores what it does not show', () => {
    const v = emptyRun();
    const events: RunnerEvent[] = [
      { type: 'step-start', index: 0, step: step('a') },
      { type: 'progress', index: 0, progress: { percent: 50, bytesDone: 1, bytesTotal: 2, rateBps: null, etaSeconds: null } },
      { type: 'step-end', index: 0, step: step('a') },
      { type: 'step-start', index: 1, step: step('b') },
      { type: 'log', line: 'hello' },
    ];
    expect(events.map((e) => applyRunnerEvent(v, e))).toEqual([true, true, true, true, true]);
    expect(v).toMatchObject({ current: 1, progress: null, failed: null, logs: ['hello'] });
    expect([...v.done]).toEqual([0]);
    expect(applyRunnerEvent(v, { type: 'step-failed', index: 1, step: step('b'), error: { sentence: 's', fix: 'f' } as never })).toBe(true);
    expect(applyRunnerEvent(v, { type: 'undo', index: 0, title: 'undo a' })).toBe(true);
    expect(applyRunnerEvent(v, { type: 'undo-end', index: 0, title: 'undo a', ok: true })).toBe(false);
    expect(v).toMatchObject({ failed: 1, undoing: 'undo a' });
    const shown = shownRun(v, { ...v, confirmCancel: true });
    expect(shown.confirmCancel).toBe(true);
    expect(shown.done).not.toBe(v.done);
  });

  it('asks before cancelling: Esc or Ctrl-C asks, y cancels, n or Esc keeps going', () => {
    let cancelled = 0;
    const cancel = () => cancelled++;
    const none = { escape: false, ctrl: false };
    const run = emptyRun();
    expect(cancelPromptKey(run, 'x', none, cancel)).toBe(run);
    const asking = cancelPromptKey(run, '', { escape: true, ctrl: false }, cancel);
    expect(asking.confirmCancel).toBe(true);
    expect(cancelPromptKey(run, 'c', { escape: false, ctrl: true }, cancel).confirmCancel).toBe(true);
    expect(cancelPromptKey(asking, 'x', none, cancel)).toBe(asking);
    expect(cancelPromptKey(asking, 'n', none, cancel).confirmCancel).toBe(false);
    expect(cancelled).toBe(0);
    expect(cancelPromptKey(asking, 'y', none, cancel).confirmCancel).toBe(false);
    expect(cancelled).toBe(1);
  });
});
