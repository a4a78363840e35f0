/**
 * A libvirt test-driver host of N guests for the benches (refresh.ts, top.ts): a `<node>` file
 * that `virsh -c test:///FILE` reads, with no libvirtd and no root.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * One test-driver domain. UUIDs are fixed because each virsh process re-reads the file: without
 * them every process would invent new ones. One guest in four runs (with a fixed VNC port, as the
 * test driver assigns none).
 */
export function domainXml(i: number): string {
  const running = i % 4 === 0;
  const disks = [0, 1]
    .map(
      (d) =>
        `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/srv/vm/guest${i}-${d}.qcow2'/><target dev='vd${String.fromCharCode(97 + d)}' bus='virtio'/></disk>`,
    )
    .join('');
  return `  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>bench-${String(i).padStart(3, '0')}</name>
    <uuid>00000000-0000-4000-8000-${hex(i + 1, 12)}</uuid>
    <metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>
    <memory unit='MiB'>${256 + (i % 8) * 128}</memory>
    <vcpu>${1 + (i % 4)}</vcpu>
    <os><type>hvm</type></os>
    <devices>
      ${disks}
      <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
      <interface type='bridge'><mac address='52:54:00:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}'/><source bridge='br0'/><model type='virtio'/></interface>
      <interface type='network'><mac address='52:54:01:${hex(i >> 16, 2)}:${hex((i >> 8) & 255, 2)}:${hex(i & 255, 2)}'/><source network='default'/><model type='e1000'/></interface>
      <serial type='pty'/>
      <graphics type='vnc' port='${running ? 5900 + i : -1}' autoport='${running ? 'no' : 'yes'}' listen='127.0.0.1'/>
    </devices>
    ${running ? '' : '<test:runstate>5</test:runstate>'}
  </domain>`;
}

/** Writes the host file into a fresh temp dir; `remove` deletes the dir. */
export function writeTestHost(guests: number): { uri: string; dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'virtdeck-bench-'));
  const file = join(dir, 'host.xml');
  writeFileSync(file, `<node>\n${Array.from({ length: guests }, (_, i) => domainXml(i)).join('\n')}\n</node>\n`);
  return { uri: `test://${file}`, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
