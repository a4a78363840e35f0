import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { dumpXml } from '../../src/host/virsh.js';
import { defineEdited } from '../../src/jobs/defineEdited.js';
import {
  attachIso,
  type DomainDoc,
  getSettings,
  parseDomainXml,
  serializeDomainXml,
  setDiskBus,
  setMemory,
  setVnc,
} from '../../src/model/domainXml.js';
import { UserError } from '../../src/model/userError.js';
import { localHost } from '../helpers/tinyGuest.js';

/**
 * Real libvirtd (qemu:///system), nothing started: each guest shape that libvirt used to reject or
 * silently undo is defined under a vdt12x- name, edited through the model, defined with the
 * read-back check the console and the CLI use (defineEdited), and read back from libvirt.
 */

const PREFIX = 'vdt12x-xml-';
const exec = new LocalExecutor();
const host = localHost(exec);
const defined = new Set<string>();

async function virsh(...args: string[]): Promise<string> {
  return (await exec.run(['virsh', '-c', host.uri, ...args])).stdout;
}

async function undefineQuietly(name: string): Promise<void> {
  await exec.run(['virsh', '-c', host.uri, 'undefine', name, '--nvram'], { okExitCodes: [1] });
}

/** Defines a guest from devices and extra top-level XML; returns libvirt's inactive dump. */
async function defineGuest(name: string, top: string, devices: string): Promise<string> {
  const xml = `<domain type='qemu'><name>${name}</name><uuid>${randomUUID()}</uuid><memory unit='KiB'>1048576</memory><vcpu placement='static'>4</vcpu>${top}<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>${devices}</devices></domain>`;
  defined.add(name);
  await defineEdited(host, xml, xml);
  return dumpXml(host, name, { inactive: true });
}

async function edit(name: string, change: (d: DomainDoc) => DomainDoc): Promise<DomainDoc> {
  const before = await dumpXml(host, name, { inactive: true });
  await defineEdited(host, before, serializeDomainXml(change(parseDomainXml(before))));
  return parseDomainXml(await dumpXml(host, name, { inactive: true }));
}

const NUMA = "<cpu><numa><cell id='0' cpus='0-1' memory='524288' unit='KiB'/><cell id='1' cpus='2-3' memory='524288' unit='KiB'/></numa></cpu>";

beforeAll(async () => {
  const names = (await virsh('list', '--all', '--name')).split('\n').map((s) => s.trim());
  for (const name of names.filter((n) => n.startsWith(PREFIX))) await undefineQuietly(name);
});

afterAll(async () => {
  for (const name of defined) await undefineQuietly(name);
});

describe('edits take effect in libvirt, read back after define', () => {
  it('memory on a NUMA guest: the cells carry the new size', async () => {
    const name = `${PREFIX}numa`;
    await defineGuest(name, NUMA, '');
    const doc = await edit(name, (d) => setMemory(d, 2097152));
    expect(getSettings(doc).memoryKiB).toBe(2097152);
    expect(serializeDomainXml(doc)).toContain("<cell id='1' cpus='2-3' memory='1048576' unit='KiB'/>");
  });

  it('an edit libvirt accepts but does not keep is refused, and the previous definition is put back', async () => {
    const name = `${PREFIX}lost`;
    const before = await defineGuest(name, NUMA, '');
    // What setMemory wrote before it scaled the cells: <memory> alone, which libvirt overrides.
    const lost = before.replace(/<memory unit='KiB'>1048576<\/memory>/, "<memory unit='KiB'>2097152</memory>");
    expect(lost).not.toBe(before);
    const error = await defineEdited(host, before, lost).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).sentence).toMatch(/did not keep: memory 2097152 KiB \(it has 1048576 KiB\); its previous definition is back\./);
    expect(await dumpXml(host, name, { inactive: true })).toBe(before);
  });

  it('VNC on a UNIX socket moves to a TCP port', async () => {
    const name = `${PREFIX}vnc`;
    const dumped = await defineGuest(name, '', "<graphics type='vnc' socket='/run/vdt12x-vnc.sock'><listen type='socket' socket='/run/vdt12x-vnc.sock'/></graphics>");
    expect(dumped).toContain('socket=');
    const doc = await edit(name, (d) => setVnc(d, { port: 5977 }));
    expect(getSettings(doc).vnc?.port).toBe(5977);
    expect(serializeDomainXml(doc)).not.toContain('socket');
  });

  it('a virtio disk with an iothread and a virtio model moves to SATA', async () => {
    const name = `${PREFIX}bus`;
    await defineGuest(
      name,
      '<iothreads>1</iothreads>',
      "<disk type='file' device='disk' model='virtio-non-transitional'><driver name='qemu' type='qcow2' iothread='1' queues='2' packed='on'/><source file='/srv/vm/vdt12x.qcow2'/><target dev='vda' bus='virtio'/></disk>",
    );
    const doc = await edit(name, (d) => setDiskBus(d, 'vda', 'sata'));
    expect(getSettings(doc).disks[0]).toMatchObject({ target: 'sda', bus: 'sata', source: '/srv/vm/vdt12x.qcow2' });
  });

  it('an ISO goes on SATA when hda–hdd are taken', async () => {
    const name = `${PREFIX}ide`;
    const ide = ['hda', 'hdb', 'hdc', 'hdd'].map((t) => `<disk type='file' device='disk'><source file='/srv/vm/vdt12x-${t}.img'/><target dev='${t}' bus='ide'/></disk>`);
    await defineGuest(name, '', ide.join(''));
    const doc = await edit(name, (d) => attachIso(d, '/srv/iso/vdt12x.iso'));
    expect(getSettings(doc).disks.at(-1)).toMatchObject({ device: 'cdrom', bus: 'sata', source: '/srv/iso/vdt12x.iso' });
  });

  it('CRLF, a BOM, character references and line ends in attributes read as libvirt reads them', async () => {
    const name = `${PREFIX}text`;
    const raw =
      `\uFEFF<domain type='qemu'>\r\n  <name>${name}</name>\r\n  <uuid>${randomUUID()}</uuid>\r\n  <title>caf&#233;</title>\r\n` +
      "  <description>one\r\ntwo&#13;&#x41;\tend</description>\r\n  <memory unit='KiB'>65536</memory>\r\n  <os><type arch='x86_64' machine='pc'>hvm</type></os>\r\n" +
      "  <devices><disk type='file' device='disk'><source file='/srv/vm/a\r\nb&#10;c'/><target dev='vda' bus='virtio'/></disk></devices>\r\n</domain>\r\n";
    defined.add(name);
    // Plain define: a line end inside a path is against the schema, but not against libxml2.
    const dir = mkdtempSync(join(tmpdir(), PREFIX));
    writeFileSync(join(dir, 'raw.xml'), raw);
    await virsh('define', join(dir, 'raw.xml'));
    rmSync(dir, { recursive: true });
    // libvirt's own dump is the yardstick, byte for byte: it writes the characters it read
    // (a CR or LF from a reference included) and does not read them back the same way either.
    const dumped = await dumpXml(host, name, { inactive: true });
    const pick = (xml: string) => xml.match(/<title>[\s\S]*<\/description>|<source file=[^>]*>/g);
    expect(pick(serializeDomainXml(parseDomainXml(raw)))).toEqual(pick(dumped));
    expect(pick(dumped)).toEqual(['<title>café</title>\n  <description>one\ntwo\rA\tend</description>', "<source file='/srv/vm/a b\nc'/>"]);
  });
});
