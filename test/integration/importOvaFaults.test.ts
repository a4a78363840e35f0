/**
 * kill -9 of `virtdeck import ova` while it reads the archive (the disk half written into its
 * private directory), then recovery the way a restarted virtdeck does it: rollback leaves nothing
 * (no extraction directory, no image, no guest); finish reads the archive again from the start and
 * imports the guest with the data intact.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal, listJournals } from '../../src/jobs/journal.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { finishJob, rollbackJob } from '../../src/jobs/runner.js';
import { cliArgv } from '../helpers/cli.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-ovaf-');
const GUEST = 'vdtest-ovaf-vm';
const home = join(scratch.dir, 'home');
const dest = join(scratch.dir, 'images');
const ova = join(scratch.dir, 'big.ova');
const raw = join(scratch.dir, 'disk.raw');
const extractDir = join(dest, '.virtdeck-ova-big.ova');
const children = new Set<ChildProcess>();

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(() => {
  mkdirSync(dest, { recursive: true });
  const x = join(scratch.dir, 'x');
  mkdirSync(x);
  // Incompressible data, so the disk member is big enough (128 MiB) to be caught midway.
  sh('qemu-img', 'create', '-q', '-f', 'raw', raw, '256M');
  sh('sh', '-c', `head -c 134217728 /dev/urandom | dd of='${raw}' conv=notrunc bs=1M status=none`);
  sh('qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, join(x, 'big-disk1.vmdk'));
  const ovf = readFileSync(new URL('../fixtures/ovf/dmtf-ovf2.ovf', import.meta.url), 'utf8')
    .replace('appliance-disk1.vmdk', 'big-disk1.vmdk')
    .replace('ovf:capacity="8589934592"', 'ovf:capacity="268435456"')
    .replace('<VirtualSystem ovf:id="appliance">', `<VirtualSystem ovf:id="appliance"><Name>${GUEST}</Name>`);
  writeFileSync(join(x, 'big.ovf'), ovf);
  writeFileSync(join(x, 'big.mf'), `SHA256(big.ovf)= ${sha256(join(x, 'big.ovf'))}\nSHA1(big-disk1.vmdk)= ${createHash('sha1').update(readFileSync(join(x, 'big-disk1.vmdk'))).digest('hex')}\n`);
  sh('tar', '-cf', ova, '-C', x, 'big.ovf', 'big.mf', 'big-disk1.vmdk');
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await removeGuest(host, GUEST).catch(() => {});
  scratch.remove();
});

/** Runs the CLI; SIGKILL once the extracted disk has `bytes` written. */
async function killDuringExtract(bytes: number): Promise<void> {
  const child = spawn(...cliArgv('import', 'ova', ova, '--dest', dest, '--json'), {
    env: { ...process.env, VIRTDECK_HOME: home },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  children.add(child);
  const disk = join(extractDir, 'big-disk1.vmdk');
  const t0 = Date.now();
  while (Date.now() - t0 < 120_000) {
    if (existsSync(disk) && statSync(disk).size >= bytes) break;
    if (child.exitCode !== null) throw new Error(`the import ended (${child.exitCode}) before it was killed`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  children.delete(child);
}

function interrupted(): Journal {
  const js = listJournals(join(home, 'state')).filter((j) => j.record.state === 'running' && j.record.kind === 'import-ova');
  expect(js).toHaveLength(1);
  return Journal.load((js[0] as Journal).path);
}

describe('import ova killed while reading the archive', () => {
  const opts = { host, stateDir: join(home, 'state'), actions: actionsFor('import-ova', host) };
  it('rollback leaves nothing behind', async () => {
    await killDuringExtract(8 << 20);
    expect(statSync(join(extractDir, 'big-disk1.vmdk')).size).toBeLessThan(statSync(ova).size);
    const r = await rollbackJob(interrupted(), opts);
    expect(r.state).toBe('rolled-back');
    expect(existsSync(extractDir)).toBe(false);
    expect(readdirSync(dest)).toEqual([]);
    expect(() => sh('virsh', '-c', host.uri, 'dominfo', GUEST)).toThrow();
  }, 180_000);

  it('finish reads the archive again and imports the guest with its data', async () => {
    await killDuringExtract(8 << 20);
    const r = await finishJob(interrupted(), opts);
    expect(r.state).toBe('done');
    expect(existsSync(extractDir)).toBe(false);
    sh('qemu-img', 'compare', '-f', 'raw', '-F', 'qcow2', raw, join(dest, 'big-disk1.qcow2'));
    expect(sh('virsh', '-c', host.uri, 'domstate', GUEST).trim()).toBe('shut off');
  }, 180_000);
});
