/**
 * `virtdeck import esxi` against an ESXi stand-in: a throwaway sshd on loopback serving a
 * datastore tree (given as --datastores; the real /vmfs is never touched) with a VM whose thin disk
 * has one snapshot (-flat.vmdk under a COWD -delta.vmdk), a VM that is open (.vmx.lck), and a
 * bigger one to kill midway. The imported disk equals a local reference (qemu-img compare), each
 * data file crossed ssh as one stream carrying its sha256, a refusal changes nothing, and a kill -9 during the copy is
 * rolled back or finished by recovery. A second datastore root holds a VM whose disk is one flat
 * file: as qcow2 it is written into the image as it arrives, as raw the copy is the image.
 * A whole import logs in once (the ssh master).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal, listJournals } from '../../src/jobs/journal.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { finishJob, rollbackJob } from '../../src/jobs/runner.js';
import { DIGEST_MARKER } from '../../src/model/esxiStream.js';
import { cliArgv } from '../helpers/cli.js';
import { makeDatastoreRoot, makeEsxiVm, makeFlatEsxiVm } from '../helpers/esxiStandIn.js';
import { runCli } from '../helpers/hostileCli.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-esxi-');
const dir = scratch.dir;
const VOLUMES = join(dir, 'vmfs', 'volumes');
const DEST = join(dir, 'images');
const GUEST = 'vdtest-esxi-web';
const BIG = 'vdtest-esxi-big';
const FLAT_VOLUMES = join(dir, 'flat', 'vmfs', 'volumes');
const FLAT_DEST = join(dir, 'flat-images');
const FLAT = 'vdtest-esxi-one';
const FLAT_RAW = 'vdtest-esxi-oneraw';
let flatFile = '';
const home = join(dir, 'home');
let sshd: ThrowawaySshd;
const children = new Set<ChildProcess>();

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function sshFlags(key = sshd.keyFile, volumes = VOLUMES): string[] {
  return ['--port', String(sshd.port), '--identity', key, '--ssh-option', 'UserKnownHostsFile=/dev/null', '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'LogLevel=ERROR', '--datastores', volumes];
}

/** The ssh masters' private directories now in the temp directory (none may outlive an import). */
const masterDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith('virtdeck-ssh-'));

beforeAll(async () => {
  mkdirSync(join(dir, 'sshd'));
  mkdirSync(DEST);
  const store = makeDatastoreRoot(VOLUMES);
  makeEsxiVm(join(store, GUEST), GUEST, {
    bytes: 8 << 20,
    reference: join(dir, 'web-ref.raw'),
    fill: (f) => sh('sh', '-c', `head -c 3000000 /dev/urandom | dd of='${f}' conv=notrunc status=none`),
  });
  // Open in VMware: the lock beside its .vmx.
  makeEsxiVm(join(store, 'vdtest-esxi-on'), 'vdtest-esxi-on', { bytes: 1 << 20, reference: join(dir, 'on-ref.raw'), fill: () => {}, mac: '00:50:56:0a:0b:0d' });
  mkdirSync(join(store, 'vdtest-esxi-on', 'vdtest-esxi-on.vmx.lck'));
  makeEsxiVm(join(store, BIG), BIG, {
    bytes: 64 << 20,
    reference: join(dir, 'big-ref.raw'),
    fill: (f) => sh('sh', '-c', `head -c ${56 << 20} /dev/urandom | dd of='${f}' conv=notrunc bs=1M status=none`),
    mac: '00:50:56:0a:0b:0e',
  });
  // Data, a 3 MiB run of zeros (holes to keep), data.
  mkdirSync(FLAT_DEST);
  flatFile = makeFlatEsxiVm(join(makeDatastoreRoot(FLAT_VOLUMES), FLAT), FLAT, {
    bytes: 8 << 20,
    fill: (f) => sh('sh', '-c', `head -c 2000000 /dev/urandom | dd of='${f}' conv=notrunc status=none && head -c 1500000 /dev/urandom | dd of='${f}' bs=1M seek=5 conv=notrunc status=none`),
    mac: '00:50:56:0a:0b:0f',
  });
  sshd = await startThrowawaySshd(join(dir, 'sshd'));
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  sshd?.stop();
  await removeGuest(host, GUEST).catch(() => {});
  await removeGuest(host, BIG).catch(() => {});
  await removeGuest(host, FLAT).catch(() => {});
  await removeGuest(host, FLAT_RAW).catch(() => {});
  scratch.remove();
});

describe('import esxi over ssh (stand-in)', () => {
  it('lists every VM once with its power state, in one ssh command', async () => {
    sshd.clearCommands();
    const r = await runCli(['import', 'esxi', 'root@127.0.0.1', ...sshFlags(), '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const vms = JSON.parse(r.stdout).vms as { name: string; power: string; datastore: string; vmx: string }[];
    expect(vms.map((v) => [v.name, v.power, v.datastore])).toEqual([
      [BIG, 'off', 'datastore1'],
      ['vdtest-esxi-on', 'on', 'datastore1'],
      [GUEST, 'off', 'datastore1'],
    ]);
    expect(vms[2]?.vmx).toBe(`${VOLUMES}/datastore1/${GUEST}/${GUEST}.vmx`);
    expect(sshd.commands()).toHaveLength(1);
  }, 60_000);

  it('imports a flat disk with a delta snapshot with the data intact, each data file over one stream', async () => {
    sshd.clearCommands();
    const dry = await runCli(['import', 'esxi', 'root@127.0.0.1', '--vm', GUEST, ...sshFlags(), '--dest', DEST, '--dry-run'], { cwd: dir });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`${GUEST}-flat.vmdk  8.0M`);
    expect(dry.stdout).toMatch(/over ssh; up to \S+ in /);
    expect(readdirSync(DEST)).toEqual([]);
    sshd.clearCommands();
    const logins = sshd.logins();
    const masters = masterDirs();
    const r = await runCli(['import', 'esxi', 'root@127.0.0.1', '--vm', GUEST, ...sshFlags(), '--dest', DEST, '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    // Listing and directory read in one session, both streams in one each, all over one login; its private directory went with it.
    expect(sshd.logins() - logins).toBe(1);
    expect(sshd.commands()).toHaveLength(3);
    expect(masterDirs()).toEqual(masters);
    expect(JSON.parse(r.stdout).name).toBe(GUEST);
    // One stream per data file, the flat base and the delta, each carrying its own sha256 from the same
    // read (no second command reads the file); the descriptors came with the directory read.
    const streams = sshd.commands().filter((c) => c.includes(DIGEST_MARKER));
    expect(streams).toHaveLength(2);
    expect(streams.map((c) => c.slice(c.lastIndexOf(' ') + 1)).sort()).toEqual([`${VOLUMES}/datastore1/${GUEST}/${GUEST}-000001-delta.vmdk`, `${VOLUMES}/datastore1/${GUEST}/${GUEST}-flat.vmdk`].sort());
    expect(sshd.commands().filter((c) => c.includes('-flat.vmdk') && !c.includes(DIGEST_MARKER))).toEqual([]);
    const image = join(DEST, `${GUEST}.qcow2`);
    sh('qemu-img', 'compare', '-f', 'raw', '-F', 'qcow2', join(dir, 'web-ref.raw'), image);
    expect(readdirSync(DEST)).toEqual([`${GUEST}.qcow2`]);
    expect(statSync(image).mode & 0o077).toBe(0);
    const xml = sh('virsh', '-c', host.uri, 'dumpxml', GUEST);
    expect(xml).toContain('00:50:56:0a:0b:0c');
    expect(xml).toContain(image);
  }, 120_000);

  it('refuses a VM that is open (.vmx.lck) in one sentence and changes nothing', async () => {
    const before = readdirSync(DEST);
    sshd.clearCommands();
    const r = await runCli(['import', 'esxi', 'root@127.0.0.1', '--vm', 'vdtest-esxi-on', ...sshFlags(), '--dest', DEST], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/vdtest-esxi-on on root@127\.0\.0\.1 is open: a \.lck lock is beside/);
    expect(readdirSync(DEST)).toEqual(before);
    expect(sshd.commands().some((c) => c.includes(DIGEST_MARKER))).toBe(false);
    expect(() => sh('virsh', '-c', host.uri, 'dominfo', 'vdtest-esxi-on')).toThrow();
  }, 60_000);

  it('says in one sentence why the host refused the login', async () => {
    const other = join(dir, 'other_key');
    sh('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', other);
    const r = await runCli(['import', 'esxi', 'root@127.0.0.1', ...sshFlags(other)], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/root@127\.0\.0\.1 \(port \d+\) refused the login \(ssh said: "root@127\.0\.0\.1: Permission denied/);
    expect(r.stderr).toMatch(/fix: Put your public key into \/etc\/ssh\/keys-root\/authorized_keys on the ESXi host/);
    // With --vm the first login is the ssh master's: the same sentence, and its directory gone.
    const masters = masterDirs();
    const vm = await runCli(['import', 'esxi', 'root@127.0.0.1', '--vm', GUEST, ...sshFlags(other)], { cwd: dir });
    expect(vm.exitCode).toBe(1);
    expect(vm.stderr).toMatch(/root@127\.0\.0\.1 \(port \d+\) refused the login \(ssh said: "root@127\.0\.0\.1: Permission denied/);
    expect(masterDirs()).toEqual(masters);
  }, 60_000);
});

/** Runs the CLI; SIGKILL once the big flat file's temp copy has `bytes`. */
async function killDuringCopy(bytes: number): Promise<void> {
  const child = spawn(...cliArgv('import', 'esxi', 'root@127.0.0.1', '--vm', BIG, ...sshFlags(), '--dest', DEST, '--json'), {
    env: { ...process.env, VIRTDECK_HOME: home },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.add(child);
  const part = join(DEST, `.virtdeck-esxi-datastore1-${BIG}`, `${BIG}-flat.vmdk.part`);
  const t0 = Date.now();
  while (Date.now() - t0 < 120_000) {
    if (existsSync(part) && statSync(part).size >= bytes) break;
    if (child.exitCode !== null) throw new Error(`the import ended (${child.exitCode}) before it was killed`);
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  children.delete(child);
}

function interrupted(): Journal {
  const js = listJournals(join(home, 'state')).filter((j) => j.record.state === 'running' && j.record.kind === 'import-esxi');
  expect(js).toHaveLength(1);
  return Journal.load((js[0] as Journal).path);
}

describe('import esxi of a VM whose disk is one flat file', () => {
  const planOf = async (extra: string[]) => {
    const r = await runCli(['import', 'esxi', 'root@127.0.0.1', '--vm', FLAT, ...sshFlags(sshd.keyFile, FLAT_VOLUMES), '--dest', FLAT_DEST, '--dry-run', '--json', ...extra], { cwd: dir });
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const j = JSON.parse(r.stdout);
    return { steps: j.plan.steps as { id: string; action?: { name: string; args: Record<string, unknown> } }[], copy: j.copy };
  };

  it('as qcow2 writes the stream into the image as it arrives: no raw copy, no convert, the data and its holes intact', async () => {
    const { steps, copy } = await planOf([]);
    expect(steps.map((s) => s.id)).toEqual(['esxi-stage', 'disk0-tempdir', 'esxi-copy0', 'disk0-verify', 'disk0-place', 'disk0-droptemp', 'define', 'esxi-drop']);
    // Nothing is staged: the space needed is the image's, not the copy's twice.
    expect(copy).toMatchObject({ bytes: 8 << 20, neededBytes: 8 << 20 });
    const image = join(FLAT_DEST, `${FLAT}.qcow2`);
    expect(steps[2]?.action?.args).toMatchObject({ out: join(FLAT_DEST, `.${FLAT}.qcow2.virtdeck-tmp`, `${FLAT}.qcow2`), image: { format: 'qcow2', virtualSize: 8 << 20 } });
    const logins = sshd.logins();
    const r = await runCli(['import', 'esxi', 'root@127.0.0.1', '--vm', FLAT, ...sshFlags(sshd.keyFile, FLAT_VOLUMES), '--dest', FLAT_DEST, '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(sshd.logins() - logins).toBe(1);
    sh('qemu-img', 'compare', '-f', 'raw', '-F', 'qcow2', flatFile, image);
    // Most of the 3 MiB of zeros was never sent: unallocated in the image.
    const map = JSON.parse(sh('qemu-img', 'map', '--output=json', '-f', 'qcow2', image)) as { length: number; data: boolean }[];
    expect(map.filter((m) => m.data).reduce((n, m) => n + m.length, 0)).toBeLessThanOrEqual(6 << 20);
    expect(sh('qemu-img', 'check', '-f', 'qcow2', image)).toMatch(/No errors were found/);
    expect(readdirSync(FLAT_DEST)).toEqual([`${FLAT}.qcow2`]);
    expect(statSync(image).mode & 0o077).toBe(0);
    expect(sh('virsh', '-c', host.uri, 'dumpxml', FLAT)).toContain(image);
  }, 120_000);

  it('as raw the checked copy is the image itself, holes kept', async () => {
    const { steps } = await planOf(['--convert', 'raw', '--name', FLAT_RAW]);
    expect(steps.map((s) => s.id)).toEqual(['esxi-stage', 'disk0-tempdir', 'esxi-copy0', 'disk0-place', 'disk0-droptemp', 'define', 'esxi-drop']);
    const r = await runCli(['import', 'esxi', 'root@127.0.0.1', '--vm', FLAT, ...sshFlags(sshd.keyFile, FLAT_VOLUMES), '--dest', FLAT_DEST, '--convert', 'raw', '--name', FLAT_RAW, '--json'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    const image = join(FLAT_DEST, `${FLAT}.raw`);
    expect(readFileSync(image).equals(readFileSync(flatFile))).toBe(true);
    expect(statSync(image).blocks * 512).toBeLessThanOrEqual(6 << 20);
    expect(sh('virsh', '-c', host.uri, 'dumpxml', FLAT_RAW)).toContain(image);
  }, 120_000);
});

describe('import esxi killed during the copy', () => {
  const staging = join(DEST, `.virtdeck-esxi-datastore1-${BIG}`);
  it('rollback leaves nothing behind', async () => {
    const before = readdirSync(DEST).filter((f) => !f.startsWith('.'));
    await killDuringCopy(4 << 20);
    expect(existsSync(join(staging, `${BIG}-flat.vmdk`))).toBe(false);
    const r = await rollbackJob(interrupted(), { host, stateDir: join(home, 'state'), actions: actionsFor('import-esxi', host) });
    expect(r.state).toBe('rolled-back');
    expect(existsSync(staging)).toBe(false);
    expect(readdirSync(DEST)).toEqual(before);
    expect(() => sh('virsh', '-c', host.uri, 'dominfo', BIG)).toThrow();
  }, 180_000);

  it('finish copies the file again from its start and imports the guest with its data', async () => {
    await killDuringCopy(4 << 20);
    const r = await finishJob(interrupted(), { host, stateDir: join(home, 'state'), actions: actionsFor('import-esxi', host) });
    expect(r.state, r.error?.message).toBe('done');
    expect(existsSync(staging)).toBe(false);
    sh('qemu-img', 'compare', '-f', 'raw', '-F', 'qcow2', join(dir, 'big-ref.raw'), join(DEST, `${BIG}.qcow2`));
    expect(sh('virsh', '-c', host.uri, 'domstate', BIG).trim()).toBe('shut off');
  }, 180_000);
});
