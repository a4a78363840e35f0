/**
 * Backups read libvirt's answers about a running guest (domjobinfo, checkpoint-dumpxml,
 * domblklist), from a remote libvirtd too. Any text: a result, never a throw, and never slow.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCheckpointSizes, parseDomBlkList, parseJobInfo } from '../../src/host/backupApi.js';
import { anyText, hostileWord, onlyTyped, runs } from '../helpers/fuzz.js';

const jobLine = fc.oneof(
  fc.tuple(fc.constantFrom('Job type', 'job_type', 'Operation', 'disk_total', 'disk_processed', 'data_total', 'Success', 'Error message', 'x y z'), fc.oneof(fc.nat().map(String), hostileWord)).map(([k, v]) => `${k}: ${v}`),
  anyText(80),
);
const checkpointDisk = fc
  .tuple(fc.oneof(fc.constantFrom('vda', 'sda'), hostileWord), fc.constantFrom('bitmap', 'no', ''), fc.oneof(fc.nat().map(String), hostileWord), fc.constantFrom("'", '"'))
  .map(([n, c, s, q]) => `<disk name=${q}${n}${q} checkpoint=${q}${c}${q} size=${q}${s}${q}/>`);
const blkLine = fc.oneof(
  fc.tuple(fc.constantFrom('file', 'block', 'network'), fc.constantFrom('disk', 'cdrom'), fc.constantFrom('vda', 'hdc'), fc.oneof(hostileWord, fc.constantFrom('-', '/var/lib/x y.qcow2'))).map((c) => ` ${c.join('   ')}`),
  fc.constantFrom(' Type   Device   Target   Source', '-----------------------------------', ''),
  anyText(80),
);

describe('fuzz: domjobinfo, checkpoint-dumpxml and domblklist output', () => {
  it('any output: a result with the promised types', () => {
    fc.assert(
      fc.property(fc.array(jobLine, { maxLength: 12 }), fc.array(fc.oneof(checkpointDisk, anyText(60)), { maxLength: 6 }), fc.array(blkLine, { maxLength: 8 }), (job, cp, blk) => {
        const info = onlyTyped(() => parseJobInfo(job.join('\n')), []);
        expect(typeof info?.type).toBe('number');
        for (const [k, v] of onlyTyped(() => parseCheckpointSizes(`<domaincheckpoint><disks>${cp.join('')}</disks></domaincheckpoint>`), []) ?? []) expect(typeof k === 'string' && (v === null || typeof v === 'number')).toBe(true);
        for (const d of onlyTyped(() => parseDomBlkList(blk.join('\n')), []) ?? []) expect(typeof d.target).toBe('string');
      }),
      runs(800),
    );
  });

  it('long lines without the separator the patterns look for cost milliseconds', () => {
    for (const line of ['a '.repeat(20_000), 'a'.repeat(40_000), ` ${'x '.repeat(20_000)}:`]) {
      onlyTyped(() => parseJobInfo(line), []);
      onlyTyped(() => parseDomBlkList(line), []);
    }
    onlyTyped(() => parseCheckpointSizes(`<disk ${'a'.repeat(40_000)}`), []);
    onlyTyped(() => parseCheckpointSizes('<disk '.repeat(16_000)), []);
  });
});
