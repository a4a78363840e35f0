/**
 * Issue 10, item 1: a guest's root user names a btrfs subvolume `x | touch $VDSEC_GF_MARK` and
 * makes it look like a Linux root (/etc/os-release, /etc/fstab, /bin), so inspect-os reports
 * `btrfsvol:/dev/sda1/x | touch $VDSEC_GF_MARK` as a root. virtdeck's inspection (the Expand
 * wizard, `disk expand --dry-run`) used to pipe inspect-os through sed into a script guestfish read
 * back with `<!`, where the ` | …` part ran as a host shell command, as root. The marker path is
 * in this test's temp dir (a subvolume name cannot hold a `/`, so it travels in an environment
 * variable the host shell would expand, exactly as `$HOME` did in the report).
 *
 * libguestfs launches: one to build the image, one for inspectDisk, one for the CLI.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { inspectDisk } from '../../src/host/guestfs.js';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { cliArgv } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'vdsec-gf-inspect-'));
const marker = join(dir, 'owned');
const img = join(dir, 'vdsec-gf-btrfs.img');
const SUBVOL = 'x | touch $VDSEC_GF_MARK';
const exec = new LocalExecutor();
// Asynchronous children only: a synchronous one blocks vitest's worker for minutes under load.
const run = promisify(execFile);
let env: Record<string, string> = {};
const savedMark = process.env.VDSEC_GF_MARK;

beforeAll(async () => {
  env = await guestfsEnv(exec);
  // Every child of this test (guestfish, its host shell if it ever ran one) sees the marker path.
  process.env.VDSEC_GF_MARK = marker;
  const root = `/${SUBVOL}`;
  const q = (s: string) => JSON.stringify(s);
  const script = [
    'part-disk /dev/sda mbr',
    'mkfs btrfs /dev/sda1',
    'mount /dev/sda1 /',
    `btrfs-subvolume-create ${q(root)}`,
    `mkdir-p ${q(`${root}/etc`)}`,
    `mkdir-p ${q(`${root}/bin`)}`,
    `write ${q(`${root}/etc/os-release`)} "NAME=Evil\\nID=fedora\\nVERSION_ID=38\\nPRETTY_NAME=\\"Evil Linux\\"\\n"`,
    `write ${q(`${root}/etc/fstab`)} "/dev/sda1 / btrfs defaults 0 0\\n"`,
    'umount-all',
    '',
  ].join('\n');
  // Built with guestfish's own script quoting (double quotes); the name is only data here.
  const child = run('guestfish', ['-N', `${img}=disk:256M`], { env: { ...process.env, ...env }, cwd: dir });
  child.child.stdin?.end(script);
  await child;
}, 600_000);

// Each test starts without a marker, so each shows its own path ran nothing.
beforeEach(() => rmSync(marker, { force: true }));

afterAll(() => {
  if (savedMark === undefined) delete process.env.VDSEC_GF_MARK;
  else process.env.VDSEC_GF_MARK = savedMark;
  rmSync(dir, { recursive: true, force: true });
});

describe('a btrfs subvolume named like a shell pipe', () => {
  it('inspectDisk reports the hostile root as data and runs nothing on the host', { timeout: 600_000 }, async () => {
    const layout = await inspectDisk(exec, img, 'raw');
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['vdsec-gf-btrfs.img']);
    // The root was asked about as one argument: its os-release was read.
    // (The appliance may name the disk sda or sdb; the subvolume's name is what matters.)
    expect(layout.os?.root).toMatch(/^btrfsvol:\/dev\/sd[ab]1\//);
    expect(layout.os?.root?.replace(/^btrfsvol:\/dev\/sd[ab]1\//, '')).toBe(SUBVOL);
    expect(layout.os?.type).toBe('linux');
    expect(layout.os?.product).toBe('Evil Linux');
  });

  it('`virtdeck disk expand IMG --size +64M --dry-run` plans and runs nothing on the host', { timeout: 600_000 }, async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const r = await run(...cliArgv('disk', 'expand', img, '--size', '+64M', '--dry-run'), {
      env: { ...process.env, VIRTDECK_HOME: home, VDSEC_GF_MARK: marker },
      cwd: dir,
      encoding: 'utf8',
      timeout: 590_000,
    }).then(
      (ok) => ({ ...ok, code: 0 }),
      (e: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code }),
    );
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).not.toMatch(/bug in virtdeck/i);
    expect(r.code).toBe(0);
    // The inspection finished: the plan knows the disk's only partition holds btrfs.
    expect(r.stdout).toMatch(/holds btrfs/);
    rmSync(home, { recursive: true, force: true });
    expect(readdirSync(dir).sort()).toEqual(['vdsec-gf-btrfs.img']);
  });
});
