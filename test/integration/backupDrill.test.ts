import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { DRILLS_FILE, readDrills, runDrill } from '../../src/jobs/drill.js';
import { readInstantRecords } from '../../src/jobs/instant.js';
import { BOOT_LINE, bootableQcow2 } from '../helpers/bootSector.js';
import { cliArgv } from '../helpers/cli.js';
import { qemuImg, runDir, sha256, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * Restore drills on the real host (TCG): a backup whose disk boots (it prints a line on the serial
 * console) is proven restorable, through the CLI's --json twin; one whose disk does not boot times
 * out and is recorded as failed. Either way nothing of the throwaway copy is left.
 */

const host = localHost();
const scratch = scratchDir('vdtest-dr-');
const dest = join(scratch.dir, 'dest');
const overlays = join(scratch.dir, 'overlays');
const home = join(scratch.dir, 'home');
const stateDir = join(home, 'state');
const GOOD = 'vdtest-dr-good';
const DEAD = 'vdtest-dr-dead';
const runFiles: string[] = [];
let before: string[] = [];

async function backedUp(guest: string, bootable: boolean): Promise<void> {
  const orig = join(scratch.dir, `${guest}.qcow2`);
  if (bootable) bootableQcow2(orig);
  else qemuImg('create', '-q', '-f', 'qcow2', orig, '4M');
  await virsh.defineXml(host, tinyGuestXml(guest, { disk: orig }));
  const xml = await virsh.dumpXml(host, guest, { inactive: true });
  const at = new Date('2026-06-01T02:00:00Z');
  const image = join(runDir(dest, guest, at, 'full'), 'vda.qcow2');
  qemuImg('convert', '-O', 'qcow2', orig, image);
  writeRun(dest, guest, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: orig, virtualSize: 4 << 20 }], domainXml: xml });
  runFiles.push(image);
}

async function leftovers(): Promise<string[]> {
  const names = (await host.virshExec.run(['virsh', '-c', host.uri, 'list', '--all', '--name'])).stdout.split('\n').filter((n) => n.includes('vdtest-dr-') && n.includes('-drill-'));
  const logs = readdirSync('/var/log/libvirt/qemu').filter((f) => f.startsWith('vdtest-dr-') && f.includes('-drill-') && f.endsWith('-serial0.log'));
  return [...names, ...readdirSync(overlays), ...logs, ...readInstantRecords(stateDir).map((r) => r.name)];
}

beforeAll(async () => {
  for (const d of [dest, overlays]) mkdirSync(d, { recursive: true });
  await backedUp(GOOD, true);
  await backedUp(DEAD, false);
  before = runFiles.map(sha256);
});

afterAll(async () => {
  const names = (await host.virshExec.run(['virsh', '-c', host.uri, 'list', '--all', '--name'])).stdout.split('\n').filter((n) => n.startsWith('vdtest-dr-'));
  for (const g of names) await removeGuest(host, g);
  scratch.remove();
});

describe('backup drill', () => {
  it('proves a bootable backup restorable (CLI --json), records it privately, leaves nothing behind', async () => {
    const r = await execa(...cliArgv('--json', 'backup', 'drill', GOOD, '--dest', dest, '--dir', overlays, '--timeout', '60'), {
      reject: false,
      env: { VIRTDECK_HOME: home, NO_COLOR: '1' },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; drills: { guest: string; ok: boolean; evidence: string; bootSeconds: number; cleanedUp: boolean }[] };
    expect(out.ok).toBe(true);
    expect(out.drills[0]).toMatchObject({ guest: GOOD, ok: true, cleanedUp: true });
    expect(out.drills[0]?.evidence).toContain(BOOT_LINE);
    console.log(`drill: booted in ${out.drills[0]?.bootSeconds} s`);
    expect(readDrills(stateDir).find((d) => d.guest === GOOD)?.ok).toBe(true);
    expect(statSync(join(stateDir, DRILLS_FILE)).mode & 0o777).toBe(0o600);
    expect(await leftovers()).toEqual([]);
    expect(existsSync(join(dest, GOOD))).toBe(true);
  });

  it('a backup that never boots times out, is recorded as failed, and is cleaned up too', async () => {
    const r = await runDrill(host, { guest: DEAD, dest, dir: overlays, timeoutS: 3, stateDir });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/no serial-console output and no guest-agent answer within 3 s/);
    expect(r.cleanedUp).toBe(true);
    const recorded = readDrills(stateDir);
    expect(recorded.find((d) => d.guest === DEAD)?.ok).toBe(false);
    // The earlier drill of the other guest is kept.
    expect(recorded.find((d) => d.guest === GOOD)?.ok).toBe(true);
    expect(await leftovers()).toEqual([]);
    expect(runFiles.map(sha256)).toEqual(before);
  });
});
