import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { followFile, listJobSummaries, readLogTail, readProgress, StatusWriter, startedText, stepText, summarizeJob } from '../../src/jobs/jobStatus.js';
import { type JournalRecord, jobsDir } from '../../src/jobs/journal.js';
import type { Plan } from '../../src/model/plan.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-jb-status-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const plan: Plan = {
  kind: 'convert',
  title: 'convert a.raw to a.vmdk',
  targets: { guests: [], images: ['/srv/a.raw'] },
  steps: [
    { id: 'mkdir', title: 'make the temp dir' },
    { id: 'copy', title: 'convert to vmdk', progress: { kind: 'qemu-img', totalBytes: 1000 } },
    { id: 'place', title: 'put it in place' },
  ],
};

function record(over: Partial<JournalRecord> = {}): JournalRecord {
  return {
    id: 'J1',
    kind: 'convert',
    title: plan.title,
    uri: 'qemu:///system',
    pid: 4242,
    hostname: 'here',
    createdAt: '2025-03-01T12:03:00.000Z',
    updatedAt: '2025-03-01T12:04:00.000Z',
    state: 'running',
    plan,
    steps: [{ state: 'done' }, { state: 'running' }, { state: 'pending' }],
    ...over,
  };
}

const progress = (percent: number) => ({ percent, bytesDone: percent * 10, bytesTotal: 1000, rateBps: 100, etaSeconds: 3 });

describe('StatusWriter', () => {
  it('writes step changes at once, throttles byte progress, and logs every event', () => {
    let now = 1_000_000;
    const w = new StatusWriter(dir, record(), { minIntervalMs: 250, now: () => now });
    w.onEvent({ type: 'step-start', index: 1, step: plan.steps[1]! });
    expect(readProgress(dir, 'J1')).toMatchObject({ stepIndex: 1, stepTitle: 'convert to vmdk', progress: null, final: null });
    now += 100;
    w.onEvent({ type: 'progress', index: 1, progress: progress(10) });
    expect(readProgress(dir, 'J1')?.progress).toBeNull(); // throttled
    now += 200;
    w.onEvent({ type: 'progress', index: 1, progress: progress(20) });
    expect(readProgress(dir, 'J1')?.progress?.percent).toBe(20);
    now += 10;
    w.onEvent({ type: 'progress', index: 1, progress: progress(100) });
    expect(readProgress(dir, 'J1')?.progress?.percent).toBe(100); // the end is never dropped
    w.onEvent({ type: 'undo', index: 1, title: 'remove the temp dir' });
    expect(readProgress(dir, 'J1')?.undoing).toBe('remove the temp dir');
    w.finish('cancelled');
    expect(readProgress(dir, 'J1')).toMatchObject({ final: 'cancelled', undoing: null });
    const log = readLogTail(dir, 'J1');
    expect(log.map((l) => l.replace(/^\d\d:\d\d:\d\d /, ''))).toEqual(['step 2/3 convert to vmdk', 'undo: remove the temp dir', 'job cancelled']);
  });
});

describe('summarizeJob', () => {
  it('a running job shows the snapshot: step and progress', () => {
    const snap = { id: 'J1', pid: 4242, at: '', stepIndex: 1, stepCount: 3, stepTitle: 'convert to vmdk', progress: progress(61), undoing: null, final: null };
    const s = summarizeJob(record(), snap, true, 'here');
    expect(s).toMatchObject({ state: 'running', stepIndex: 1, stepTitle: 'convert to vmdk', images: ['/srv/a.raw'] });
    expect(s.progress?.percent).toBe(61);
    expect(stepText(s)).toBe('2/3');
  });
  it('a running journal whose process is gone, or on another machine, is interrupted and shows no live progress', () => {
    const snap = { id: 'J1', pid: 4242, at: '', stepIndex: 1, stepCount: 3, stepTitle: '', progress: progress(61), undoing: null, final: null };
    expect(summarizeJob(record(), snap, false, 'here')).toMatchObject({ state: 'interrupted', stepIndex: 1, progress: null });
    expect(summarizeJob(record(), snap, true, 'elsewhere').state).toBe('interrupted');
  });
  it('an ended job reports the journal, done showing every step', () => {
    const done = summarizeJob(record({ state: 'done', steps: [{ state: 'done' }, { state: 'done' }, { state: 'done' }] }), null, false, 'here');
    expect(done.state).toBe('done');
    expect(stepText(done)).toBe('3/3');
    const failed = summarizeJob(record({ state: 'failed', error: 'no space', steps: [{ state: 'undone' }, { state: 'failed' }, { state: 'pending' }] }), null, false, 'here');
    expect(failed).toMatchObject({ state: 'failed', stepIndex: 1, error: 'no space' });
    // Cancelled at step 2, whose partial copy was undone: still step 2, not the first pending one.
    const cancelled = summarizeJob(record({ state: 'cancelled', steps: [{ state: 'undone' }, { state: 'undone' }, { state: 'pending' }] }), null, false, 'here');
    expect(stepText(cancelled)).toBe('2/3');
    expect(cancelled.stepTitle).toBe('convert to vmdk');
  });
});

describe('listJobSummaries', () => {
  it('lists journals newest first, ignoring progress files', () => {
    const jd = jobsDir(dir);
    new StatusWriter(dir, record()); // makes the directory
    writeFileSync(join(jd, 'J1.json'), JSON.stringify(record()));
    writeFileSync(join(jd, 'J2.json'), JSON.stringify(record({ id: 'J2', createdAt: '2025-03-02T08:00:00.000Z', state: 'done' })));
    writeFileSync(join(jd, 'J1.progress.json'), JSON.stringify({ id: 'J1', stepIndex: 1 }));
    const jobs = listJobSummaries(dir, { hostname: 'here', alive: () => true });
    expect(jobs.map((j) => [j.id, j.state])).toEqual([
      ['J2', 'done'],
      ['J1', 'running'],
    ]);
  });
});

describe('texts and following', () => {
  it('shows the start time briefly', () => {
    const now = new Date(2025, 2, 1, 18, 0);
    expect(startedText(new Date(2025, 2, 1, 12, 3).toISOString(), now)).toBe('12:03');
    expect(startedText(new Date(2025, 1, 27, 9, 5).toISOString(), now)).toBe('Feb 27 09:05');
  });
  it('follows appended text', async () => {
    const file = join(dir, 'x.log');
    writeFileSync(file, 'one\n');
    const got: string[] = [];
    const c = new AbortController();
    const done = followFile(file, 0, (t) => got.push(t), c.signal, 20);
    await new Promise((r) => setTimeout(r, 50));
    appendFileSync(file, 'two\n');
    await new Promise((r) => setTimeout(r, 80));
    c.abort();
    await done;
    expect(got.join('')).toBe('one\ntwo\n');
  });
});
