import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { runBackup } from '../../src/jobs/backup.js';
import { restore } from '../../src/jobs/restore.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { UserError } from '../../src/model/userError.js';
import { qemuImg, qemuIo, runDir, sha256, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * Whole-guest restore on the real host: a full run and an incremental on top (written by hand:
 * qemu-img convert + a manifest; the incremental's qcow2 backs onto ../FULL/vda.qcow2), restored
 * as a new guest and over the original guest.
 */

const host = localHost();
const scratch = scratchDir('vdtest-rs-restore-');
const dest = join(scratch.dir, 'dest');
const SRC = 'vdtest-rs-src';
const COPY = 'vdtest-rs-copy';
const orig = join(scratch.dir, 'vdtest-rs-src.qcow2');
const MAC = '52:54:00:5a:00:01';
let full = { name: '', dir: '' };
let inc = { name: '', dir: '' };
let runHashes: string[] = [];

const compare = (a: string, b: string) => execFileSync('qemu-img', ['compare', '-q', a, b], { encoding: 'utf8' });

beforeAll(async () => {
  mkdirSync(dest, { recursive: true });
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  qemuImg('create', '-q', '-f', 'qcow2', orig, '8M');
  qemuIo(orig, 'write -P 0xab 0 1M');
  await virsh.defineXml(host, tinyGuestXml(SRC, { disk: orig, mac: MAC }));
  const xml = await virsh.dumpXml(host, SRC, { inactive: true });
  const uuid = getSettings(parseDomainXml(xml)).uuid ?? '';
  const disk = { target: 'vda', sourcePath: orig, virtualSize: 8 << 20 };

  const fullAt = new Date('2026-06-01T02:00:00Z');
  const fullDir = runDir(dest, SRC, fullAt, 'full');
  qemuImg('convert', '-O', 'qcow2', orig, join(fullDir, 'vda.qcow2'));
  full = writeRun(dest, SRC, { at: fullAt, kind: 'full', disks: [disk], domainXml: xml, uuid });

  const incAt = new Date('2026-06-02T02:00:00Z');
  const incDir = runDir(dest, SRC, incAt, 'incremental');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', `../${full.name}/vda.qcow2`, '-F', 'qcow2', join(incDir, 'vda.qcow2'));
  qemuIo(join(incDir, 'vda.qcow2'), 'write -P 0xcd 2M 256k');
  inc = writeRun(dest, SRC, { at: incAt, kind: 'incremental', parent: full.name, disks: [{ ...disk, backing: `../${full.name}/vda.qcow2` }], domainXml: xml, uuid });
  runHashes = [sha256(join(full.dir, 'vda.qcow2')), sha256(join(inc.dir, 'vda.qcow2'))];

  // The guest's disk has moved on since the backups.
  qemuIo(orig, 'write -P 0xee 0 512k');
});

const LIVE = 'vdtest-rs-live';
const LIVE_COPY = 'vdtest-rs-livecopy';

afterAll(async () => {
  // The engine's checkpoints block a plain undefine.
  await host.virshExec.run(['virsh', '-c', host.uri, 'undefine', LIVE, '--checkpoints-metadata'], { okExitCodes: [1] }).catch(() => undefined);
  for (const g of [COPY, SRC, LIVE, LIVE_COPY]) await removeGuest(host, g);
  scratch.remove();
});

describe('backup restore', () => {
  it('restores the incremental as a new guest: new name, UUID, MACs, a standalone disk equal to the chain', async () => {
    const to = join(scratch.dir, 'new');
    mkdirSync(to);
    const r = await restore(host, { guest: SRC, dest, run: inc.name, asName: COPY, toDir: to });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const path = join(to, `${COPY}-vda.qcow2`);
    expect(r.disks.map((d) => d.path)).toEqual([path]);
    expect(existsSync(`${path}.virtdeck-restore-tmp`)).toBe(false);
    const info = JSON.parse(qemuImg('info', '--output=json', path)) as { 'backing-filename'?: string };
    expect(info['backing-filename']).toBeUndefined();
    expect(() => compare(path, join(inc.dir, 'vda.qcow2'))).not.toThrow();

    const src = getSettings(parseDomainXml(await virsh.dumpXml(host, SRC, { inactive: true })));
    const copy = getSettings(parseDomainXml(await virsh.dumpXml(host, COPY, { inactive: true })));
    expect(copy.name).toBe(COPY);
    expect(copy.uuid).not.toBe(src.uuid);
    expect(copy.nics[0]?.mac).not.toBe(MAC);
    expect(copy.nics[0]?.mac).toMatch(/^52:54:00:/);
    expect(copy.disks.find((d) => d.target === 'vda')?.source).toBe(path);
    // The backup itself was not touched.
    expect([sha256(join(full.dir, 'vda.qcow2')), sha256(join(inc.dir, 'vda.qcow2'))]).toEqual(runHashes);
  });

  it('refuses a name in use and an existing file', async () => {
    await expect(restore(host, { guest: SRC, dest, run: inc.name, asName: SRC, toDir: scratch.dir })).rejects.toThrow(UserError);
    const to = join(scratch.dir, 'clash');
    mkdirSync(to);
    writeFileSync(join(to, 'vdtest-rs-other-vda.qcow2'), 'x');
    await expect(restore(host, { guest: SRC, dest, run: inc.name, asName: 'vdtest-rs-other', toDir: to })).rejects.toThrow(/already exists/);
  });

  it('refuses to restore over a running guest', async () => {
    await virsh.start(host, SRC);
    try {
      await expect(restore(host, { guest: SRC, dest, run: full.name })).rejects.toThrow(/shut off/);
    } finally {
      await virsh.destroy(host, SRC);
    }
  });

  it('restores the guest itself from the full run: old disk moved aside, guest boots', async () => {
    const current = sha256(orig);
    const r = await restore(host, { guest: SRC, dest, run: full.name.slice(0, 12) });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    expect(r.run).toBe(full.name);
    const aside = r.disks[0]?.aside ?? '';
    expect(aside).toMatch(/\.virtdeck-before-restore-\d{8}T\d{6}Z$/);
    expect(sha256(aside)).toBe(current);
    expect(r.notes.join(' ')).toContain(aside);
    expect(() => compare(orig, join(full.dir, 'vda.qcow2'))).not.toThrow();
    const settings = getSettings(parseDomainXml(await virsh.dumpXml(host, SRC, { inactive: true })));
    expect(settings.disks.find((d) => d.target === 'vda')?.source).toBe(orig);
    expect(settings.nics[0]?.mac).toBe(MAC);
    await virsh.start(host, SRC);
    expect(await virsh.domState(host, SRC)).toBe('running');
    await virsh.destroy(host, SRC);
  });
});

describe('backup restore of runs made by the backup engine', () => {
  it('a live full + incremental of a running guest restores as a new guest equal to the disk at the incremental', async () => {
    const disk = join(scratch.dir, 'vdtest-rs-live.qcow2');
    const liveDest = join(scratch.dir, 'live-dest');
    mkdirSync(liveDest);
    qemuImg('create', '-q', '-f', 'qcow2', disk, '16M');
    qemuIo(disk, 'write -P 0xab 0 1M');
    const xml = tinyGuestXml(LIVE, { disk }).replace("<target dev='vda' bus='virtio'/>", "<target dev='vda' bus='virtio'/><alias name='ua-vda'/>");
    await virsh.defineXml(host, xml);
    await virsh.start(host, LIVE);
    const state = join(scratch.dir, 'home', 'state');
    const first = await runBackup(host, { guests: [LIVE], dest: liveDest, stateDir: state, log: false });
    expect(first.guests[0]?.error?.sentence).toBeUndefined();
    execFileSync('virsh', ['-c', 'qemu:///system', 'qemu-monitor-command', LIVE, '--hmp', 'qemu-io -d /machine/peripheral/ua-vda/virtio-backend "write -P 0xcd 2M 256k"']);
    const second = await runBackup(host, { guests: [LIVE], dest: liveDest, stateDir: state, log: false });
    expect(second.guests[0]?.error?.sentence).toBeUndefined();
    expect(second.guests[0]?.kind).toBe('incremental');
    await virsh.destroy(host, LIVE);

    const to = join(scratch.dir, 'live-new');
    mkdirSync(to);
    const r = await restore(host, { guest: LIVE, dest: liveDest, asName: LIVE_COPY, toDir: to, stateDir: state });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.run).toBe(second.guests[0]?.run);
    expect(() => compare(join(to, `${LIVE_COPY}-vda.qcow2`), disk)).not.toThrow();
    await virsh.start(host, LIVE_COPY);
    expect(await virsh.domState(host, LIVE_COPY)).toBe('running');
    await virsh.destroy(host, LIVE_COPY);
  }, 120_000);
});
