/**
 * What a qcow2 header makes qemu open besides the image itself: a backing file and an external
 * data file. Read from the header bytes, never by letting qemu open the image, because a hostile
 * image names them (`/etc/shadow`, `json:{…}`, `nbd://…`) and qemu would follow them.
 * Layout: docs/interop/qcow2.txt in QEMU (big-endian; v3 header extensions from header_length).
 */

const MAGIC = 0x514649fb;
const EXT_END = 0x00000000;
const EXT_DATA_FILE = 0x44415441;
/** Incompatible feature bit 2: the guest data lives in an external data file. */
const INCOMPAT_DATA_FILE = 4n;

export type Qcow2Refs =
  | { kind: 'not-qcow2' }
  | { kind: 'refs'; backing: string | null; dataFile: string | null; externalData: boolean }
  /** The header points past the bytes given, or is inconsistent: treat the image as untrusted. */
  | { kind: 'unreadable'; why: string };

export function qcow2Refs(header: Buffer): Qcow2Refs {
  if (header.length < 72 || header.readUInt32BE(0) !== MAGIC) return { kind: 'not-qcow2' };
  const version = header.readUInt32BE(4);
  if (version !== 2 && version !== 3) return { kind: 'unreadable', why: `qcow2 version ${version}` };
  const backingOffset = header.readBigUInt64BE(8);
  const backingSize = header.readUInt32BE(16);
  let backing: string | null = null;
  if (backingOffset !== 0n) {
    const end = backingOffset + BigInt(backingSize);
    if (backingSize > 1023 || end > BigInt(header.length)) return { kind: 'unreadable', why: 'the backing file name lies outside the header read' };
    backing = header.subarray(Number(backingOffset), Number(end)).toString('latin1');
  }
  let externalData = false;
  let dataFile: string | null = null;
  let ext = 72;
  if (version === 3) {
    if (header.length < 104) return { kind: 'unreadable', why: 'short v3 header' };
    externalData = (header.readBigUInt64BE(72) & INCOMPAT_DATA_FILE) !== 0n;
    ext = header.readUInt32BE(100);
  }
  for (let i = 0; i < 256; i++) {
    if (ext + 8 > header.length) return { kind: 'unreadable', why: 'the header extensions run past the header read' };
    const type = header.readUInt32BE(ext);
    const len = header.readUInt32BE(ext + 4);
    if (type === EXT_END) return { kind: 'refs', backing, dataFile, externalData };
    if (ext + 8 + len > header.length) return { kind: 'unreadable', why: 'a header extension runs past the header read' };
    if (type === EXT_DATA_FILE) dataFile = header.subarray(ext + 8, ext + 8 + len).toString('latin1');
    ext += 8 + Math.ceil(len / 8) * 8;
  }
  return { kind: 'unreadable', why: 'too many header extensions' };
}
