import { mkdirSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { defineXml } from '../../src/host/virsh.js';
import { SECOND_HOSTNAME, type SecondHost, startSecondHost } from '../helpers/secondHost.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';

/** The second host (test/helpers/secondHost.ts) is a libvirt host of its own that libvirt migrates to. */

const GUEST = 'vdtest-sh-guest';
const DIR = '/var/lib/libvirt/images/vdtest-sh';
const DISK = `${DIR}/disk.qcow2`;
const local = localHost();
const sh = new LocalExecutor();
let second: SecondHost;

beforeAll(async () => {
  second = await startSecondHost('vdtest-sh-');
  mkdirSync(DIR, { recursive: true, mode: 0o755 });
}, 60_000);

afterAll(async () => {
  await removeGuest(local, GUEST);
  await second?.stop();
  rmSync(DIR, { recursive: true, force: true });
}, 60_000);

const virsh = (uri: string, ...args: string[]) => sh.run(['virsh', '-c', uri, ...args]);

describe('a second libvirt host on this machine', () => {
  it('has its own host UUID, hostname, guests and /var/lib/libvirt', async () => {
    const caps = (uri: string) => virsh(uri, 'capabilities').then((r) => /<uuid>([^<]+)<\/uuid>/.exec(r.stdout)?.[1]);
    expect(await caps(second.uri)).toBe(second.hostUuid);
    expect(await caps('qemu:///system')).not.toBe(second.hostUuid);
    expect((await virsh(second.uri, 'hostname')).stdout.trim()).toBe(SECOND_HOSTNAME);
    await second.host.sysExec.run(['mkdir', '-m', '755', '-p', DIR]);
    await second.host.sysExec.run(['touch', `${DIR}/only-there`]);
    expect((await sh.run(['ls', DIR])).stdout).not.toContain('only-there');
    expect((await sh.run(['ls', second.localPath(DIR)])).stdout).toContain('only-there');
  });

  it('takes a running guest by live migration with storage copy over 127.0.0.1', async () => {
    await sh.run(['qemu-img', 'create', '-q', '-f', 'qcow2', DISK, '16M']);
    await sh.run(['qemu-io', '-c', 'write -P 0x5a 0 1M', DISK]);
    await second.host.sysExec.run(['qemu-img', 'create', '-q', '-f', 'qcow2', DISK, '16M']);
    await defineXml(local, tinyGuestXml(GUEST, { disk: DISK }));
    await virsh('qemu:///system', 'start', GUEST);
    await virsh('qemu:///system', 'migrate', '--live', '--copy-storage-all', '--persistent', '--undefinesource', GUEST, second.uri, '--migrateuri', second.migrateUri);
    expect((await virsh(second.uri, 'domstate', GUEST)).stdout.trim()).toBe('running');
    expect((await virsh('qemu:///system', 'list', '--all', '--name')).stdout).not.toContain(GUEST);
    await virsh(second.uri, 'destroy', GUEST);
    const read = await sh.run(['qemu-io', '-r', '-c', 'read -P 0x5a 0 1M', second.localPath(DISK)]);
    expect(read.stdout).not.toMatch(/Pattern verification failed/);
  }, 60_000);
});
