import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { AGAIN_WITHIN_MS, type HeadlessJob, headlessJob, Interrupted, undoneOnSignal, undoPrinter } from '../../src/cli/interrupt.js';
import { EXIT, exitCodeFor } from '../../src/cli/output.js';

function fakeProcess() {
  const emitter = new EventEmitter();
  const lines: string[] = [];
  const exits: number[] = [];
  let now = 1_000;
  return {
    emitter,
    lines,
    exits,
    tick: (ms: number) => {
      now += ms;
    },
    io: {
      err: (l: string) => lines.push(l),
      exit: (c: number) => exits.push(c),
      now: () => now,
      on: (sig: string, fn: () => void) => emitter.on(sig, fn),
      off: (sig: string, fn: () => void) => emitter.off(sig, fn),
    },
  };
}

/** Runs a job that waits until `release` is called, so signals can arrive while it runs. */
function pendingJob(p: ReturnType<typeof fakeProcess>) {
  let release: (v: string) => void = () => {};
  let job: HeadlessJob | undefined;
  const done = headlessJob((j) => {
    job = j;
    return new Promise<string>((r) => {
      release = r;
    });
  }, p.io);
  return { done, job: () => job as HeadlessJob, release: (v: string) => release(v) };
}

describe('headlessJob', () => {
  it('the first Ctrl-C aborts the job and says how to stop at once; the listeners stay until the job ends', async () => {
    const p = fakeProcess();
    const j = pendingJob(p);
    expect(j.job().undoneBySignal('cancelled')).toBe(false);
    expect(p.emitter.listenerCount('SIGINT')).toBe(1);
    expect(p.emitter.listenerCount('SIGTERM')).toBe(1);
    p.emitter.emit('SIGINT');
    expect(j.job().signal.aborted).toBe(true);
    expect(j.job().by).toBe('SIGINT');
    // A terminal's Ctrl-C also reaches qemu-img, whose step may then end "failed" rather than "cancelled".
    expect(['cancelled', 'failed', 'rollback-failed', 'done'].map((s) => j.job().undoneBySignal(s))).toEqual([true, true, false, false]);
    expect(p.lines).toEqual([expect.stringMatching(/^virtdeck: Ctrl-C: cancelling; what the job did is undone .*Ctrl-C again within 5 s/)]);
    expect(p.exits).toEqual([]);
    // Still listening while the undo runs: a fired `once` listener would let execa kill the process.
    expect(p.emitter.listenerCount('SIGINT')).toBe(1);
    j.release('ok');
    await expect(j.done).resolves.toBe('ok');
    expect(p.emitter.listenerCount('SIGINT')).toBe(0);
    expect(p.emitter.listenerCount('SIGTERM')).toBe(0);
  });

  it('a second Ctrl-C within the window exits 130 at once; one after it only reminds', async () => {
    const p = fakeProcess();
    const j = pendingJob(p);
    p.emitter.emit('SIGINT');
    p.tick(AGAIN_WITHIN_MS + 1);
    p.emitter.emit('SIGINT');
    expect(p.exits).toEqual([]);
    expect(p.lines[1]).toMatch(/^virtdeck: still undoing; Ctrl-C again within 5 s stops at once/);
    p.tick(1_000);
    p.emitter.emit('SIGINT');
    expect(p.exits).toEqual([130]);
    expect(p.lines[2]).toMatch(/^virtdeck: Ctrl-C again: stopping now, before the undo finished; the job is left interrupted for `virtdeck recover`\.$/);
    j.release('x');
    await j.done;
  });

  it('SIGTERM cancels the same way; its cancel exits 143, a Ctrl-C cancel 130, both above a usage error', () => {
    const p = fakeProcess();
    const j = pendingJob(p);
    p.emitter.emit('SIGTERM');
    expect(j.job().signal.aborted).toBe(true);
    const e = j.job().cancelled('The conversion');
    expect(e).toBeInstanceOf(Interrupted);
    expect(e.sentence).toBe('The conversion was cancelled (SIGTERM); what it had done was undone.');
    expect(exitCodeFor(e)).toBe(EXIT.terminated);
    expect(exitCodeFor(new Interrupted('SIGINT', 's', 'f'))).toBe(EXIT.interrupted);
    expect(EXIT.interrupted).toBe(130);
    j.release('x');
  });

  it('removes its listeners when the job throws', async () => {
    const p = fakeProcess();
    await expect(
      headlessJob(async () => {
        throw new Error('boom');
      }, p.io),
    ).rejects.toThrow('boom');
    expect(p.emitter.listenerCount('SIGINT')).toBe(0);
  });
});

describe('undoPrinter', () => {
  it('prints only what is undone, and an undo that failed', () => {
    const out: string[] = [];
    const print = undoPrinter((t) => out.push(t));
    print({ type: 'log', line: 'x' });
    print({ type: 'undo', index: 1, title: 'remove the partial copy' });
    print({ type: 'undo-end', index: 1, title: 'remove the partial copy', ok: true });
    print({ type: 'undo-end', index: 0, title: 'remove the directory', ok: false });
    expect(out).toEqual(['undo: remove the partial copy\n', 'undo failed: remove the directory\n']);
  });
});

describe('undoneOnSignal', () => {
  const stepError = new Error('qemu-img was cancelled');
  async function outcome(signal: boolean, undoOk: boolean) {
    const p = fakeProcess();
    const lines: string[] = [];
    const result = headlessJob(
      (job) =>
        undoneOnSignal(job, 'Creating /srv/x.raw', (l) => lines.push(l), async (onEvent) => {
          if (signal) p.emitter.emit('SIGINT');
          onEvent({ type: 'undo', index: 0, title: 'remove /srv/x.raw' });
          onEvent({ type: 'undo-end', index: 0, title: 'remove /srv/x.raw', ok: undoOk });
          throw stepError;
        }),
      p.io,
    ).catch((e: unknown) => e);
    return { error: await result, lines };
  }

  it('after a signal with every undo done, the cancel is what is thrown (exit 130)', async () => {
    const { error, lines } = await outcome(true, true);
    expect(error).toBeInstanceOf(Interrupted);
    expect((error as Interrupted).sentence).toBe('Creating /srv/x.raw was cancelled (Ctrl-C); what it had done was undone.');
    expect(lines).toEqual(['undo: remove /srv/x.raw']);
  });

  it('an undo that failed, or no signal at all, keeps the step\'s own error', async () => {
    expect((await outcome(true, false)).error).toBe(stepError);
    expect((await outcome(false, true)).error).toBe(stepError);
  });
});
