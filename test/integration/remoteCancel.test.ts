import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshExecutor } from '../../src/host/exec.js';
import { prepareConvert, runConvert } from '../../src/jobs/convert.js';
import type { RunnerEvent } from '../../src/jobs/runner.js';
import { targetFrom } from '../../src/model/convertPlan.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { scratchDir } from '../helpers/tinyGuest.js';
import { failure } from '../helpers/userError.js';

/**
 * Cancelling work on a remote host (a throwaway sshd on 127.0.0.1): the remote process group is
 * gone before the executor settles, so a job's undo never races a command still writing.
 */

let scratch: { dir: string; remove: () => void };
let sshd: ThrowawaySshd | null = null;

/** A word no other process on this machine has in its argv. */
const marker = () => `vdtest-rc-${randomBytes(4).toString('hex')}`;

/** Every process (local ssh or remote command) whose argv names the marker. */
function survivors(mark: string): string {
  return spawnSync('pgrep', ['-af', mark], { encoding: 'utf8' }).stdout.trim();
}

function groupMembers(pgid: number): string {
  return spawnSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' }).stdout.trim();
}

function executor(timing?: { graceMs: number; afterKillMs: number }): SshExecutor {
  const s = sshd as ThrowawaySshd;
  // LogLevel=ERROR: ssh's "Permanently added … to the list of known hosts" would land in stderr.
  const options = ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'LogLevel=ERROR'];
  return new SshExecutor({ destination: 'root@127.0.0.1', port: s.port, identityFile: s.keyFile, options }, timing);
}

/** A stdout listener for a command that writes "started PGID": calls onStarted once with the group. */
function startedGroup(onStarted: (pgid: number) => void): (chunk: string) => void {
  let seen = '';
  let told = false;
  return (chunk) => {
    if (told) return;
    seen += chunk;
    const m = /started (\d+)\n/.exec(seen);
    if (!m) return;
    told = true;
    onStarted(Number(m[1]));
  };
}

beforeAll(async () => {
  scratch = scratchDir('vdtest-rc-');
  sshd = await startThrowawaySshd(scratch.dir);
});

afterAll(() => {
  sshd?.stop();
  scratch?.remove();
});

describe('SshExecutor against a real sshd', () => {
  it('runs a normal command with one login, stdout and stderr apart, as sshd’s own child', async () => {
    const before = sshd!.logins();
    const errChunks: string[] = [];
    const r = await executor().run(['sh', '-c', 'echo out; echo err >&2; cat /proc/$PPID/comm'], { onStderr: (c) => errChunks.push(c) });
    expect(r.stdout).toBe('out\nsshd\n');
    expect(r.stderr).toBe('err\n');
    expect(errChunks.join('')).toBe('err\n');
    expect(sshd!.logins() - before).toBe(1);
  });

  it('keeps a failing command’s exit code and stderr', async () => {
    const e = await failure(executor().run(['sh', '-c', 'echo oops >&2; exit 3']));
    expect(e.exitCode).toBe(3);
    expect(e.stderr).toBe('oops');
  });

  it('on cancel stops the whole remote group (children too) before it settles', async () => {
    const mark = marker();
    const ac = new AbortController();
    let pgid = 0;
    const run = executor().run(['sh', '-c', 'sleep 600 & sleep 600 & echo "started $$"; wait', mark], {
      signal: ac.signal,
      timeoutMs: 0,
      onStdout: startedGroup((g) => {
        pgid = g;
        ac.abort();
      }),
    });
    const e = await failure(run);
    expect(e.code).toBe('cancelled');
    expect(e.sentence).toBe('The operation was cancelled.');
    expect(pgid).toBeGreaterThan(1);
    expect(survivors(mark)).toBe('');
    expect(groupMembers(pgid)).toBe('');
  });

  it('on timeout KILLs a remote group that ignores TERM, after the grace period', async () => {
    const mark = marker();
    let pgid = 0;
    const run = executor({ graceMs: 300, afterKillMs: 20_000 }).run(['sh', '-c', 'trap "" TERM; sleep 600 & echo "started $$"; wait', mark], {
      timeoutMs: 2_000,
      onStdout: startedGroup((g) => {
        pgid = g;
      }),
    });
    const e = await failure(run);
    expect(e.code).toBe('timed-out');
    expect(survivors(mark)).toBe('');
    if (pgid) expect(groupMembers(pgid)).toBe('');
  });
});

describe('a cancelled disk job on a remote host', () => {
  it('undoes the partial copy only after the remote qemu-img is gone', async () => {
    const host = sshd!.host;
    const mark = marker();
    const src = join(scratch.dir, `${mark}-src.raw`);
    // Random data, so qemu-img has every block to copy; -r 4M keeps the copy running long enough to cancel.
    await host.sysExec.run(['dd', 'if=/dev/urandom', `of=${src}`, 'bs=1M', 'count=64', 'status=none'], { timeoutMs: 120_000 });
    const target = { ...targetFrom('qcow2'), flags: ['-r', '4M'] };
    const prepared = await prepareConvert(host, { source: src, target, compare: false });
    expect(prepared.check.refusals).toEqual([]);
    const plan = prepared.plan!;
    const convertIndex = plan.steps.findIndex((s) => s.id === 'convert');
    const undoArgs = plan.steps[convertIndex]?.undo?.action?.args as { dir: string } | undefined;
    if (!undoArgs) throw new Error('the convert step has no undo action');
    const tmpDir = undoArgs.dir;

    const ac = new AbortController();
    const atUndo: { survivors: string; partialThere: boolean }[] = [];
    const onEvent = (e: RunnerEvent) => {
      if (e.type === 'progress' && e.index === convertIndex && e.progress.percent > 0) ac.abort();
      // Synchronous on purpose: this is the moment the undo starts.
      if (e.type === 'undo' && e.index === convertIndex) atUndo.push({ survivors: survivors(mark), partialThere: existsSync(tmpDir) });
    };
    const r = await runConvert(host, plan, { stateDir: join(scratch.dir, 'state'), signal: ac.signal, onEvent });

    expect(r.state).toBe('cancelled');
    expect(atUndo).toEqual([{ survivors: '', partialThere: true }]);
    expect(existsSync(tmpDir)).toBe(false);
    expect(existsSync(join(scratch.dir, `${mark}-src.qcow2`))).toBe(false);
    expect(existsSync(src)).toBe(true);
    expect(survivors(mark)).toBe('');
  });
});
