import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { instantActions } from '../../src/jobs/instant.js';
import { prune } from '../../src/jobs/prune.js';
import type { InstantRecord } from '../../src/model/instantRecovery.js';
import { schedulePlace } from '../../src/model/schedule.js';
import { qemuImg, runDir, writeRun } from '../helpers/handRun.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/**
 * Prune and retention keep a run an instant copy still reads, and name the copy, also when the
 * host is remote (qemu+ssh: the runs are listed and removed over SSH) and when the prune is the
 * scheduled one: the very argv the schedule writes for that host (VIRTDECK_HOME, --connect), run
 * here with the configured retention. A record of another host holds nothing.
 */

const GUEST = 'vdtest-pir-src';
const COPY = 'vdtest-pir-copy';
let scratch: { dir: string; remove: () => void };
let sshd: ThrowawaySshd | null = null;
let dest = '';
let home = '';
const runs: { name: string; dir: string }[] = [];

function record(name: string, uri: string, run: string): InstantRecord {
  return {
    version: 1, name, guest: GUEST, dest, run, chain: [run], uri,
    overlays: [{ target: 'vda', path: join(scratch.dir, `${name}-vda.instant.qcow2`), backing: join(dest, GUEST, run, 'vda.qcow2') }],
    originalXml: null, createdAt: new Date().toISOString(), serialLog: null,
  };
}

beforeAll(async () => {
  scratch = scratchDir('vdtest-pir-');
  sshd = await startThrowawaySshd(scratch.dir);
  dest = join(scratch.dir, 'dest');
  home = join(scratch.dir, 'home');
  for (const day of [1, 2, 3]) {
    const at = new Date(`2026-06-0${day}T02:00:00Z`);
    qemuImg('create', '-q', '-f', 'qcow2', join(runDir(dest, GUEST, at, 'full'), 'vda.qcow2'), '1M');
    runs.push(writeRun(dest, GUEST, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: '/img/src.qcow2', virtualSize: 1 << 20 }] }));
  }
  // The remote host's copy reads the oldest run; a copy on this machine's libvirt reads the middle one.
  const write = instantActions(sshd.host)['instant-record'];
  const stateDir = join(home, 'state');
  await write?.({ stateDir, record: record(COPY, sshd.host.uri, runs[0]?.name ?? '') }, {} as never);
  await write?.({ stateDir, record: record('vdtest-pir-local', 'qemu:///system', runs[1]?.name ?? '') }, {} as never);
  // The schedule's prune reads the retention and the host entry (its key) from the config file.
  mkdirSync(join(home, 'config'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'config', 'config.json'), JSON.stringify({ hosts: [{ name: 'pir-remote', uri: sshd.host.uri }], backup: { retention: { keepLast: 1 } } }), { mode: 0o600 });
});

afterAll(() => {
  sshd?.stop();
  scratch?.remove();
});

describe('prune with an instant copy on a remote host', () => {
  it('over qemu+ssh keeps the run the copy reads, naming it; a record of another host holds nothing', async () => {
    const r = await prune((sshd as ThrowawaySshd).host, dest, { keepLast: 1 }, { stateDir: join(home, 'state'), dryRun: true });
    const byName = Object.fromEntries(r.items.map((i) => [i.name, i]));
    expect(byName[runs[0]?.name ?? '']).toMatchObject({ action: 'keep', reason: 'instant', usedBy: [COPY] });
    expect(byName[runs[1]?.name ?? '']).toMatchObject({ action: 'remove', reason: 'retention' });
    expect(byName[runs[2]?.name ?? '']).toMatchObject({ action: 'keep' });
    // The listing and the checks went over SSH.
    expect((sshd as ThrowawaySshd).commands().some((c) => c.includes(dest))).toBe(true);
  });

  it('the scheduled prune (the argv the schedule writes for this host) keeps it too, and says which guest', async () => {
    const main = join(import.meta.dirname, '../../src/cli/main.tsx');
    const place = schedulePlace({ uri: (sshd as ThrowawaySshd).host.uri, remoteHost: 'pir-remote', thisMachine: hostname(), home, invocation: [process.execPath, '--import', 'tsx', main] });
    expect(place.virtdeck).toEqual(['/usr/bin/env', `VIRTDECK_HOME=${home}`, process.execPath, '--import', 'tsx', main, '--connect', (sshd as ThrowawaySshd).host.uri]);
    const [cmd = '', ...args] = place.virtdeck;
    const r = await execa(cmd, [...args, 'backup', 'prune', '--dest', dest], { reject: false, env: { NO_COLOR: '1' } });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`${runs[0]?.name}`);
    expect(r.stdout).toContain(`in use: ${COPY} runs from it (backup instant)`);
    expect(existsSync(runs[0]?.dir ?? '')).toBe(true);
    expect(existsSync(runs[1]?.dir ?? '')).toBe(false);
    expect(existsSync(runs[2]?.dir ?? '')).toBe(true);
  });
});
