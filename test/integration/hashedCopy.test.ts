import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Executor, LocalExecutor } from '../../src/host/exec.js';
import { copyAndHashLocal } from '../../src/host/hashedCopy.js';
import type { RunFile } from '../../src/jobs/runCheck.js';
import { copyVerified } from '../../src/jobs/verifiedCopy.js';
import { UserError } from '../../src/model/userError.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/**
 * The one-pass copy of a restore on this machine: the sha256 it returns is that of the bytes it
 * wrote, zero blocks stay holes, neither end is followed through a symlink, a FIFO does not hang
 * it, and a cancel leaves no copy. A host whose files are not this process's keeps the shell route.
 */

const scratch = scratchDir('vdtest-hcp-');
const dir = scratch.dir;
const MiB = 1 << 20;

function sha256sum(path: string): string {
  return execFileSync('sha256sum', ['--', path], { encoding: 'utf8' }).split(' ')[0] as string;
}

function ddAt(path: string, offsetMiB: number, byte: number): void {
  execFileSync('sh', ['-c', 'head -c 1048576 /dev/zero | tr "\\0" "$2" | dd of="$1" bs=1M seek="$3" conv=notrunc status=none', 'sh', path, `\\${byte.toString(8)}`, String(offsetMiB)]);
}

const sparse = join(dir, 'sparse.img');
const dense = join(dir, 'dense.img');

beforeAll(() => {
  // 64 MiB: 1 MiB of data at 0 and at 40 MiB, the rest never written.
  execFileSync('truncate', ['-s', '64M', sparse]);
  ddAt(sparse, 0, 0o141);
  ddAt(sparse, 40, 0o142);
  execFileSync('sh', ['-c', 'head -c 67108864 /dev/urandom > "$1"', 'sh', dense]);
});

afterAll(() => scratch.remove());

describe('copyAndHashLocal', () => {
  it('returns the sha256 of what it wrote; zero blocks stay holes; the copy is 0600', async () => {
    const to = join(dir, 'sparse.copy');
    const seen: number[] = [];
    const r = await copyAndHashLocal(sparse, to, { onBytes: (n) => seen.push(n) });
    expect(r).toEqual({ ok: true, sha256: sha256sum(sparse), bytes: 64 * MiB, holes: 62 * MiB });
    expect(sha256sum(to)).toBe(sha256sum(sparse));
    expect(statSync(to).size).toBe(64 * MiB);
    expect(statSync(to).blocks * 512).toBeLessThanOrEqual(4 * MiB);
    expect((statSync(to).mode & 0o777).toString(8)).toBe('600');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
  });

  it('replaces a leftover, and a symlink in the copy\'s place is replaced, never written through', async () => {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'keep me');
    const to = join(dir, 'link.copy');
    symlinkSync(victim, to);
    const r = await copyAndHashLocal(sparse, to);
    expect(r.ok).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
    expect(lstatSync(to).isFile()).toBe(true);
  });

  it('refuses a symlink or a FIFO as the source without hanging, and writes nothing', async () => {
    const link = join(dir, 'src-link');
    symlinkSync(sparse, link);
    const viaLink = await copyAndHashLocal(link, join(dir, 'from-link'));
    expect(viaLink).toMatchObject({ ok: false, failed: 'read', error: 'ELOOP: open' });
    expect(existsSync(join(dir, 'from-link'))).toBe(false);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const viaFifo = await copyAndHashLocal(fifo, join(dir, 'from-fifo'));
    expect(viaFifo).toMatchObject({ ok: false, failed: 'read', error: 'not a regular file' });
  });

  it('a copy that cannot be written is a write failure, not a checksum', async () => {
    const r = await copyAndHashLocal(sparse, join(dir, 'no-such-dir', 'x'));
    expect(r).toMatchObject({ ok: false, failed: 'write', error: 'ENOENT: open' });
  });

  it('a cancel stops it and removes the half copy', async () => {
    const to = join(dir, 'cancelled.copy');
    const ac = new AbortController();
    const p = copyAndHashLocal(dense, to, { signal: ac.signal, onBytes: () => ac.abort() });
    await expect(p).rejects.toMatchObject({ code: 'cancelled' });
    expect(existsSync(to)).toBe(false);
  });
});

describe('the copy step of a restore, on both routes', () => {
  const runDir = join(dir, 'dest', 'g', 'r1');
  const image = join(runDir, 'vda.img');
  const file = (sha256: string | null): RunFile => ({ run: 'r1', target: 'vda', runDir, file: 'vda.img', path: image, sha256, format: 'raw', backing: null });
  const args = (sha256: string | null, temp: string) => ({
    check: { guest: 'g', dest: join(dir, 'dest'), files: [file(sha256)], recorded: [], allowDamaged: false, candidates: [], retry: 'r RUN', anyway: 'a' },
    temp,
    mirror: null,
    convert: null,
  });
  const ctx = () => {
    const log: string[] = [];
    const progress: number[] = [];
    return { log, progress, ctx: { log: (l: string) => log.push(l), progress: (f: number) => progress.push(f), signal: new AbortController().signal } };
  };
  // The same machine, but not known to be: what a remote host gets (ssh runs the same script there).
  const inner = new LocalExecutor();
  const shellOnly: Executor = { label: 'shell-only', run: (argv, o) => inner.run(argv, o), interactive: (argv) => inner.interactive(argv) };

  beforeAll(() => {
    mkdirSync(runDir, { recursive: true });
    execFileSync('cp', ['--sparse=always', sparse, image]);
  });

  it('this machine: one pass, no process reads the image; a remote host: cp, then the copy is hashed; both give the same disk', async () => {
    const local = ctx();
    await copyVerified(localHost(), args(sha256sum(image), join(dir, 'local.tmp')), local.ctx);
    expect(local.log.join('\n')).toContain(`read ${64 * MiB} bytes once, copied and hashed in one pass`);
    expect(local.progress.at(-1)).toBe(1);
    const remote = ctx();
    await copyVerified({ ...localHost(), sysExec: shellOnly }, args(sha256sum(image), join(dir, 'remote.tmp')), remote.ctx);
    expect(remote.log.join('\n')).toMatch(/copied in [\d.]+ s, sha256 of the copy in/);
    expect(remote.progress.at(-1)).toBe(1);
    expect(sha256sum(join(dir, 'local.tmp'))).toBe(sha256sum(image));
    expect(sha256sum(join(dir, 'remote.tmp'))).toBe(sha256sum(image));
  });

  it('a copy that does not match its manifest fails the step with one sentence naming the image', async () => {
    const wrong = 'f'.repeat(64);
    for (const exec of [new LocalExecutor(), shellOnly]) {
      const run = copyVerified({ ...localHost(), sysExec: exec }, args(wrong, join(dir, 'bad.tmp')), ctx().ctx);
      await expect(run).rejects.toBeInstanceOf(UserError);
      await expect(run).rejects.toThrow(new RegExp(`${image.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} does not match its manifest`));
    }
  });
});
