/**
 * Issue 10, item 1, for MergeIDE's offline scan. Two names from outside virtdeck:
 * - the guest's libvirt name (an imported .vmx chooses it) is part of the scan's work folder, which
 *   the old scan wrote, unquoted, into a host shell command (`list-filesystems | … | sed '…'`) and
 *   into the guestfish lines it generated: a `'` in the name ran the rest as a host command;
 * - the disk holds a Windows-looking NTFS (\Windows\System32\config\SYSTEM) and a btrfs whose
 *   subvolume `x | touch $VDSEC_GF_MARK` looks like a Linux root, the inspect-os attack of the
 *   expand inspection.
 * The marker path is in this test's temp dir.
 *
 * libguestfs launches: one to build the image, one for the scan.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestfsEnv } from '../../src/host/guestfsEnv.js';
import { prepareMergeIde } from '../../src/jobs/mergeide.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

const run = promisify(execFile);
const host = localHost();
const GUEST = `vdsec-gf-mi';touch "$VDSEC_GF_MARK";'`;
const scratch = scratchDir('vdsec-gf-mi-');
const img = join(scratch.dir, 'vdsec-gf-mi.qcow2');
const marker = join(scratch.dir, 'owned');
const state = join(scratch.dir, 'state');
const SUBVOL = 'x | touch $VDSEC_GF_MARK';
const HIVE_BYTES = 'not-a-real-hive\n';
const savedMark = process.env.VDSEC_GF_MARK;

beforeAll(async () => {
  const env = { ...process.env, ...(await guestfsEnv(host.sysExec)) };
  process.env.VDSEC_GF_MARK = marker;
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img, '512M']);
  const q = (s: string) => JSON.stringify(s);
  const root = `/${SUBVOL}`;
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
    `write ${q(`${root}/etc/os-release`)} "NAME=Evil\\nID=fedora\\nPRETTY_NAME=\\"Evil Linux\\"\\n"`,
    `write ${q(`${root}/etc/fstab`)} "/dev/sda2 / btrfs defaults 0 0\\n"`,
    'umount-all',
    '',
  ].join('\n');
  const build = run('guestfish', ['--format=qcow2', '-a', img], { env, cwd: scratch.dir });
  build.child.stdin?.end(script);
  await build;
  const xml = join(scratch.dir, 'g.xml');
  writeFileSync(xml, tinyGuestXml(GUEST, { disk: img }));
  await run('virsh', ['-c', host.uri, 'define', '--file', xml]);
}, 600_000);

afterAll(async () => {
  await removeGuest(host, GUEST);
  if (savedMark === undefined) delete process.env.VDSEC_GF_MARK;
  else process.env.VDSEC_GF_MARK = savedMark;
  scratch.remove();
});

describe('MergeIDE offline scan of a disk with a hostile root name', () => {
  it('finds and downloads the hive and runs nothing on the host', { timeout: 600_000 }, async () => {
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
  });
});
