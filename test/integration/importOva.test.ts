/**
 * OVA import end to end on the real stack: an OVA built here the way VMware exports one (OVF 1.0
 * descriptor, a streamOptimized vmdk from qemu-img, a SHA256 manifest, tarred in that order) →
 * imported to qcow2 → the data is the original's (qemu-img compare) → the guest starts under TCG
 * with the exported MAC and SCSI controller. Bad input is one sentence and changes nothing: a
 * truncated OVA, a tampered disk, an unknown disk format, a symlink in the archive.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectOva, prepareOvaImport, runOvaImport } from '../../src/jobs/importOva.js';
import { importFailure } from '../../src/jobs/importVmware.js';
import type { ImportRequest } from '../../src/model/importVmwarePlan.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-ova-');
const src = join(scratch.dir, 'export');
const dest = join(scratch.dir, 'images');
const GUEST = 'vdtest-ova-web';
const MAC = '00:50:56:3a:0b:0c';
const savedHome = process.env.VIRTDECK_HOME;

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const virsh = (...args: string[]) => sh('virsh', '-c', host.uri, ...args);
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

function ovfText(format = 'streamOptimized'): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope vmw:buildId="build-21203435" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References><File ovf:href="web-disk1.vmdk" ovf:id="file1"/></References>
  <DiskSection><Info>Virtual disk information</Info>
    <Disk ovf:capacity="8" ovf:capacityAllocationUnits="byte * 2^20" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#${format}"/>
  </DiskSection>
  <NetworkSection><Info>Networks</Info><Network ovf:name="VM Network"><Description>VM Network</Description></Network></NetworkSection>
  <VirtualSystem ovf:id="web">
    <Info>A virtual machine</Info>
    <Name>${GUEST}</Name>
    <OperatingSystemSection ovf:id="101" vmw:osType="otherLinux64Guest"><Info>OS</Info></OperatingSystemSection>
    <VirtualHardwareSection><Info>Virtual hardware</Info>
      <System><vssd:ElementName>Virtual Hardware Family</vssd:ElementName><vssd:InstanceID>0</vssd:InstanceID><vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType></System>
      <Item><rasd:ElementName>1 virtual CPU(s)</rasd:ElementName><rasd:InstanceID>1</rasd:InstanceID><rasd:ResourceType>3</rasd:ResourceType><rasd:VirtualQuantity>1</rasd:VirtualQuantity></Item>
      <Item><rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits><rasd:ElementName>64MB of memory</rasd:ElementName><rasd:InstanceID>2</rasd:InstanceID><rasd:ResourceType>4</rasd:ResourceType><rasd:VirtualQuantity>64</rasd:VirtualQuantity></Item>
      <Item><rasd:Address>0</rasd:Address><rasd:ElementName>SCSI controller 0</rasd:ElementName><rasd:InstanceID>3</rasd:InstanceID><rasd:ResourceSubType>lsilogic</rasd:ResourceSubType><rasd:ResourceType>6</rasd:ResourceType></Item>
      <Item><rasd:AddressOnParent>0</rasd:AddressOnParent><rasd:ElementName>Hard disk 1</rasd:ElementName><rasd:HostResource>ovf:/disk/vmdisk1</rasd:HostResource><rasd:InstanceID>4</rasd:InstanceID><rasd:Parent>3</rasd:Parent><rasd:ResourceType>17</rasd:ResourceType></Item>
      <Item><rasd:Address>${MAC}</rasd:Address><rasd:AddressOnParent>7</rasd:AddressOnParent><rasd:Connection>VM Network</rasd:Connection><rasd:ElementName>Network adapter 1</rasd:ElementName><rasd:InstanceID>5</rasd:InstanceID><rasd:ResourceSubType>E1000</rasd:ResourceSubType><rasd:ResourceType>10</rasd:ResourceType></Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}

/** An OVA as VMware writes one: descriptor, manifest, disk, in that order. */
function buildOva(name: string, o: { format?: string; tamper?: boolean; sign?: 'good' | 'stale' } = {}): string {
  const dir = join(src, name);
  mkdirSync(dir, { recursive: true });
  sh('qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', join(src, 'disk.raw'), join(dir, 'web-disk1.vmdk'));
  writeFileSync(join(dir, 'web.ovf'), ovfText(o.format));
  writeFileSync(join(dir, 'web.mf'), `SHA256(web.ovf)= ${sha256(join(dir, 'web.ovf'))}\nSHA256(web-disk1.vmdk)= ${sha256(join(dir, 'web-disk1.vmdk'))}\n`);
  if (o.tamper) {
    // One byte of the disk changed after the manifest was written.
    const b = readFileSync(join(dir, 'web-disk1.vmdk'));
    b.writeUInt8((b.readUInt8(b.length - 700) ^ 0xff) & 0xff, b.length - 700);
    writeFileSync(join(dir, 'web-disk1.vmdk'), b);
  }
  if (o.sign) {
    // ovftool's .cert: the manifest's signature, then the signer's certificate. "stale": the manifest changed after signing.
    sh('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=vdtest signer', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2');
    if (o.sign === 'stale') writeFileSync(join(dir, 'signed.mf'), `SHA256(web.ovf)= ${'0'.repeat(64)}\n`);
    const signature = sh('openssl', 'dgst', '-sha256', '-sign', join(dir, 'key.pem'), '-hex', join(dir, o.sign === 'stale' ? 'signed.mf' : 'web.mf')).split('= ')[1]?.trim();
    writeFileSync(join(dir, 'web.cert'), `SHA256(web.mf)= ${signature}\n${readFileSync(join(dir, 'cert.pem'), 'utf8')}`);
  }
  const ova = join(src, `${name}.ova`);
  sh('tar', '-cf', ova, '--format=ustar', '-C', dir, 'web.ovf', 'web.mf', ...(o.sign ? ['web.cert'] : []), 'web-disk1.vmdk');
  return ova;
}

const req: ImportRequest = { convert: 'qcow2', destDir: dest, bus: 'keep', name: GUEST, start: true };

beforeAll(() => {
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  mkdirSync(src, { recursive: true });
  mkdirSync(dest, { recursive: true });
  sh('qemu-img', 'create', '-q', '-f', 'raw', join(src, 'disk.raw'), '8M');
  sh('qemu-io', '-f', 'raw', '-c', 'write -P 0xab 1M 256k', '-c', 'write -P 0x5c 6M 64k', join(src, 'disk.raw'));
});

afterAll(async () => {
  await removeGuest(host, GUEST).catch(() => {});
  scratch.remove();
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
});

describe('import an OVA', () => {
  it('checks the manifest, converts the streamOptimized disk, defines and starts the guest under TCG', async () => {
    const ova = buildOva('good');
    const facts = await inspectOva(host, ova);
    expect(facts.ova.manifest.map((e) => e.name)).toEqual(['web.ovf', 'web-disk1.vmdk']);
    const prepared = await prepareOvaImport(host, ova, req, undefined, facts);
    expect(prepared.check.refusals).toEqual([]);
    expect(prepared.plan?.steps.map((s) => s.id)).toEqual(['ova-extract', 'disk0-tempdir', 'disk0-convert', 'disk0-compare', 'disk0-place', 'disk0-droptemp', 'define', 'start', 'ova-drop']);
    const progress: number[] = [];
    const t0 = Date.now();
    const r = await runOvaImport(host, prepared, { onEvent: (e) => e.type === 'progress' && progress.push(e.progress.percent) });
    if (r.state !== 'done') throw importFailure(r);
    console.log(`import ova: 8 MiB disk in ${Date.now() - t0} ms`);
    expect(progress.length).toBeGreaterThan(0);
    const image = join(dest, 'web-disk1.qcow2');
    expect(JSON.parse(sh('qemu-img', 'info', '-U', '--output=json', image)).format).toBe('qcow2');
    // The data is the original's, byte for byte.
    sh('qemu-img', 'compare', '-U', '-f', 'raw', '-F', 'qcow2', join(src, 'disk.raw'), image);
    const xml = virsh('dumpxml', GUEST);
    expect(xml).toContain(`<mac address='${MAC}'/>`);
    expect(xml).toMatch(/<target dev='sda' bus='scsi'\/>/);
    expect(xml).toMatch(/<controller type='scsi' index='0' model='lsilogic'/);
    expect(xml).toMatch(/<type arch='x86_64'/);
    expect(virsh('domstate', GUEST).trim()).toBe('running');
    // The extracted vmdk is gone; only the converted image is left.
    expect(readdirSync(dest)).toEqual(['web-disk1.qcow2']);
    await removeGuest(host, GUEST);
  });

  it('refuses a tampered disk naming it, before converting: nothing is left behind', async () => {
    const ova = buildOva('tampered', { tamper: true });
    const into = join(scratch.dir, 'images-tampered');
    mkdirSync(into);
    const prepared = await prepareOvaImport(host, ova, { ...req, destDir: into, name: 'vdtest-ova-tampered', start: false });
    expect(prepared.check.refusals).toEqual([]);
    const r = await runOvaImport(host, prepared);
    expect(r.state).toBe('failed');
    expect(r.error?.sentence).toBe('web-disk1.vmdk does not match its SHA256 in web.mf: the package was changed or damaged after it was made.');
    expect(readdirSync(into)).toEqual([]);
    expect(() => virsh('dominfo', 'vdtest-ova-tampered')).toThrow();
  });

  it('checks a .cert against the manifest: a good signature is shown with its signer, a stale one refuses the package', async () => {
    const signed = buildOva('signed', { sign: 'good' });
    const facts = await inspectOva(host, signed);
    expect(facts.ova.signature).toMatchObject({ certName: 'web.cert', subject: 'CN=vdtest signer', selfSigned: true });
    const prepared = await prepareOvaImport(host, signed, { ...req, name: 'vdtest-ova-signed', start: false }, undefined, facts);
    expect(prepared.check.warnings.join('\n')).toMatch(/web\.cert: the manifest's signature matches a self-signed certificate for CN=vdtest signer \(SHA-256 fingerprint [0-9A-F:]+\)/);
    await expect(inspectOva(host, buildOva('stale', { sign: 'stale' }))).rejects.toThrow('web.cert does not sign web.mf as it is: the manifest was changed after the package was signed.');
  });

  it('refuses a truncated OVA in one sentence', async () => {
    const ova = buildOva('whole');
    const cut = join(src, 'cut.ova');
    const bytes = readFileSync(ova);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(inspectOva(host, cut)).rejects.toThrow(/cut\.ova is truncated: web-disk1\.vmdk should have \d+ bytes but the archive ends \d+ bytes into it\./);
  });

  it('refuses an unknown disk format in one sentence', async () => {
    const ova = buildOva('qcow', { format: 'qcow2' });
    await expect(inspectOva(host, ova)).rejects.toThrow(/web\.ovf in .*qcow\.ova gives the disk vmdisk1 in the format ".*#qcow2", which virtdeck does not read/);
  });

  it('refuses a symlink in the archive', async () => {
    const dir = join(src, 'link');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'web.ovf'), ovfText());
    symlinkSync('/etc/shadow', join(dir, 'web-disk1.vmdk'));
    const ova = join(src, 'link.ova');
    sh('tar', '-cf', ova, '-C', dir, 'web.ovf', 'web-disk1.vmdk');
    await expect(inspectOva(host, ova)).rejects.toThrow(/holds web-disk1\.vmdk as a symbolic link; an OVA holds only plain files/);
    expect(existsSync(join(dest, '.virtdeck-ova-link.ova'))).toBe(false);
  });

  it('imports a directory export (.ovf + .mf + vmdk beside it) to raw, each file read once for its digest', async () => {
    buildOva('dirform');
    const dir = join(src, 'dirform');
    const into = join(scratch.dir, 'images-dir');
    mkdirSync(into);
    const name = 'vdtest-ova-dir';
    const prepared = await prepareOvaImport(host, join(dir, 'web.ovf'), { ...req, convert: 'raw', destDir: into, name, start: false });
    expect(prepared.check.refusals).toEqual([]);
    expect(prepared.plan?.steps[0]?.id).toBe('ova-check');
    try {
      const r = await runOvaImport(host, prepared);
      if (r.state !== 'done') throw importFailure(r);
      sh('qemu-img', 'compare', '-f', 'raw', '-F', 'raw', join(src, 'disk.raw'), join(into, 'web-disk1.raw'));
    } finally {
      await removeGuest(host, name).catch(() => {});
    }
    // A disk beside the .ovf that is a symlink is refused before anything reads it.
    const linked = join(src, 'dirlink');
    mkdirSync(linked);
    writeFileSync(join(linked, 'web.ovf'), ovfText());
    symlinkSync(join(dir, 'web-disk1.vmdk'), join(linked, 'web-disk1.vmdk'));
    await expect(inspectOva(host, join(linked, 'web.ovf'))).rejects.toThrow(/web-disk1\.vmdk is not a regular file \(a symlink or a directory\)/);
  });

  it('refuses a "disk" that is a vmdk descriptor naming a host file, even with a matching digest', async () => {
    const dir = join(src, 'hostile');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'web-disk1.vmdk'), '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\nRW 16 FLAT "/etc/passwd" 0\n');
    writeFileSync(join(dir, 'web.ovf'), ovfText());
    writeFileSync(join(dir, 'web.mf'), `SHA256(web.ovf)= ${sha256(join(dir, 'web.ovf'))}\nSHA256(web-disk1.vmdk)= ${sha256(join(dir, 'web-disk1.vmdk'))}\n`);
    const ova = join(src, 'hostile.ova');
    sh('tar', '-cf', ova, '-C', dir, 'web.ovf', 'web.mf', 'web-disk1.vmdk');
    const into = join(scratch.dir, 'images-hostile');
    mkdirSync(into);
    const prepared = await prepareOvaImport(host, ova, { ...req, destDir: into, name: 'vdtest-ova-hostile', start: false });
    const r = await runOvaImport(host, prepared);
    expect(r.state).toBe('failed');
    expect(r.error?.sentence).toBe('web-disk1.vmdk is not a sparse vmdk (streamOptimized), the only disk an OVA holds.');
    expect(readdirSync(into)).toEqual([]);
  });

  it('refuses a descriptor that does not match the manifest, and a manifest without the disk, before reading any disk', async () => {
    const dir = join(src, 'mf');
    mkdirSync(dir, { recursive: true });
    sh('qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', join(src, 'disk.raw'), join(dir, 'web-disk1.vmdk'));
    writeFileSync(join(dir, 'web.ovf'), ovfText());
    const pack = (name: string, mf: string) => {
      writeFileSync(join(dir, 'web.mf'), mf);
      const ova = join(src, `${name}.ova`);
      sh('tar', '-cf', ova, '-C', dir, 'web.ovf', 'web.mf', 'web-disk1.vmdk');
      return ova;
    };
    const bad = pack('badovf', `SHA256(web.ovf)= ${'0'.repeat(64)}\nSHA256(web-disk1.vmdk)= ${sha256(join(dir, 'web-disk1.vmdk'))}\n`);
    await expect(inspectOva(host, bad)).rejects.toThrow(/^web\.ovf does not match its SHA256 in web\.mf: the package was changed or damaged after it was made\./);
    const partial = pack('nodisk', `SHA256(web.ovf)= ${sha256(join(dir, 'web.ovf'))}\n`);
    await expect(inspectOva(host, partial)).rejects.toThrow(/web\.mf in .*nodisk\.ova has no digest for web-disk1\.vmdk, so it cannot be checked\./);
  });
});
