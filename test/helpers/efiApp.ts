/**
 * A tiny UEFI application and a GPT disk holding it on an EFI system partition, for the tests
 * that boot a UEFI guest: no EFI binary ships on this machine (no shim, no grub-efi, no UEFI
 * shell in Debian's OVMF), so the test writes its own. The program prints a marker on the
 * firmware's console (which OVMF mirrors on the first serial port), then powers the machine off
 * through the runtime services: a guest that shuts itself off proved that OVMF found the ESP,
 * read \EFI\BOOT\BOOTX64.EFI and ran it.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';

export const EFI_MARKER = 'virtdeck-efi-ok';

/** PE32+ for x86-64, subsystem EFI application, one section, position-independent code. */
export function efiApplication(marker: string = EFI_MARKER): Buffer {
  const FILE_ALIGN = 0x200;
  const SECTION_RVA = 0x1000;
  const message = Buffer.from(`\r\n${marker}\r\n\0`, 'utf16le');
  const code: number[] = [
    0x48, 0x83, 0xec, 0x28, // sub rsp, 0x28 (shadow space; rsp 16-aligned)
    0x48, 0x89, 0xd3, // mov rbx, rdx (the system table)
    0x48, 0x8b, 0x4b, 0x40, // mov rcx, [rbx+0x40] (ConOut)
    0x48, 0x8d, 0x15, 0, 0, 0, 0, // lea rdx, [rip+message] (patched below)
    0xff, 0x51, 0x08, // call [rcx+0x08] (OutputString)
    0x48, 0x8b, 0x43, 0x58, // mov rax, [rbx+0x58] (RuntimeServices)
    0xb9, 0x02, 0, 0, 0, // mov ecx, 2 (EfiResetShutdown)
    0x31, 0xd2, // xor edx, edx
    0x45, 0x31, 0xc0, // xor r8d, r8d
    0x45, 0x31, 0xc9, // xor r9d, r9d
    0xff, 0x50, 0x68, // call [rax+0x68] (ResetSystem)
    0xeb, 0xfe, // jmp $ (never reached)
  ];
  const codeLen = code.length;
  const messageOffset = (codeLen + 1) & ~1;
  const leaEnd = 18;
  const disp = messageOffset - leaEnd;
  code.splice(14, 4, disp & 0xff, (disp >> 8) & 0xff, 0, 0);
  // One base-relocation block with a single padding entry: nothing to fix up, but the image is not
  // marked "relocations stripped", so the firmware may load it anywhere.
  const relocOffset = (messageOffset + message.length + 3) & ~3;
  const reloc = Buffer.alloc(12);
  reloc.writeUInt32LE(SECTION_RVA, 0);
  reloc.writeUInt32LE(12, 4);
  const body = Buffer.alloc(Math.ceil((relocOffset + reloc.length) / FILE_ALIGN) * FILE_ALIGN);
  Buffer.from(code).copy(body, 0);
  message.copy(body, messageOffset);
  reloc.copy(body, relocOffset);

  const header = Buffer.alloc(FILE_ALIGN);
  header.write('MZ', 0, 'latin1');
  header.writeUInt32LE(0x40, 0x3c);
  let o = 0x40;
  header.write('PE\0\0', o, 'latin1');
  o += 4;
  header.writeUInt16LE(0x8664, o); // machine x86-64
  header.writeUInt16LE(1, o + 2); // one section
  header.writeUInt16LE(240, o + 16); // size of the PE32+ optional header
  header.writeUInt16LE(0x0022, o + 18); // executable, large-address aware
  o += 20;
  const opt = o;
  header.writeUInt16LE(0x20b, opt); // PE32+
  header.writeUInt32LE(body.length, opt + 4); // size of code
  header.writeUInt32LE(SECTION_RVA, opt + 16); // entry point
  header.writeUInt32LE(SECTION_RVA, opt + 20); // base of code
  header.writeBigUInt64LE(0x10000000n, opt + 24); // image base
  header.writeUInt32LE(0x1000, opt + 32); // section alignment
  header.writeUInt32LE(FILE_ALIGN, opt + 36);
  header.writeUInt32LE(SECTION_RVA + Math.ceil(body.length / 0x1000) * 0x1000, opt + 56); // size of image
  header.writeUInt32LE(FILE_ALIGN, opt + 60); // size of headers
  header.writeUInt16LE(10, opt + 68); // subsystem: EFI application
  header.writeBigUInt64LE(0x10000n, opt + 72); // stack reserve
  header.writeBigUInt64LE(0x10000n, opt + 80); // stack commit
  header.writeUInt32LE(16, opt + 108); // number of data directories
  const dataDirs = opt + 112;
  header.writeUInt32LE(SECTION_RVA + relocOffset, dataDirs + 5 * 8); // base relocation table
  header.writeUInt32LE(reloc.length, dataDirs + 5 * 8 + 4);
  o = opt + 240;
  header.write('.text', o, 'latin1');
  header.writeUInt32LE(body.length, o + 8); // virtual size
  header.writeUInt32LE(SECTION_RVA, o + 12);
  header.writeUInt32LE(body.length, o + 16); // size of raw data
  header.writeUInt32LE(FILE_ALIGN, o + 20); // pointer to raw data
  header.writeUInt32LE(0xe0000060, o + 36); // code, initialized data, execute, read, write
  return Buffer.concat([header, body]);
}

const ESP_TYPE = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

/**
 * A raw GPT disk of `sizeMiB` with one EFI system partition (FAT) from 1 MiB to the end, holding
 * the application as \EFI\BOOT\BOOTX64.EFI (the removable-media path OVMF boots without any boot
 * entry). Built with sfdisk, mkfs.fat and mtools, no loop mount.
 */
export function writeEspDisk(path: string, opts: { sizeMiB?: number; app?: Buffer } = {}): void {
  const sizeMiB = opts.sizeMiB ?? 34;
  const partMiB = sizeMiB - 2;
  const sh = (file: string, args: string[], input?: string) => execFileSync(file, args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
  const part = `${path}.esp`;
  const app = `${path}.efi`;
  try {
    sh('truncate', ['-s', `${sizeMiB}M`, path]);
    sh('sfdisk', ['--quiet', path], `label: gpt\nstart=2048, size=${partMiB * 2048}, type=${ESP_TYPE}, name="EFI system partition"\n`);
    sh('truncate', ['-s', `${partMiB}M`, part]);
    sh('mkfs.fat', ['-n', 'ESP', part]);
    writeFileSync(app, opts.app ?? efiApplication());
    sh('mmd', ['-i', part, '::/EFI', '::/EFI/BOOT']);
    sh('mcopy', ['-i', part, app, '::/EFI/BOOT/BOOTX64.EFI']);
    sh('dd', [`if=${part}`, `of=${path}`, 'bs=1M', 'seek=1', 'conv=notrunc,fsync', 'status=none']);
  } finally {
    rmSync(part, { force: true });
    rmSync(app, { force: true });
  }
}
