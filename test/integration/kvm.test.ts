import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { detectAccel } from '../../src/host/kvm.js';

const hasVirtFlags = /\b(vmx|svm)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

describe('detectAccel on this host', () => {
  it.skipIf(hasVirtFlags)('falls back to TCG and says the CPU flags are missing', async () => {
    const started = Date.now();
    const info = await detectAccel(new LocalExecutor(), { fresh: true });
    expect(info.accel).toBe('tcg');
    expect(info.cpuFlags).toBe(false);
    expect(info.reason).toMatch(/no vmx\/svm flag/);
    // This sandbox has /dev/kvm but QEMU aborts creating a KVM vCPU: the probe must catch that.
    if (info.devKvm) expect(info.probe).toBe('failed');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it.runIf(hasVirtFlags)('agrees with a real probe where the CPU has the flags', async () => {
    const info = await detectAccel(new LocalExecutor(), { fresh: true });
    expect(info.accel === 'kvm').toBe(info.devKvm && info.probe === 'ok');
  });
});
