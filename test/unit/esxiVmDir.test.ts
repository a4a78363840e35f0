import { describe, expect, it } from 'vitest';
import { esxiDisk, nameInVmDir, parseVmDirDump, stagedDescriptor, type VmDirDump, type VmDirNames } from '../../src/model/esxiVmDir.js';
import { parseVmdkDescriptor } from '../../src/model/vmdkDescriptor.js';
import { deltaDescriptor, flatDescriptor } from '../helpers/esxiStandIn.js';

const ROOT = '/vmfs/volumes';
const UUID = '5f1e2d3c-4b5a6978-0a1b-000c29aabbcc';
const DIR = `${ROOT}/datastore1/web`;
const NAMES: VmDirNames = { root: ROOT, datastores: ['datastore1', UUID], dirName: 'web' };
const SECTORS = 16384;

/** The directory script's answer: entries, then each small file framed by its byte count. */
function dumpOf(entries: [string, string, number][], files: Record<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.from(`@@ls\n${entries.map(([k, n, s]) => `${k}\t${s}\t${n}\n`).join('')}`)];
  for (const [name, text] of Object.entries(files)) parts.push(Buffer.from(`@@file\t${Buffer.byteLength(text)}\t${name}\n`), Buffer.from(text), Buffer.from('\n'));
  parts.push(Buffer.from('@@end\n'));
  return Buffer.concat(parts);
}

function webDump(files: Record<string, string> = {}, extra: [string, string, number][] = []): VmDirDump {
  const all = { 'web.vmx': 'displayName = "web"\n', 'web.vmdk': flatDescriptor('web', SECTORS), 'web-000001.vmdk': deltaDescriptor('web', SECTORS), ...files };
  const entries: [string, string, number][] = [
    ['f', 'web.vmx', 20],
    ['f', 'web.vmdk', 300],
    ['f', 'web-flat.vmdk', SECTORS * 512],
    ['f', 'web-000001.vmdk', 300],
    ['f', 'web-000001-delta.vmdk', 9000],
    ['d', 'web.vmx.lck', 0],
    ...extra,
  ];
  return parseVmDirDump(dumpOf(entries, all), DIR);
}

describe('the VM directory read over ssh', () => {
  it('frames files by byte count, so a descriptor holding @@end or newlines stays whole', () => {
    const d = parseVmDirDump(dumpOf([['f', 'a.vmdk', 12]], { 'a.vmdk': '@@end\n@@file\t1\tx\n' }), DIR);
    expect(d.files.get('a.vmdk')?.toString()).toBe('@@end\n@@file\t1\tx\n');
    expect(d.entries.get('a.vmdk')).toEqual({ kind: 'f', size: 12 });
  });

  it('refuses an answer cut short or with a length past its end', () => {
    expect(() => parseVmDirDump(Buffer.from('@@ls\nf\t1\ta\n'), DIR)).toThrow(/cut short or garbled/);
    expect(() => parseVmDirDump(Buffer.from('@@ls\n@@file\t999\ta.vmdk\nabc\n@@end\n'), DIR)).toThrow(/cut short or garbled/);
    expect(() => parseVmDirDump(Buffer.from('hello\n'), DIR)).toThrow(/cut short or garbled/);
  });

  it('drops entries whose names are not plain', () => {
    const d = parseVmDirDump(dumpOf([['f', '..', 1], ['f', 'a/b', 1], ['f', 'ok', 1], ['x', 'odd', 1]], {}), DIR);
    expect([...d.entries.keys()]).toEqual(['ok']);
  });
});

describe('extent paths', () => {
  it('takes a bare name, or this VM directory under the datastore name or UUID', () => {
    expect(nameInVmDir('web-flat.vmdk', NAMES, 'x')).toBe('web-flat.vmdk');
    expect(nameInVmDir(`${ROOT}/datastore1/web/web.vmdk`, NAMES, 'x')).toBe('web.vmdk');
    expect(nameInVmDir(`${ROOT}/${UUID}/web/web.vmdk`, NAMES, 'x')).toBe('web.vmdk');
  });

  it('refuses ../, other directories, other datastores and paths outside /vmfs', () => {
    for (const p of ['../other/other-flat.vmdk', 'sub/web-flat.vmdk', `${ROOT}/datastore1/other/web.vmdk`, `${ROOT}/datastore2/web/web.vmdk`, '/etc/shadow', `${ROOT}/datastore1/web/../../../etc/shadow`, `${ROOT}/datastore1/web/./web.vmdk`, '..']) {
      expect(() => nameInVmDir(p, NAMES, 'web.vmdk'), p).toThrow(/outside the VM's directory/);
    }
  });

  it('resolves flat + delta into the files to copy and descriptors rewritten by virtdeck', () => {
    const disk = esxiDisk('scsi0:0', 'web-000001.vmdk', webDump(), NAMES);
    expect(disk.chain.links.map((l) => l.path)).toEqual([`${DIR}/web-000001.vmdk`, `${DIR}/web.vmdk`]);
    expect(disk.extents).toEqual([
      { name: 'web-000001-delta.vmdk', size: 9000, type: 'VMFSSPARSE' },
      { name: 'web-flat.vmdk', size: SECTORS * 512, type: 'VMFS' },
    ]);
    expect(disk.virtualSize).toBe(SECTORS * 512);
    const delta = disk.descriptors.find((d) => d.name === 'web-000001.vmdk')?.text ?? '';
    expect(delta).toContain('parentFileNameHint="web.vmdk"');
    expect(delta).not.toContain('longContentID');
  });

  it('accepts a parent named by its absolute path in this directory (as ESXi writes after a move)', () => {
    const disk = esxiDisk('scsi0:0', 'web-000001.vmdk', webDump({ 'web-000001.vmdk': deltaDescriptor('web', SECTORS, 'fffffffe', `${ROOT}/${UUID}/web/web.vmdk`) }), NAMES);
    expect(disk.descriptors.find((d) => d.name === 'web-000001.vmdk')?.text).toContain('parentFileNameHint="web.vmdk"');
  });

  it('refuses a parent or extent that leaves the directory, and symlinked disk files', () => {
    expect(() => esxiDisk('scsi0:0', 'web-000001.vmdk', webDump({ 'web-000001.vmdk': deltaDescriptor('web', SECTORS, 'fffffffe', '../other/base.vmdk') }), NAMES)).toThrow(/outside the VM's directory/);
    const escaping = flatDescriptor('web', SECTORS).replace('"web-flat.vmdk"', '"../../../../etc/shadow"');
    expect(() => esxiDisk('scsi0:0', 'web.vmdk', webDump({ 'web.vmdk': escaping }), NAMES)).toThrow(/outside the VM's directory/);
    const absolute = flatDescriptor('web', SECTORS).replace('"web-flat.vmdk"', `"${ROOT}/datastore1/web/web-flat.vmdk"`);
    expect(() => esxiDisk('scsi0:0', 'web.vmdk', webDump({ 'web.vmdk': absolute }), NAMES)).toThrow(/names its extent by the path/);
    expect(() => esxiDisk('scsi0:0', '/etc/passwd', webDump(), NAMES)).toThrow(/The \.vmx \(scsi0:0\) names \/etc\/passwd, which is outside/);
    const linked = parseVmDirDump(
      dumpOf(
        [
          ['f', 'web.vmdk', 300],
          ['l', 'web-flat.vmdk', 0],
        ],
        { 'web.vmdk': flatDescriptor('web', SECTORS) },
      ),
      DIR,
    );
    expect(() => esxiDisk('scsi0:0', 'web.vmdk', linked, NAMES)).toThrow(/web-flat\.vmdk is a symlink/);
  });

  it('refuses a raw device mapping and a missing extent by name', () => {
    const rdm = flatDescriptor('web', SECTORS).replace('VMFS "web-flat.vmdk"', 'VMFSRDM "web-rdm.vmdk"');
    expect(() => esxiDisk('scsi0:0', 'web.vmdk', webDump({ 'web.vmdk': rdm }), NAMES)).toThrow(/VMFSRDM extent \(a raw device mapping/);
    const missing = parseVmDirDump(dumpOf([['f', 'web.vmdk', 300]], { 'web.vmdk': flatDescriptor('web', SECTORS) }), DIR);
    expect(() => esxiDisk('scsi0:0', 'web.vmdk', missing, NAMES)).toThrow(/web-flat\.vmdk is missing; web\.vmdk keeps its data there/);
  });

  it('writes descriptors with only the fields qemu-img needs', () => {
    const d = parseVmdkDescriptor(`${flatDescriptor('web', SECTORS)}ddb.adapterType = "x\\"; rm -rf /"\n`);
    const text = stagedDescriptor(d, null);
    expect(text).toContain('RW 16384 VMFS "web-flat.vmdk"\n');
    expect(text).not.toContain('rm -rf');
    expect(text).not.toContain('parentFileNameHint');
  });
});
