import { chmodSync, existsSync, mkdtempSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CountingExecutor, LocalExecutor, SshExecutor } from '../../src/host/exec.js';
import { remoteCommandLine } from '../../src/host/remoteGroup.js';
import { shellQuote } from '../../src/model/shellQuote.js';
import { failure } from '../helpers/userError.js';

const local = new LocalExecutor();

describe('LocalExecutor', () => {
  it('returns stdout of a successful command and passes argv verbatim', async () => {
    const r = await local.run(['printf', '%s|', 'a b', '; rm -rf /', '$HOME']);
    expect(r.stdout).toBe('a b|; rm -rf /|$HOME|');
    expect(r.exitCode).toBe(0);
  });

  it('feeds input and streams stdout', async () => {
    const chunks: string[] = [];
    const r = await local.run(['cat'], { input: 'hello\n', onStdout: (c) => chunks.push(c) });
    expect(r.stdout).toBe('hello\n');
    expect(chunks.join('')).toBe('hello\n');
  });

  it('turns a failure into a HostError that keeps the command and stderr', async () => {
    const e = await failure(local.run(['sh', '-c', 'echo oops >&2; exit 3']));
    expect(e.exitCode).toBe(3);
    expect(e.stderr).toBe('oops');
    expect(e.command).toEqual(['sh', '-c', 'echo oops >&2; exit 3']);
    expect(e.sentence).toBe('sh failed: oops');
  });

  it('accepts exit codes that are answers', async () => {
    expect((await local.run(['sh', '-c', 'exit 1'], { okExitCodes: [1] })).exitCode).toBe(1);
  });

  it('says when a program is not installed', async () => {
    const e = await failure(local.run(['vdtest-host-no-such-program']));
    expect(e.code).toBe('not-installed');
    expect(e.sentence).toBe('The program vdtest-host-no-such-program is not installed on this host.');
  });

  it('kills a command that runs past its timeout', async () => {
    const t0 = Date.now();
    const e = await failure(local.run(['sleep', '5'], { timeoutMs: 200 }));
    expect(e.code).toBe('timed-out');
    expect(e.sentence).toContain('200 ms');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('stops on abort with a cancellation, not a failure', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await failure(local.run(['sleep', '5'], { signal: ac.signal }));
    expect(e.code).toBe('cancelled');
  });
});

describe('SshExecutor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vdtest-host-ssh-'));
  // A stand-in ssh that prints the argv it received, one per line.
  writeFileSync(join(dir, 'ssh'), '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
  chmodSync(join(dir, 'ssh'), 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('quotes every word into one remote command, in batch mode', async () => {
    const ssh = new SshExecutor({ destination: 'root@host1', port: 2222 });
    // The stand-in is found through this process's PATH: env given to run() goes to the remote side.
    const path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    let r: Awaited<ReturnType<SshExecutor['run']>>;
    let withEnv: Awaited<ReturnType<SshExecutor['run']>>;
    try {
      r = await ssh.run(['virsh', 'start', "it's; here"]);
      withEnv = await ssh.run(['virt-ls', 'a b'], { env: { LIBGUESTFS_BACKEND: 'direct' } });
    } finally {
      process.env.PATH = path;
    }
    // The remote line wraps argv so a cancel can stop its process group (test/unit/remoteGroup.test.ts).
    expect(withEnv.stdout.trim().split('\n').at(-1)).toBe(remoteCommandLine(['env', 'LIBGUESTFS_BACKEND=direct', 'virt-ls', 'a b']));
    expect(remoteCommandLine(['virsh', 'start', "it's; here"]).endsWith(" sh virsh start 'it'\\''s; here'")).toBe(true);
    expect(r.stdout.trim().split('\n')).toEqual([
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      '-p',
      '2222',
      '--',
      'root@host1',
      remoteCommandLine(['virsh', 'start', "it's; here"]),
    ]);
    expect(r.argv).toEqual(['virsh', 'start', "it's; here"]);
    expect(ssh.label).toBe('root@host1');
  });

  it('quotes only what needs it', () => {
    expect(shellQuote('/var/lib/a.qcow2')).toBe('/var/lib/a.qcow2');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote('')).toBe("''");
  });
});

describe('CountingExecutor', () => {
  it('counts each spawn and keeps its argv', async () => {
    const c = new CountingExecutor(local);
    await c.run(['true']);
    await c.run(['echo', 'x']);
    expect(c.count).toBe(2);
    expect(c.calls).toEqual([['true'], ['echo', 'x']]);
    expect(c.label).toBe('local');
  });
});

describe('LocalExecutor.spawn with stdout to a file', () => {
  it('keeps what the child wrote in a private unlinked file until drained, and wakes no one per write', async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    // Each line: many tiny writes to stdout, then one to stderr saying the line is done.
    const child = local.spawn(['sh', '-c', 'while read l; do for i in 1 2 3 4 5; do printf "%s-%s\\n" "$l" "$i"; done; echo "done $l" >&2; done'], {
      stdoutToFile: true,
      onStdout: (s) => stdout.push(s),
      onStderr: (s) => stderr.push(s),
    });
    try {
      const fd1 = `/proc/${child.pid}/fd/1`;
      await vi.waitFor(() => expect(existsSync(fd1)).toBe(true));
      expect(readlinkSync(fd1)).toMatch(/ \(deleted\)$/);
      expect(statSync(fd1).mode & 0o777).toBe(0o600);
      child.write('é\n');
      await vi.waitFor(() => expect(stderr.join('')).toContain('done é\n'));
      expect(child.drainStdout?.()).toBe('é-1\né-2\né-3\né-4\né-5\n');
      expect(child.drainStdout?.()).toBe('');
      child.write('b\n');
      await vi.waitFor(() => expect(stderr.join('')).toContain('done b\n'));
      expect(child.drainStdout?.()).toBe('b-1\nb-2\nb-3\nb-4\nb-5\n');
      expect(stdout).toEqual([]);
    } finally {
      child.kill();
      await child.exited;
    }
    expect(child.drainStdout?.()).toBe('');
  });
});
