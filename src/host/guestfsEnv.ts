import type { Executor } from './exec.js';
import { detectAccel } from './kvm.js';

/**
 * The environment every libguestfs tool (virt-*, guestfish) needs on this host. The appliance is a
 * small VM: where KVM is unusable (no vmx/svm, or QEMU aborts with accel=kvm) it must be told to
 * use TCG, or every launch fails after a long wait. The direct backend avoids needing libvirtd's
 * session daemon for the appliance.
 */
export async function guestfsEnv(exec: Executor, signal?: AbortSignal): Promise<Record<string, string>> {
  const accel = await detectAccel(exec, { signal });
  return accel.accel === 'kvm'
    ? { LIBGUESTFS_BACKEND: 'direct' }
    : { LIBGUESTFS_BACKEND: 'direct', LIBGUESTFS_BACKEND_SETTINGS: 'force_tcg' };
}
