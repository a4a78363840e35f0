import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import { LocalExecutor } from '../../src/host/exec.js';
import { parseStat } from '../../src/host/processTree.js';

/**
 * A cancel or timeout of a local run stops the whole tree the child started, and a descendant that
 * escaped (reparented to init) cannot keep the run from ending by holding its pipes. Before, a
 * `sh -c` whose background child held stderr made a cancel wait for that child: 30 s here.
 */

const ex = new LocalExecutor();
// A sleep length no other process on the machine uses, so pgrep finds only this file's.
const MARK = `${30 + (process.pid % 1000) / 1000}`;
const alive = () => {
  try {
    return execFileSync('pgrep', ['-f', `^sleep ${MARK}$`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

afterEach(() => {
  for (const pid of alive()) process.kill(Number(pid), 'SIGKILL');
});

async function failure(p: Promise<unknown>): Promise<HostError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(HostError);
  return e as HostError;
}

describe('stopping a local run', () => {
  it('a cancel stops the background child too, and returns at once', async () => {
    const ac = new AbortController();
    const run = ex.run(['sh', '-c', `sleep ${MARK} & sleep ${MARK}`], { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    expect(alive()).toHaveLength(2);
    ac.abort();
    expect((await failure(run)).code).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 200));
    expect(alive()).toEqual([]);
  }, 10_000);

  it('a timeout does the same', async () => {
    const e = await failure(ex.run(['sh', '-c', `sleep ${MARK} & sleep ${MARK}`], { timeoutMs: 300 }));
    expect(e.message).toMatch(/did not finish within 300 ms/);
    await new Promise((r) => setTimeout(r, 200));
    expect(alive()).toEqual([]);
  }, 10_000);

  it('a descendant that escaped to init and holds the pipes does not keep a cancelled run waiting', async () => {
    const ac = new AbortController();
    const run = ex.run(['sh', '-c', `(sleep ${MARK} &); sleep ${MARK}`], { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    expect((await failure(run)).code).toBe('cancelled');
  }, 10_000);

  it('a run that ends by itself keeps all its output', async () => {
    const r = await ex.run(['sh', '-c', 'echo out; echo err >&2']);
    expect([r.stdout, r.stderr]).toEqual(['out\n', 'err\n']);
  });
});

describe('/proc/PID/stat', () => {
  it('reads the parent and start time after a command name holding spaces and parentheses', () => {
    const fields = ['S', '4242', ...Array.from({ length: 17 }, (_, i) => String(i)), '987654', '0'];
    expect(parseStat(`123 (a) (b c)) ${fields.join(' ')}`)).toEqual({ ppid: 4242, start: 987654 });
    expect(parseStat('garbage')).toBeNull();
  });
});
