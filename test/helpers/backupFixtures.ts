import { execFileSync } from 'node:child_process';
import type { HostContext } from '../../src/host/hostContext.js';

/** Guests and images for the backup integration tests and bench: OS-less, TCG, predictable disk ids. */

export interface FixtureDisk {
  path: string;
  format: 'qcow2' | 'raw' | 'vmdk';
  target?: string;
}

/** Disks get `<alias name='ua-vdX'/>`, so a live write goes to /machine/peripheral/ua-vdX/virtio-backend. */
export function backupGuestXml(name: string, disks: FixtureDisk[], memoryMiB = 64): string {
  const devs = disks
    .map((d, i) => {
      const target = d.target ?? `vd${String.fromCharCode(97 + i)}`;
      return `<disk type='file' device='disk'><driver name='qemu' type='${d.format}'/><source file='${d.path}'/><target dev='${target}' bus='virtio'/><alias name='ua-${target}'/></disk>`;
    })
    .join('\n    ');
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>${memoryMiB}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    ${devs}
  </devices>
</domain>`;
}

export function sh(argv: string[], input?: string): string {
  const [file, ...args] = argv;
  return execFileSync(file as string, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

export function virshSync(host: HostContext, args: string[]): string {
  return sh(['virsh', '-c', host.uri, ...args]);
}

export function defineAndStart(host: HostContext, name: string, disks: FixtureDisk[], opts: { start?: boolean } = {}): void {
  const file = `/tmp/${name}.xml`;
  sh(['sh', '-c', 'cat > "$1"', 'sh', file], backupGuestXml(name, disks));
  virshSync(host, ['define', '--file', file]);
  sh(['rm', '-f', file]);
  if (opts.start !== false) virshSync(host, ['start', '--domain', name]);
}

/** Writes a pattern into a running guest's disk through QEMU (what the guest itself would do). */
export function liveWrite(host: HostContext, guest: string, target: string, pattern: string, offset: string, length: string): void {
  const out = virshSync(host, ['qemu-monitor-command', '--domain', guest, '--hmp', `qemu-io -d /machine/peripheral/ua-${target}/virtio-backend "write -P ${pattern} ${offset} ${length}"`]);
  if (/error|fail/i.test(out)) throw new Error(`live write failed: ${out}`);
}

export function sha256(path: string): string {
  return sh(['sha256sum', '--', path]).split(' ')[0] as string;
}

export function diskSources(host: HostContext, guest: string, inactive = false): string[] {
  return virshSync(host, ['domblklist', '--domain', guest, ...(inactive ? ['--inactive'] : [])])
    .split('\n')
    .slice(2)
    .map((l) => l.trim().split(/\s+/)[1] ?? '')
    .filter(Boolean);
}

/** Destroys and undefines a test guest with its checkpoint metadata; never throws. */
export function removeBackupGuest(host: HostContext, name: string): void {
  for (const args of [['destroy', '--domain', name], ['undefine', '--domain', name, '--checkpoints-metadata', '--snapshots-metadata']]) {
    try {
      virshSync(host, args);
    } catch {
      // not there
    }
  }
}
