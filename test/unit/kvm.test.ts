import { describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import { decideAccel, detectAccel, domainTypeFor, KVM_PROBE_ARGV, probeFailureDetail } from '../../src/host/kvm.js';

type Answer = { exitCode: number; stdout?: string; stderr?: string } | 'missing';

/** Answers by argv[0]; records every call. Failures reject the way the real executor does. */
class ScriptedExecutor implements Executor {
  readonly label = 'scripted';
  readonly calls: { argv: string[]; opts?: ExecOptions }[] = [];
  constructor(private readonly answers: Record<string, Answer>) {}
  async run(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    this.calls.push({ argv, opts });
    const a = this.answers[argv[0] ?? ''];
    if (!a) throw new Error(`unscripted ${argv.join(' ')}`);
    if (a === 'missing') {
      throw new HostError({ sentence: 'not installed', fix: '', command: argv, stderr: '', code: 'not-installed' });
    }
    const res = { argv, exitCode: a.exitCode, stdout: a.stdout ?? '', stderr: a.stderr ?? '' };
    if (a.exitCode !== 0 && !(opts?.okExitCodes ?? []).includes(a.exitCode)) {
      throw new HostError({ sentence: 'failed', fix: '', command: argv, stderr: res.stderr, exitCode: a.exitCode });
    }
    return res;
  }
  async interactive(): Promise<number> {
    return 0;
  }
}

const MSR_STDERR =
  'qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\n' +
  "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n";

describe('detectAccel', () => {
  it('says kvm when the flag, /dev/kvm and the probe all agree', async () => {
    const exec = new ScriptedExecutor({
      grep: { exitCode: 0, stdout: 'vmx\n' },
      test: { exitCode: 0 },
      'qemu-system-x86_64': { exitCode: 0 },
    });
    const info = await detectAccel(exec);
    expect(info).toMatchObject({ accel: 'kvm', cpuFlags: true, devKvm: true, probe: 'ok' });
    expect(info.reason).toContain('vmx');
    const probe = exec.calls.find((c) => c.argv[0] === 'qemu-system-x86_64');
    expect(probe?.argv).toEqual(KVM_PROBE_ARGV);
    expect(probe?.opts?.input).toBe('quit\n');
    expect(probe?.opts?.timeoutMs).toBeGreaterThan(0);
  });

  it('says tcg with every reason when flags are hidden and QEMU aborts (this machine)', async () => {
    const exec = new ScriptedExecutor({
      grep: { exitCode: 1 },
      test: { exitCode: 0 },
      'qemu-system-x86_64': { exitCode: 134, stderr: MSR_STDERR },
    });
    const info = await detectAccel(exec);
    expect(info).toMatchObject({ accel: 'tcg', cpuFlags: false, devKvm: true, probe: 'failed' });
    expect(info.reason).toContain('no vmx/svm flag');
    expect(info.reason).toContain('failed to set MSR 0x10a');
  });

  it('skips the probe without /dev/kvm', async () => {
    const exec = new ScriptedExecutor({ grep: { exitCode: 0, stdout: 'svm\n' }, test: { exitCode: 1 } });
    const info = await detectAccel(exec);
    expect(info).toMatchObject({ accel: 'tcg', cpuFlags: true, devKvm: false, probe: 'skipped' });
    expect(info.reason).toContain('/dev/kvm is missing');
    expect(exec.calls.map((c) => c.argv[0])).not.toContain('qemu-system-x86_64');
  });

  it('reports a missing QEMU as a failed probe, not a crash', async () => {
    const exec = new ScriptedExecutor({
      grep: { exitCode: 0, stdout: 'vmx\n' },
      test: { exitCode: 0 },
      'qemu-system-x86_64': 'missing',
    });
    const info = await detectAccel(exec);
    expect(info).toMatchObject({ accel: 'tcg', probe: 'failed' });
    expect(info.reason).toContain('not installed');
  });

  it('asks each host once per session unless told to look again', async () => {
    const exec = new ScriptedExecutor({ grep: { exitCode: 1 }, test: { exitCode: 1 } });
    await detectAccel(exec);
    await detectAccel(exec);
    expect(exec.calls).toHaveLength(2);
    await detectAccel(exec, { fresh: true });
    expect(exec.calls).toHaveLength(4);
    // Another host has its own answer.
    const other = new ScriptedExecutor({ grep: { exitCode: 1 }, test: { exitCode: 1 } });
    await detectAccel(other);
    expect(other.calls).toHaveLength(2);
  });

  it('does not cache a cancelled detection', async () => {
    const exec = new ScriptedExecutor({
      grep: { exitCode: 0, stdout: 'vmx\n' },
      test: { exitCode: 0 },
      'qemu-system-x86_64': { exitCode: 0 },
    });
    const cancelling: Executor = {
      label: 'x',
      run: async (argv, opts) => {
        if (argv[0] === 'qemu-system-x86_64' && cancelling.label === 'x') {
          throw new HostError({ sentence: 'cancelled', fix: '', command: argv, stderr: '', code: 'cancelled' });
        }
        return exec.run(argv, opts);
      },
      interactive: async () => 0,
    };
    await expect(detectAccel(cancelling)).rejects.toThrow('cancelled');
    (cancelling as { label: string }).label = 'y';
    await expect(detectAccel(cancelling)).resolves.toMatchObject({ accel: 'kvm' });
  });
});

describe('pure helpers', () => {
  it('maps accelerators to libvirt domain types', () => {
    expect(domainTypeFor('kvm')).toBe('kvm');
    expect(domainTypeFor('tcg')).toBe('qemu');
  });

  it.each([
    [MSR_STDERR, 134, 'error: failed to set MSR 0x10a to 0x69'],
    ['qemu-system-x86_64: Could not access KVM kernel module: Permission denied\n', 1, 'Could not access KVM kernel module: Permission denied'],
    ['', 1, 'exit code 1'],
    ['some odd line\n', 2, 'some odd line'],
  ])('finds the telling stderr line', (stderr, code, want) => {
    expect(probeFailureDetail(stderr, code)).toBe(want);
  });

  it('decides kvm only when all three facts agree', () => {
    expect(decideAccel({ cpuFlag: 'vmx', devKvm: true, probe: { outcome: 'ok' } }).accel).toBe('kvm');
    expect(decideAccel({ cpuFlag: null, devKvm: true, probe: { outcome: 'ok' } }).accel).toBe('tcg');
    expect(decideAccel({ cpuFlag: 'svm', devKvm: true, probe: { outcome: 'failed', detail: 'x' } }).accel).toBe('tcg');
  });
});
