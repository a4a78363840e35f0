/**
 * The smallest .vmx a VMware import accepts: one lsilogic SCSI disk, 64 MiB, one vCPU. `extra`
 * lines (a NIC, a CD-ROM) follow the disk.
 */
export function tinyVmx(o: { name: string; disk: string; hwVersion?: number; extra?: string[] }): string {
  return [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    `virtualHW.version = "${o.hwVersion ?? 6}"`,
    `displayName = "${o.name}"`,
    'guestOS = "otherlinux"',
    'memsize = "64"',
    'numvcpus = "1"',
    'scsi0.present = "TRUE"',
    'scsi0.virtualDev = "lsilogic"',
    'scsi0:0.present = "TRUE"',
    `scsi0:0.fileName = "${o.disk}"`,
    ...(o.extra ?? []),
    '',
  ].join('\n');
}
