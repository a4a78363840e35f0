import { HostError } from './errors.js';
import type { Executor } from './exec.js';

export type Accel = 'kvm' | 'tcg';

export interface AccelInfo {
  accel: Accel;
  /** One sentence for the header and `virtdeck doctor`: why this accelerator. */
  reason: string;
  /** The CPU advertises vmx (Intel) or svm (AMD). */
  cpuFlags: boolean;
  devKvm: boolean;
  /** Whether QEMU really started a KVM vCPU; skipped when /dev/kvm is absent. */
  probe: 'ok' | 'failed' | 'skipped';
}

export interface AccelFacts {
  /** 'vmx' or 'svm' when present in /proc/cpuinfo, else null. */
  cpuFlag: string | null;
  devKvm: boolean;
  probe: { outcome: 'ok' } | { outcome: 'failed'; detail: string } | { outcome: 'skipped' };
}

/**
 * A KVM guest needs a vCPU, and creating one is where broken nested setups fail (here: "failed
 * to set MSR 0x10a", then an abort). `-machine none` creates no vCPU and starts even where KVM is
 * unusable, so the probe uses a real machine with the host CPU model, paused (-S) so no guest
 * code runs, and quits through the monitor.
 */
export const KVM_PROBE_ARGV = [
  'qemu-system-x86_64',
  '-accel',
  'kvm',
  '-cpu',
  'host',
  '-machine',
  'pc',
  '-m',
  '16',
  '-nodefaults',
  '-display',
  'none',
  '-S',
  '-monitor',
  'stdio',
];

const PROBE_TIMEOUT_MS = 10_000;

/** Pure: the verdict from what was observed. KVM only when all three agree. */
export function decideAccel(facts: AccelFacts): AccelInfo {
  const base = { cpuFlags: facts.cpuFlag !== null, devKvm: facts.devKvm, probe: facts.probe.outcome };
  if (facts.cpuFlag && facts.devKvm && facts.probe.outcome === 'ok') {
    return { ...base, accel: 'kvm', reason: `KVM works (${facts.cpuFlag} flag, /dev/kvm, QEMU started a KVM vCPU).` };
  }
  const why: string[] = [];
  if (!facts.cpuFlag) why.push('the CPU shows no vmx/svm flag');
  if (!facts.devKvm) why.push('/dev/kvm is missing');
  if (facts.probe.outcome === 'failed') why.push(`QEMU could not start with KVM (${facts.probe.detail})`);
  return { ...base, accel: 'tcg', reason: `KVM is not usable: ${why.join('; ')}; guests run under TCG emulation.` };
}

/** libvirt's `<domain type=…>` for an accelerator. */
export function domainTypeFor(accel: Accel): 'kvm' | 'qemu' {
  return accel === 'kvm' ? 'kvm' : 'qemu';
}

/** The line of QEMU's stderr that says what went wrong, without the program prefix. */
export function probeFailureDetail(stderr: string, exitCode: number): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^qemu-system-x86_64:\s*/, '').trim())
    .filter(Boolean);
  const line = lines.find((l) => /error|fail|could not|cannot|abort|permission/i.test(l)) ?? lines[0];
  return line ?? `exit code ${exitCode}`;
}

async function readCpuFlag(exec: Executor, signal?: AbortSignal): Promise<string | null> {
  // grep exits 1 for "no match": an answer, not an error.
  const r = await exec.run(['grep', '-m1', '-owE', 'vmx|svm', '/proc/cpuinfo'], { okExitCodes: [1], signal });
  return r.exitCode === 0 ? r.stdout.trim().split('\n')[0] || null : null;
}

async function hasDevKvm(exec: Executor, signal?: AbortSignal): Promise<boolean> {
  const r = await exec.run(['test', '-c', '/dev/kvm'], { okExitCodes: [1], signal });
  return r.exitCode === 0;
}

async function probeKvm(exec: Executor, signal?: AbortSignal): Promise<AccelFacts['probe']> {
  try {
    await exec.run(KVM_PROBE_ARGV, { input: 'quit\n', timeoutMs: PROBE_TIMEOUT_MS, signal });
    return { outcome: 'ok' };
  } catch (e) {
    if (!(e instanceof HostError) || e.code === 'cancelled') throw e;
    if (e.code === 'not-installed' || e.exitCode === 127) {
      return { outcome: 'failed', detail: 'qemu-system-x86_64 is not installed' };
    }
    return { outcome: 'failed', detail: probeFailureDetail(e.stderr, e.exitCode) };
  }
}

/** Gathers the facts through the executor (so it works over SSH) and decides. */
export async function probeAccel(exec: Executor, signal?: AbortSignal): Promise<AccelInfo> {
  const [cpuFlag, devKvm] = await Promise.all([readCpuFlag(exec, signal), hasDevKvm(exec, signal)]);
  // Without /dev/kvm QEMU cannot even open the accelerator; with it, probe even when the flags
  // are hidden, so the reason names every problem at once.
  const probe: AccelFacts['probe'] = devKvm ? await probeKvm(exec, signal) : { outcome: 'skipped' };
  return decideAccel({ cpuFlag, devKvm, probe });
}

// The answer cannot change while virtdeck runs, and the probe starts QEMU: ask once per host.
const cache = new WeakMap<Executor, Promise<AccelInfo>>();

/** The accelerator guests on this host should use; cached per executor (one per host) for the session. */
export function detectAccel(exec: Executor, opts: { fresh?: boolean; signal?: AbortSignal } = {}): Promise<AccelInfo> {
  const hit = cache.get(exec);
  if (hit && !opts.fresh) return hit;
  const pending = probeAccel(exec, opts.signal);
  cache.set(exec, pending);
  // A cancelled or failed detection must not be remembered as the answer.
  pending.catch(() => {
    if (cache.get(exec) === pending) cache.delete(exec);
  });
  return pending;
}
