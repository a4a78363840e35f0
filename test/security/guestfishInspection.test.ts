/**
 * Issue 10, item 1: a guest's root user names a btrfs subvolume `x | touch $VDSEC_GF_MARK` and
 * makes it look like a Linux root (/etc/os-release, /etc/fstab, /bin), so inspect-os reports
 * `btrfsvol:/dev/sda2/x | touch $VDSEC_GF_MARK` as a root. Two inspections met it:
 * - the expand inspection (the Expand wizard, `disk expand --dry-run`) used to pipe inspect-os
 *   through sed into a script guestfish read back with `<!`, where the ` | …` part ran as a host
 *   shell command, as root;
 * - MergeIDE's offline scan, which also wrote the guest's libvirt name (an imported .vmx chooses
 *   it) unquoted into a host shell command (`list-filesystems | … | sed '…'`) and into the
 *   guestfish lines it generated: a `'` in the name ran the rest as a host command. So the guest
 *   here is named with one, and its disk also holds a Windows-looking NTFS
 *   (\Windows\System32\config\SYSTEM) for the scan to find.
 * The marker path is in this test's temp dir (a subvolume name cannot hold a `/`, so it travels in
 * an environment variable the host shell would expand, exactly as `$HOME` did in the report).
 *
 * libguestfs launches: one builds the disk, one is the CLI's inspection, one MergeIDE's scan.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { prepareMergeIde } from '../../src/jobs/mergeide.js';
import { cliArgv } from '../helpers/cli.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

// Asynchronous children only: a synchronous one blocks vitest's worker for minutes under load.
const run = promisify(execFile);
const host = localHost();
const GUEST = `vdsec-gf-mi';touch "$VDSEC_GF_MARK";'`;
const scratch = scratchDir('vdsec-gf-inspect-');
const disks = join(scratch.dir, 'disks');
const img = join(disks, 'vdsec-gf.qcow2');
const marker = join(scratch.dir, 'owned');
const state = join(scratch.dir, 'state');
const SUBVOL = 'x | touch $VDSEC_GF_MARK';
const HIVE_BYTES = 'not-a-real-hive\n';
const savedMark = process.env.VDSEC_GF_MARK;

beforeAll(async () => {
  const env = { ...process.env, ...(await guestfsEnv(host.sysExec)) };
  // Every child of this test (guestfish, its host shell if it ever ran one) sees the marker path.
  process.env.VDSEC_GF_MARK = marker;
  await run('mkdir', ['-m', '0755', disks]);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '512M']);
  const q = (s: string) => JSON.stringify(s);
  const root = `/${SUBVOL}`;
  // Built with guestfish's own script quoting (double quotes); the name is only data here.
  const script = [
    'run',
    'part-init /dev/sda mbr',
    'part-add /dev/sda p 2048 264191',
    'part-add /dev/sda p 264192 -1',
    'mkfs ntfs /dev/sda1',
    'mkfs btrfs /dev/sda2',
    'mount /dev/sda1 /',
    'mkdir-p /Windows/System32/config',
    `write /Windows/System32/config/SYSTEM ${q(HIVE_BYTES)}`,
    'umount-all',
    'mount /dev/sda2 /',
    `btrfs-subvolume-create ${q(root)}`,
    `mkdir-p ${q(`${root}/etc`)}`,
    `mkdir-p ${q(`${root}/bin`)}`,
    `write ${q(`${root}/etc/os-release`)} "NAME=Evil\\nID=fedora\\nVERSION_ID=38\\nPRETTY_NAME=\\"Evil Linux\\"\\n"`,
    `write ${q(`${root}/etc/fstab`)} "/dev/sda2 / btrfs defaults 0 0\\n"`,
    'umount-all',
    '',
  ].join('\n');
  const build = run('guestfish', ['--format=qcow2', '-a', img], { env, cwd: disks });
  build.child.stdin?.end(script);
  await build;
  const xml = join(scratch.dir, 'g.xml');
  writeFileSync(xml, tinyGuestXml(GUEST, { disk: img }));
  await run('virsh', ['-c', host.uri, 'define', '--file', xml]);
}, 600_000);

// Each test starts without a marker, so each shows its own path ran nothing.
beforeEach(() => rmSync(marker, { force: true }));

afterAll(async () => {
  await removeGuest(host, GUEST);
  if (savedMark === undefined) delete process.env.VDSEC_GF_MARK;
  else process.env.VDSEC_GF_MARK = savedMark;
  scratch.remove();
});

describe('a btrfs subvolume named like a shell pipe', () => {
  it('`virtdeck disk expand IMG --size +64M --dry-run --json` reports the hostile root as data and runs nothing on the host', { timeout: 600_000 }, async () => {
    const home = mkdtempSync(join(scratch.dir, 'home-'));
    const r = await run(...cliArgv('disk', 'expand', img, '--size', '+64M', '--dry-run', '--json'), {
      env: { ...process.env, VIRTDECK_HOME: home, VDSEC_GF_MARK: marker },
      cwd: disks,
      encoding: 'utf8',
      timeout: 590_000,
    }).then(
      (ok) => ({ ...ok, code: 0 }),
      (e: { stdout?: string; stderr?: string; code?: number }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code }),
    );
    expect(existsSync(marker)).toBe(false);
    expect(r.stderr).not.toMatch(/bug in virtdeck/i);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { os: { root: string; type: string; product: string } | null; guestSide: { kind: string; reason?: string } };
    // The root was asked about as one argument: its os-release was read.
    // (The appliance may name the disk sda or sdb; the subvolume's name is what matters.)
    expect(plan.os?.root).toMatch(/^btrfsvol:\/dev\/sd[ab]2\//);
    expect(plan.os?.root.replace(/^btrfsvol:\/dev\/sd[ab]2\//, '')).toBe(SUBVOL);
    expect(plan.os?.type).toBe('linux');
    expect(plan.os?.product).toBe('Evil Linux');
    // The inspection finished: the plan knows the disk's last partition holds btrfs.
    expect(plan.guestSide.reason).toMatch(/holds btrfs/);
    rmSync(home, { recursive: true, force: true });
    expect(readdirSync(disks)).toEqual(['vdsec-gf.qcow2']);
  });

  it("MergeIDE's offline scan of the guest named with a quote finds and downloads the hive and runs nothing on the host", { timeout: 600_000 }, async () => {
    const error = await prepareMergeIde(host, { guest: GUEST, mode: 'offline', stateDir: state }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(existsSync(marker)).toBe(false);
    // The hive is not a real one, so the job stops at reading it, after the scan did its work.
    expect(String((error as Error | null)?.message)).toMatch(/registry hive/);
    const work = join(state, 'mergeide');
    const [run1] = readdirSync(work);
    expect(readFileSync(join(work, run1 as string, 'system.original'), 'utf8')).toBe(HIVE_BYTES);
    expect(readdirSync(disks)).toEqual(['vdsec-gf.qcow2']);
  });
});
