import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import {
  addDisk,
  attachIso,
  type DomainDoc,
  ejectCdrom,
  getSettings,
  parseDomainXml,
  removeDisk,
  serializeDomainXml,
  setBootOrder,
  setDiskBus,
  setDomainType,
  setEmulator,
  setMac,
  setMemory,
  setName,
  setUuid,
  setVcpus,
  setVnc,
} from '../../src/model/domainXml.js';

/**
 * Real libvirtd (qemu:///system): every fixture libvirt accepts on this host is defined under a
 * vdtest-xml- name, dumped, round-tripped through our parser and defined again; the second dump
 * must equal the first. Then each edit is applied to a dumped definition and checked in libvirt's
 * own dump. Nothing is started: define does not look at disk files, so fixture paths may not exist.
 */

const URI = 'qemu:///system';
const PREFIX = 'vdtest-xml-';
const FIXTURES = join(import.meta.dirname, '../fixtures/domains');
const exec = new LocalExecutor();
const defined = new Set<string>();
let workDir = '';
let hasKvm = false;
let hostEmulator = '';

async function virsh(...args: string[]): Promise<string> {
  return (await exec.run(['virsh', '-c', URI, ...args])).stdout;
}

async function define(doc: DomainDoc): Promise<string> {
  const name = getSettings(doc).name;
  const file = join(workDir, `${name}.xml`);
  writeFileSync(file, serializeDomainXml(doc));
  await virsh('define', '--validate', file);
  defined.add(name);
  return name;
}

/** libvirt's XML ends with one newline; virsh prints another after it. */
async function dump(name: string): Promise<string> {
  return (await virsh('dumpxml', '--inactive', name)).replace(/\n\n$/, '\n');
}

/** Only what differs between hosts: domain type without KVM, and the emulator's path. */
function adaptToHost(doc: DomainDoc): DomainDoc {
  let adapted = hasKvm ? doc : setDomainType(doc, 'qemu');
  const emulator = /<emulator>([^<]+)<\/emulator>/.exec(serializeDomainXml(adapted))?.[1];
  if (emulator && !existsSync(emulator)) adapted = setEmulator(adapted, hostEmulator);
  return adapted;
}

function fixtureDoc(file: string, name: string): DomainDoc {
  const doc = parseDomainXml(readFileSync(join(FIXTURES, file), 'utf8'));
  return adaptToHost(setUuid(setName(doc, name), randomUUID()));
}

async function undefineQuietly(name: string): Promise<void> {
  await exec.run(['virsh', '-c', URI, 'undefine', name, '--nvram'], { okExitCodes: [1] });
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), PREFIX));
  // Leftovers of an earlier interrupted run carry our prefix, so they are ours to remove.
  const names = (await virsh('list', '--all', '--name')).split('\n').map((s) => s.trim());
  for (const name of names.filter((n) => n.startsWith(PREFIX))) await undefineQuietly(name);
  hasKvm = (await exec.run(['virsh', '-c', URI, 'domcapabilities', '--virttype', 'kvm'], { okExitCodes: [1] })).exitCode === 0;
  const caps = await virsh('domcapabilities', '--virttype', hasKvm ? 'kvm' : 'qemu');
  hostEmulator = /<path>([^<]+)<\/path>/.exec(caps)?.[1] ?? '/usr/bin/qemu-system-x86_64';
});

afterAll(async () => {
  for (const name of defined) await undefineQuietly(name);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const fixtureFiles = readdirSync(FIXTURES).filter((f) => f.endsWith('.xml')).sort();

describe('fixtures define and round-trip through libvirt', () => {
  for (const [i, file] of fixtureFiles.entries()) {
    it(`${file}: dumpxml → parse → serialize → define → identical dumpxml`, async () => {
      const name = `${PREFIX}${i + 1}`;
      const original = fixtureDoc(file, name);
      await define(original);
      const first = await dump(name);
      expect(serializeDomainXml(parseDomainXml(first))).toBe(first);
      // libvirt itself is not idempotent on a first define (a q35 guest's added controllers come
      // back sorted the second time), so let it settle on its own output before judging ours.
      const firstFile = join(workDir, `${name}-first.xml`);
      writeFileSync(firstFile, first);
      await virsh('define', firstFile);
      const settled = await dump(name);
      const reserialized = serializeDomainXml(parseDomainXml(settled));
      expect(reserialized).toBe(settled);
      await define(parseDomainXml(reserialized));
      expect(await dump(name)).toBe(settled);

      // libvirt adds defaults (controllers, addresses) but keeps what the fixture says.
      const want = getSettings(original);
      const got = getSettings(parseDomainXml(first));
      expect(got.disks.map(({ target, device, source }) => ({ target, device, source }))).toEqual(
        want.disks.map(({ target, device, source }) => ({ target, device, source })),
      );
      expect(got.nics.map(({ type, source }) => ({ type, source }))).toEqual(want.nics.map(({ type, source }) => ({ type, source })));
      for (const nic of want.nics) if (nic.mac) expect(got.nics[nic.index]?.mac).toBe(nic.mac);
    });
  }
});

describe('edits on a dumped definition are accepted by virsh define --validate', () => {
  const name = `${PREFIX}edit`;
  let doc: DomainDoc;

  async function applyAndRead(edit: (d: DomainDoc) => DomainDoc) {
    doc = parseDomainXml(await dump(name));
    await define(edit(doc));
    doc = parseDomainXml(await dump(name));
    return getSettings(doc);
  }

  beforeAll(async () => {
    await define(fixtureDoc('01-minimal-virtio.xml', name));
  });

  it('setMemory and setVcpus', async () => {
    expect((await applyAndRead((d) => setMemory(d, 98304))).memoryKiB).toBe(98304);
    expect((await applyAndRead((d) => setVcpus(d, 2))).vcpus).toBe(2);
  });

  it('setMac normalises the address', async () => {
    expect((await applyAndRead((d) => setMac(d, 0, '52-54-00-AB-CD-EF'))).nics[0]?.mac).toBe('52:54:00:ab:cd:ef');
  });

  it('setVnc with a fixed port and listen address, then back to auto', async () => {
    expect((await applyAndRead((d) => setVnc(d, { port: 5977, listen: '127.0.0.1' }))).vnc).toEqual({ port: 5977, listen: '127.0.0.1' });
    expect((await applyAndRead((d) => setVnc(d, { port: 'auto' }))).vnc?.port).toBe('auto');
  });

  it('attachIso adds a CD-ROM, ejectCdrom empties it', async () => {
    const withIso = await applyAndRead((d) => attachIso(d, '/srv/iso/vdtest-install.iso'));
    expect(withIso.disks.find((x) => x.device === 'cdrom')).toMatchObject({ target: 'hdc', bus: 'ide', source: '/srv/iso/vdtest-install.iso' });
    const ejected = await applyAndRead((d) => ejectCdrom(d, 'hdc'));
    expect(ejected.disks.find((x) => x.target === 'hdc')).toMatchObject({ device: 'cdrom', source: null });
    expect((await applyAndRead((d) => attachIso(d, '/srv/iso/other.iso'))).disks.filter((x) => x.device === 'cdrom')).toHaveLength(1);
  });

  it('setBootOrder', async () => {
    expect((await applyAndRead((d) => setBootOrder(d, ['cdrom', 'hd']))).bootOrder).toEqual(['cdrom', 'hd']);
  });

  it('setDiskBus to scsi adds a virtio-scsi controller, and back to virtio', async () => {
    const onScsi = await applyAndRead((d) => setDiskBus(d, 'vda', 'scsi'));
    expect(onScsi.disks[0]).toMatchObject({ target: 'sda', bus: 'scsi' });
    expect(serializeDomainXml(doc)).toContain("model='virtio-scsi'");
    expect((await applyAndRead((d) => setDiskBus(d, 'sda', 'virtio'))).disks[0]).toMatchObject({ target: 'vda', bus: 'virtio' });
    expect((await applyAndRead((d) => setDiskBus(d, 'vda', 'sata'))).disks[0]).toMatchObject({ target: 'sda', bus: 'sata' });
  });

  it('addDisk and removeDisk', async () => {
    const added = await applyAndRead((d) => addDisk(d, { source: '/srv/vm/vdtest-extra.qcow2', format: 'qcow2', bus: 'virtio' }));
    expect(added.disks.map((x) => x.target)).toContain('vda');
    expect(added.disks.find((x) => x.target === 'vda')).toMatchObject({ source: '/srv/vm/vdtest-extra.qcow2', format: 'qcow2' });
    expect((await applyAndRead((d) => removeDisk(d, 'vda'))).disks.map((x) => x.target)).not.toContain('vda');
  });

  it('per-device boot order is replaced by os/boot', async () => {
    const perDevice = `${PREFIX}boot`;
    await define(fixtureDoc('08-vnc-fixed-port.xml', perDevice));
    const dumped = parseDomainXml(await dump(perDevice));
    expect(getSettings(dumped).bootOrder).toEqual(['hd', 'network']);
    await define(setBootOrder(dumped, ['network', 'hd']));
    expect(getSettings(parseDomainXml(await dump(perDevice))).bootOrder).toEqual(['network', 'hd']);
  });

  it('q35 guest gets a SATA CD-ROM', async () => {
    const q35 = `${PREFIX}q35`;
    await define(fixtureDoc('16-efi-loader-nvram.xml', q35));
    await define(attachIso(parseDomainXml(await dump(q35)), '/srv/iso/vdtest.iso'));
    const cdrom = getSettings(parseDomainXml(await dump(q35))).disks.find((x) => x.device === 'cdrom');
    expect(cdrom).toMatchObject({ bus: 'sata', target: 'sda', source: '/srv/iso/vdtest.iso' });
  });

  it('setName + setUuid(null) define a new guest beside the original', async () => {
    const copyName = `${PREFIX}copy`;
    const original = getSettings(parseDomainXml(await dump(name)));
    await define(setUuid(setName(parseDomainXml(await dump(name)), copyName), null));
    const copy = getSettings(parseDomainXml(await dump(copyName)));
    expect(copy.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(copy.uuid).not.toBe(original.uuid);
  });
});
