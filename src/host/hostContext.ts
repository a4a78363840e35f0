import type { Executor } from './exec.js';
import type { VirshChannel } from './virshChannel.js';

/**
 * What virtdeck acts on. libvirt does its own remoting (qemu+ssh://), so virsh always runs
 * through `virshExec` (local), while programs that touch files (qemu-img, virt-*, stat) run
 * through `sysExec`, which is an SshExecutor for a remote host.
 */
export interface HostContext {
  /** Short name for the header: "host1" or the local hostname. */
  name: string;
  /** libvirt connection URI, e.g. qemu:///system or qemu+ssh://root@host/system. */
  uri: string;
  virshExec: Executor;
  sysExec: Executor;
  /** The long-lived virsh the console's refresh asks (virshChannel.ts); absent, every question is its own virsh. */
  virshChannel?: VirshChannel | null;
}
