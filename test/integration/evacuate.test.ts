import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { defineXml, listGuests } from '../../src/host/virsh.js';
import { cliArgv } from '../helpers/cli.js';
import { type SecondHost, startSecondHost } from '../helpers/secondHost.js';
import { tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * `virtdeck host evacuate` on the real stack. The host being emptied is not this machine's
 * libvirtd (an evacuation moves EVERY guest of its host, and other test files keep guests there)
 * but a second daemon of test/helpers/secondHost.ts; the guests go to a third one. Disks under
 * /var/lib/libvirt/images are private to each daemon, so they are copied both ways.
 */

const P = 'vdtest-ev';
const DIR = `/var/lib/libvirt/images/${P}`;
const root = path.resolve(import.meta.dirname, '../..');
const sh = new LocalExecutor();
let away: SecondHost;
let home: SecondHost;
let vhome: string;

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', 'home', ...args), { reject: false, cwd: root, env: { VIRTDECK_HOME: vhome, NO_COLOR: '1' } });
}

beforeAll(async () => {
  [home, away] = await Promise.all([startSecondHost(`${P}-home-`, 'home'), startSecondHost(`${P}-away-`, 'away')]);
  vhome = mkdtempSync(join(tmpdir(), `${P}-vhome-`));
  mkdirSync(join(vhome, 'config'), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(vhome, 'config', 'config.json'),
    JSON.stringify({
      hosts: [
        { name: 'home', uri: home.uri },
        { name: 'away', uri: away.uri },
      ],
    }),
    { mode: 0o600 },
  );
  mkdirSync(home.localPath(DIR), { recursive: true, mode: 0o755 });
}, 90_000);

afterAll(async () => {
  // Both daemons belong to this file alone: stopping them removes every guest they have.
  await Promise.all([home?.stop(), away?.stop()]);
  if (vhome) rmSync(vhome, { recursive: true, force: true });
}, 90_000);

const virsh = (uri: string, ...args: string[]) => sh.run(['virsh', '-c', uri, ...args], { okExitCodes: [1] });
const states = async (h: SecondHost) => Object.fromEntries((await listGuests(h.host)).map((g) => [g.name, g.state]));

/** A guest on the home daemon with a 16 MiB qcow2 holding a known pattern at 1 MiB. */
async function guest(name: string, start: boolean): Promise<string> {
  const disk = join(DIR, `${name}.qcow2`);
  await sh.run(['qemu-img', 'create', '-q', '-f', 'qcow2', home.localPath(disk), '16M']);
  await sh.run(['qemu-io', '-c', 'write -P 0x5a 1M 1M', home.localPath(disk)]);
  // No VNC: the three daemons share one network namespace, and their autoport picks can collide.
  await defineXml(home.host, tinyGuestXml(name, { disk }).replace(/<graphics[^>]*\/>/, ''));
  if (start) await virsh(home.uri, 'start', name);
  return disk;
}

const snapshot = async () => ({ home: await states(home), away: await states(away), files: readdirSync(home.localPath(DIR)).sort(), there: existsSync(away.localPath(DIR)) ? readdirSync(away.localPath(DIR)).sort() : [] });

describe('virtdeck host evacuate (two real daemons)', () => {
  const run = `${P}-run`;
  const off = `${P}-off`;
  const clash = `${P}-clash`;
  let runDisk = '';
  let offDisk = '';

  it('--dry-run: every guest reviewed (live, offline, skipped with the check\'s sentence), nothing changed', async () => {
    runDisk = await guest(run, true);
    offDisk = await guest(off, false);
    await guest(clash, true);
    await defineXml(away.host, tinyGuestXml(clash));
    const before = await snapshot();
    const dry = await cli('host', 'evacuate', '--to', 'away', '--include-shut-off', '--copy-storage', '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    expect(dry.exitCode, dry.stdout).toBe(0);
    const out = JSON.parse(dry.stdout);
    const modes = Object.fromEntries(out.guests.map((g: { guest: string; mode: string }) => [g.guest, g.mode]));
    expect(modes).toEqual({ [run]: 'live', [clash]: 'skip', [off]: 'offline' });
    expect(out.guests.find((g: { guest: string }) => g.guest === clash).error.message).toBe(`away already has a guest named ${clash}.`);
    expect(out.plan.steps.map((s: { title: string }) => s.title)).toEqual([`move ${run} live to away, copying its disks`, `move ${off} offline to away, copying its disks`]);
    expect(await snapshot()).toEqual(before);
  }, 180_000);

  it('moves the running guest live and the shut-off one offline, skips the refused one (exit 1: it still runs here), records what moved 0600', async () => {
    const r = await cli('host', 'evacuate', '--to', 'away', '--include-shut-off', '--copy-storage', '--json');
    expect(r.exitCode, `${r.stderr}${r.stdout}`).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.state).toBe('done');
    expect(Object.fromEntries(out.guests.map((g: { guest: string; result: string }) => [g.guest, g.result]))).toEqual({ [run]: 'moved', [off]: 'moved', [clash]: 'skipped' });
    expect(out.guests.find((g: { guest: string }) => g.guest === clash).sentence).toBe(`away already has a guest named ${clash}.`);
    const there = await states(away);
    expect(there[run]).toBe('running');
    expect(there[off]).toBe('shut off');
    const here = await states(home);
    expect(here[run]).toBeUndefined();
    expect(here[off]).toBeUndefined();
    expect(here[clash]).toBe('running');
    for (const disk of [runDisk, offDisk]) {
      const cmp = await sh.run(['qemu-img', 'compare', '-U', home.localPath(disk), away.localPath(disk)], { okExitCodes: [1] });
      expect(cmp.stdout).toContain('Images are identical');
    }
    const records = readdirSync(join(vhome, 'state', 'evacuations'));
    expect(records).toHaveLength(1);
    expect(statSync(join(vhome, 'state', 'evacuations', records[0] as string)).mode & 0o777).toBe(0o600);
    expect(statSync(join(vhome, 'state', 'evacuations')).mode & 0o777).toBe(0o700);
  }, 240_000);

  it('--return brings home only what the evacuation moved; the out-of-date copies at home are replaced', async () => {
    // The guest keeps writing while away: the return must bring that back, not the old copy.
    await virsh(away.uri, 'destroy', run);
    await sh.run(['qemu-io', '-c', 'write -P 0x77 4M 1M', away.localPath(runDisk)]);
    await virsh(away.uri, 'start', run);
    const r = await cli('host', 'evacuate', '--return', '--json');
    expect(r.exitCode, `${r.stderr}${r.stdout}`).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.fromEntries(out.guests.map((g: { guest: string; result: string }) => [g.guest, g.result]))).toEqual({ [run]: 'moved', [off]: 'moved' });
    const here = await states(home);
    expect(here[run]).toBe('running');
    expect(here[off]).toBe('shut off');
    const there = await states(away);
    expect(Object.keys(there)).toEqual([clash]);
    const read = await sh.run(['qemu-io', '-r', '-U', '-c', 'read -P 0x77 4M 1M', home.localPath(runDisk)]);
    expect(read.stdout).not.toMatch(/Pattern verification failed/);
    // No set-aside copy is left, and nothing else is away: the record is gone.
    expect(readdirSync(home.localPath(DIR)).filter((f) => f.includes('virtdeck'))).toEqual([]);
    expect(readdirSync(join(vhome, 'state', 'evacuations'))).toEqual([]);
    const again = await cli('host', 'evacuate', '--return');
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/No evacuation of home has guests away/);
  }, 240_000);

  it('kill -9 of the evacuation mid-migration leaves the guest running here only; recover --finish completes the evacuation', async () => {
    const jobs = join(vhome, 'state', 'jobs');
    // The copies the return left on the away host would refuse the guests (the copy would overwrite them).
    rmSync(away.localPath(DIR), { recursive: true, force: true });
    const child = execa(...cliArgv('--connect', 'home', 'host', 'evacuate', '--to', 'away', '--include-shut-off', '--copy-storage', '--bandwidth', '8'), {
      reject: false,
      cwd: root,
      env: { VIRTDECK_HOME: vhome, NO_COLOR: '1' },
      detached: true,
    });
    // The move of the running guest (first in the order) has reached its live step. Journals only:
    // a journal's temp file (NAME.json.PID.tmp, renamed over it) can be read half written.
    const moving = () =>
      readdirSync(jobs)
        .filter((n) => n.includes('-evacuate-move-') && n.endsWith('.json') && !n.includes('.progress.'))
        .some((n) => {
          const rec = JSON.parse(readFileSync(join(jobs, n), 'utf8'));
          const i = rec.plan.steps.findIndex((x: { id: string }) => x.id === 'migrate');
          return rec.state === 'running' && rec.steps[i]?.state === 'running';
        });
    const deadline = Date.now() + 120_000;
    while (!moving()) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the evacuation did not reach the live step: ${child.exitCode}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    process.kill(-(child.pid as number), 'SIGKILL');
    await child;
    const here = await states(home);
    expect(here[run]).toBe('running');
    expect((await states(away))[run]).not.toBe('running');
    const evacuation = readdirSync(jobs).find((n) => /-evacuate-[0-9a-f]{6}\.json$/.test(n) && JSON.parse(readFileSync(join(jobs, n), 'utf8')).state === 'running');
    expect(evacuation).toBeDefined();
    const r = await cli('recover', '--finish', (evacuation as string).replace(/\.json$/, ''));
    expect(r.exitCode, `${r.stderr}${r.stdout}`).toBe(0);
    const there = await states(away);
    expect(there[run]).toBe('running');
    expect(there[off]).toBe('shut off');
    const after = await states(home);
    expect(after[run]).toBeUndefined();
    expect(after[off]).toBeUndefined();
  }, 300_000);

  /** The journal of a move of `guest` (a job of its own under the evacuation) whose live step runs. */
  const movingLive = (jobs: string, guest: string) =>
    readdirSync(jobs)
      .filter((n) => n.includes('-evacuate-move-') && n.endsWith('.json') && !n.includes('.progress.'))
      .some((n) => {
        const rec = JSON.parse(readFileSync(join(jobs, n), 'utf8'));
        const i = rec.plan.steps.findIndex((x: { id: string }) => x.id === 'migrate');
        return rec.state === 'running' && rec.steps[i]?.state === 'running' && String(rec.plan.title).includes(guest);
      });

  it('the first Ctrl-C stops the guest being moved (domjobabort): it keeps running where it was, virtdeck exits 130 and says so', async () => {
    const jobs = join(vhome, 'state', 'jobs');
    // Both guests are away (recover --finish above): bring them home, slowly enough to be caught
    // moving. 8 MiB more on the running guest's disk make its move at 1 MiB/s last some seconds
    // (with 2 MiB, a Ctrl-C on a loaded CI machine once came after libvirt had completed it).
    await virsh(away.uri, 'destroy', run);
    await sh.run(['qemu-io', '-c', 'write -P 0x66 6M 8M', away.localPath(runDisk)]);
    await virsh(away.uri, 'start', run);
    const child = execa(...cliArgv('--connect', 'home', 'host', 'evacuate', '--return', '--bandwidth', '1'), {
      reject: false,
      cwd: root,
      env: { VIRTDECK_HOME: vhome, NO_COLOR: '1' },
      detached: true,
    });
    const deadline = Date.now() + 120_000;
    while (!movingLive(jobs, run)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the return did not reach ${run}'s live step: ${child.exitCode} ${child.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // As a terminal does: the whole foreground process group.
    process.kill(-(child.pid as number), 'SIGINT');
    const r = await child;
    expect(r.exitCode, `${r.stderr}`).toBe(130);
    // libvirt may complete the move between the Ctrl-C and its domjobabort (seen on a loaded CI machine even
    // with the copy throttled): then the guest has arrived, nothing is undone, and virtdeck must say that
    // instead. Either way exactly one copy runs and the sentence says which.
    if (r.stderr.includes('after the guest being moved had arrived')) {
      expect(r.stderr).toContain(`The cancel came after "move ${run} live to home`);
      expect((await states(home))[run], r.stderr).toBe('running');
      expect((await states(away))[run]).toBeUndefined();
    } else {
      expect(r.stderr).toContain(`was cancelled (Ctrl-C) at ${run}, which stays where it was`);
      const there = await states(away);
      expect(there[run], r.stderr).toBe('running');
      expect((await states(home))[run]).toBeUndefined();
    }
    expect(readdirSync(jobs).some((n) => !n.includes('.progress.') && n.endsWith('.json') && JSON.parse(readFileSync(join(jobs, n), 'utf8')).state === 'running')).toBe(false);
  }, 240_000);

  it('--detach: a worker that outlives the command brings the guests home; `job log --follow` waits for it', async () => {
    const awayNow = Object.keys(await states(away)).filter((n) => n === run || n === off);
    // run too, unless the Ctrl-C above came after its move had completed; off was never reached.
    expect(awayNow).toContain(off);
    const r = await cli('host', 'evacuate', '--return', '--detach', '--json');
    expect(r.exitCode, `${r.stderr}${r.stdout}`).toBe(0);
    const started = JSON.parse(r.stdout);
    expect(started).toMatchObject({ ok: true, detached: true });
    // What the cancelled return left away: run, and off unless it came home before run.
    expect(started.guests.map((g: { guest: string }) => g.guest).sort()).toEqual(awayNow.sort());
    // The command has returned; the worker carries on.
    const follow = await cli('job', 'log', started.id, '--follow');
    expect(follow.exitCode, `${follow.stderr}${follow.stdout}`).toBe(0);
    const here = await states(home);
    expect(here[run]).toBe('running');
    expect(here[off]).toBe('shut off');
    const there = await states(away);
    expect(there[run]).toBeUndefined();
    expect(there[off]).toBeUndefined();
  }, 240_000);
});
