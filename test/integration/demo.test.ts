import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostContext } from '../../src/config/connect.js';
import { CountingExecutor, LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { domainTypeFor, detectAccel } from '../../src/host/kvm.js';
import { DEMO_GUESTS, ensureDemo, observeDemo, resetDemo } from '../../src/jobs/demo.js';
import { UserError } from '../../src/model/userError.js';

const URI = 'qemu:///system';
const FOREIGN = 'vdtest-demo-foreign';
const sh = new LocalExecutor();
const virsh = (...args: string[]) => sh.run(['virsh', '-c', URI, ...args], { okExitCodes: [1] });
const names = async () => (await virsh('list', '--all', '--name')).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
const state = async (name: string) => (await virsh('domstate', name)).stdout.trim();

function plainGuestXml(name: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`;
}
async function defineUnmarked(name: string, tmp: string): Promise<void> {
  const file = join(tmp, `${name}.xml`);
  await writeFile(file, plainGuestXml(name));
  await sh.run(['virsh', '-c', URI, 'define', '--file', file]);
}

describe('demo sandbox on the real libvirtd', () => {
  let host: HostContext;
  let tmp: string;
  let dir: string;
  const savedHome = process.env.VIRTDECK_HOME;

  beforeAll(async () => {
    host = createHostContext({ uri: URI });
    tmp = await mkdtemp(join(tmpdir(), 'vdtest-demo-'));
    // The runner journals in stateDir(); keep it away from the real one.
    process.env.VIRTDECK_HOME = join(tmp, 'home');
    // mkdtemp makes 0700; QEMU (libvirt-qemu) must be able to walk into the sandbox.
    await chmod(tmp, 0o755);
    dir = join(tmp, 'sandbox');
    // A demo made earlier (by hand or a crashed run) would turn ensureDemo into a no-op; the demo
    // guests are fair game for this test, anything else is not.
    const before = await observeDemo(host, dir);
    for (const g of before.guests) {
      if (!g.marker) throw new Error(`${g.name} exists without the demo marker; this test will not touch it`);
      await resetDemo(host, { dir: g.marker.dir ?? dir });
    }
    await virsh('undefine', FOREIGN);
    await defineUnmarked(FOREIGN, tmp);
  });

  afterAll(async () => {
    try {
      if (host) await resetDemo(host, { dir });
    } finally {
      await virsh('destroy', FOREIGN);
      await virsh('undefine', FOREIGN);
      if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
      else process.env.VIRTDECK_HOME = savedHome;
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('creates the three guests, with demo-web running under the detected accelerator', async () => {
    const r = await ensureDemo(host, { dir });
    expect(r.steps.length).toBeGreaterThan(0);
    expect(await state('demo-web')).toBe('running');
    expect(await state('demo-files')).toBe('shut off');
    expect(await state('demo-legacy')).toBe('shut off');
    const accel = await detectAccel(host.sysExec);
    const xml = (await virsh('dumpxml', 'demo-web')).stdout;
    expect(xml).toContain(`<domain type='${domainTypeFor(accel.accel)}'`);
    expect((await readdir(dir)).sort()).toEqual(['demo-files.raw', 'demo-legacy.vmdk', 'demo-web.qcow2', 'virtdeck-demo.json']);
    expect((await stat(dir)).mode & 0o777).toBe(0o755);
    const info = JSON.parse((await sh.run(['qemu-img', 'info', '-U', '--output=json', join(dir, 'demo-legacy.vmdk')])).stdout);
    expect(info.format).toBe('vmdk');
    expect(info['format-specific']?.data?.['create-type']).toBe('monolithicSparse');
    expect(info['virtual-size']).toBe(64 * 1024 * 1024);
    // Run by the shared runner: one finished journal of kind demo (beforeAll may have reset an old demo).
    const jobs = join(tmp, 'home', 'state', 'jobs');
    const journals = await Promise.all((await readdir(jobs)).map(async (f) => JSON.parse(await readFile(join(jobs, f), 'utf8'))));
    expect(journals.filter((j) => j.kind === 'demo').map((j) => j.state)).toEqual(['done']);
    expect(journals.every((j) => j.state === 'done')).toBe(true);
  });

  it('changes nothing the second time', async () => {
    const virshExec = new CountingExecutor(host.virshExec);
    const sysExec = new CountingExecutor(host.sysExec);
    const r = await ensureDemo({ ...host, virshExec, sysExec }, { dir });
    expect(r.steps).toEqual([]);
    const all = [...virshExec.calls, ...sysExec.calls].map((a) => a.join(' '));
    expect(all.filter((c) => / (define|start|undefine|destroy) /.test(c) || c.startsWith('qemu-img') || c.startsWith('tee'))).toEqual([]);
  });

  it('will not adopt a guest with a demo name that it did not make', async () => {
    await resetDemo(host, { dir });
    await defineUnmarked('demo-files', tmp);
    try {
      await expect(ensureDemo(host, { dir })).rejects.toBeInstanceOf(UserError);
      const r = await resetDemo(host, { dir });
      expect(r.kept).toEqual(['demo-files (not made by the demo)']);
      expect(await names()).toContain('demo-files');
    } finally {
      await virsh('undefine', 'demo-files');
    }
  });

  it('reset removes exactly what the demo made', async () => {
    await ensureDemo(host, { dir });
    const r = await resetDemo(host, { dir });
    expect(r.kept).toEqual([]);
    const left = await names();
    for (const g of DEMO_GUESTS) expect(left).not.toContain(g.name);
    expect(left).toContain(FOREIGN);
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    // Reset on a clean host is a no-op too.
    expect((await resetDemo(host, { dir })).steps).toEqual([]);
  });
});
