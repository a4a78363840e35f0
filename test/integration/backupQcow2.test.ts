import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/jobs/backup.js';
import { readCatalog } from '../../src/jobs/backupCatalog.js';
import { verifyRun } from '../../src/jobs/backupVerify.js';
import { defineAndStart, liveWrite, removeBackupGuest, sh, virshSync } from '../helpers/backupFixtures.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const GUEST = 'vdtest-bk-q1';
const scratch = scratchDir('vdtest-bk-q1-');
const dir = scratch.dir;
const image = `${dir}/q1.qcow2`;
const dest = `${dir}/dest`;

beforeAll(() => {
  process.env.VIRTDECK_HOME = `${dir}/home`;
  removeBackupGuest(host, GUEST);
  sh(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', image, '32M']);
  sh(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x11 0 4M', image]);
  sh(['mkdir', '-p', dest]);
  defineAndStart(host, GUEST, [{ path: image, format: 'qcow2' }]);
});

afterAll(() => {
  removeBackupGuest(host, GUEST);
  scratch.remove();
});

const opts = () => ({ guests: [GUEST], dest, stateDir: `${dir}/home/state` });

describe('backup of a running guest with a qcow2 disk (backup API)', () => {
  let fullRun = '';
  let incRun = '';

  it('takes a full backup and creates a checkpoint', async () => {
    const r = await runBackup(host, opts());
    const g = r.guests[0];
    expect(g?.error).toBeUndefined();
    expect(g).toMatchObject({ ok: true, kind: 'full', method: 'backup-api', consistency: 'crash-consistent', note: null });
    fullRun = g?.run as string;
    expect(virshSync(host, ['checkpoint-list', '--domain', GUEST, '--name'])).toMatch(/virtdeck-/);
  });

  it('an incremental after a 256 KiB live write copies about that much, chained onto the full', async () => {
    liveWrite(host, GUEST, 'vda', '0xcd', '8M', '256k');
    const r = await runBackup(host, opts());
    const g = r.guests[0];
    expect(g?.error).toBeUndefined();
    expect(g).toMatchObject({ ok: true, kind: 'incremental', method: 'backup-api' });
    expect(g?.bytesWritten).toBeGreaterThanOrEqual(256 * 1024);
    expect(g?.bytesWritten).toBeLessThanOrEqual(1024 * 1024 + 512 * 1024);
    incRun = g?.run as string;
    const catalog = await readCatalog(host.sysExec, dest);
    const inc = catalog[0]?.runs.find((x) => x.name === incRun);
    expect(inc?.manifest.parent).toBe(fullRun);
    expect(inc?.manifest.disks[0]?.backing).toBe(`../${fullRun}/vda.qcow2`);
    expect(sh(['qemu-img', 'info', '--output=json', `${dest}/${GUEST}/${incRun}/vda.qcow2`])).toContain(`"backing-filename": "../${fullRun}/vda.qcow2"`);
  });

  it('drift: a checkpoint deleted behind virtdeck’s back makes the next run full, with a note', async () => {
    const names = virshSync(host, ['checkpoint-list', '--domain', GUEST, '--name']).split('\n').filter(Boolean);
    for (const n of names.reverse()) virshSync(host, ['checkpoint-delete', '--domain', GUEST, '--checkpointname', n]);
    const r = await runBackup(host, opts());
    expect(r.guests[0]).toMatchObject({ ok: true, kind: 'full', method: 'backup-api' });
    expect(r.guests[0]?.note).toMatch(/missing in libvirt/);
  });

  it('the restored chain equals the disk at that moment (the OS-less guest writes nothing)', () => {
    virshSync(host, ['destroy', '--domain', GUEST]);
    const restored = `${dir}/restored.qcow2`;
    sh(['qemu-img', 'convert', '-O', 'qcow2', `${dest}/${GUEST}/${incRun}/vda.qcow2`, restored]);
    expect(sh(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'qcow2', restored, image])).toMatch(/identical/);
    sh(['qemu-io', '-f', 'qcow2', '-c', 'read -P 0xcd 8M 256k', '-c', 'read -P 0x11 0 4M', restored]);
  });

  it('a shut-off guest gets an offline copy', async () => {
    const r = await runBackup(host, opts());
    expect(r.guests[0]).toMatchObject({ ok: true, kind: 'full', method: 'offline-copy', consistency: 'offline' });
    expect(sh(['qemu-img', 'compare', `${dest}/${GUEST}/${r.guests[0]?.run}/vda.qcow2`, image])).toMatch(/identical/);
  });

  it('verify passes with a test restore, records it, and detects a flipped byte', async () => {
    const reports = await verifyRun(host, { dest, guest: GUEST, testRestore: true });
    expect(reports.length).toBe(4);
    for (const rep of reports) expect(rep).toMatchObject({ ok: true, findings: [], testRestore: true });
    const catalog = await readCatalog(host.sysExec, dest);
    expect(catalog[0]?.runs.every((x) => x.manifest.verified?.ok === true)).toBe(true);
    // Flip one byte of the full run's image: bit rot under an incremental that builds on it.
    const file = `${dest}/${GUEST}/${fullRun}/vda.qcow2`;
    const size = Number(sh(['stat', '-c', '%s', file]).trim());
    sh(['sh', '-c', `printf '\\252' | dd of="$1" bs=1 seek=${size - 100} conv=notrunc 2>/dev/null`, 'sh', file]);
    const after = await verifyRun(host, { dest, guest: GUEST, run: incRun });
    expect(after[0]?.ok).toBe(false);
    expect(after[0]?.findings.join(' ')).toMatch(/sha256 differs/);
  });
});

describe('back-to-back runs of a guest with two qcow2 disks (backup API)', () => {
  const TWO = 'vdtest-bk3-two';
  const two = scratchDir('vdtest-bk3-two-');
  const disks = ['vda', 'vdb'].map((t) => ({ path: `${two.dir}/${t}.qcow2`, format: 'qcow2' as const, target: t }));
  const twoDest = `${two.dir}/dest`;

  beforeAll(() => {
    removeBackupGuest(host, TWO);
    for (const [i, d] of disks.entries()) {
      sh(['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'compat=1.1', d.path, '64M']);
      sh(['qemu-io', '-f', 'qcow2', '-c', `write -P 0x${i + 2}${i + 2} 0 ${i === 0 ? 24 : 40}M`, d.path]);
    }
    sh(['mkdir', '-p', twoDest]);
    defineAndStart(host, TWO, disks);
  });

  afterAll(() => {
    removeBackupGuest(host, TWO);
    two.remove();
  });

  it('full, incremental, full, incremental with no pause: unique names in run order, each chain intact, one progress row per disk ending at 100 %', async () => {
    const made: { run: string; kind: string }[] = [];
    for (const full of [true, false, true, false]) {
      const rows = new Map<string, number[]>();
      const r = await runBackup(host, {
        guests: [TWO],
        dest: twoDest,
        full,
        stateDir: `${two.dir}/state`,
        log: false,
        onEvent: (e) => {
          if (e.type !== 'runner' || e.event.type !== 'progress') return;
          for (const p of e.event.progress.parts ?? []) rows.set(p.label, [...(rows.get(p.label) ?? []), p.percent]);
        },
      });
      const g = r.guests[0];
      expect(g?.error).toBeUndefined();
      expect(g).toMatchObject({ ok: true, method: 'backup-api', kind: full ? 'full' : 'incremental' });
      made.push({ run: g?.run as string, kind: g?.kind as string });
      expect([...rows.keys()].sort()).toEqual(['vda', 'vdb']);
      for (const percents of rows.values()) {
        expect(percents.at(-1)).toBe(100);
        // A row never goes back.
        expect(percents).toEqual([...percents].sort((a, b) => a - b));
      }
    }
    const names = made.map((m) => m.run);
    expect(new Set(names).size).toBe(4);
    const catalog = await readCatalog(host.sysExec, twoDest);
    const runs = catalog.find((c) => c.guest === TWO)?.runs ?? [];
    expect(runs.map((x) => x.name)).toEqual(names);
    expect(runs[1]?.manifest.parent).toBe(names[0]);
    expect(runs[3]?.manifest.parent).toBe(names[2]);
    const checkpoints = virshSync(host, ['checkpoint-list', '--domain', TWO, '--name', '--topological']).split('\n').filter(Boolean);
    expect(checkpoints).toEqual(runs.map((x) => x.manifest.checkpoint));
    const reports = await verifyRun(host, { dest: twoDest, guest: TWO, run: names[3] });
    expect(reports.every((rep) => rep.ok)).toBe(true);
  }, 180_000);
});
