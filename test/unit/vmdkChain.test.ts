import { describe, expect, it } from 'vitest';
import { isDataExtentName, parentPathOf, resolveVmdkChain, snapshotNumber, unusedSnapshotFiles, type VmdkLookup } from '../../src/model/vmdkChain.js';
import { NO_PARENT_CID, parseVmdkDescriptor, type VmdkDescriptor } from '../../src/model/vmdkDescriptor.js';

/** Descriptors as VMware Workstation writes them for a disk with two snapshots. */
function desc(cid: string, parentCid: string, hint: string | null, extent: string): VmdkDescriptor {
  return parseVmdkDescriptor(
    [
      '# Disk DescriptorFile',
      'version=1',
      `CID=${cid}`,
      `parentCID=${parentCid}`,
      `createType="${hint ? 'monolithicSparse' : 'monolithicFlat'}"`,
      ...(hint ? [`parentFileNameHint="${hint}"`] : []),
      `RW 16384 ${hint ? 'SPARSE' : 'FLAT'} "${extent}"${hint ? '' : ' 0'}`,
      'ddb.adapterType = "lsilogic"',
    ].join('\n'),
  );
}

const files: Record<string, VmdkLookup> = {
  '/vm/w/w.vmdk': desc('aaaa0001', 'ffffffff', null, 'w-flat.vmdk'),
  '/vm/w/w-000001.vmdk': desc('bbbb0002', 'aaaa0001', 'w.vmdk', 'w-000001-delta.vmdk'),
  '/vm/w/w-000002.vmdk': desc('cccc0003', 'bbbb0002', 'w-000001.vmdk', 'w-000002-delta.vmdk'),
};
const lookup = (over: Record<string, VmdkLookup> = {}) => (p: string) => ({ ...files, ...over })[p] ?? 'missing';

describe('vmdk snapshot chains', () => {
  it('follows parentFileNameHint from the active snapshot to the base', () => {
    const c = resolveVmdkChain('/vm/w/w-000002.vmdk', lookup());
    expect(c.links.map((l) => l.path)).toEqual(['/vm/w/w-000002.vmdk', '/vm/w/w-000001.vmdk', '/vm/w/w.vmdk']);
    expect(c.snapshot).toBe(true);
    expect(c.warnings).toEqual([]);
    expect(c.links[2]?.descriptor.parentCid).toBe(NO_PARENT_CID);
  });
  it('a base disk alone is no snapshot', () => {
    expect(resolveVmdkChain('/vm/w/w.vmdk', lookup()).snapshot).toBe(false);
  });
  it('refuses a bare flat or delta extent', () => {
    expect(() => resolveVmdkChain('/vm/w/w-flat.vmdk', lookup())).toThrow(/w-flat.vmdk is a data extent/);
    expect(() => resolveVmdkChain('/vm/w/w-000001-delta.vmdk', lookup())).toThrow(/e.g. w-000001.vmdk/);
    expect(isDataExtentName('x-s001.vmdk')).toBe(true);
    expect(isDataExtentName('x-000001.vmdk')).toBe(false);
  });
  it('refuses a missing link, naming the file to copy', () => {
    expect(() => resolveVmdkChain('/vm/w/w-000002.vmdk', lookup({ '/vm/w/w-000001.vmdk': 'missing' }))).toThrow(/w-000002.vmdk is a snapshot of w-000001.vmdk, which is missing/);
    expect(() => resolveVmdkChain('/vm/w/w-000002.vmdk', lookup({ '/vm/w/w.vmdk': 'not-descriptor' }))).toThrow(/not a vmdk descriptor/);
  });
  it('warns when CID and parentCID disagree', () => {
    const c = resolveVmdkChain('/vm/w/w-000001.vmdk', lookup({ '/vm/w/w.vmdk': desc('deadbeef', 'ffffffff', null, 'w-flat.vmdk') }));
    expect(c.warnings[0]).toMatch(/expects its parent w.vmdk to have CID aaaa0001, but it has deadbeef/);
  });
  it('refuses a loop', () => {
    const loop = { '/vm/w/w.vmdk': desc('aaaa0001', 'cccc0003', 'w-000002.vmdk', 'w-s001.vmdk') };
    expect(() => resolveVmdkChain('/vm/w/w-000002.vmdk', lookup(loop))).toThrow(/loops back/);
  });
  it('names snapshot files the .vmx does not use; paths and numbers', () => {
    const c = resolveVmdkChain('/vm/w/w-000001.vmdk', lookup());
    expect(unusedSnapshotFiles(c, ['/vm/w/w.vmdk', '/vm/w/w-000001.vmdk', '/vm/w/w-000002.vmdk', '/vm/w/w-flat.vmdk', '/vm/w/other-000001.vmdk'])).toEqual(['/vm/w/w-000002.vmdk']);
    expect(parentPathOf('/vm/w/w-000001.vmdk', 'w.vmdk')).toBe('/vm/w/w.vmdk');
    expect(parentPathOf('/vm/w/w-000001.vmdk', '/vmfs/volumes/ds/w/w.vmdk')).toBe('/vmfs/volumes/ds/w/w.vmdk');
    expect(snapshotNumber('/vm/w/w-000012.vmdk')).toBe(12);
    expect(snapshotNumber('/vm/w/w.vmdk')).toBeNull();
  });
});
