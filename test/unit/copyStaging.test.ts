import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { sweepStaging } from '../../src/jobs/copyFetch.js';

const root = mkdtempSync(join(tmpdir(), 'vdtest-cpstage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('staging directories of runs fetched from a copy target', () => {
  it('a day-old one goes unless an instant-recovered guest still runs from it; fresh ones and foreign names stay', async () => {
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    const dirs = { stale: 'aaaaaaaaaaaa', used: 'bbbbbbbbbbbb', fresh: 'cccccccccccc', foreign: 'not-ours' };
    for (const [what, name] of Object.entries(dirs)) {
      mkdirSync(join(root, name, 'g'), { recursive: true });
      if (what !== 'fresh') utimesSync(join(root, name), dayAgo, dayAgo);
    }
    const gone = await sweepStaging(new LocalExecutor(), root, [join(root, dirs.used)]);
    expect(gone).toEqual([join(root, dirs.stale)]);
    expect(existsSync(join(root, dirs.stale))).toBe(false);
    for (const keep of [dirs.used, dirs.fresh, dirs.foreign]) expect(existsSync(join(root, keep))).toBe(true);
    expect(await sweepStaging(new LocalExecutor(), join(root, 'missing'), [])).toEqual([]);
  });
});
