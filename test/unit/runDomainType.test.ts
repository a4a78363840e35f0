import { describe, expect, it } from 'vitest';
import type { ExecOptions, ExecResult, Executor } from '../../src/host/exec.js';
import { localHost } from '../helpers/tinyGuest.js';
import { runDomainType } from '../../src/jobs/restore.js';

/** A restore asks whether KVM works (a probe that starts QEMU) only for a guest that wants KVM. */

class Scripted implements Executor {
  readonly label = 'scripted';
  calls: string[][] = [];
  async run(argv: string[], _o?: ExecOptions): Promise<ExecResult> {
    this.calls.push(argv);
    // No /dev/kvm, no vmx/svm: TCG, and no QEMU probe.
    return { argv, exitCode: 1, stdout: '', stderr: '' };
  }
  async interactive(): Promise<number> {
    return 0;
  }
}

const xml = (type: string) => `<domain type='${type}'><name>g</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>`;

describe('runDomainType', () => {
  it('a guest of type qemu keeps it, and nothing is probed', async () => {
    const exec = new Scripted();
    expect(await runDomainType({ ...localHost(), sysExec: exec }, Promise.resolve(xml('qemu')))).toBe('qemu');
    expect(exec.calls).toEqual([]);
  });

  it('a guest of type kvm on a host without KVM becomes qemu, after asking the host', async () => {
    const exec = new Scripted();
    expect(await runDomainType({ ...localHost(), sysExec: exec }, Promise.resolve(xml('kvm')))).toBe('qemu');
    expect(exec.calls.length).toBeGreaterThan(0);
  });

  it('XML that does not parse is left to the plan, which names its file; the host is asked as for kvm', async () => {
    const exec = new Scripted();
    expect(await runDomainType({ ...localHost(), sysExec: exec }, Promise.resolve('<!DOCTYPE x><domain/>'))).toBe('qemu');
    expect(exec.calls.length).toBeGreaterThan(0);
  });
});
