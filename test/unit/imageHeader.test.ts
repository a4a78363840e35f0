import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { descriptorExtentNames, descriptorParentNames, inspectImageHeader, isInside, protocolOf, referencePath } from '../../src/model/imageHeader.js';

function qcow2(o: { version?: number; backing?: string; backingFormat?: string; dataFile?: string; dataBit?: boolean } = {}): Uint8Array {
  const bytes = new Uint8Array(4096);
  const v = new DataView(bytes.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i);
  };
  put(0, 'QFI\xfb');
  const version = o.version ?? 3;
  v.setUint32(4, version);
  v.setUint32(20, 16);
  const headerLength = version >= 3 ? 104 : 72;
  if (version >= 3) v.setUint32(100, headerLength);
  if (o.dataBit) v.setBigUint64(72, 1n << 2n);
  let at = headerLength;
  const ext = (type: number, s: string) => {
    v.setUint32(at, type);
    v.setUint32(at + 4, s.length);
    put(at + 8, s);
    at += 8 + Math.ceil(s.length / 8) * 8;
  };
  if (o.backingFormat) ext(0xe2792aca, o.backingFormat);
  if (o.dataFile !== undefined) ext(0x44415441, o.dataFile);
  if (o.backing) {
    v.setBigUint64(8, 1024n);
    v.setUint32(16, o.backing.length);
    put(1024, o.backing);
  }
  return bytes;
}

describe('inspectImageHeader', () => {
  it('reads a qcow2 backing file and its declared format', () => {
    const h = inspectImageHeader(qcow2({ backing: '/etc/shadow', backingFormat: 'raw' }));
    expect(h.format).toBe('qcow2');
    expect(h.references).toEqual([{ role: 'backing', name: '/etc/shadow', format: 'raw' }]);
    expect(h.problems).toEqual([]);
  });

  it('reads a version 2 qcow2 and an old qcow the same way', () => {
    expect(inspectImageHeader(qcow2({ version: 2, backing: 'base.img' })).references[0]?.name).toBe('base.img');
    const old = inspectImageHeader(qcow2({ version: 1, backing: 'nbd://127.0.0.1:1/x' }));
    expect(old.format).toBe('qcow');
    expect(old.references[0]?.name).toBe('nbd://127.0.0.1:1/x');
  });

  it('names an external data file, and refuses one it does not name', () => {
    expect(inspectImageHeader(qcow2({ dataBit: true, dataFile: '/etc/shadow' })).references).toEqual([{ role: 'data-file', name: '/etc/shadow', format: 'raw' }]);
    expect(inspectImageHeader(qcow2({ dataBit: true })).problems[0]).toMatch(/external file it does not name/);
  });

  it('asks for more bytes when the backing name lies past what it was given', () => {
    const full = qcow2({ backing: 'x.qcow2' });
    const h = inspectImageHeader(full.subarray(0, 512), full.length);
    expect(h.needBytes).toBe(1024 + 7);
    expect(h.references).toEqual([]);
  });

  it('finds extents and the parent of a vmdk descriptor, and QEMU`s strstr parent inside a comment', () => {
    const text = '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n# parentFileNameHint="../../etc/passwd"\nRW 2048 FLAT "../../etc/shadow" 0\nRDONLY 8 SPARSE "b-s001.vmdk"\n';
    const h = inspectImageHeader(new TextEncoder().encode(text));
    expect(h.format).toBe('vmdk');
    expect(h.references.map((r) => `${r.role}:${r.name}`)).toEqual(['parent:../../etc/passwd', 'extent:../../etc/shadow', 'extent:b-s001.vmdk']);
  });

  it('reads the parent hint of a sparse vmdk, but not its (self-naming) extent lines', () => {
    const bytes = new Uint8Array(16384);
    const v = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode('KDMV'), 0);
    v.setBigUint64(28, 1n, true);
    v.setBigUint64(36, 20n, true);
    bytes.set(new TextEncoder().encode('# Disk DescriptorFile\nversion=1\nparentFileNameHint="disk.vmdk"\nRW 8 SPARSE "self.vmdk"\n'), 512);
    const h = inspectImageHeader(bytes);
    expect(h.format).toBe('vmdk');
    expect(h.references).toEqual([{ role: 'parent', name: 'disk.vmdk', format: null }]);
  });

  it('calls unknown content raw, and knows the formats that name nothing', () => {
    expect(inspectImageHeader(new Uint8Array(1024)).format).toBe('raw');
    expect(inspectImageHeader(new TextEncoder().encode('vhdxfile....')).format).toBe('vhdx');
    expect(inspectImageHeader(new TextEncoder().encode('conectix....')).format).toBe('vpc');
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat(1 << 22), fc.constantFrom('', 'QFI\xfb', 'KDMV', 'COWD', 'QED\0', 'version=1\n'), (body, size, magic) => {
        const bytes = new Uint8Array(magic.length + body.length);
        bytes.set(new TextEncoder().encode(magic).subarray(0, magic.length), 0);
        bytes.set(body, magic.length);
        const h = inspectImageHeader(bytes, Math.max(size, bytes.length));
        expect(Array.isArray(h.references)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('names', () => {
  it('finds protocols where QEMU does: a colon before any slash', () => {
    expect(protocolOf('nbd://127.0.0.1:10809/x')).toBe('nbd');
    expect(protocolOf('json:{"file":{"driver":"file","filename":"/etc/shadow"}}')).toBe('json');
    expect(protocolOf('file:/etc/shadow')).toBe('file');
    expect(protocolOf('dir/a:b.qcow2')).toBeNull();
    expect(protocolOf('../run/vda.qcow2')).toBeNull();
  });

  it('resolves relative names beside the image and checks containment by whole components', () => {
    expect(referencePath('/b/g/run2/vda.qcow2', '../run1/vda.qcow2')).toBe('/b/g/run2/../run1/vda.qcow2');
    expect(referencePath('/b/x.qcow2', '/etc/shadow')).toBe('/etc/shadow');
    expect(isInside('/b/g', '/b/g/run1/vda.qcow2')).toBe(true);
    expect(isInside('/b/g', '/b/gx/vda.qcow2')).toBe(false);
  });

  it('lists descriptor names like QEMU`s sscanf', () => {
    expect(descriptorExtentNames('  rw 10 FLAT "a b.vmdk" 0\nRW 4 ZERO\n')).toEqual(['a b.vmdk']);
    expect(descriptorParentNames('parentFileNameHint = "p.vmdk"\n')).toContain('p.vmdk');
  });
});

describe('inspectImageHeader on a header cut short', () => {
  it('never throws on any prefix of a real qcow2 header: it asks for more bytes, or calls a whole short file cut short', () => {
    for (const version of [2, 3]) {
      const whole = qcow2({ version, backing: '../base.qcow2', backingFormat: 'qcow2' });
      for (let n = 0; n <= 1100; n++) {
        const part = whole.subarray(0, n);
        const asRead = inspectImageHeader(part, whole.length);
        expect(asRead.needBytes === undefined || asRead.needBytes > n).toBe(true);
        const asFile = inspectImageHeader(part, n);
        expect(asFile.needBytes === undefined || asFile.problems.length > 0 || asFile.references.length === 0).toBe(true);
      }
    }
  });
});
