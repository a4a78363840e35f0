import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { streamSha256 } from '../../src/jobs/runCheck.js';
import { COPY_AND_HASH } from '../../src/jobs/verifiedCopy.js';

/**
 * The hash and copy scripts report progress from a background loop. dash drops a SIGTERM that
 * reaches a freshly forked loop before it has set up its signals, and a tiny file is hashed inside
 * that window: the loop then ran forever holding stderr open, so the job never ended (CI saw an
 * instant recovery hang for 60 s). Many tiny files in a row make the window show up every time.
 */

const dir = mkdtempSync(join(tmpdir(), 'vdtest-ploop-'));
const exec = new LocalExecutor();
const RUNS = 40;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `task` RUNS times, ten at a time; each run must end within 10 s (the scripts are instant on a tiny file). */
async function manyTimes(task: (i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < RUNS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, k) => task(i + k)));
  }
}

describe('progress loops of the hash and copy scripts', () => {
  it('a tiny file is hashed and the script ends every time', async () => {
    const file = join(dir, 'tiny');
    writeFileSync(file, 'x');
    await manyTimes(async () => {
      const abort = AbortSignal.timeout(10_000);
      const r = await streamSha256(exec, file, () => {}, abort);
      expect(r.sha256).toBe('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
    });
  }, 120_000);

  it('a tiny file is copied, hashed and the script ends every time', async () => {
    const src = join(dir, 'src');
    writeFileSync(src, 'x');
    await manyTimes(async (i) => {
      const to = join(dir, `copy-${i}`);
      const r = await exec.run(['sh', '-c', COPY_AND_HASH, 'sh', src, to], { timeoutMs: 10_000 });
      expect(r.stdout).toMatch(/^2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881/);
      expect(readFileSync(to, 'utf8')).toBe('x');
    });
  }, 120_000);
});
