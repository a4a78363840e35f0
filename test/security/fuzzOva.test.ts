/**
 * An OVA is handed over by a customer: whatever its descriptor, manifest or tar headers hold,
 * reading them ends in a model or a UserError, and every file name that comes out of them is a
 * plain name (no directory part, no "..", not absolute) — nothing read from a package can name a
 * path outside it.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTarMember, parseManifest, parseTarHeader } from '../../src/model/ovaPackage.js';
import { packageNameProblem, parseOvf } from '../../src/model/ovf.js';
import { vmxToDomainXml } from '../../src/model/vmxToDomain.js';
import { anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const ESXI = readFileSync(new URL('../fixtures/ovf/vmware-esxi7-win11.ovf', import.meta.url), 'utf8');

/** Values of the descriptor a hostile export would change: every >text< and "attribute". */
const slots = [...ESXI.matchAll(/>([^<>]+)</g), ...ESXI.matchAll(/="([^"]*)"/g)].map((m) => m[1] as string);
const xmlEscape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

describe('OVF descriptors from outside', () => {
  it('a descriptor with any value replaced reads to a guest or a UserError; file names stay plain', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: slots.length - 1 }), fc.oneof(hostileWord, anyText(40))), { minLength: 1, maxLength: 4 }), (edits) => {
        let xml = ESXI;
        for (const [i, value] of edits) xml = xml.replace(slots[i] as string, xmlEscape(value));
        const o = onlyTyped(() => parseOvf(xml, { source: 'x.ovf' }));
        if (!o) return;
        for (const f of o.files) expect(packageNameProblem(f.href)).toBeNull();
        for (const d of o.disks) expect(packageNameProblem(d.href)).toBeNull();
        onlyTyped(() => vmxToDomainXml(o.guest, { name: 'x', domainType: 'qemu', disks: o.disks.map((d) => ({ key: d.key, path: `/i/${d.key}`, format: 'qcow2' })), bus: 'keep', nics: o.guest.nics.map(() => ({ kind: 'user' })) }));
      }),
      runs(300),
    );
  });
  it('any text as a descriptor or a manifest: a model or a UserError', () => {
    fc.assert(
      fc.property(anyText(600), (t) => {
        onlyTyped(() => parseOvf(t, { source: 'x.ovf' }));
        const mf = onlyTyped(() => parseManifest(t, 'x.mf'));
        for (const e of mf ?? []) expect(packageNameProblem(e.name)).toBeNull();
      }),
      runs(300),
    );
  });
});

describe('tar headers from outside', () => {
  it('any 512 bytes (with a right checksum half the time): a header or a UserError; a member name is plain', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 512, maxLength: 512 }), fc.boolean(), fc.constantFrom('0', '1', '2', '5', 'x', 'L', '\0'), (bytes, fixSum, type) => {
        const b = Buffer.from(bytes);
        b.write(type, 156);
        if (fixSum) {
          b.fill(0x20, 148, 156);
          let sum = 0;
          for (const x of b) sum += x;
          b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
        }
        const h = onlyTyped(() => parseTarHeader(b, 0, 'x.ova'));
        if (!h) return;
        expect(Number.isSafeInteger(h.size) && h.size >= 0).toBe(true);
        const name = onlyTyped(() => checkTarMember(h, 'x.ova'));
        if (name !== undefined) expect(packageNameProblem(name)).toBeNull();
      }),
      runs(500),
    );
  });
});
