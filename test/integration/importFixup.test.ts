/**
 * The import's virt-v2v fix-up on the real stack (one libguestfs appliance launch): a VMware
 * directory whose disk holds no operating system (no Linux image can be built offline here), so
 * virt-v2v-in-place runs for real on the converted copy and fails at inspection. What must hold:
 * it ran on the temp copy (never the vmdk), its output reached the job log with stage progress,
 * the failure is one sentence and its fix, and the import is rolled back: no image, no temp
 * directory, no guest, and the VMware files byte for byte as they were.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectImport, prepareImport, runImport } from '../../src/jobs/importVmware.js';
import type { ImportRequest } from '../../src/model/importVmwarePlan.js';
import { cliArgv } from '../helpers/cli.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-fx-');
const dir = join(scratch.dir, 'vmware');
const dest = join(scratch.dir, 'images');
const vmx = join(dir, 'vdtest-fx-vm.vmx');
const vmdk = join(dir, 'vdtest-fx-vm.vmdk');
const GUEST = 'vdtest-fx-vm';
const savedHome = process.env.VIRTDECK_HOME;

const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(() => {
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  mkdirSync(dir, { recursive: true });
  mkdirSync(dest, { recursive: true });
  sh('qemu-img', 'create', '-q', '-f', 'vmdk', '-o', 'adapter_type=lsilogic', vmdk, '16M');
  sh('qemu-io', '-f', 'vmdk', '-c', 'write -P 0x5a 1M 64k', vmdk);
  writeFileSync(
    vmx,
    [
      '.encoding = "UTF-8"',
      'config.version = "8"',
      'virtualHW.version = "13"',
      `displayName = "${GUEST}"`,
      'guestOS = "otherlinux-64"',
      'memsize = "256"',
      'numvcpus = "1"',
      'scsi0.present = "TRUE"',
      'scsi0.virtualDev = "lsilogic"',
      'scsi0:0.present = "TRUE"',
      'scsi0:0.fileName = "vdtest-fx-vm.vmdk"',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await removeGuest(host, GUEST).catch(() => {});
  scratch.remove();
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
});

/** The headless twin: `virtdeck import vmx …` with its exit code and output. */
function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(...cliArgv('import', 'vmx', vmx, ...args), {
    encoding: 'utf8',
    env: { ...process.env, VIRTDECK_HOME: join(scratch.dir, 'home') },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('import with --fixup', () => {
  it('the dry run and --json say which fix-up runs and why; one on the VMware files themselves is exit 2', () => {
    const dry = cli('--convert', 'qcow2', '--dest', dest, '--fixup', 'auto', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    const out = JSON.parse(dry.stdout);
    expect(out.fixup).toEqual({ engine: 'v2v', why: expect.stringMatching(/^virt-v2v-in-place rebuilds the initramfs with virtio drivers/) });
    expect(out.steps.join('\n')).toContain('virt-v2v-in-place -i libvirtxml');
    expect(out.xml).toContain("bus='virtio'");
    const plain = cli('--convert', 'qcow2', '--dest', dest, '--fixup', 'auto', '--dry-run');
    expect(plain.stdout.split('\n')[0]).toMatch(/^fix-up: v2v: virt-v2v-in-place rebuilds the initramfs/);
    const bad = cli('--fixup', 'v2v', '--json');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.sentence).toBe("A fix-up changes the guest's disks, and without conversion they are the VMware files themselves.");
    expect(readdirSync(dest)).toEqual([]);
  }, 120_000);


  it('runs virt-v2v-in-place on the temp copy; a disk with no OS is one sentence, the import undone and the source untouched', async () => {
    const facts = await inspectImport(host, vmx);
    expect(facts.fixupTools).toEqual({ v2vInPlace: true });
    const req: ImportRequest = { convert: 'qcow2', destDir: dest, bus: 'keep', name: GUEST, start: false, fixup: 'auto' };
    const prepared = await prepareImport(host, vmx, req, undefined, facts);
    expect(prepared.check.refusals).toEqual([]);
    const ids = prepared.plan?.steps.map((s) => s.id) ?? [];
    expect(ids.indexOf('fixup-v2v')).toBeGreaterThan(ids.indexOf('disk0-compare'));
    expect(ids.indexOf('fixup-v2v')).toBeLessThan(ids.indexOf('disk0-place'));
    const v2v = prepared.plan?.steps.find((s) => s.id === 'fixup-v2v');
    const argv = v2v?.command?.argv ?? [];
    expect(argv).toContain('LIBGUESTFS_BACKEND=direct');
    // The copy in the job's private temp directory, never the vmdk.
    const args = v2v?.action?.args as { xml: string; disks: string[] };
    expect(args.disks).toHaveLength(1);
    expect(args.disks[0]).toMatch(new RegExp(`^${dest}/.+/vdtest-fx-vm\\.qcow2$`));
    expect(args.xml).not.toContain(vmdk);

    const before = sha256(vmdk);
    const logs: string[] = [];
    const percents: number[] = [];
    const r = await runImport(host, prepared, {
      onEvent: (e) => {
        if (e.type === 'log') logs.push(e.line);
        if (e.type === 'progress' && e.index === ids.indexOf('fixup-v2v')) percents.push(e.progress.percent);
      },
    });
    expect(r.state).toBe('failed');
    expect(r.error?.sentence).toBe(`virt-v2v found no operating system on the disks of ${GUEST}, so it could not fix them up; the import was undone and the VMware files are unchanged.`);
    expect(r.error?.fix).toMatch(/--fixup none/);
    // Its output went to the job log, line by line, with its stages as progress.
    expect(logs.some((l) => /^virt-v2v: \[\s*[\d.]+\] (Setting up the source|Opening the source)/.test(l))).toBe(true);
    expect(logs.some((l) => /^virt-v2v: .*inspection could not detect/i.test(l))).toBe(true);
    expect(percents.length).toBeGreaterThan(0);
    // Undone: nothing in the destination, no guest, and the VMware files as they were.
    expect(readdirSync(dest)).toEqual([]);
    expect(() => sh('virsh', '-c', host.uri, 'dominfo', GUEST)).toThrow();
    expect(sha256(vmdk)).toBe(before);
    expect(readdirSync(dir).sort()).toEqual(['vdtest-fx-vm.vmdk', 'vdtest-fx-vm.vmx']);
  }, 600_000);
});
