import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareP2v, runP2v } from '../../src/jobs/p2v.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import type { P2vSource } from '../../src/model/p2vPlan.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

/**
 * P2V on the real stack: a raw file with qemu-io patterns stands in for a physical disk, copied
 * (a) as a dump file and (b) over SSH from an sshd this test starts on 127.0.0.1 with throwaway
 * host and client keys. Data identical (qemu-img compare), guest defined with the MAC and bus.
 */
const host = localHost();
const FILE_GUEST = 'vdtest-p2v-file';
const SSH_GUEST = 'vdtest-p2v-ssh';
const scratch = scratchDir('vdtest-p2v-');
const dir = scratch.dir;
const state = join(dir, 'state');
const disk = join(dir, 'physical.raw');
let sshd: ChildProcess | null = null;
let port = 0;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function inactiveXml(name: string): string {
  return execFileSync('virsh', ['-c', host.uri, 'dumpxml', '--inactive', name], { encoding: 'utf8' });
}

beforeAll(async () => {
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', disk, '8M']);
  // An MBR with one partition, then data patterns in and between the partitions; the rest stays sparse.
  execFileSync('sfdisk', ['-q', disk], { input: 'label: dos\nstart=2048, size=8192, type=7\n' });
  execFileSync('qemu-io', ['-f', 'raw', '-c', 'write -P 0xab 1M 512k', '-c', 'write -P 0xcd 6M 64k', '-c', 'write -P 0x11 8128k 64k', disk]);

  port = await freePort();
  const keys = join(dir, 'keys');
  mkdirSync(keys, { mode: 0o700 });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'client')]);
  writeFileSync(join(keys, 'authorized_keys'), readFileSync(join(keys, 'client.pub')));
  writeFileSync(join(keys, 'sshd_config'), '');
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(keys, 'sshd_config'), '-p', String(port), '-h', join(keys, 'host'), '-o', 'ListenAddress=127.0.0.1', '-o', 'PermitRootLogin=prohibit-password', '-o', 'StrictModes=no', '-o', `AuthorizedKeysFile=${join(keys, 'authorized_keys')}`, '-o', 'UsePAM=no', '-o', 'PidFile=none'], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      execFileSync('ssh', [...sshOpts(), 'root@127.0.0.1', 'true'], { stdio: 'ignore' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('the test sshd did not start');
}, 60_000);

function sshOpts(): string[] {
  return ['-p', String(port), '-i', join(dir, 'keys', 'client'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
}

afterAll(async () => {
  if (sshd?.pid) process.kill(sshd.pid, 'SIGTERM');
  await removeGuest(host, FILE_GUEST);
  await removeGuest(host, SSH_GUEST);
  scratch.remove();
});

describe('P2V from a raw dump file', () => {
  it('copies sparse to qcow2, verifies, and defines an IDE guest with the MAC kept', async () => {
    const out = join(dir, 'file-out');
    mkdirSync(out);
    const prepared = await prepareP2v(host, { source: { kind: 'file', path: disk }, name: FILE_GUEST, destDir: out, format: 'qcow2', macs: ['00:50:56:12:34:56'], memoryMiB: 64, bus: 'ide' });
    expect(prepared.refusals).toEqual([]);
    expect(prepared.source.sizeBytes).toBe(8 * 1024 * 1024);
    expect(prepared.source.partitionTable).toBe('dos');
    expect(prepared.source.partitions).toEqual([expect.objectContaining({ sizeBytes: 8192 * 512, type: '7' })]);
    expect(prepared.request.osType).toBe('windows');
    const plan = prepared.plan;
    if (!plan) throw new Error('refused');
    expect(plan.steps.map((s) => s.id)).toEqual(['copy', 'compare', 'place', 'define', 'cleanup']);
    const percents: number[] = [];
    const r = await runP2v(host, plan, { stateDir: state, onEvent: (e) => e.type === 'progress' && percents.push(e.progress.percent) });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const image = join(out, `${FILE_GUEST}.qcow2`);
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', disk, image]);
    expect(readdirSync(out)).toEqual([`${FILE_GUEST}.qcow2`]);
    const g = summarizeDomainXml(inactiveXml(FILE_GUEST));
    expect(g.disks).toEqual([expect.objectContaining({ bus: 'ide', target: 'hda', source: image, format: 'qcow2' })]);
    expect(g.nics.map((n) => [n.mac, n.model])).toEqual([['00:50:56:12:34:56', 'e1000']]);
    expect(inactiveXml(FILE_GUEST)).toMatch(/<domain type='(qemu|kvm)'/);
  }, 60_000);

  it('refuses an existing guest name and an existing image', async () => {
    const out = join(dir, 'file-out');
    const prepared = await prepareP2v(host, { source: { kind: 'file', path: disk }, name: FILE_GUEST, destDir: out, macs: ['00:50:56:12:34:56'] });
    expect(prepared.plan).toBeNull();
    expect(prepared.refusals.map((e) => e.sentence).join('\n')).toMatch(/already exists[\s\S]*never overwrites/);
  });
});

describe('P2V over SSH', () => {
  it('streams the remote "disk" sparse, checks both sha256s, and defines a SATA guest with the source MACs', async () => {
    const out = join(dir, 'ssh-out');
    mkdirSync(out);
    const source: P2vSource = { kind: 'ssh', destination: 'root@127.0.0.1', device: disk, port, identityFile: join(dir, 'keys', 'client'), sshOptions: ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'] };
    const prepared = await prepareP2v(host, { source, name: SSH_GUEST, destDir: out, format: 'raw', bus: 'sata', memoryMiB: 64 });
    expect(prepared.refusals).toEqual([]);
    // Prefilled from the "physical" machine: CPUs, memory, NICs, partitions.
    expect(prepared.source.vcpus).toBe(Number(execFileSync('nproc', { encoding: 'utf8' }).trim()));
    expect(prepared.source.memoryKiB).toBeGreaterThan(0);
    expect(prepared.source.partitionTable).toBe('dos');
    expect(prepared.request.verifyRemote).toBe(true);
    const plan = prepared.plan;
    if (!plan) throw new Error('refused');
    expect(plan.steps.map((s) => s.id)).toEqual(['stream', 'check-stream', 'verify-remote', 'place', 'define', 'cleanup']);
    const logs: string[] = [];
    let lastFraction = 0;
    const r = await runP2v(host, plan, {
      stateDir: state,
      onEvent: (e) => {
        if (e.type === 'log') logs.push(e.line);
        if (e.type === 'progress') lastFraction = e.progress.percent;
      },
    });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    expect(lastFraction).toBe(100);
    expect(logs.some((l) => /matches the stream/.test(l))).toBe(true);
    expect(logs.some((l) => /on the source matches/.test(l))).toBe(true);
    const image = join(out, `${SSH_GUEST}.raw`);
    execFileSync('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', disk, image]);
    // Written sparse: far fewer blocks than the 8 MiB it holds.
    expect(statSync(image).blocks * 512).toBeLessThan(2 * 1024 * 1024);
    expect(readdirSync(out)).toEqual([`${SSH_GUEST}.raw`]);
    const g = summarizeDomainXml(inactiveXml(SSH_GUEST));
    expect(g.disks).toEqual([expect.objectContaining({ bus: 'sata', source: image, format: 'raw' })]);
    const expected = prepared.source.nics.map((n) => n.mac);
    expect(g.nics.map((n) => n.mac)).toEqual(expected.length > 0 ? expected : prepared.request.macs);
    expect(g.nics.every((n) => n.model === 'e1000')).toBe(true);
    expect(existsSync(`${image}.sha256`)).toBe(false);
  }, 60_000);
});
