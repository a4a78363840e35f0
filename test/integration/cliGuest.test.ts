import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { detectAccel, domainTypeFor } from '../../src/host/kvm.js';
import { cliArgv } from '../helpers/cli.js';

/**
 * The real CLI (TypeScript sources through tsx) against qemu:///system, on one tiny guest of its
 * own: 64 MiB, a 1 MiB qcow2 without an OS (so it ignores ACPI shutdown), user networking.
 */

const URI = 'qemu:///system';
const GUEST = `vdtest-cli-${process.pid}`;
const root = path.resolve(import.meta.dirname, '../..');
let dir = '';
let disk = '';

function virsh(...args: string[]) {
  return execa('virsh', ['-c', URI, ...args], { reject: false });
}

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: dir, NO_COLOR: '1' },
  });
}

async function inactiveXml(): Promise<string> {
  return (await virsh('dumpxml', '--inactive', GUEST)).stdout;
}

async function state(): Promise<string> {
  return (await virsh('domstate', GUEST)).stdout.trim();
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'vdtest-cli-'));
  // QEMU runs as libvirt-qemu and must get through the directory to the disk.
  await chmod(dir, 0o755);
  disk = path.join(dir, `${GUEST}.qcow2`);
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '1M']);
  const { accel } = await detectAccel(new LocalExecutor());
  const xml = `<domain type='${domainTypeFor(accel)}'>
  <name>${GUEST}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
    <interface type='user'><mac address='52:54:00:c1:00:01'/><model type='virtio'/></interface>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>`;
  const file = path.join(dir, `${GUEST}.xml`);
  await writeFile(file, xml);
  const r = await virsh('define', file);
  expect(r.stderr).toBe('');
});

afterAll(async () => {
  if ((await virsh('domstate', GUEST)).exitCode === 0) {
    await virsh('destroy', GUEST);
    await virsh('undefine', GUEST, '--nvram');
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('virtdeck guest on qemu:///system', () => {
  it('list --json contains the guest; the table fits 80 columns', async () => {
    const json = await cli('guest', 'list', '--json');
    expect(json.exitCode).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.ok).toBe(true);
    const mine = parsed.guests.find((g: { name: string }) => g.name === GUEST);
    expect(mine).toMatchObject({ state: 'shut off', vcpus: 1, memoryKiB: 65536, nics: [{ mac: '52:54:00:c1:00:01' }] });
    const table = await cli('guest', 'list');
    expect(table.stdout).toMatch(new RegExp(`^${GUEST}\\s+shut off\\s+1\\s+64M\\s+1 52:54:00:c1:00:01 auto\\s+no$`, 'm'));
    for (const line of table.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('edit --dry-run prints the diff and changes nothing', async () => {
    const before = await inactiveXml();
    const r = await cli('guest', 'edit', GUEST, '--mac', '00:50:56:01:02:03', '--vnc', '5977', '--boot', 'cdrom,hd', '--dry-run');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^-.*52:54:00:c1:00:01/m);
    expect(r.stdout).toMatch(/^\+.*00:50:56:01:02:03/m);
    expect(r.stdout).toMatch(/^\+.*5977/m);
    expect(r.stdout).toMatch(/dry run: nothing defined/);
    expect(await inactiveXml()).toBe(before);
  });

  it('edit defines the change, validated, and dumpxml reflects it', async () => {
    const r = await cli('guest', 'edit', GUEST, '--mac', '00:50:56:01:02:03', '--vnc', '5977', '--listen', '127.0.0.1', '--boot', 'cdrom,hd', '--memory', '96M');
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${GUEST}: defined$`, 'm'));
    const xml = await inactiveXml();
    expect(xml).toContain("<mac address='00:50:56:01:02:03'/>");
    expect(xml).toMatch(/<graphics type='vnc' port='5977' autoport='no' listen='127.0.0.1'>/);
    expect(xml).toMatch(/<boot dev='cdrom'\/>\s*<boot dev='hd'\/>/);
    expect(xml).toContain("<memory unit='KiB'>98304</memory>");
  });

  it('a bad MAC is exit 2 with one sentence and a fix, and nothing changes', async () => {
    const before = await inactiveXml();
    const r = await cli('guest', 'edit', GUEST, '--mac', '00:50:56:01:02:zz');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe(
      'virtdeck: "00:50:56:01:02:zz" is not a MAC address.\n  fix: Write six pairs of hex digits separated by colons, for example 52:54:00:12:34:56.',
    );
    expect(r.stdout).toBe('');
    expect(await inactiveXml()).toBe(before);
  });

  it('a reader that stops early (| head -1) ends the command quietly with exit 0', async () => {
    const [node, argv] = cliArgv('--connect', URI, '--help');
    const r = await execa('bash', ['-c', 'set -o pipefail; "$@" | head -1', 'bash', node, ...argv], {
      reject: false,
      cwd: root,
      env: { VIRTDECK_HOME: dir, NO_COLOR: '1' },
    });
    expect(r.stdout).toMatch(/^Usage: virtdeck/);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });

  it('an unknown guest is exit 2', async () => {
    const r = await cli('guest', 'start', 'vdtest-cli-no-such-guest');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^virtdeck: There is no guest named "vdtest-cli-no-such-guest"/);
  });

  it('start, then shutdown --timeout 2 --force-after forces the OS-less guest off (exit 3)', async () => {
    const started = await cli('guest', 'start', GUEST);
    expect(started.stderr).toBe('');
    expect(started.stdout).toBe(`${GUEST}: started`);
    expect(await state()).toBe('running');
    const again = await cli('guest', 'start', GUEST, '--json');
    expect(JSON.parse(again.stdout)).toEqual({ ok: true, guests: [{ name: GUEST, result: 'already running' }] });

    const t0 = Date.now();
    const stop = await cli('guest', 'shutdown', GUEST, '--timeout', '2', '--force-after');
    expect(stop.exitCode).toBe(3);
    expect(stop.stdout).toMatch(/forced off \(no ACPI shutdown within 2 s\)/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(await state()).toBe('shut off');
  });

  it('undefine refuses without --yes (exit 2, naming the disk), removes with --yes', async () => {
    const refused = await cli('guest', 'undefine', GUEST, '--remove-disks');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`This would remove the definition of ${GUEST} and its disks ${disk}.`);
    expect(refused.stderr).toMatch(/fix: Add --yes/);
    expect((await virsh('domstate', GUEST)).exitCode).toBe(0);

    const removed = await cli('guest', 'undefine', GUEST, '--yes');
    expect(removed.exitCode).toBe(0);
    expect(removed.stdout).toBe(`${GUEST}: removed the definition of ${GUEST}`);
    expect((await virsh('domstate', GUEST)).exitCode).not.toBe(0);
  });
});
