import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { cliArgv } from '../helpers/cli.js';
import { qemuImg, qemuIo, runDir, sha256, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * A backup run's domain.xml is outside input: a run that sat on a NAS for a year may carry
 * `<qemu:commandline>`, an `<emulator>` of its own, a host file as a disk, serial port or kernel,
 * a `<filesystem>` of / or a `<hostdev>`. Once libvirt defines (and starts) such a guest, QEMU
 * reads, writes or runs host files as root's delegate. Every such run is valid (each sha256 in its
 * manifest matches), so only the domain.xml gate can stop it: `backup restore --as` exits 2 naming
 * the element, no guest is defined, the marker file is untouched and no emulator ran.
 */

const URI = 'qemu:///system';
const root = resolve(import.meta.dirname, '../..');
const host = localHost();
const scratch = scratchDir('vdsec-rx-');
const home = join(scratch.dir, 'home');
const dest = join(scratch.dir, 'dest');
const to = join(scratch.dir, 'to');
const SRC = 'vdsec-rx-src';
const OVER = 'vdsec-rx-over';
const CLEAN = 'vdsec-rx-clean';
const marker = join(scratch.dir, 'marker');
const MARKER_TEXT = 'the host file a hostile run reaches for\n';
/** World-writable, so the emulator script can leave its trace as whatever user libvirt runs it. */
const traceDir = join(scratch.dir, 'trace');
const ran = join(traceDir, 'emulator-ran');
const script = join(scratch.dir, 'emulator.sh');
const overDisk = join(scratch.dir, `${OVER}.qcow2`);

/** [case, what the refusal names, the hostile part and where it goes]. */
const CASES: { id: string; names: RegExp; top?: string; devices?: string; os?: string; emulator?: string }[] = [
  { id: 'qemucmd', names: /<qemu:commandline>/, top: `<qemu:commandline><qemu:arg value='-chardev'/><qemu:arg value='file,id=vdsecrx,path=${marker}'/></qemu:commandline>` },
  { id: 'emulator', names: /<emulator>.*emulator\.sh/, emulator: script },
  { id: 'filesystem', names: /<filesystem>/, devices: "<filesystem type='mount' accessmode='passthrough'><source dir='/'/><target dir='hostroot'/></filesystem>" },
  { id: 'hostdev', names: /<hostdev>/, devices: "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x00' slot='0x1f' function='0x7'/></source></hostdev>" },
  { id: 'serial', names: /<serial type='file'>/, devices: `<serial type='file'><source path='${marker}'/><target port='1'/></serial>` },
  { id: 'kernel', names: /<kernel>/, os: `<kernel>${marker}</kernel>` },
];
const runs: Record<string, string> = {};
let cleanRun = '';
let extraDiskRun = '';
/** A run of a guest not defined here whose manifest puts its raw disk where a host program reads it. */
const GONE = 'vdsec-rx-gone';
const planted = join(scratch.dir, 'cron.d', 'vdsec-rx-owned');
let plantRun = '';
let markerBefore: { text: string; uid: number; gid: number; mode: number };

function runXml(name: string, c: { top?: string; devices?: string; os?: string; emulator?: string }, disk: string): string {
  return tinyGuestXml(name, { disk })
    .replace("<domain type='qemu'>", "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>")
    .replace('</os>', `${c.os ?? ''}</os>`)
    .replace('<devices>', `<devices>${c.emulator ? `<emulator>${c.emulator}</emulator>` : ''}${c.devices ?? ''}`)
    .replace('</domain>', `${c.top ?? ''}</domain>`);
}

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: home, NO_COLOR: '1' },
  });
}

async function guests(): Promise<string[]> {
  const r = await execa('virsh', ['-c', URI, 'list', '--all', '--name'], { reject: false });
  return r.stdout.split('\n').map((l) => l.trim()).filter((n) => n.startsWith('vdsec-rx-'));
}

function markerNow() {
  const s = statSync(marker);
  return { text: readFileSync(marker, 'utf8'), uid: s.uid, gid: s.gid, mode: s.mode };
}

const asNew = (c: string) => `vdsec-rx-${c}`;

beforeAll(async () => {
  for (const c of CASES) await removeGuest(host, asNew(c.id));
  await removeGuest(host, CLEAN);
  await removeGuest(host, OVER);
  mkdirSync(home, { recursive: true });
  mkdirSync(to, { recursive: true });
  mkdirSync(traceDir, { recursive: true });
  chmodSync(traceDir, 0o777);
  writeFileSync(marker, MARKER_TEXT, { mode: 0o600 });
  writeFileSync(script, `#!/bin/sh\ntouch ${ran}\nexec /usr/bin/qemu-system-x86_64 "$@"\n`, { mode: 0o755 });
  markerBefore = markerNow();
  // One valid run per case (sha256 in the manifest right), a day apart.
  const source = `/var/lib/libvirt/images/${SRC}.qcow2`;
  const disk = { target: 'vda', sourcePath: source, virtualSize: 8 << 20 };
  const all: { id: string; top?: string; devices?: string; os?: string; emulator?: string }[] = [...CASES, { id: 'clean' }];
  for (const [i, c] of all.entries()) {
    const at = new Date(Date.UTC(2026, 5, 1 + i, 2));
    qemuImg('create', '-q', '-f', 'qcow2', join(runDir(dest, SRC, at, 'full'), 'vda.qcow2'), '8M');
    const clean = c.id === 'clean';
    // The clean run still carries a cdrom whose media is the marker: harmless to drop, so dropped with a note.
    const xml = clean
      ? runXml(SRC, { devices: `<disk type='file' device='cdrom'><source file='${marker}'/><target dev='sdb' bus='sata'/><readonly/></disk>` }, source)
      : runXml(SRC, c, source);
    const name = writeRun(dest, SRC, { at, kind: 'full', disks: [disk], domainXml: xml }).name;
    if (clean) cleanRun = name;
    else runs[c.id] = name;
  }
  // A guest restored over itself: its run names the marker as a second disk it does not have now.
  qemuImg('create', '-q', '-f', 'qcow2', overDisk, '8M');
  qemuIo(overDisk, 'write -P 0xcd 0 1M');
  await virsh.defineXml(host, tinyGuestXml(OVER, { disk: overDisk }));
  const overXml = await virsh.dumpXml(host, OVER, { inactive: true });
  const at = new Date('2026-07-01T02:00:00Z');
  qemuImg('convert', '-O', 'qcow2', overDisk, join(runDir(dest, OVER, at, 'full'), 'vda.qcow2'));
  const extra = `<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${marker}'/><target dev='vdb' bus='virtio'/></disk>`;
  extraDiskRun = writeRun(dest, OVER, {
    at,
    kind: 'full',
    disks: [{ target: 'vda', sourcePath: overDisk, virtualSize: 8 << 20 }],
    domainXml: overXml.replace('</devices>', `${extra}</devices>`),
    uuid: getSettings(parseDomainXml(overXml)).uuid ?? undefined,
  }).name;
  mkdirSync(join(scratch.dir, 'cron.d'));
  const plantAt = new Date('2026-08-01T02:00:00Z');
  const payload = join(scratch.dir, 'payload.raw');
  writeFileSync(payload, Buffer.concat([Buffer.from('* * * * * root touch /tmp/vdsec-rx-owned\n'), Buffer.alloc(1024 * 1024 - 41)]));
  qemuImg('convert', '-q', '-f', 'raw', '-O', 'qcow2', payload, join(runDir(dest, GONE, plantAt, 'full'), 'vda.qcow2'));
  plantRun = writeRun(dest, GONE, {
    at: plantAt,
    kind: 'full',
    disks: [{ target: 'vda', sourcePath: planted, sourceFormat: 'raw', virtualSize: 1 << 20 }],
    domainXml: tinyGuestXml(GONE, { disk: planted }),
  }).name;
}, 120_000);

afterAll(async () => {
  for (const c of CASES) await removeGuest(host, asNew(c.id));
  await removeGuest(host, CLEAN);
  await removeGuest(host, OVER);
  await removeGuest(host, GONE);
  scratch.remove();
});

describe('backup restore refuses a run whose domain.xml reaches the host', () => {
  for (const c of CASES) {
    it(`${c.id}: exit 2 naming the element, no guest defined, marker untouched, no emulator ran`, async () => {
      const name = asNew(c.id);
      const r = await cli('backup', 'restore', SRC, runs[c.id] as string, '--as', name, '--to', to, '--dest', dest);
      expect(await guests()).not.toContain(name);
      expect(existsSync(ran)).toBe(false);
      expect(markerNow()).toEqual(markerBefore);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(c.names);
      expect(r.stderr).toContain(join(dest, SRC, runs[c.id] as string, 'domain.xml'));
      expect(existsSync(join(to, `${name}-vda.qcow2`))).toBe(false);
    }, 90_000);
  }

  it('--dry-run refuses the same way', async () => {
    const r = await cli('backup', 'restore', SRC, runs.qemucmd as string, '--as', asNew('qemucmd'), '--to', to, '--dest', dest, '--dry-run');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/<qemu:commandline>/);
  }, 60_000);

  it('over the guest itself: a disk it does not have now (the marker) is refused; the definition and disk stay', async () => {
    const before = await virsh.dumpXml(host, OVER, { inactive: true });
    const diskBefore = sha256(overDisk);
    const r = await cli('backup', 'restore', OVER, extraDiskRun, '--dest', dest, '--delete-old');
    expect(await virsh.dumpXml(host, OVER, { inactive: true })).toBe(before);
    expect(sha256(overDisk)).toBe(diskBefore);
    expect(markerNow()).toEqual(markerBefore);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(marker);
    expect(r.stderr).toMatch(/vdb/);
  }, 90_000);

  it('over the guest itself with --keep-xml: the run\'s XML is not used, so the same run restores the disk and the definition stays', async () => {
    const before = await virsh.dumpXml(host, OVER, { inactive: true });
    const r = await cli('backup', 'restore', OVER, extraDiskRun, '--dest', dest, '--keep-xml', '--delete-old');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await virsh.dumpXml(host, OVER, { inactive: true })).toBe(before);
    expect(markerNow()).toEqual(markerBefore);
  }, 90_000);

  it('over a guest not defined here: the run cannot choose where a root-owned file is written', async () => {
    const r = await cli('backup', 'restore', GONE, plantRun, '--dest', dest);
    expect(existsSync(planted)).toBe(false);
    expect(existsSync(`${planted}.virtdeck-restore-tmp`)).toBe(false);
    expect(await guests()).not.toContain(GONE);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(planted);
    expect(r.stderr).toMatch(/--as/);
  }, 90_000);

  it('a clean run still restores as a new guest; the cdrom media it named is left out, and the plan says so', async () => {
    const dry = await cli('backup', 'restore', SRC, cleanRun, '--as', CLEAN, '--to', to, '--dest', dest, '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`${marker} was left out`);
    const r = await cli('backup', 'restore', SRC, cleanRun, '--as', CLEAN, '--to', to, '--dest', dest);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await virsh.domState(host, CLEAN)).toBe('shut off');
    const xml = await virsh.dumpXml(host, CLEAN, { inactive: true });
    expect(xml).not.toContain(marker);
    expect(getSettings(parseDomainXml(xml)).disks.find((d) => d.target === 'vda')?.source).toBe(join(to, `${CLEAN}-vda.qcow2`));
    expect(markerNow()).toEqual(markerBefore);
    await removeGuest(host, CLEAN);
  }, 120_000);
});
