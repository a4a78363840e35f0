import { describe, expect, it } from 'vitest';
import { hexDumpToBytes } from '../../src/host/vmdk.js';
import { UserError } from '../../src/model/userError.js';
import {
  convertOptionsFromDescriptor,
  descriptorVirtualBytes,
  NO_PARENT_CID,
  parseSparseHeader,
  parseVmdkDescriptor,
  vmdkOptionRecord,
} from '../../src/model/vmdkDescriptor.js';

/** Embedded descriptor of `qemu-img create -f vmdk -o compat6,adapter_type=lsilogic s.vmdk 16M` (QEMU 7.2), NUL padding included. */
const SPARSE_COMPAT6 = `# Disk DescriptorFile
version=1
CID=9de376a8
parentCID=ffffffff
createType="monolithicSparse"

# Extent description
RW 32768 SPARSE "s.vmdk"

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "6"
ddb.geometry.cylinders = "2"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.adapterType = "lsilogic"
ddb.toolsVersion = "2147483647"
\0\0\0\0\0\0\0\0`;

/** `qemu-img create -f vmdk -o subformat=monolithicFlat f.vmdk 8M`: the descriptor file itself. */
const FLAT = `# Disk DescriptorFile
version=1
CID=3698df33
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW 16384 FLAT "f-flat.vmdk" 0

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.geometry.cylinders = "16"
ddb.geometry.heads = "16"
ddb.geometry.sectors = "63"
ddb.adapterType = "ide"
ddb.toolsVersion = "2147483647"
`;

/** A Workstation snapshot delta as VMware writes it (CRLF, encoding line, uuid entries); layout from VMware's VMDK spec. */
const WORKSTATION_DELTA = [
  '# Disk DescriptorFile',
  'version=1',
  'encoding="windows-1252"',
  'CID=fb183c20',
  'parentCID=6e1c3e2a',
  'isNativeSnapshot="no"',
  'createType="twoGbMaxExtentSparse"',
  'parentFileNameHint="Windows XP Professional.vmdk"',
  '# Extent description',
  'RW 4192256 SPARSE "Windows XP Professional-000001-s001.vmdk"',
  'RW 4192256 SPARSE "Windows XP Professional-000001-s002.vmdk"',
  'RW 8192 SPARSE "Windows XP Professional-000001-s003.vmdk"',
  '',
  '# The Disk Data Base ',
  '#DDB',
  '',
  'ddb.longContentID = "0c8ee3f38ab3e1dbfb183c20fffffffe"',
  'ddb.virtualHWVersion = "7"',
  'ddb.adapterType = "buslogic"',
  '',
].join('\r\n');

/** An ESXi thick disk: createType vmfs with a VMFS extent. */
const ESXI = `# Disk DescriptorFile
version=1
CID=fffffffe
parentCID=ffffffff
createType="vmfs"

RW 41943040 VMFS "srv01-flat.vmdk"
RDONLY 0 ZERO

ddb.adapterType = "lsilogic"
ddb.virtualHWVersion = "13"
ddb.thinProvisioned = "1"
`;

describe('parseVmdkDescriptor', () => {
  it('reads the embedded descriptor of a compat6 lsilogic sparse vmdk', () => {
    const d = parseVmdkDescriptor(SPARSE_COMPAT6);
    expect(d).toEqual({
      version: 1,
      cid: 0x9de376a8,
      parentCid: NO_PARENT_CID,
      createType: 'monolithicSparse',
      extents: [{ access: 'RW', sectors: 32768, type: 'SPARSE', file: 's.vmdk', offset: 0 }],
      ddb: {
        virtualHWVersion: '6',
        'geometry.cylinders': '2',
        'geometry.heads': '255',
        'geometry.sectors': '63',
        adapterType: 'lsilogic',
        toolsVersion: '2147483647',
      },
      parentFileNameHint: null,
    });
    expect(descriptorVirtualBytes(d)).toBe(16 * 1024 * 1024);
  });

  it('reads a flat descriptor with its extent offset', () => {
    const d = parseVmdkDescriptor(FLAT);
    expect(d.createType).toBe('monolithicFlat');
    expect(d.extents).toEqual([{ access: 'RW', sectors: 16384, type: 'FLAT', file: 'f-flat.vmdk', offset: 0 }]);
    expect(d.ddb.adapterType).toBe('ide');
  });

  it('reads a CRLF snapshot delta with its parent and split extents (names with spaces)', () => {
    const d = parseVmdkDescriptor(WORKSTATION_DELTA);
    expect(d.parentCid).toBe(0x6e1c3e2a);
    expect(d.parentFileNameHint).toBe('Windows XP Professional.vmdk');
    expect(d.extents.map((e) => e.file)).toEqual([
      'Windows XP Professional-000001-s001.vmdk',
      'Windows XP Professional-000001-s002.vmdk',
      'Windows XP Professional-000001-s003.vmdk',
    ]);
    expect(descriptorVirtualBytes(d)).toBe((4192256 * 2 + 8192) * 512);
    expect(d.ddb.longContentID).toBe('0c8ee3f38ab3e1dbfb183c20fffffffe');
  });

  it('reads ESXi vmfs descriptors and ZERO extents without a file', () => {
    const d = parseVmdkDescriptor(ESXI);
    expect(d.extents).toEqual([
      { access: 'RW', sectors: 41943040, type: 'VMFS', file: 'srv01-flat.vmdk', offset: 0 },
      { access: 'RDONLY', sectors: 0, type: 'ZERO', file: null, offset: 0 },
    ]);
  });

  it.each([
    ['a .vmx file', 'displayName = "srv"\nmemsize = "512"\n'],
    ['empty text', ''],
    ['a descriptor without extents', '# Disk DescriptorFile\ncreateType="monolithicFlat"\n'],
  ])('refuses %s with a UserError', (_what, text) => {
    expect(() => parseVmdkDescriptor(text)).toThrow(UserError);
  });
});

describe('parseSparseHeader', () => {
  // First 64 bytes of the compat6 sparse vmdk above, as `od -A n -t x1` prints them.
  const OD = `
 4b 44 4d 56 01 00 00 00 03 00 00 00 00 80 00 00
 00 00 00 00 80 00 00 00 00 00 00 00 01 00 00 00
 00 00 00 00 14 00 00 00 00 00 00 00 00 02 00 00
 15 00 00 00 00 00 00 00 1a 00 00 00 00 00 00 00`;

  it('finds the descriptor at sector 1, 20 sectors long', () => {
    expect(parseSparseHeader(hexDumpToBytes(OD))).toEqual({
      version: 1,
      capacitySectors: 32768,
      grainSectors: 128,
      descriptorOffset: 1,
      descriptorSectors: 20,
    });
  });

  it('says null for a text descriptor or a short read', () => {
    expect(parseSparseHeader(new TextEncoder().encode(FLAT))).toBeNull();
    expect(parseSparseHeader(hexDumpToBytes('4b 44 4d 56'))).toBeNull();
  });
});

describe('convertOptionsFromDescriptor', () => {
  it.each([
    [SPARSE_COMPAT6, { subformat: 'monolithicSparse', adapter_type: 'lsilogic', hwversion: '6' }],
    [FLAT, { subformat: 'monolithicFlat', adapter_type: 'ide', hwversion: '4' }],
    [WORKSTATION_DELTA, { subformat: 'twoGbMaxExtentSparse', adapter_type: 'buslogic', hwversion: '7' }],
  ])('gives qemu-img options that recreate the same kind of vmdk (%#)', (text, expected) => {
    const o = convertOptionsFromDescriptor(parseVmdkDescriptor(text));
    expect(o.warnings).toEqual([]);
    expect(vmdkOptionRecord(o)).toEqual(expected);
  });

  it('always uses hwversion, never compat6 (qemu refuses both together)', () => {
    const o = vmdkOptionRecord(convertOptionsFromDescriptor(parseVmdkDescriptor(SPARSE_COMPAT6)));
    expect(o).not.toHaveProperty('compat6');
  });

  it('maps an ESXi vmfs disk to monolithicFlat and says so', () => {
    const o = convertOptionsFromDescriptor(parseVmdkDescriptor(ESXI));
    expect(vmdkOptionRecord(o)).toEqual({ subformat: 'monolithicFlat', adapter_type: 'lsilogic', hwversion: '13' });
    expect(o.warnings.join(' ')).toContain('vmfs');
  });

  it('warns about an adapter qemu-img cannot write, and refuses a layout it cannot write', () => {
    const pv = convertOptionsFromDescriptor(parseVmdkDescriptor(FLAT.replace('"ide"', '"pvscsi"')));
    expect(pv.adapter_type).toBeUndefined();
    expect(pv.warnings[0]).toContain('pvscsi');
    expect(() => convertOptionsFromDescriptor(parseVmdkDescriptor(ESXI.replace('"vmfs"', '"vmfsSparse"')))).toThrow(/vmfsSparse/);
  });
});
