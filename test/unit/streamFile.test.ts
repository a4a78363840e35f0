import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { streamFile } from '../../src/host/migrate.js';

/**
 * The offline copy's stream (dd there | virtdeck | dd here): it ends when both ends have ended,
 * whichever exit is reported first. A `dd` earlier in PATH stands for a reader whose exit comes
 * after the writer's (as ssh's often did on a loaded machine), or a writer that fails.
 */

let dir: string;
const path0 = process.env.PATH;
const local = new LocalExecutor();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vdtest-ev4-stream-'));
  writeFileSync(join(dir, 'src'), Buffer.alloc(3 << 20, 7));
});
afterEach(() => {
  process.env.PATH = path0;
  rmSync(dir, { recursive: true, force: true });
});

/** A `dd` that runs the real one, then, as the reader, lingers after its output has closed; as the writer, fails when asked. */
function fakeDd(o: { readerLingers?: boolean; writerFails?: boolean }): void {
  const bin = join(dir, 'bin');
  const script = [
    '#!/bin/sh',
    'case "$1" in',
    `  if=*) /bin/dd "$@"; rc=$?; exec >&-; ${o.readerLingers ? 'sleep 0.5;' : ''} exit $rc ;;`,
    `  of=*) ${o.writerFails ? 'echo "dd: writing: No space left on device" >&2; exit 1' : 'exec /bin/dd "$@"'} ;;`,
    'esac',
  ].join('\n');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'dd'), `${script}\n`);
  chmodSync(join(bin, 'dd'), 0o755);
  process.env.PATH = `${bin}:${path0}`;
}

describe('streamFile', () => {
  it('a reader whose exit is reported after the writer\'s: the copy is whole, not a failure', async () => {
    fakeDd({ readerLingers: true });
    const r = await streamFile(local, join(dir, 'src'), local, join(dir, 'dst'));
    expect(r.bytes).toBe(3 << 20);
    expect(readFileSync(join(dir, 'dst')).equals(readFileSync(join(dir, 'src')))).toBe(true);
  });

  it('a writer that fails stops the reader and says why, not ssh\'s notices', async () => {
    fakeDd({ writerFails: true });
    const started = Date.now();
    await expect(streamFile(local, join(dir, 'src'), local, join(dir, 'dst'))).rejects.toThrow(/failed: dd: writing: No space left on device\./);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
