import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';

/**
 * A disk whose boot sector prints a line to COM1 and halts: a test guest that "boots" in well
 * under a second even under TCG, so a boot check (serial output) has something real to see.
 */
export const BOOT_LINE = 'virtdeck test guest booted';

/** Pure: the 512-byte MBR. 16-bit code: DS=0, then out each byte of the message to 0x3f8, then hlt forever. */
export function bootSector(): Buffer {
  const code = [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xfc, 0xba, 0xf8, 0x03, 0xbe, 0x17, 0x7c, 0xac, 0x84, 0xc0, 0x74, 0x03, 0xee, 0xeb, 0xf8, 0xf4, 0xeb, 0xfd];
  const mbr = Buffer.alloc(512);
  Buffer.from(code).copy(mbr, 0);
  Buffer.from(`${BOOT_LINE}\r\n\0`, 'latin1').copy(mbr, code.length);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/** A qcow2 image of SIZE (qemu-img size) that boots to BOOT_LINE on the serial port. */
export function bootableQcow2(path: string, size = '4M'): void {
  const raw = `${path}.raw`;
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', raw, size]);
  const mbr = bootSector();
  const fd = openSync(raw, 'r+');
  writeSync(fd, mbr, 0, 512, 0);
  closeSync(fd);
  execFileSync('qemu-img', ['convert', '-q', '-O', 'qcow2', raw, path]);
  rmSync(raw, { force: true });
}
