import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostContext } from '../../src/config/connect.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { DEMO_PREFIX_ENV, demoGuests, ensureDemo, resetDemo } from '../../src/jobs/demo.js';
import { demoTree } from '../../src/jobs/demoPlan.js';
import { cliArgv } from '../helpers/cli.js';

/**
 * What the demo's files guest is for, end to end through the real CLI: back it up, browse the
 * backup, extract a file and get the same bytes, then `--demo --reset`. Two libguestfs launches
 * (files, extract) make up most of the ~40 s.
 */

const URI = 'qemu:///system';
const PREFIX = 'vdtest-dfr-';
const GUEST = demoGuests(PREFIX)[1]!.name; // vdtest-dfr-files
const FILE = '/srv/files/budget-2026.txt';
const root = path.resolve(import.meta.dirname, '../..');
let tmp = '';
let host: HostContext;
const savedHome = process.env.VIRTDECK_HOME;

const home = () => path.join(tmp, 'home');
const dest = () => path.join(tmp, 'dest');

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: home(), [DEMO_PREFIX_ENV]: PREFIX, NO_COLOR: '1' },
  });
}

async function demoGuestNames(): Promise<string[]> {
  const r = await execa('virsh', ['-c', URI, 'list', '--all', '--name']);
  return r.stdout.split('\n').map((l) => l.trim()).filter((n) => n.startsWith(PREFIX));
}

beforeAll(async () => {
  if ((await demoGuestNames()).length > 0) throw new Error(`guests named ${PREFIX}* exist already; this test will not touch them`);
  tmp = await mkdtemp(path.join(tmpdir(), PREFIX));
  // QEMU (libvirt-qemu) must get through to the sandbox under the temp home.
  await chmod(tmp, 0o755);
  await mkdir(dest());
  // virtdeck makes a missing state directory private (0700), which QEMU cannot enter: like
  // /var/lib/virtdeck on a real host, the sandbox's home exists already and QEMU may pass through.
  await mkdir(path.join(home(), 'state'), { recursive: true });
  for (const d of [home(), path.join(home(), 'state')]) await chmod(d, 0o711);
  // The runner journals in stateDir(), and the demo's default sandbox is there too.
  process.env.VIRTDECK_HOME = home();
  host = createHostContext({ uri: URI });
  await ensureDemo(host, { prefix: PREFIX });
}, 60_000);

afterAll(async () => {
  try {
    // Normally the last test did this already; then it is a no-op.
    if (host) await resetDemo(host, { prefix: PREFIX });
  } finally {
    if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
    else process.env.VIRTDECK_HOME = savedHome;
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}, 60_000);

describe('file-level restore on the demo files guest, through the CLI', () => {
  it('backs the guest up', async () => {
    const r = await cli('backup', 'run', GUEST, '--dest', dest());
    // stderr carries the destination warnings (not a mount point, same disk) a temp dir earns.
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${GUEST}: ok \\S+-full`));
  }, 60_000);

  it('lists the demo files in the backup', async () => {
    const r = await cli('backup', 'files', GUEST, 'latest', '--dest', dest(), path.posix.dirname(FILE));
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/ budget-2026\.txt$/m);
    expect(r.stdout).toMatch(/ minutes\/$/m);
  }, 60_000);

  it('extracts a file with exactly the content the demo put there', async () => {
    const out = path.join(tmp, 'restored');
    const r = await cli('backup', 'extract', GUEST, 'latest', FILE, '--to', out, '--dest', dest());
    expect(r.exitCode).toBe(0);
    const want = demoTree(GUEST).find((f) => f.path === FILE)!.content;
    expect(await readFile(path.join(out, path.posix.basename(FILE)), 'utf8')).toBe(want);
  }, 60_000);

  it('--demo --reset removes the demo guests again', async () => {
    const r = await cli('--demo', '--reset');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`Remove the guest ${GUEST}`);
    expect(await demoGuestNames()).toEqual([]);
  }, 60_000);
});
