import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestNameProblem } from '../../src/model/guestName.js';
import { UserError } from '../../src/model/userError.js';
import { type CliRun, recordingShims, runCli } from '../helpers/hostileCli.js';
import { scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';
import { tinyVmx } from '../helpers/tinyVmx.js';

/**
 * Item 8: bad input is refused before anything happens, with exit 2 and one sentence that names
 * the input — and nothing on the host changes: no file, no guest, no partial image, no XML edit.
 */
const URI = 'qemu:///system';
const GUEST = 'vdsec-in-iso';
const scratch = scratchDir('vdsec-in-early-');
const dir = scratch.dir;
const RO = join(dir, 'ro');
let roMounted = false;
const sh = (file: string, ...args: string[]) => execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const virsh = (...args: string[]) => sh('virsh', '-c', URI, ...args);
const ours = () =>
  virsh('list', '--all', '--name')
    .split('\n')
    .map((n) => n.trim())
    .filter((n) => n.includes('vdsec-in'));

/** Every path under dir with its size and mtime: "nothing changed" is this, equal before and after. */
function tree(): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      out.push(`${p} ${st.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (st.isDirectory() && n !== 'home') walk(p);
    }
  };
  walk(dir);
  return out;
}

function vmxText(disk: string): string {
  const nic = ['ethernet0.present = "TRUE"', 'ethernet0.virtualDev = "e1000"', 'ethernet0.addressType = "generated"', 'ethernet0.generatedAddress = "00:0c:29:aa:bb:01"'];
  return tinyVmx({ name: 'vdsec-in-vm', disk, hwVersion: 7, extra: nic });
}

const VMX = join(dir, 'vm', 'vdsec-in-vm.vmx');
const RAW = join(dir, 'physical.raw');
const QCOW = join(dir, 'vdsec-in-disk.qcow2');

beforeAll(() => {
  mkdirSync(join(dir, 'vm'));
  sh('qemu-img', 'create', '-q', '-f', 'vmdk', '-o', 'adapter_type=lsilogic', join(dir, 'vm', 'vdsec-in-vm.vmdk'), '8M');
  writeFileSync(VMX, vmxText('vdsec-in-vm.vmdk'));
  sh('qemu-img', 'create', '-q', '-f', 'raw', RAW, '8M');
  sh('qemu-img', 'create', '-q', '-f', 'qcow2', QCOW, '64M');
  mkdirSync(join(dir, 'iso-dir'));
  sh('mkfifo', join(dir, 'iso.fifo'));
  writeFileSync(join(dir, 'guest.xml'), tinyGuestXml(GUEST, { disk: QCOW }));
  virsh('define', join(dir, 'guest.xml'));
  // A read-only filesystem inside the scratch dir: root's `test -w` still says yes on it.
  mkdirSync(RO);
  sh('mount', '-t', 'tmpfs', '-o', 'ro,size=1m,mode=0755', 'vdsec-in-ro', RO);
  roMounted = true;
}, 120_000);

afterAll(() => {
  if (roMounted) {
    try {
      sh('umount', RO);
    } catch {
      // already gone
    }
  }
  for (const g of ours()) {
    try {
      virsh('undefine', '--domain', g);
    } catch {
      // not defined any more
    }
  }
  scratch.remove();
});

function expectRefused(r: CliRun, naming: string | RegExp): void {
  const first = r.stderr.split('\n')[0] ?? '';
  if (typeof naming === 'string') expect(first).toContain(naming);
  else expect(first).toMatch(naming);
  expect(r.stderr).toMatch(/fix: /);
  expect(r.exitCode).toBe(2);
}

/** Runs the CLI and checks it changed nothing in the scratch dir and defined no guest. */
async function refusedWithoutChange(args: string[], naming: string | RegExp, extra: { pathFirst?: string } = {}): Promise<CliRun> {
  const before = tree();
  const guests = ours();
  const xml = virsh('dumpxml', '--inactive', GUEST);
  const r = await runCli(['--connect', URI, ...args], { cwd: dir, ...extra });
  expectRefused(r, naming);
  expect(tree()).toEqual(before);
  expect(ours()).toEqual(guests);
  expect(virsh('dumpxml', '--inactive', GUEST)).toBe(xml);
  return r;
}

describe('guest edit --attach-iso', () => {
  it.each([
    ['a missing file', () => join(dir, 'no-such.iso'), /does not exist/],
    ['a directory', () => join(dir, 'iso-dir'), /is a directory/],
    ['a FIFO', () => join(dir, 'iso.fifo'), /special file/],
    ['/dev/zero', () => '/dev/zero', /special file/],
  ])('refuses %s and leaves the guest as it was', async (_what, isoOf, why) => {
    const iso = isoOf();
    await refusedWithoutChange(['guest', 'edit', GUEST, '--attach-iso', iso], new RegExp(`${iso.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*${why.source}`));
  });
});

describe('guest names', () => {
  const long = `vdsec-in-${'a'.repeat(250)}`;
  it.each([
    ['beginning with "-"', '-vdsec-in-dash', 'begins with "-"'],
    ['with a control character', 'vdsec-in-\u001b]2;owned\u0007', 'control characters'],
    ['with a "/"', 'vdsec-in-a/b', '"/"'],
    ['over 200 bytes', long, 'bytes long'],
  ])('import refuses a name %s: no guest, no file', async (_what, name, why) => {
    const r = await refusedWithoutChange(['import', 'vmx', VMX, '--name', name], why);
    // The name is shown, never obeyed by the terminal.
    expect(r.stderr).not.toContain('\u001b');
  });

  it('restore --as refuses them before the backup is read', async () => {
    await refusedWithoutChange(['backup', 'restore', GUEST, '--dest', dir, '--as', 'vdsec-in-a/b', '--to', dir], '"/"');
  });

  it('P2V refuses them before reading the source', async () => {
    await refusedWithoutChange(['p2v', '--from-file', RAW, '--name', '-vdsec-in-p2v', '--dest', dir], 'begins with "-"');
  });

  it('one rule: any text is a name or a UserError, and an accepted name is a safe word and file name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (name) => {
        const problem = guestNameProblem(name);
        if (problem) return problem instanceof UserError;
        return !name.startsWith('-') && !name.includes('/') && !/[\u0000-\u001f\u007f-\u009f]/.test(name) && Buffer.byteLength(name) <= 200;
      }),
    );
  });
});

describe('disk expand checks the size before libguestfs looks inside', () => {
  it.each([
    ['smaller', '32M'],
    ['equal', '64M'],
  ])('a size %s than the disk is refused in seconds, without a libguestfs launch', async (_what, size) => {
    const shims = recordingShims(dir, ['guestfish', 'virt-inspector', 'virt-filesystems', 'virt-resize']);
    const r = await refusedWithoutChange(['disk', 'expand', QCOW, '--size', size], /not larger than the disk's/, { pathFirst: shims.bin });
    expect(shims.calls()).toEqual([]);
    console.log(`disk expand --size ${size}: refused in ${r.ms} ms (CLI start included)`);
    expect(Number(JSON.parse(sh('qemu-img', 'info', '--output=json', '-U', QCOW))['virtual-size'])).toBe(64 * 1024 * 1024);
  });
});

describe('P2V --from-device of something that is not a block device', () => {
  it('refuses a regular file, naming it and pointing at --from-file', async () => {
    const r = await refusedWithoutChange(['p2v', '--from-device', RAW, '--name', 'vdsec-in-dev', '--dest', dir], `${RAW} is a regular file, not a block device`);
    expect(r.stderr).toContain('--from-file');
  });
});

describe('a destination that takes no writes, or does not exist', () => {
  it('convert into a read-only filesystem', async () => {
    await refusedWithoutChange(['disk', 'convert', QCOW, '--to', 'raw', '--dest', join(RO, 'out.raw')], `${RO} cannot be written to`);
  });

  it('P2V into a read-only filesystem', async () => {
    await refusedWithoutChange(['p2v', '--from-file', RAW, '--name', 'vdsec-in-p2vro', '--dest', RO], `${RO} cannot be written to`);
  });

  it('import --convert into a read-only filesystem', async () => {
    await refusedWithoutChange(['import', 'vmx', VMX, '--convert', 'qcow2', '--dest', RO, '--name', 'vdsec-in-imro'], `${RO} cannot be written to`);
  });

  it('backup into a read-only filesystem', async () => {
    await refusedWithoutChange(['backup', 'run', GUEST, '--dest', RO], `${RO} cannot be written to`);
  });

  it('import --dest into a missing directory says virtdeck does not create it, and does not', async () => {
    const missing = join(dir, 'no-such-dir');
    await refusedWithoutChange(['import', 'vmx', VMX, '--convert', 'qcow2', '--dest', missing, '--name', 'vdsec-in-immiss'], `${missing} does not exist; virtdeck does not create it`);
    expect(existsSync(missing)).toBe(false);
  });
});
