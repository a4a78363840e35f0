import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An ESXi datastore tree under a scratch directory (given to virtdeck as --datastores): the
 * datastore is a UUID directory with a name link to it, as on ESXi, and a VM directory holds what
 * ESXi writes for a thin disk with one snapshot: NAME.vmdk (createType vmfs) over NAME-flat.vmdk,
 * and NAME-000001.vmdk (vmfsSparse) over NAME-000001-delta.vmdk, a COWD file.
 */
export const DATASTORE_UUID = '5f1e2d3c-4b5a6978-0a1b-000c29aabbcc';

export function makeDatastoreRoot(root: string): string {
  mkdirSync(join(root, DATASTORE_UUID), { recursive: true });
  symlinkSync(DATASTORE_UUID, join(root, 'datastore1'));
  return join(root, DATASTORE_UUID);
}

export function vmxText(name: string, disk: string, mac = '00:50:56:0a:0b:0c'): string {
  return [
    '.encoding = "UTF-8"',
    'config.version = "8"',
    'virtualHW.version = "13"',
    `displayName = "${name}"`,
    'guestOS = "otherlinux-64"',
    'memsize = "256"',
    'numvcpus = "1"',
    'scsi0.present = "TRUE"',
    'scsi0.virtualDev = "pvscsi"',
    'scsi0:0.present = "TRUE"',
    `scsi0:0.fileName = "${disk}"`,
    'ide1:0.present = "TRUE"',
    'ide1:0.deviceType = "cdrom-image"',
    'ide1:0.fileName = "/vmfs/volumes/datastore1/iso/debian.iso"',
    'ethernet0.present = "TRUE"',
    'ethernet0.virtualDev = "vmxnet3"',
    'ethernet0.networkName = "VM Network"',
    'ethernet0.addressType = "static"',
    `ethernet0.address = "${mac}"`,
    '',
  ].join('\n');
}

export function flatDescriptor(stem: string, sectors: number, cid = 'fffffffe'): string {
  return `# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\nCID=${cid}\nparentCID=ffffffff\ncreateType="vmfs"\n\n# Extent description\nRW ${sectors} VMFS "${stem}-flat.vmdk"\n\n# The Disk Data Base\nddb.adapterType = "lsilogic"\nddb.virtualHWVersion = "13"\n`;
}

export function deltaDescriptor(stem: string, sectors: number, parentCid = 'fffffffe', parentHint = `${stem}.vmdk`): string {
  return `# Disk DescriptorFile\nversion=1\nencoding="UTF-8"\nCID=0badc0de\nparentCID=${parentCid}\ncreateType="vmfsSparse"\nparentFileNameHint="${parentHint}"\n\n# Extent description\nRW ${sectors} VMFSSPARSE "${stem}-000001-delta.vmdk"\n\n# The Disk Data Base\nddb.longContentID = "0123456789abcdef0123456789abcdef"\n`;
}

/**
 * A COWD (vmfsSparse) delta, as ESXi writes one for a snapshot: header sector, grain directory,
 * 4096-entry grain tables, 512-byte grains. `writes` maps a sector to its 512 bytes.
 */
export function writeCowd(path: string, diskSectors: number, writes: Map<number, Buffer>): void {
  const L2 = 4096;
  const l1Size = Math.ceil(diskSectors / L2);
  const l1Sectors = Math.ceil((l1Size * 4) / 512);
  const l1 = Buffer.alloc(l1Sectors * 512);
  const tables = new Map<number, Buffer>();
  let next = 1 + l1Sectors;
  const tableOf = (i: number) => {
    let t = tables.get(i);
    if (!t) {
      t = Buffer.alloc(L2 * 4);
      tables.set(i, t);
      l1.writeUInt32LE(next, i * 4);
      next += (L2 * 4) / 512;
    }
    return t;
  };
  for (const sector of [...writes.keys()].sort((a, b) => a - b)) tableOf(Math.floor(sector / L2));
  const grains: Buffer[] = [];
  for (const [sector, data] of [...writes.entries()].sort((a, b) => a[0] - b[0])) {
    (tableOf(Math.floor(sector / L2)) as Buffer).writeUInt32LE(next, (sector % L2) * 4);
    grains.push(data);
    next += 1;
  }
  const header = Buffer.alloc(512);
  header.write('COWD', 0, 'latin1');
  for (const [i, v] of [1, 3, diskSectors, 1, 1, l1Size, next, 0, 0, 0].entries()) header.writeUInt32LE(v, 4 + i * 4);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    writeSync(fd, l1);
    for (const i of [...tables.keys()].sort((a, b) => a - b)) writeSync(fd, tables.get(i) as Buffer);
    for (const g of grains) writeSync(fd, g);
  } finally {
    closeSync(fd);
  }
}

/** Writes `writes` into a raw file (the local reference of flat + delta). */
export function applyWrites(raw: string, writes: Map<number, Buffer>): void {
  const fd = openSync(raw, 'r+');
  try {
    for (const [sector, data] of writes) writeSync(fd, data, 0, 512, sector * 512);
  } finally {
    closeSync(fd);
  }
}

/**
 * A VM directory `dir` holding NAME.vmx, a flat base disk of `bytes` (filled by `fill`) and one
 * snapshot that rewrote a few sectors; `reference` gets the disk as the guest sees it.
 */
export function makeEsxiVm(dir: string, name: string, o: { bytes: number; reference: string; fill: (flat: string) => void; mac?: string }): void {
  mkdirSync(dir, { recursive: true });
  const sectors = o.bytes / 512;
  const flat = join(dir, `${name}-flat.vmdk`);
  execFileSync('truncate', ['-s', String(o.bytes), flat]);
  o.fill(flat);
  writeFileSync(join(dir, `${name}.vmdk`), flatDescriptor(name, sectors));
  const writes = new Map<number, Buffer>();
  for (const s of [0, 1, 7, 4095, 4096, 5000, sectors - 1]) writes.set(s, Buffer.alloc(512, `snapshot ${s} of ${name} `));
  writeCowd(join(dir, `${name}-000001-delta.vmdk`), sectors, writes);
  writeFileSync(join(dir, `${name}-000001.vmdk`), deltaDescriptor(name, sectors));
  writeFileSync(join(dir, `${name}.vmx`), vmxText(name, `${name}-000001.vmdk`, o.mac));
  execFileSync('cp', ['--sparse=always', flat, o.reference]);
  applyWrites(o.reference, writes);
}

/** A VM directory `dir` holding NAME.vmx over a flat disk of `bytes` and no snapshot: the -flat file is the disk as the guest sees it. */
export function makeFlatEsxiVm(dir: string, name: string, o: { bytes: number; fill: (flat: string) => void; mac?: string }): string {
  mkdirSync(dir, { recursive: true });
  const flat = join(dir, `${name}-flat.vmdk`);
  execFileSync('truncate', ['-s', String(o.bytes), flat]);
  o.fill(flat);
  writeFileSync(join(dir, `${name}.vmdk`), flatDescriptor(name, o.bytes / 512));
  writeFileSync(join(dir, `${name}.vmx`), vmxText(name, `${name}.vmdk`, o.mac));
  return flat;
}
