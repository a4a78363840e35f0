/**
 * `esxi.copy` reads the datastore file ONCE: the stream and the host's sha256 come from the same
 * read. An `ssh` stand-in first on PATH runs each remote command as ssh would (the last word, with
 * sh), under strace (with python there, and without), or through busybox's sh and applets as on
 * ESXi (with its python, and without), or spoiling the answer as a
 * bad link or host might; the remote TMPDIR is a scratch directory, so the FIFO's private
 * directory is seen to go. Nothing but a copy whose sha256 equals the host's is kept.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esxiActions, esxiSsh } from '../../src/jobs/importEsxi.js';
import type { Action } from '../../src/jobs/runner.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const scratch = scratchDir('vdtest-esxionce-');
const dir = scratch.dir;
const bin = join(dir, 'bin');
const src = join(dir, 'host', 'web-flat.vmdk');
const SIZE = 4 << 20;
const traces = join(dir, 'traces');
const remoteTmp = join(dir, 'remote-tmp');
const oldPath = process.env.PATH;

/** A directory of busybox applets: ESXi's /bin, with only the ones named (and this machine's python3 as `python`, as ESXi has it, if asked). */
function applets(name: string, names: string[], python = false): string {
  const d = join(dir, name);
  mkdirSync(d);
  for (const a of names) symlinkSync('/usr/bin/busybox', join(d, a));
  if (python) symlinkSync(execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim(), join(d, 'python'));
  return d;
}

const which = (cmd: string) => execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { encoding: 'utf8' }).trim();

beforeAll(() => {
  for (const d of [bin, join(dir, 'host'), traces, remoteTmp]) mkdirSync(d);
  // Data, a 2 MiB run of zeros (a hole in the copy), data.
  execFileSync('sh', ['-c', `{ head -c ${1 << 20} /dev/urandom; head -c ${2 << 20} /dev/zero; head -c ${1 << 20} /dev/urandom; } > '${src}'`]);
  const esxi = applets('esxi-bin', ['sh', 'cat', 'tee', 'mkfifo', 'mktemp', 'rm', 'sha256sum']);
  const esxiPy = applets('esxipy-bin', ['sh', 'cat', 'tee', 'mkfifo', 'mktemp', 'rm', 'sha256sum'], true);
  // This machine's own tools without python: the tee, FIFO and openssl route.
  const noPy = join(dir, 'nopy-bin');
  mkdirSync(noPy);
  for (const t of ['sh', 'cat', 'tee', 'mkfifo', 'mktemp', 'rm', 'openssl']) symlinkSync(which(t), join(noPy, t));
  const noHash = applets('nohash-bin', ['sh', 'cat', 'tee', 'mkfifo', 'mktemp', 'rm']);
  const noFifo = applets('nofifo-bin', ['sh', 'cat', 'rm', 'sha256sum']);
  // ssh [options] -- DEST COMMAND: the last word is the remote command line.
  writeFileSync(
    join(bin, 'ssh'),
    [
      '#!/bin/sh',
      'for last; do :; done',
      `export TMPDIR='${remoteTmp}'`,
      `case $(cat '${join(dir, 'mode')}') in`,
      `trace) exec strace -f -qq -e trace=open,openat -o "${traces}/$$" sh -c "$last";;`,
      // stdout a pipe, as sshd gives it: python's fcntl calls traced.
      `pipe) ${which('strace')} -f -qq -e trace=fcntl -o "${traces}/pipe-$$" sh -c "$last" | cat; exit 0;;`,
      `tracetee) PATH='${noPy}' exec ${which('strace')} -f -qq -e trace=open,openat -o "${traces}/$$" sh -c "$last";;`,
      `esxi) PATH='${esxi}' exec /usr/bin/busybox sh -c "$last";;`,
      `esxipy) PATH='${esxiPy}' exec /usr/bin/busybox sh -c "$last";;`,
      `nohash) PATH='${noHash}' exec /usr/bin/busybox sh -c "$last";;`,
      `nofifo) PATH='${noFifo}' exec /usr/bin/busybox sh -c "$last";;`,
      // One byte spoiled on the way, after the host hashed what it read: its low bit flipped, so it
      // differs whatever the random data held there (writing a fixed 'X' failed 1 run in 256).
      `flip) sh -c "$last" > '${dir}/flip'; s=$?; b=$(od -An -tu1 -j1000 -N1 '${dir}/flip' | tr -d ' '); printf "\\\\$(printf %o $((b ^ 1)))" | dd of='${dir}/flip' bs=1 seek=1000 conv=notrunc status=none; cat '${dir}/flip'; exit $s;;`,
      // The data, but not the digest line after it.
      'nodigest) exec sh -c "$last" 2>/dev/null;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'ssh'), 0o755);
  process.env.PATH = `${bin}:${oldPath}`;
});

afterAll(() => {
  process.env.PATH = oldPath;
  scratch.remove();
});

async function copyWith(mode: string, sub: string, image?: { format: 'qcow2'; virtualSize: number }) {
  writeFileSync(join(dir, 'mode'), mode);
  mkdirSync(join(dir, sub));
  const out = join(dir, sub, 'web-flat.vmdk');
  const logs: string[] = [];
  const copy = esxiActions(localHost())['esxi.copy'] as Action;
  const ctx = { host: localHost(), signal: new AbortController().signal, progress: () => {}, log: (l: string) => logs.push(l) } as unknown as Parameters<Action>[1];
  const run = copy({ ssh: ['ssh', '--', 'root@esx'], remote: src, out, size: SIZE, ...(image ? { image } : {}) }, ctx);
  return { run, logs, out, dir: join(dir, sub) };
}

/** Successful opens of the datastore file, in every process the remote commands started. */
function opensOfSource(): number {
  let n = 0;
  for (const f of readdirSync(traces)) {
    for (const line of readFileSync(join(traces, f), 'utf8').split('\n')) if (line.includes(`"${src}"`) && !/= -1 /.test(line)) n++;
  }
  return n;
}

describe('esxi.copy reads the datastore file once', () => {
  it('opens it once on the host (python there); the host hashes that read and the copy matches it, holes kept', async () => {
    const { run, logs, out } = await copyWith('trace', 'a');
    await run;
    expect(opensOfSource()).toBe(1);
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(logs.at(-1)).toMatch(/4194304 bytes; sha256 [0-9a-f]{64} matches the one computed on the host/);
    // The 2 MiB of zeros stayed a hole.
    expect(statSync(out).blocks * 512).toBeLessThanOrEqual(SIZE - (2 << 20));
    expect(readdirSync(remoteTmp)).toEqual([]);
  });

  it('widens the pipe to sshd to 1 MiB (python there), so a block crosses in one write', async () => {
    const { run, logs, out } = await copyWith('pipe', 'a1');
    await run;
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(logs.at(-1)).toMatch(/matches the one computed on the host/);
    const calls = readdirSync(traces).filter((f) => f.startsWith('pipe-')).map((f) => readFileSync(join(traces, f), 'utf8')).join('');
    expect(calls).toMatch(/fcntl\(1, F_SETPIPE_SZ, 1048576\) += 1048576/);
  });

  it('opens it once without python too: tee into a FIFO that openssl reads, the FIFO gone after', async () => {
    for (const f of readdirSync(traces)) rmSync(join(traces, f));
    const { run, logs, out } = await copyWith('tracetee', 'a2');
    await run;
    expect(opensOfSource()).toBe(1);
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(logs.at(-1)).toMatch(/matches the one computed on the host/);
    expect(readdirSync(remoteTmp)).toEqual([]);
  });

  it("runs under ESXi's busybox sh with its python", async () => {
    const { run, logs, out } = await copyWith('esxipy', 'b2');
    await run;
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(logs.at(-1)).toMatch(/matches the one computed on the host/);
  });

  it("runs under ESXi's busybox sh and applets without python (sha256sum there), and leaves no FIFO behind", async () => {
    const { run, logs, out } = await copyWith('esxi', 'b');
    await run;
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(logs.at(-1)).toMatch(/matches the one computed on the host/);
    expect(readdirSync(remoteTmp)).toEqual([]);
  });

  it('without mkfifo it still checks the copy (the host reads the file a second time)', async () => {
    const { run, logs, out } = await copyWith('nofifo', 'c');
    await run;
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(logs.at(-1)).toMatch(/matches the one computed on the host/);
  });

  it('without openssl or sha256sum the copy is kept and its sha256 logged, not compared', async () => {
    const { run, logs, out } = await copyWith('nohash', 'd');
    await run;
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
    expect(logs.at(-1)).toMatch(/the host has neither openssl nor sha256sum; the copy's sha256 is [0-9a-f]{64} \(not compared\)/);
  });

  it('a byte changed on the way keeps nothing, in one sentence', async () => {
    const { run, dir: d } = await copyWith('flip', 'e');
    await expect(run).rejects.toMatchObject({ sentence: expect.stringMatching(/^web-flat\.vmdk changed while it was copied: its sha256 on the host is [0-9a-f]{12}…, the stream was [0-9a-f]{12}…\.$/) });
    expect(readdirSync(d)).toEqual([]);
  });

  it('a byte changed on the way into a qcow2 keeps no image either', async () => {
    const { run, dir: d } = await copyWith('flip', 'e2', { format: 'qcow2', virtualSize: SIZE });
    await expect(run).rejects.toMatchObject({ sentence: expect.stringMatching(/^web-flat\.vmdk changed while it was copied/) });
    expect(readdirSync(d)).toEqual([]);
  });

  it("a missing host digest keeps nothing: the copy cannot be checked", async () => {
    const { run, dir: d, out } = await copyWith('nodigest', 'f');
    await expect(run).rejects.toMatchObject({ code: 'no-digest', sentence: expect.stringMatching(/^root@esx sent .*web-flat\.vmdk but not its sha256, so the copy cannot be checked\.$/) });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(d)).toEqual([]);
  });
});

describe("the copy's ssh", () => {
  /** What ssh itself makes of the argv (ssh -G: the options it would use), for the cipher list. */
  const ciphers = (argv: string[]) => {
    const dashes = argv.indexOf('--');
    const out = execFileSync(argv[0] as string, [...argv.slice(1, dashes), '-G', ...argv.slice(dashes)], { encoding: 'utf8', env: { ...process.env, PATH: oldPath } });
    return /^ciphers (.*)$/m.exec(out)?.[1]?.split(',');
  };

  it('asks for AES-GCM first and keeps the rest of ssh\'s defaults after it', () => {
    const c = ciphers(esxiSsh({ destination: 'root@esx1' }));
    expect(c?.slice(0, 2)).toEqual(['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com']);
    expect(c).toContain('aes128-ctr');
  });

  it('leaves a Ciphers the admin gave as it is', () => {
    expect(ciphers(esxiSsh({ destination: 'root@esx1', sshOptions: ['-o', 'Ciphers=aes256-ctr'] }))).toEqual(['aes256-ctr']);
  });
});
