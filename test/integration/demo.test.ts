import { spawn } from 'node:child_process';
import { chmod, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostContext } from '../../src/config/connect.js';
import { CountingExecutor, LocalExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { detectAccel, domainTypeFor } from '../../src/host/kvm.js';
import { DEMO_GUESTS, DEMO_PREFIX_ENV, demoGuests, ensureDemo, observeDemo, resetDemo } from '../../src/jobs/demo.js';
import { demoBootSector, demoTree } from '../../src/jobs/demoPlan.js';
import { UserError } from '../../src/model/userError.js';

const URI = 'qemu:///system';
/**
 * This file's demo names (VIRTDECK_DEMO_PREFIX): vdtest-demo-web, -files, -legacy. An admin's own
 * demo (demo-*) may exist on this host; the test must never see or touch it.
 */
const PREFIX = 'vdtest-demo-';
const [WEB, FILES, LEGACY] = demoGuests(PREFIX).map((g) => g.name) as [string, string, string];
const FOREIGN = 'vdtest-demo-foreign';
const sh = new LocalExecutor();
const virsh = (...args: string[]) => sh.run(['virsh', '-c', URI, ...args], { okExitCodes: [1] });
const names = async () => (await virsh('list', '--all', '--name')).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
const state = async (name: string) => (await virsh('domstate', name)).stdout.trim();
/** The default demo's guests that exist (an admin's `virtdeck --demo`), with their states. */
async function defaultDemoStates(): Promise<Record<string, string>> {
  const present = new Set(await names());
  const out: Record<string, string> = {};
  for (const g of DEMO_GUESTS) if (present.has(g.name)) out[g.name] = await state(g.name);
  return out;
}

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
  const savedPrefix = process.env[DEMO_PREFIX_ENV];
  let adminDemo: Record<string, string> = {};

  beforeAll(async () => {
    // ensureDemo and resetDemo read the prefix from the environment, like `virtdeck --demo`.
    process.env[DEMO_PREFIX_ENV] = PREFIX;
    host = createHostContext({ uri: URI });
    adminDemo = await defaultDemoStates();
    tmp = await mkdtemp(join(tmpdir(), 'vdtest-demo-'));
    // The runner journals in stateDir(); keep it away from the real one.
    process.env.VIRTDECK_HOME = join(tmp, 'home');
    // mkdtemp makes 0700; QEMU (libvirt-qemu) must be able to walk into the sandbox.
    await chmod(tmp, 0o755);
    dir = join(tmp, 'sandbox');
    // A test demo left by a crashed run would turn ensureDemo into a no-op; this prefix's demo
    // guests are fair game for this test, anything else is not.
    const before = await observeDemo(host, dir, undefined, PREFIX);
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
      if (savedPrefix === undefined) delete process.env[DEMO_PREFIX_ENV];
      else process.env[DEMO_PREFIX_ENV] = savedPrefix;
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('creates the three prefixed guests, the web one running under the detected accelerator', async () => {
    const r = await ensureDemo(host, { dir });
    expect(r.prefix).toBe(PREFIX);
    expect(r.steps.length).toBeGreaterThan(0);
    expect(await state(WEB)).toBe('running');
    expect(await state(FILES)).toBe('shut off');
    expect(await state(LEGACY)).toBe('shut off');
    const accel = await detectAccel(host.sysExec);
    const xml = (await virsh('dumpxml', WEB)).stdout;
    expect(xml).toContain(`<domain type='${domainTypeFor(accel.accel)}'`);
    expect((await readdir(dir)).sort()).toEqual([`${FILES}.raw`, `${LEGACY}.vmdk`, `${WEB}.qcow2`, 'virtdeck-demo.json']);
    const manifest = JSON.parse(await readFile(join(dir, 'virtdeck-demo.json'), 'utf8'));
    expect(manifest.guests).toEqual([WEB, FILES, LEGACY]);
    // QEMU (libvirt-qemu) may pass through the image directory but not list it; the images are private.
    expect((await stat(dir)).mode & 0o777).toBe(0o711);
    const info = JSON.parse((await sh.run(['qemu-img', 'info', '-U', '--output=json', join(dir, `${LEGACY}.vmdk`)])).stdout);
    expect(info.format).toBe('vmdk');
    expect(info['format-specific']?.data?.['create-type']).toBe('monolithicSparse');
    expect(info['virtual-size']).toBe(64 * 1024 * 1024);
    // Run by the shared runner: one finished journal of kind demo (beforeAll may have reset an old demo).
    const jobs = join(tmp, 'home', 'state', 'jobs');
    const journals = await Promise.all((await readdir(jobs)).map(async (f) => JSON.parse(await readFile(join(jobs, f), 'utf8'))));
    expect(journals.filter((j) => j.kind === 'demo').map((j) => j.state)).toEqual(['done']);
    expect(journals.every((j) => j.state === 'done')).toBe(true);
  });

  it('gives the files disk an MBR partition with ext4 holding the demo files, boot code intact', async () => {
    const img = join(dir, `${FILES}.raw`);
    const table = JSON.parse((await sh.run(['sfdisk', '--json', img])).stdout).partitiontable;
    expect(table.label).toBe('dos');
    expect(table.partitions.map((p: { start: number; size: number; type: string }) => [p.start, p.size, p.type])).toEqual([[2048, 129024, '83']]);
    // The boot code, message and disk identifier are byte for byte what the plan wrote first.
    const head = Buffer.alloc(512);
    const fh = await open(img, 'r');
    await fh.read(head, 0, 512, 0);
    await fh.close();
    const spec = demoGuests(PREFIX)[1]!;
    expect(head.subarray(0, 446).equals(Buffer.from(demoBootSector(spec).subarray(0, 446)))).toBe(true);
    expect([head[510], head[511]]).toEqual([0x55, 0xaa]);
    // debugfs and e2fsck take no offset: look at a copy of the partition.
    const part = join(tmp, 'files-part.img');
    await sh.run(['dd', `if=${img}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
    try {
      const fsck = await sh.run(['e2fsck', '-fn', part]);
      expect(fsck.exitCode).toBe(0);
      expect((await sh.run(['dumpe2fs', '-h', part])).stdout).toMatch(/Filesystem volume name:\s+virtdeck-demo/);
      for (const f of demoTree(FILES)) {
        expect((await sh.run(['debugfs', '-R', `cat ${f.path}`, part])).stdout).toBe(f.content);
      }
    } finally {
      await rm(part, { force: true });
    }
  });

  it('still boots the files guest to its boot-sector message', async () => {
    // QEMU straight on a read-only snapshot of the disk: the message reaches COM1 within a second or two under TCG.
    const out = join(tmp, 'files-serial.txt');
    const img = join(dir, `${FILES}.raw`);
    const qemu = spawn(
      'qemu-system-x86_64',
      ['-machine', 'pc', '-accel', 'tcg', '-m', '16', '-nodefaults', '-display', 'none', '-snapshot', '-serial', `file:${out}`, '-drive', `file=${img},format=raw,if=ide`],
      { stdio: 'ignore' },
    );
    try {
      let seen = '';
      for (let i = 0; i < 100 && !seen.includes('Nothing to boot; halted.'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await readFile(out, 'utf8').catch(() => '');
      }
      expect(seen).toContain(`virtdeck demo guest ${FILES}:`);
      expect(seen).toContain('Nothing to boot; halted.');
    } finally {
      qemu.kill('SIGKILL');
    }
  });

  it('changes nothing the second time', async () => {
    const virshExec = new CountingExecutor(host.virshExec);
    const sysExec = new CountingExecutor(host.sysExec);
    const r = await ensureDemo({ ...host, virshExec, sysExec }, { dir });
    expect(r.steps).toEqual([]);
    const all = [...virshExec.calls, ...sysExec.calls].map((a) => a.join(' '));
    expect(all.filter((c) => / (define|start|undefine|destroy) /.test(c) || c.startsWith('qemu-img') || c.startsWith('tee'))).toEqual([]);
  });

  it('refuses a bad VIRTDECK_DEMO_PREFIX before touching anything', async () => {
    const sysExec = new CountingExecutor(host.sysExec);
    process.env[DEMO_PREFIX_ENV] = 'no/slashes';
    try {
      const e = await ensureDemo({ ...host, sysExec }, { dir }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(UserError);
      expect((e as UserError).sentence).toContain(DEMO_PREFIX_ENV);
      await expect(resetDemo(host, { dir })).rejects.toBeInstanceOf(UserError);
      expect(sysExec.calls).toEqual([]);
    } finally {
      process.env[DEMO_PREFIX_ENV] = PREFIX;
    }
    expect(await state(WEB)).toBe('running');
  });

  it('will not adopt a guest with a demo name that it did not make', async () => {
    await resetDemo(host, { dir });
    await defineUnmarked(FILES, tmp);
    try {
      await expect(ensureDemo(host, { dir })).rejects.toBeInstanceOf(UserError);
      const r = await resetDemo(host, { dir });
      expect(r.kept).toEqual([`${FILES} (not made by the demo)`]);
      expect(await names()).toContain(FILES);
    } finally {
      await virsh('undefine', FILES);
    }
  });

  it('reset removes exactly what the demo made', async () => {
    await ensureDemo(host, { dir });
    const r = await resetDemo(host, { dir });
    expect(r.kept).toEqual([]);
    const left = await names();
    for (const g of demoGuests(PREFIX)) expect(left).not.toContain(g.name);
    expect(left).toContain(FOREIGN);
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    // Reset on a clean host is a no-op too.
    expect((await resetDemo(host, { dir })).steps).toEqual([]);
    // The default demo, if an admin has one, is exactly as it was.
    expect(await defaultDemoStates()).toEqual(adminDemo);
  });
});
