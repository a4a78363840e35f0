import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExecOptions, type ExecResult, LocalExecutor } from '../../src/host/exec.js';
import { runBackup } from '../../src/jobs/backup.js';
import { discardInstant, runInstant } from '../../src/jobs/instant.js';
import { restore } from '../../src/jobs/restore.js';
import { runFilesOf, statIdentities, type VerifyArgs, verifyRunFiles } from '../../src/jobs/runCheck.js';
import { readVerified } from '../../src/jobs/verifiedRuns.js';
import { UserError } from '../../src/model/userError.js';
import * as virsh from '../../src/host/virsh.js';
import { qemuImg, qemuIo, runDir, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * A whole restore reads each backup image once (one pass that hashes each block and writes that
 * same block to the copy; no process reads the image), rebuilds a chain only from those verified copies, and records what matched so an instant recovery of the
 * unchanged run need not hash it again; a changed file is hashed again, and a flipped byte refused.
 */

class RecordingExecutor extends LocalExecutor {
  calls: string[][] = [];
  override run(argv: string[], opts?: ExecOptions): Promise<ExecResult> {
    this.calls.push(argv);
    return super.run(argv, opts);
  }
}

const exec = new RecordingExecutor();
const host = localHost(exec);
const scratch = scratchDir('vdtest-r1r-');
const dest = join(scratch.dir, 'dest');
const stateDir = join(scratch.dir, 'state');
const GUEST = 'vdtest-r1r-src';
const INSTANT = 'vdtest-r1r-inst';
const BACKED = 'vdtest-r1r-bk';
const COPIES = ['vdtest-r1r-full', 'vdtest-r1r-inc', 'vdtest-r1r-bad', INSTANT, BACKED];
let full = { name: '', dir: '' };
let inc = { name: '', dir: '' };

/** Commands that read a whole file named in their argv: a hash, a copy, a qemu-img rebuild. */
function wholeReads(calls: string[][], path: string): string[][] {
  return calls.filter((argv) => argv.includes(path) && (argv.join(' ').includes('openssl dgst') || argv.join(' ').includes('cp -T') || argv[1] === 'convert'));
}

beforeAll(() => {
  mkdirSync(dest, { recursive: true });
  mkdirSync(join(scratch.dir, 'inst'), { recursive: true });
  const gone = join(scratch.dir, 'gone.qcow2');
  const xml = tinyGuestXml(GUEST, { disk: gone });
  const disk = { target: 'vda', sourcePath: gone, virtualSize: 8 << 20 };
  const fullAt = new Date('2026-06-01T02:00:00Z');
  const fullImage = join(runDir(dest, GUEST, fullAt, 'full'), 'vda.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', fullImage, '8M');
  qemuIo(fullImage, 'write -P 0x71 0 2M');
  full = writeRun(dest, GUEST, { at: fullAt, kind: 'full', disks: [disk], domainXml: xml });
  const incAt = new Date('2026-06-02T02:00:00Z');
  const incImage = join(runDir(dest, GUEST, incAt, 'incremental'), 'vda.qcow2');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', `../${full.name}/vda.qcow2`, '-F', 'qcow2', incImage);
  qemuIo(incImage, 'write -P 0x72 1M 512k');
  inc = writeRun(dest, GUEST, { at: incAt, kind: 'incremental', parent: full.name, disks: [{ ...disk, backing: `../${full.name}/vda.qcow2` }], domainXml: xml });
});

afterAll(async () => {
  for (const g of COPIES) await removeGuest(host, g);
  scratch.remove();
});

async function restoreAs(asName: string, run: string, from = dest) {
  const to = join(scratch.dir, asName);
  mkdirSync(to, { recursive: true });
  let jobStart = -1;
  const before = exec.calls.length;
  const log: string[] = [];
  const stepCalls: Record<string, string[][]> = {};
  let stepMark = 0;
  const r = await restore(host, {
    guest: GUEST,
    dest: from,
    run,
    asName,
    toDir: to,
    stateDir,
    onEvent: (e) => {
      if (e.type === 'step-start' && jobStart < 0) jobStart = exec.calls.length;
      if (e.type === 'log') log.push(e.line);
      if (e.type === 'step-start') stepMark = exec.calls.length;
      if (e.type === 'step-end') stepCalls[e.step.id] = exec.calls.slice(stepMark);
    },
  });
  return { r, to, jobCalls: exec.calls.slice(jobStart), planCalls: exec.calls.slice(before, jobStart), stepCalls, log };
}

describe('whole restore: one read of each backup image, verified before it is used', () => {
  it('a full in the disk format is read once, hashed as it is copied; the copy is the disk', async () => {
    const image = join(full.dir, 'vda.qcow2');
    const { r, to, jobCalls, planCalls, stepCalls, log } = await restoreAs('vdtest-r1r-full', full.name);
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    // Planning asks libvirt once for every guest with its disks (names in use, other users of the
    // paths), and starts no QEMU to probe KVM for a guest that does not want KVM.
    expect(planCalls.filter((a) => a[0] === 'virsh')).toHaveLength(2);
    expect(planCalls.filter((a) => a[0]?.startsWith('qemu-system'))).toEqual([]);
    // The first step checks the recorded verify only; the copy step checks the files as it reads them.
    expect(stepCalls.verify).toEqual([]);
    // No process reads it (no cp, no openssl): this process's one pass did, every byte once.
    expect(wholeReads(jobCalls, image)).toEqual([]);
    expect(log.filter((l) => l.startsWith(`read ${statSync(image).size} bytes once, copied and hashed in one pass`))).toHaveLength(1);
    expect(jobCalls.some((a) => a[1] === 'convert')).toBe(false);
    const disk = join(to, 'vdtest-r1r-full-vda.qcow2');
    expect(readdirSync(to)).toEqual(['vdtest-r1r-full-vda.qcow2']);
    expect(statSync(disk).size).toBe(statSync(image).size);
    execFileSync('qemu-img', ['compare', '-q', '-f', 'qcow2', '-F', 'qcow2', image, disk]);
  });

  it('a chain is copied once per image into a private directory, rebuilt only from those copies, which are then removed', async () => {
    const images = [join(full.dir, 'vda.qcow2'), join(inc.dir, 'vda.qcow2')];
    const { r, to, jobCalls, log } = await restoreAs('vdtest-r1r-inc', inc.name);
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    for (const image of images) expect(wholeReads(jobCalls, image), image).toEqual([]);
    const passes = log.filter((l) => l.includes('bytes once, copied and hashed in one pass'));
    expect(passes.map((l) => Number(/^read (\d+) bytes/.exec(l)?.[1]))).toEqual(images.map((i) => statSync(i).size));
    const convert = jobCalls.filter((a) => a[1] === 'convert');
    expect(convert).toHaveLength(1);
    expect(convert[0]?.at(-2)).toBe(join(to, `vdtest-r1r-inc-vda.qcow2.virtdeck-restore-tmp.chain/${inc.name}/vda.qcow2`));
    expect(readdirSync(to)).toEqual(['vdtest-r1r-inc-vda.qcow2']);
    execFileSync('qemu-img', ['compare', '-q', '-f', 'qcow2', '-F', 'qcow2', images[1] as string, join(to, 'vdtest-r1r-inc-vda.qcow2')]);
    // What matched is recorded, keyed by what stat says about each file.
    const entries = readVerified(stateDir);
    expect(entries.map((e) => e.path).sort()).toEqual([...images].sort());
    expect((statSync(join(stateDir, 'verified-runs.json')).mode & 0o777).toString(8)).toBe('600');
  });

  it('instant recovery of the run the restore just verified starts without hashing it again', async () => {
    const before = exec.calls.length;
    const log: string[] = [];
    const r = await runInstant(host, {
      guest: GUEST,
      dest,
      run: inc.name,
      asName: INSTANT,
      dir: join(scratch.dir, 'inst'),
      isolated: true,
      stateDir,
      onEvent: (e) => {
        if (e.type === 'log') log.push(e.line);
      },
    });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    expect(exec.calls.slice(before).filter((a) => a.join(' ').includes('openssl dgst'))).toEqual([]);
    expect(log.filter((l) => l.includes('not changed since'))).toHaveLength(2);
    const d = await discardInstant(host, INSTANT, { stateDir });
    expect(d.state).toBe('done');
  });

  it('a run with one flipped byte is refused with nothing left behind and nothing defined', async () => {
    const bad = join(scratch.dir, 'dest-bad');
    execFileSync('cp', ['-a', dest, bad]);
    const image = join(bad, GUEST, full.name, 'vda.qcow2');
    // One byte inside the data (the header, checked separately, stays sane).
    execFileSync('sh', ['-c', 'printf "\\377" | dd of="$1" bs=1 seek=$((1024*1024+7)) conv=notrunc status=none', 'sh', image]);
    const { r, to } = await restoreAs('vdtest-r1r-bad', inc.name, bad);
    expect(r.state).not.toBe('done');
    expect(r.error).toBeInstanceOf(UserError);
    expect(r.error?.sentence).toMatch(/does not match its manifest/);
    expect(r.error?.sentence).toContain(image);
    expect(readdirSync(to)).toEqual([]);
    const names = execFileSync('virsh', ['-c', 'qemu:///system', 'list', '--all', '--name'], { encoding: 'utf8' });
    expect(names.split('\n')).not.toContain('vdtest-r1r-bad');
  });
});

describe('the verification record (instant recovery skips the hash of an unchanged, verified run)', () => {
  const files = () => runFilesOf(dest, GUEST, [{ name: full.name, manifest: JSON.parse(execFileSync('cat', [join(full.dir, 'manifest.json')], { encoding: 'utf8' })) }] as never);
  const args = (): VerifyArgs => ({ guest: GUEST, dest, files: files(), recorded: [], allowDamaged: false, candidates: [], retry: 'r', anyway: 'a', trust: { stateDir, uri: host.uri } });
  const hashes = async () => {
    const before = exec.calls.length;
    const log: string[] = [];
    await verifyRunFiles(host, args(), { progress: () => undefined, log: (l) => log.push(l) });
    return { hashed: exec.calls.slice(before).filter((a) => a.join(' ').includes('openssl dgst')).length, log };
  };

  it('skips a file recorded as matching and unchanged; hashes it again once stat shows any change', async () => {
    expect(existsSync(join(stateDir, 'verified-runs.json'))).toBe(true);
    // The instant recovery above started QEMU on the image: libvirt gave it to its QEMU user, which
    // moved its ctime, so the record no longer vouches for it; it is hashed and recorded anew.
    expect((await hashes()).hashed).toBe(1);
    const unchanged = await hashes();
    expect(unchanged.hashed).toBe(0);
    expect(unchanged.log.join('\n')).toMatch(/not changed since/);
    const image = join(full.dir, 'vda.qcow2');
    execFileSync('touch', ['-d', '2026-01-01 00:00:00', image]);
    const touched = await hashes();
    expect(touched.hashed).toBe(1);
    // Recorded again with its new identity: skipped the next time.
    expect((await hashes()).hashed).toBe(0);
  });

  it('a flipped byte with the mtime put back (ctime still moves) is hashed and refused', async () => {
    const image = join(full.dir, 'vda.qcow2');
    const ref = join(scratch.dir, 'mtime-ref');
    execFileSync('touch', ['-r', image, ref]);
    execFileSync('sh', ['-c', 'printf "\\377" | dd of="$1" bs=1 seek=$((1024*1024+9)) conv=notrunc status=none && touch -r "$2" "$1"', 'sh', image, ref]);
    await expect(hashes()).rejects.toThrow(/does not match its manifest/);
  });
});

describe('a backup run records what it wrote', () => {
  it('each image of a new run is in the record with what stat says about it now, so instant recovery does not hash it', async () => {
    const disk = join(scratch.dir, 'bk.qcow2');
    qemuImg('create', '-q', '-f', 'qcow2', disk, '8M');
    qemuIo(disk, 'write -P 0x73 0 1M');
    await virsh.defineXml(host, tinyGuestXml(BACKED, { disk }));
    const bkDest = join(scratch.dir, 'dest-bk');
    mkdirSync(bkDest, { recursive: true });
    const r = await runBackup(host, { guests: [BACKED], dest: bkDest, stateDir, log: false });
    expect(r.guests[0]?.error?.sentence).toBeUndefined();
    const image = join(bkDest, BACKED, r.guests[0]?.run as string, 'vda.qcow2');
    const entry = readVerified(stateDir).find((e) => e.path === image);
    expect(entry?.identity).toBe((await statIdentities(host.sysExec, [image])).get(image));
  });
});
