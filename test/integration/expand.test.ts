import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVmdkDescriptor } from '../../src/host/vmdk.js';
import { planFor, runExpand } from '../../src/jobs/expand.js';
import { UserError } from '../../src/model/userError.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/** Real qemu-img, qemu-io and libvirtd: each route grows a tiny image and the data patterns survive. */

const host = localHost();
const scratch = scratchDir('vdtest-ex-');
const dir = scratch.dir;
const stateDir = join(dir, 'state');
const GUEST = 'vdtest-ex-run';
const MiB = 1024 * 1024;
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' });
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const virtualSize = (p: string) => (JSON.parse(sh('qemu-img', ['info', '--output=json', '-U', p])) as { 'virtual-size': number })['virtual-size'];

/** Writes 0xab, 0xcd, 0xef at three offsets; `check` reads them back with qemu-io (throws when different). */
const PATTERNS: [string, number][] = [
  ['0xab', 0],
  ['0xcd', 1 * MiB],
  ['0xef', 3 * MiB - 64 * 1024],
];
function writePatterns(p: string, fmt: string) {
  for (const [pat, off] of PATTERNS) sh('qemu-io', ['-f', fmt, '-c', `write -P ${pat} ${off} 64k`, p]);
}
function checkPatterns(p: string, fmt: string) {
  for (const [pat, off] of PATTERNS) {
    const out = sh('qemu-io', ['-f', fmt, '-c', `read -P ${pat} ${off} 64k`, p]);
    expect(out).not.toMatch(/Pattern verification failed/);
  }
}

async function expand(path: string, size: string) {
  const { facts, decision } = await planFor(host, path, { size, growFs: false });
  const outcome = await runExpand(host, facts, decision, { stateDir });
  expect(outcome.state).toBe('done');
  return { decision, outcome };
}

let tmpfsDir: string | null = null;

beforeAll(() => {
  mkdirSync(stateDir, { recursive: true });
});

afterAll(async () => {
  await removeGuest(host, GUEST);
  if (tmpfsDir) {
    try {
      sh('umount', [tmpfsDir]);
    } catch {
      // not mounted
    }
  }
  scratch.remove();
});

describe('disk expansion on the real stack', () => {
  it('raw, offline: qemu-img resize, size verified, patterns intact', async () => {
    const p = join(dir, 'vdtest-ex-a.raw');
    sh('qemu-img', ['create', '-q', '-f', 'raw', p, '4M']);
    writePatterns(p, 'raw');
    const { decision, outcome } = await expand(p, '+4M');
    expect(decision.route).toBe('resize');
    expect(outcome.verifiedBytes).toBe(8 * MiB);
    expect(virtualSize(p)).toBe(8 * MiB);
    checkPatterns(p, 'raw');
  });

  it('qcow2, offline: grown and qemu-img check clean; a backing file gives the top-layer warning', async () => {
    const base = join(dir, 'vdtest-ex-base.qcow2');
    const p = join(dir, 'vdtest-ex-b.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', base, '4M']);
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', p]);
    writePatterns(p, 'qcow2');
    const { decision } = await expand(p, '12M');
    expect(decision.warnings[0]).toMatch(/Only this top layer grows/);
    expect(virtualSize(p)).toBe(12 * MiB);
    expect(virtualSize(base)).toBe(4 * MiB);
    sh('qemu-img', ['check', '-f', 'qcow2', p]);
    checkPatterns(p, 'qcow2');
  });

  it('refuses qcow2 with an internal snapshot, a size below the current one, 12QB and a missing file, changing nothing', async () => {
    const p = join(dir, 'vdtest-ex-snap.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', p, '4M']);
    sh('qemu-img', ['snapshot', '-c', 'before', p]);
    const before = sha(p);
    await expect(planFor(host, p, { size: '+4M', growFs: false })).rejects.toThrow(/internal snapshot/);
    await expect(planFor(host, p, { size: '2M', growFs: false })).rejects.toThrow(/shrinking is out of scope/);
    await expect(planFor(host, p, { size: '12QB', growFs: false })).rejects.toThrow(/"12QB" is not a size/);
    await expect(planFor(host, join(dir, 'nope.raw'), { size: '+1M', growFs: false })).rejects.toThrow(/There is no image at/);
    expect(sha(p)).toBe(before);
  });

  it('vmdk (monolithicSparse, lsilogic, compat6): through a temp raw; descriptor kept, original kept aside, data intact', async () => {
    const p = join(dir, 'vdtest-ex-c.vmdk');
    sh('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicSparse,adapter_type=lsilogic,compat6', p, '4M']);
    writePatterns(p, 'vmdk');
    const orig = sha(p);
    const { decision, outcome } = await expand(p, '+4M');
    expect(decision.route).toBe('vmdk');
    expect(outcome.verifiedBytes).toBe(8 * MiB);
    expect(virtualSize(p)).toBe(8 * MiB);
    checkPatterns(p, 'vmdk');
    const desc = await readVmdkDescriptor(host.sysExec, p);
    expect(desc.createType).toBe('monolithicSparse');
    expect(desc.ddb.adapterType).toBe('lsilogic');
    expect(desc.ddb.virtualHWVersion).toBe('6');
    expect(sha(join(dir, 'vdtest-ex-c.virtdeck-orig', 'vdtest-ex-c.vmdk'))).toBe(orig);
    expect(readdirSync(dir).filter((f) => f.includes('virtdeck-expand'))).toEqual([]);
  });

  it('no space for the temporary copy (8 MiB tmpfs): refuses with the sentence and changes nothing', async () => {
    tmpfsDir = join(dir, 'tiny');
    mkdirSync(tmpfsDir);
    sh('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'vdtest-ex-tmpfs', tmpfsDir]);
    const p = join(tmpfsDir, 'vdtest-ex-d.vmdk');
    sh('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicSparse,adapter_type=lsilogic,compat6', p, '8M']);
    sh('qemu-io', ['-f', 'vmdk', '-c', 'write -P 0x5a 0 5M', p]);
    const before = sha(p);
    const e = await planFor(host, p, { size: '+8M', growFs: false }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as UserError).sentence).toMatch(/free, but growing this vmdk needs up to/);
    expect(sha(p)).toBe(before);
    expect(readdirSync(tmpfsDir)).toEqual(['vdtest-ex-d.vmdk']);
    sh('umount', [tmpfsDir]);
    tmpfsDir = null;
  });

  it('guest running: virsh blockresize 1 MiB → 2 MiB, domblkinfo shows it, instructions saved', async () => {
    const p = join(dir, 'vdtest-ex-run.qcow2');
    sh('qemu-img', ['create', '-q', '-f', 'qcow2', p, '1M']);
    const xmlFile = join(dir, 'guest.xml');
    writeFileSync(xmlFile, tinyGuestXml(GUEST, { disk: p }));
    sh('virsh', ['-c', host.uri, 'define', '--file', xmlFile]);
    sh('virsh', ['-c', host.uri, 'start', '--domain', GUEST]);
    const { facts, decision } = await planFor(host, p, { size: '2M', growFs: true });
    expect(decision.route).toBe('blockresize');
    const outcome = await runExpand(host, facts, decision, { stateDir });
    expect(outcome.state).toBe('done');
    const info = sh('virsh', ['-c', host.uri, 'domblkinfo', '--domain', GUEST, '--device', 'vda']);
    expect(info).toMatch(/^Capacity:\s+2097152$/m);
    expect(outcome.instructions?.file).toMatch(/instructions\/vdtest-ex-run-\d{8}T\d{6}\.txt$/);
    expect(readFileSync(outcome.instructions?.file as string, 'utf8')).toContain('is now 2.0 MiB');
  });
});
