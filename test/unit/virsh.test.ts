import { describe, expect, it } from 'vitest';
import { HostError } from '../../src/host/errors.js';
import * as virsh from '../../src/host/virsh.js';
import { createFakeHost, type FakeGuest } from '../helpers/fakeHost.js';

const guests = (): FakeGuest[] => [
  { name: 'web', state: 'running', vcpus: 2, memoryMiB: 1024, autostart: true, serial: true, osId: 'http://debian.org/debian/12' },
  { name: 'db', state: 'shut off', vcpus: 1, memoryMiB: 512, macs: ['52:54:00:aa:bb:cc'], vncPort: null },
  { name: 'xp', state: 'paused', vcpus: 1, memoryMiB: 256, disks: [{ target: 'hda', bus: 'ide', format: 'raw' }], vncPort: 5905 },
];

describe('virsh.ts against the fake host', () => {
  it('lists guests with their fields in two processes', async () => {
    const fake = createFakeHost(guests());
    const rows = await virsh.listGuests(fake.host);
    expect(fake.calls).toHaveLength(2);
    expect(rows.map((r) => r.name)).toEqual(['db', 'web', 'xp']);
    const web = rows.find((r) => r.name === 'web');
    expect(web).toMatchObject({ state: 'running', vcpus: 2, memoryKiB: 1024 * 1024, autostart: true, persistent: true });
    expect(web?.osType).toBe('debian12');
    expect(web?.hasSerial).toBe(true);
    expect(typeof web?.vnc?.port).toBe('number');
    expect(web?.id).not.toBeNull();
    const db = rows.find((r) => r.name === 'db');
    expect(db).toMatchObject({ state: 'shut off', id: null, vnc: null, autostart: false });
    expect(db?.nics[0]).toMatchObject({ mac: '52:54:00:aa:bb:cc', type: 'bridge', source: 'br0' });
    const xp = rows.find((r) => r.name === 'xp');
    expect(xp?.disks).toEqual([{ target: 'hda', device: 'disk', bus: 'ide', source: '/var/lib/libvirt/images/xp-hda.qcow2', format: 'raw' }]);
    expect(xp?.vnc).toEqual({ port: 5905, listen: '127.0.0.1' });
  });

  it('lists zero guests in one process', async () => {
    const fake = createFakeHost([]);
    expect(await virsh.listGuests(fake.host)).toEqual([]);
    expect(fake.calls).toHaveLength(1);
  });

  it('changes state like libvirt and reports failures as HostErrors', async () => {
    const fake = createFakeHost(guests());
    await virsh.start(fake.host, 'db');
    expect(await virsh.domState(fake.host, 'db')).toBe('running');
    await virsh.suspend(fake.host, 'db');
    expect(await virsh.domState(fake.host, 'db')).toBe('paused');
    await virsh.resume(fake.host, 'db');
    await virsh.shutdown(fake.host, 'db');
    expect(await virsh.waitForState(fake.host, 'db', 'shut off', 1000)).toBe(true);
    await virsh.setAutostart(fake.host, 'db', true);
    expect(fake.guests.find((g) => g.name === 'db')?.autostart).toBe(true);
    const twice = await virsh.start(fake.host, 'web').catch((e: unknown) => e);
    expect(twice).toBeInstanceOf(HostError);
    expect((twice as HostError).command).toEqual(['virsh', '-c', 'qemu:///system', 'start', '--domain', 'web']);
    await virsh.undefine(fake.host, 'db');
    expect(fake.guests.map((g) => g.name)).not.toContain('db');
  });

  it('fails with the scripted stderr', async () => {
    const fake = createFakeHost(guests(), { failOn: { start: "error: Failed to start domain 'db'\nerror: boom" } });
    await expect(virsh.start(fake.host, 'db')).rejects.toBeInstanceOf(HostError);
  });

  it('times out waiting for a guest that ignores ACPI', async () => {
    const fake = createFakeHost([{ name: 'bios', state: 'running', vcpus: 1, memoryMiB: 64, ignoresAcpi: true }]);
    await virsh.shutdown(fake.host, 'bios');
    expect(await virsh.waitForState(fake.host, 'bios', 'shut off', 600)).toBe(false);
    await virsh.destroy(fake.host, 'bios');
    expect(await virsh.domState(fake.host, 'bios')).toBe('shut off');
  });

  it('defines a guest from XML and answers the host queries', async () => {
    const fake = createFakeHost([], { bridges: ['br0', 'br1'], networks: [{ name: 'lan', active: true, bridge: 'virbr1' }] });
    await virsh.defineXml(fake.host, "<domain type='qemu'><name>new</name><memory unit='MiB'>128</memory><vcpu>1</vcpu></domain>");
    const rows = await virsh.listGuests(fake.host);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'new', memoryKiB: 131072, state: 'shut off' });
    expect(await virsh.listBridges(fake.host)).toEqual(['br0', 'br1']);
    expect(await virsh.listNetworks(fake.host)).toEqual([{ name: 'lan', active: true, bridge: 'virbr1' }]);
    expect((await virsh.versions(fake.host)).hypervisor).toBe('QEMU 7.2.0');
    expect(await virsh.nodeMemoryKiB(fake.host)).toBe(8_388_608);
    expect(await virsh.readQemuLog(fake.host, 'new', 10)).toContain('guest=new');
  });

  it('leaves out a guest that disappears between the two calls, and marks transient guests', async () => {
    const fake = createFakeHost(guests());
    await virsh.undefine(fake.host, 'web'); // running: becomes transient
    const inner = fake.host.virshExec;
    let n = 0;
    const racing = {
      ...fake.host,
      virshExec: {
        label: inner.label,
        interactive: inner.interactive,
        run: async (argv: string[], o?: Parameters<typeof inner.run>[1]) => {
          const r = await inner.run(argv, o);
          if (n++ === 0) fake.guests.splice(fake.guests.findIndex((g) => g.name === 'xp'), 1);
          return r;
        },
      },
    };
    const rows = await virsh.listGuests(racing);
    expect(rows.map((r) => [r.name, r.persistent])).toEqual([
      ['db', true],
      ['web', false],
    ]);
  });

  it('streams events until stopped', async () => {
    const fake = createFakeHost(guests());
    const lines: string[] = [];
    const stop = virsh.watchEvents(fake.host, (l) => lines.push(l));
    await virsh.start(fake.host, 'db');
    stop();
    expect(lines).toEqual(["event 'lifecycle' for domain 'db': Started Booted"]);
  });
});
