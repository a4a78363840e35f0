import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitOverlay, findOverlays, runBackup } from '../../src/jobs/backup.js';
import { readCatalog } from '../../src/jobs/backupCatalog.js';
import { interruptedJobs, jobsDir } from '../../src/jobs/journal.js';
import { actionsFor } from '../../src/jobs/registry.js';
import { rollbackJob } from '../../src/jobs/runner.js';
import { defineAndStart, diskSources, removeBackupGuest, sh, sha256, virshSync } from '../helpers/backupFixtures.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const RAW = 'vdtest-bk-fraw';
const QC = 'vdtest-bk-fqc';
const KILL = 'vdtest-bk-fkill';
const scratch = scratchDir('vdtest-bk-f-');
const dir = scratch.dir;
const rawImage = `${dir}/fraw.raw`;
const qcImage = `${dir}/fqc.qcow2`;
const qcReference = `${dir}/fqc-reference.raw`;
const killImage = `${dir}/fkill.raw`;
const tiny = `${dir}/tiny`;
const dest = `${dir}/dest`;
let rawSha = '';
let killSha = '';

beforeAll(() => {
  for (const g of [RAW, QC, KILL]) removeBackupGuest(host, g);
  sh(['qemu-img', 'create', '-q', '-f', 'raw', rawImage, '32M']);
  sh(['qemu-io', '-f', 'raw', '-c', 'write -P 0x3c 0 16M', rawImage]);
  rawSha = sha256(rawImage);
  sh(['qemu-img', 'create', '-q', '-f', 'qcow2', qcImage, '128M']);
  sh(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x4d 0 96M', qcImage]);
  sh(['qemu-img', 'convert', '-O', 'raw', qcImage, qcReference]);
  sh(['qemu-img', 'create', '-q', '-f', 'raw', killImage, '512M']);
  sh(['qemu-io', '-f', 'raw', '-c', 'write -P 0x77 0 512M', killImage]);
  killSha = sha256(killImage);
  sh(['mkdir', '-p', tiny, dest]);
  sh(['mount', '-t', 'tmpfs', '-o', 'size=96M', 'vdtest-bk-tiny', tiny]);
  defineAndStart(host, RAW, [{ path: rawImage, format: 'raw' }]);
  defineAndStart(host, QC, [{ path: qcImage, format: 'qcow2' }]);
  defineAndStart(host, KILL, [{ path: killImage, format: 'raw' }]);
}, 180_000);

afterAll(() => {
  for (const g of [RAW, QC, KILL]) removeBackupGuest(host, g);
  try {
    sh(['umount', tiny]);
  } catch {
    // not mounted
  }
  scratch.remove();
});

/** What every fault must leave: the guest on its own file, no overlay, no run listed, the disk unchanged. */
async function expectClean(guest: string, image: string, where: string, sum: string) {
  expect(diskSources(host, guest)).toEqual([image]);
  expect(readdirSync(dir).filter((f) => f.includes('virtdeck-overlay'))).toEqual([]);
  expect((await findOverlays(host)).filter((o) => o.guest === guest)).toEqual([]);
  if (existsSync(where)) {
    const g = (await readCatalog(host.sysExec, where)).find((x) => x.guest === guest);
    expect(g?.runs ?? []).toEqual([]);
    expect(g?.partials ?? []).toEqual([]);
  }
  expect(sha256(image)).toBe(sum);
}

describe('backup faults', () => {
  it('destination fills up mid-copy: the run fails with a sentence, the overlay is committed, nothing is listed', async () => {
    const r = await runBackup(host, {
      guests: [RAW],
      dest: tiny,
      stateDir: `${dir}/state`,
      onEvent: (e) => {
        if (e.type === 'runner' && e.event.type === 'step-start' && e.event.step.id === 'copy-vda') {
          sh(['sh', '-c', 'head -c 90M /dev/zero > "$1"', 'sh', `${tiny}/filler`]);
        }
      },
    });
    expect(r.guests[0]?.ok).toBe(false);
    expect(r.guests[0]?.error?.sentence).toMatch(/full|space/i);
    await expectClean(RAW, rawImage, tiny, rawSha);
    sh(['rm', '-f', `${tiny}/filler`]);
  });

  it('destination removed mid-run: fails cleanly', async () => {
    const r = await runBackup(host, {
      guests: [RAW],
      dest,
      stateDir: `${dir}/state`,
      onEvent: (e) => {
        if (e.type === 'runner' && e.event.type === 'step-start' && e.event.step.id === 'copy-vda') sh(['rm', '-rf', `${dest}/${RAW}`]);
      },
    });
    expect(r.guests[0]?.ok).toBe(false);
    await expectClean(RAW, rawImage, dest, rawSha);
  });

  it('guest destroyed during a snapshot copy: the overlay is committed offline and the definition points at the base again', async () => {
    const r = await runBackup(host, {
      guests: [RAW],
      dest,
      stateDir: `${dir}/state`,
      onEvent: (e) => {
        if (e.type === 'runner' && e.event.type === 'step-start' && e.event.step.id === 'copy-vda') virshSync(host, ['destroy', '--domain', RAW]);
      },
    });
    expect(r.guests[0]?.error).toBeUndefined();
    expect(r.guests[0]?.ok).toBe(true);
    expect(diskSources(host, RAW, true)).toEqual([rawImage]);
    expect(readdirSync(dir).filter((f) => f.includes('virtdeck-overlay'))).toEqual([]);
    expect(sha256(rawImage)).toBe(rawSha);
  });

  it('guest destroyed during a push backup: no run listed, no checkpoint left, data intact', async () => {
    let destroyed = false;
    const r = await runBackup(host, {
      guests: [QC],
      dest,
      stateDir: `${dir}/state`,
      onEvent: (e) => {
        if (!destroyed && e.type === 'runner' && e.event.type === 'progress') {
          destroyed = true;
          virshSync(host, ['destroy', '--domain', QC]);
        }
      },
    });
    expect(destroyed).toBe(true);
    const g = (await readCatalog(host.sysExec, dest)).find((x) => x.guest === QC);
    expect(g?.partials ?? []).toEqual([]);
    if (r.guests[0]?.ok) {
      // The job finished before the destroy landed: then the run must be complete and sound.
      expect(g?.runs.length).toBe(1);
    } else {
      expect(g?.runs ?? []).toEqual([]);
      expect(virshSync(host, ['checkpoint-list', '--domain', QC, '--name']).trim()).toBe('');
    }
    expect(sh(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'raw', qcImage, qcReference])).toMatch(/identical/);
  });

  it('SIGKILL between snapshot and commit: recovery commits the overlay, the journal rolls back, nothing is listed', async () => {
    const home = `${dir}/killhome`;
    const child = spawn('npx', ['tsx', 'test/helpers/backupChild.ts', KILL, dest], {
      env: { ...process.env, VIRTDECK_HOME: home },
      detached: true,
      stdio: 'ignore',
    });
    const jobs = jobsDir(join(home, 'state'));
    const deadline = Date.now() + 60_000;
    let killed = false;
    while (Date.now() < deadline && !killed) {
      for (const f of existsSync(jobs) ? readdirSync(jobs).filter((x) => x.endsWith('.json')) : []) {
        try {
          const rec = JSON.parse(readFileSync(join(jobs, f), 'utf8'));
          const i = rec.plan.steps.findIndex((s: { id: string }) => s.id === 'snapshot');
          if (i >= 0 && rec.steps[i].state === 'done') {
            process.kill(-(child.pid as number), 'SIGKILL');
            killed = true;
          }
        } catch {
          // mid-rename
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(killed).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const found = (await findOverlays(host)).filter((o) => o.guest === KILL);
    expect(found.length).toBe(1);
    for (const o of found) expect(await commitOverlay(host, o.guest, o.target)).toBe('committed');
    const interrupted = interruptedJobs(join(home, 'state'), hostname());
    expect(interrupted.length).toBe(1);
    const j = interrupted[0] as (typeof interrupted)[number];
    const rolled = await rollbackJob(j, { host, stateDir: join(home, 'state'), actions: actionsFor(j.record.kind, host) });
    expect(rolled.state).toBe('rolled-back');
    await expectClean(KILL, killImage, dest, killSha);
  });
});
