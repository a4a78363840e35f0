/**
 * vmdk descriptors and sparse headers come with an imported VM: any text, any header bytes and
 * any snapshot chain (loops, missing links, hostile hints) end in a descriptor or a UserError.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import type { Executor } from '../../src/host/exec.js';
import { hexDumpToBytes, readVmdkDescriptorText } from '../../src/host/vmdk.js';
import { resolveVmdkChain, unusedSnapshotFiles, type VmdkLookup } from '../../src/model/vmdkChain.js';
import { convertOptionsFromDescriptor, descriptorVirtualBytes, parseSparseHeader, parseVmdkDescriptor, type VmdkDescriptor } from '../../src/model/vmdkDescriptor.js';
import { anyBytesAsText, anyText, hostileWord, onlyTyped, onlyTypedAsync, runs } from '../helpers/fuzz.js';

const descriptorLine = fc.oneof(
  fc.tuple(fc.constantFrom('version', 'CID', 'parentCID', 'createType', 'parentFileNameHint', 'ddb.adapterType', 'ddb.virtualHWVersion', 'ddb.geometry.cylinders', 'ddb.__proto__', 'ddb.constructor', 'encoding'), hostileWord, fc.boolean()).map(([k, v, q]) => (q ? `${k}="${v}"` : `${k}=${v}`)),
  fc
    .tuple(fc.constantFrom('RW', 'RDONLY', 'NOACCESS', 'rw', 'XX'), fc.oneof(fc.nat().map(String), fc.constantFrom('99999999999999999999999', '0', '')), fc.constantFrom('SPARSE', 'FLAT', 'ZERO', 'VMFS', 'sesparse', 'x'), hostileWord, fc.option(fc.nat().map(String)))
    .map(([a, n, t, f, o]) => `${a} ${n} ${t} "${f.replace(/"/g, '')}"${o === null ? '' : ` ${o}`}`),
  fc.constantFrom('# Disk DescriptorFile', '', '\0\0\0', 'createType="monolithicSparse"', 'RW 16384 ZERO', '# Extent description'),
  anyText(60),
);

const descriptorLike = fc.array(descriptorLine, { maxLength: 30 }).map((l) => l.join(fc.sample(fc.constantFrom('\n', '\r\n'), 1)[0] ?? '\n'));

describe('fuzz: vmdk descriptor, sparse header and snapshot chain', () => {
  it('parseVmdkDescriptor and what is computed from it: a result or a UserError', () => {
    fc.assert(
      fc.property(fc.oneof(descriptorLike, anyText(2000), anyBytesAsText(2000)), (text) => {
        const d = onlyTyped(() => parseVmdkDescriptor(text));
        if (!d) return;
        descriptorVirtualBytes(d);
        onlyTyped(() => convertOptionsFromDescriptor(d));
      }),
      runs(1000),
    );
  });

  it('parseSparseHeader on any bytes (and od output decoded by hexDumpToBytes): a header or null', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ minLength: 60, maxLength: 64 }).map((b) => Uint8Array.from([0x4b, 0x44, 0x4d, 0x56, ...b]))), anyText(300), (bytes, od) => {
        parseSparseHeader(bytes);
        parseSparseHeader(hexDumpToBytes(od));
        // A view into a larger buffer at an odd offset, as Buffer pools hand out.
        const big = new Uint8Array(bytes.length + 3);
        big.set(bytes, 3);
        parseSparseHeader(big.subarray(3));
      }),
      runs(1000),
    );
  });

  it('readVmdkDescriptorText with a hostile file on the other end: text or a UserError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 64, maxLength: 64 }), fc.nat(), fc.nat(), fc.oneof(descriptorLike, anyText(300)), async (header, off, count, body) => {
        const h = Uint8Array.from(header);
        h.set([0x4b, 0x44, 0x4d, 0x56]);
        new DataView(h.buffer).setBigUint64(28, BigInt(off), true);
        new DataView(h.buffer).setBigUint64(36, BigInt(count), true);
        const sparse = fc.sample(fc.boolean(), 1)[0];
        const exec: Executor = {
          label: 'fuzz',
          interactive: async () => 0,
          run: async (argv) => ({
            argv,
            exitCode: 0,
            stderr: '',
            stdout: argv[0] === 'od' ? (sparse ? [...h].map((b) => b.toString(16).padStart(2, '0')).join(' ') : ' 23 20 44 69') : body,
          }),
        };
        await onlyTypedAsync(() => readVmdkDescriptorText(exec, '/vm/x.vmdk'));
      }),
      runs(300),
    );
  });

  it('resolveVmdkChain over hostile descriptors (loops, absolute and ../ hints, missing links): a chain or a UserError', () => {
    const name = fc.oneof(fc.constantFrom('a.vmdk', 'a-000001.vmdk', 'a-000002.vmdk', 'a-flat.vmdk', '../a.vmdk', '/etc/shadow', 'sub/a.vmdk', '', '/', '.'), hostileWord);
    const lookupResult = fc.oneof(
      fc.constantFrom<VmdkLookup>('missing', 'not-descriptor'),
      fc.record({ cid: fc.nat(), parentCid: fc.oneof(fc.constant(0xffffffff), fc.nat()), hint: fc.option(name) }).map(
        ({ cid, parentCid, hint }): VmdkDescriptor => ({ version: 1, cid, parentCid, createType: 'monolithicSparse', extents: [], ddb: {}, parentFileNameHint: hint }),
      ),
    );
    fc.assert(
      fc.property(name, fc.dictionary(name, lookupResult), fc.array(name, { maxLength: 10 }), (active, table, dir) => {
        const path = active.startsWith('/') ? active : `/vm/${active}`;
        const look = (k: string) => (Object.hasOwn(table, k) ? table[k] : undefined);
        const chain = onlyTyped(() => resolveVmdkChain(path, (p) => look(p.replace(/^\/vm\//, '')) ?? look(p) ?? 'missing'));
        if (chain) unusedSnapshotFiles(chain, dir);
      }),
      runs(1000),
    );
  });
});
