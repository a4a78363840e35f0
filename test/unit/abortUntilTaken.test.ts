import { describe, expect, it } from 'vitest';
import type { ExecResult, Executor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { abortUntilTaken } from '../../src/jobs/migrate.js';

/** A virsh whose domjobabort finds no job for the first `noJobFor` tries, then takes the abort. */
function virshWithJobAfter(noJobFor: number): { host: HostContext; tries: () => number } {
  let n = 0;
  const exec: Executor = {
    label: 'fake',
    async run(argv): Promise<ExecResult> {
      if (!argv.includes('domjobabort')) throw new Error(`unexpected ${argv.join(' ')}`);
      n++;
      const none = n <= noJobFor;
      return { argv, exitCode: none ? 1 : 0, stdout: '', stderr: none ? 'error: Requested operation is not valid: no job is active on the domain' : '' };
    },
    interactive: async () => 0,
  };
  return { host: { name: 'src', uri: 'qemu:///system', virshExec: exec, sysExec: exec }, tries: () => n };
}

describe('abortUntilTaken (a migration cancelled before libvirt has its job)', () => {
  it('asks again until libvirt has the job, then stops asking', async () => {
    const { host, tries } = virshWithJobAfter(3);
    const never = new Promise<void>(() => {});
    expect(await abortUntilTaken(host, 'web', never, 5)).toBe(true);
    expect(tries()).toBe(4);
  });

  it('stops once virsh migrate has ended (nothing left to abort)', async () => {
    const { host, tries } = virshWithJobAfter(Number.POSITIVE_INFINITY);
    let end: () => void = () => {};
    const ended = new Promise<void>((r) => {
      end = r;
    });
    setTimeout(() => end(), 40);
    expect(await abortUntilTaken(host, 'web', ended, 5)).toBe(false);
    const asked = tries();
    expect(asked).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(tries()).toBe(asked);
  });
});
