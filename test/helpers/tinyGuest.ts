import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostError } from '../../src/host/errors.js';
import { type Executor, LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';

/** Helpers for integration tests that use the real libvirtd on this machine. */

export function localHost(executor: Executor = new LocalExecutor()): HostContext {
  return { name: 'local', uri: 'qemu:///system', virshExec: executor, sysExec: executor };
}

/** A temp dir QEMU (running as libvirt-qemu) can reach: mkdtemp makes it 0700. */
export function scratchDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TinyGuestOptions {
  disk?: string | null;
  mac?: string;
  osId?: string;
}

/** A guest with no OS: type qemu (TCG) so it runs without KVM; it just sits in the BIOS. */
export function tinyGuestXml(name: string, o: TinyGuestOptions = {}): string {
  const disk = o.disk
    ? `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${o.disk}'/><target dev='vda' bus='virtio'/></disk>`
    : '';
  const metadata = o.osId
    ? `<metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="${o.osId}"/></libosinfo:libosinfo></metadata>`
    : '';
  return `<domain type='qemu'>
  <name>${name}</name>
  ${metadata}
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    ${disk}
    <interface type='user'>${o.mac ? `<mac address='${o.mac}'/>` : ''}<model type='virtio'/></interface>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <serial type='pty'/>
  </devices>
</domain>`;
}

/** Destroys and undefines a test guest if it exists; never fails (for afterAll). */
export async function removeGuest(host: HostContext, name: string): Promise<void> {
  const quiet = (p: Promise<unknown>) => p.catch((e: unknown) => (e instanceof HostError ? undefined : Promise.reject(e)));
  await quiet(host.virshExec.run(['virsh', '-c', host.uri, 'destroy', '--domain', name]));
  // --nvram: a UEFI guest that ran has a variable store, and libvirt refuses to undefine it otherwise.
  await quiet(host.virshExec.run(['virsh', '-c', host.uri, 'undefine', '--domain', name, '--nvram']));
}
