/**
 * The import.v2v action against a scripted executor: its input XML is written 0600 (umask 077)
 * and always removed, virt-v2v's lines go to the job log as they come with its stages as
 * progress, a failure is one sentence with the fix, and a cancel kills it and is not reported as
 * virt-v2v's failure (the runner's undo then removes the copies).
 */
import { describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { importFixupActions } from '../../src/jobs/importFixup.js';
import type { ActionContext } from '../../src/jobs/runner.js';
import { type V2vArgs, v2vArgv } from '../../src/model/importFixup.js';
import { UserError } from '../../src/model/userError.js';

const XML_PATH = '/vm/.a.qcow2.virtdeck-tmp/virt-v2v-input.xml';
const ARGS: V2vArgs = { guest: 'web', xmlPath: XML_PATH, xml: '<domain/>', argv: v2vArgv(XML_PATH, { tcg: true }), disks: ['/vm/.a.qcow2.virtdeck-tmp/a.qcow2'] };

type Script = (argv: string[], opts: ExecOptions) => Promise<ExecResult>;

function hostWith(v2v: Script): { host: HostContext; calls: { argv: string[]; input?: string }[] } {
  const calls: { argv: string[]; input?: string }[] = [];
  const exec: Executor = {
    label: 'local',
    run: async (argv, opts = {}) => {
      calls.push({ argv, input: opts.input });
      if (argv.includes('virt-v2v-in-place')) return v2v(argv, opts);
      return { stdout: '', stderr: '', exitCode: 0 } as ExecResult;
    },
    interactive: async () => 0,
  };
  return { host: { name: 'local', uri: 'qemu:///system', virshExec: exec, sysExec: exec }, calls };
}

function ctxFor(host: HostContext, signal = new AbortController().signal) {
  const logs: string[] = [];
  const fractions: number[] = [];
  const ctx: ActionContext = { host, signal, progress: (f) => fractions.push(f), log: (l) => logs.push(l) };
  return { ctx, logs, fractions };
}

const failed = (stderr: string) => new HostError({ sentence: 'virt-v2v-in-place failed.', fix: 'See its output.', command: ['virt-v2v-in-place'], stderr, exitCode: 1 });

describe('the import.v2v action', () => {
  it('writes its input 0600, logs every line as it comes, turns stages into progress and removes the input', async () => {
    const { host, calls } = hostWith(async (_argv, opts) => {
      opts.onStdout?.('[   0.0] Setting up the source: -i libvirtxml\n[   2.1] Opening the so');
      opts.onStdout?.('urce\n[  20.5] Inspecting the source\n[  40.0] Converting Debian 12 to run on KVM\nvirt-v2v: \x1b]2;x\x07 a note\n');
      opts.onStdout?.('[  90.0] Mapping filesystem data to avoid copying unused and blank areas\n[  95.0] Closing the overlay');
      return { stdout: '', stderr: '', exitCode: 0 } as ExecResult;
    });
    const { ctx, logs, fractions } = ctxFor(host);
    await importFixupActions(host)['import.v2v']?.(ARGS, ctx);
    expect(calls[0]).toEqual({ argv: ['sh', '-c', 'umask 077 && cat > "$1"', 'sh', XML_PATH], input: '<domain/>' });
    expect(calls.at(-1)?.argv).toEqual(['rm', '-f', '--', XML_PATH]);
    expect(logs[0]).toBe('virt-v2v: [   0.0] Setting up the source: -i libvirtxml');
    expect(logs[1]).toBe('virt-v2v: [   2.1] Opening the source');
    // A guest's text in virt-v2v's output never reaches the terminal as control bytes.
    expect(logs.join('\n')).not.toContain('\x1b');
    expect(logs).toContain('virt-v2v: [  95.0] Closing the overlay');
    expect(logs.at(-1)).toBe('virt-v2v-in-place fixed up /vm/.a.qcow2.virtdeck-tmp/a.qcow2');
    expect(fractions).toEqual([0.02, 0.05, 0.4, 0.5, 0.9, 1]);
  });

  it("a failure is virt-v2v's error as one sentence and the fix; the input is still removed", async () => {
    const { host, calls } = hostWith(async (_argv, opts) => {
      opts.onStderr?.('virt-v2v-in-place: error: libguestfs error: could not create appliance through \nlibvirt.\n\nIf reporting bugs, run virt-v2v with debugging enabled\n');
      throw failed('');
    });
    const { ctx } = ctxFor(host);
    const err = await importFixupActions(host)['import.v2v']?.(ARGS, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).sentence).toBe(
      'virt-v2v-in-place failed on the copies of web: libguestfs error: could not create appliance through libvirt; the import was undone and the VMware files are unchanged.',
    );
    expect((err as UserError).fix).toMatch(/--fixup none/);
    expect(calls.at(-1)?.argv).toEqual(['rm', '-f', '--', XML_PATH]);
  });

  it('a cancel stops it and is a cancel, not a failure of virt-v2v', { timeout: 5000 }, async () => {
    const abort = new AbortController();
    const { host, calls } = hostWith(
      (_argv, opts) =>
        new Promise((_resolve, reject) => {
          opts.onStdout?.('[   0.0] Setting up the source\n');
          opts.signal?.addEventListener('abort', () => reject(failed('killed')));
          started();
        }),
    );
    let started: () => void = () => {};
    const v2vRuns = new Promise<void>((r) => {
      started = r;
    });
    const { ctx, fractions } = ctxFor(host, abort.signal);
    const running = importFixupActions(host)['import.v2v']?.(ARGS, ctx);
    await v2vRuns;
    abort.abort();
    const err = await running?.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect(fractions).not.toContain(1);
    expect(calls.at(-1)?.argv).toEqual(['rm', '-f', '--', XML_PATH]);
  });
});
