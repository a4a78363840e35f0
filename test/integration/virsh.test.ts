import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';
import { failure } from '../helpers/userError.js';

const host = localHost();
const name = `vdtest-host-it-${process.pid}`;
const mac = '52:54:00:5e:01:02';
const scratch = scratchDir('vdtest-host-');
const disk = join(scratch.dir, 'disk.qcow2');

async function row(): Promise<virsh.GuestRow | undefined> {
  return (await virsh.listGuests(host)).find((r) => r.name === name);
}

describe('virsh.ts on the real libvirtd', () => {
  beforeAll(async () => {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '1M']);
    await virsh.defineXml(host, tinyGuestXml(name, { disk, mac, osId: 'http://debian.org/debian/12' }), { validate: true });
  });

  afterAll(async () => {
    await removeGuest(host, name);
    scratch.remove();
    rmSync(virsh.qemuLogPath(name), { force: true });
  });

  it('lists the defined guest with its fields', async () => {
    const r = await row();
    expect(r).toMatchObject({
      name,
      state: 'shut off',
      id: null,
      vcpus: 1,
      memoryKiB: 65536,
      autostart: false,
      persistent: true,
      osType: 'debian12',
      hasSerial: true,
      vnc: { port: 'auto', listen: '127.0.0.1' },
    });
    expect(r?.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(r?.disks).toEqual([{ target: 'vda', device: 'disk', bus: 'virtio', source: disk, format: 'qcow2' }]);
    expect(r?.nics).toEqual([{ mac, type: 'user', source: null, model: 'virtio' }]);
  });

  it('starts, reports events and the live VNC port, and refuses a second start in plain words', async () => {
    const events: string[] = [];
    const stop = virsh.watchEvents(host, (l) => events.push(l));
    await new Promise((r) => setTimeout(r, 300)); // let the watcher connect before the event happens
    await virsh.start(host, name);
    const r = await row();
    expect(r?.state).toBe('running');
    expect(r?.id).toBeGreaterThan(0);
    expect(typeof r?.vnc?.port).toBe('number');
    expect(await virsh.vncDisplay(host, name)).toMatch(/:\d+$/);
    const e = await failure(virsh.start(host, name));
    expect(e.code).toBe('already-running');
    expect(e.sentence).toBe(`The guest ${name} is already running.`);
    for (let i = 0; i < 20 && !events.some((l) => l.includes(name)); i++) await new Promise((res) => setTimeout(res, 100));
    stop();
    expect(events.find((l) => l.includes(name))).toMatch(/lifecycle/);
  });

  it('suspends and resumes', async () => {
    await virsh.suspend(host, name);
    expect(await virsh.domState(host, name)).toBe('paused');
    const e = await failure(virsh.suspend(host, 'vdtest-host-missing'));
    expect(e.code).toBe('no-such-guest');
    await virsh.resume(host, name);
    expect(await virsh.domState(host, name)).toBe('running');
  });

  it('times out on ACPI shutdown of a guest without an OS, then destroys it', async () => {
    await virsh.shutdown(host, name);
    const t0 = Date.now();
    expect(await virsh.waitForState(host, name, 'shut off', 1500)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400);
    await virsh.destroy(host, name);
    expect(await virsh.waitForState(host, name, 'shut off', 1500)).toBe(true);
    const e = await failure(virsh.destroy(host, name));
    expect(e.code).toBe('not-running');
    expect(e.sentence).toContain(name);
  });

  it('reads the QEMU log of the guest', async () => {
    expect(await virsh.readQemuLog(host, name, 20)).toContain('shutting down, reason=destroyed');
  });

  it('toggles autostart', async () => {
    await virsh.setAutostart(host, name, true);
    expect((await row())?.autostart).toBe(true);
    await virsh.setAutostart(host, name, false);
    expect((await row())?.autostart).toBe(false);
  });

  it('answers host queries', async () => {
    const v = await virsh.versions(host);
    expect(v.libvirt).toMatch(/^\d+\.\d+/);
    expect(v.hypervisor).toMatch(/^QEMU \d/);
    expect(v.hostname.length).toBeGreaterThan(0);
    expect(await virsh.nodeMemoryKiB(host)).toBeGreaterThan(100_000);
    expect(Array.isArray(await virsh.listBridges(host))).toBe(true);
    expect(Array.isArray(await virsh.listNetworks(host))).toBe(true);
  });

  it('explains a missing guest and undefines', async () => {
    const e = await failure(virsh.start(host, 'vdtest-host-missing'));
    expect(e.sentence).toBe('There is no guest called vdtest-host-missing on this host.');
    await virsh.undefine(host, name);
    expect(await row()).toBeUndefined();
  });
});
