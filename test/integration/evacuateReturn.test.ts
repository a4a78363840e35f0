import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { defineXml, listGuests } from '../../src/host/virsh.js';
import { updateEvacuated } from '../../src/jobs/evacuationRecord.js';
import { cliArgv } from '../helpers/cli.js';
import { type SecondHost, startSecondHost } from '../helpers/secondHost.js';
import { tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * The way back of an evacuation on two real daemons (test/helpers/secondHost.ts): a return killed
 * mid-move is found and resolved by `recover` whichever host it is started against, and the copies
 * a move leaves on the host the guest left are removed only when the admin asks for it.
 */

const P = 'vdtest-ev4';
const DIR = `/var/lib/libvirt/images/${P}`;
const root = path.resolve(import.meta.dirname, '../..');
const sh = new LocalExecutor();
let away: SecondHost;
let home: SecondHost;
let vhome: string;

const env = () => ({ VIRTDECK_HOME: vhome, NO_COLOR: '1' });
function cli(host: string, ...args: string[]) {
  return execa(...cliArgv('--connect', host, ...args), { reject: false, cwd: root, env: env() });
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
  await Promise.all([home?.stop(), away?.stop()]);
  if (vhome) rmSync(vhome, { recursive: true, force: true });
}, 90_000);

const virsh = (uri: string, ...args: string[]) => sh.run(['virsh', '-c', uri, ...args], { okExitCodes: [1] });
const states = async (h: SecondHost) => Object.fromEntries((await listGuests(h.host)).map((g) => [g.name, g.state]));
const filesOn = (h: SecondHost) => (existsSync(h.localPath(DIR)) ? readdirSync(h.localPath(DIR)).sort() : []);
const jobsDir = () => join(vhome, 'state', 'jobs');
const journals = () =>
  readdirSync(jobsDir())
    .filter((n) => n.endsWith('.json') && !n.includes('.progress.'))
    .map((n) => JSON.parse(readFileSync(join(jobsDir(), n), 'utf8')));

/**
 * What an evacuation of `name` leaves, made directly (the evacuation itself is evacuate.test.ts'):
 * the guest runs on away from a copy of its disk that has since taken 8 MiB more (so that its move
 * home at 1 MiB/s lasts long enough to be caught moving), the out-of-date copy stays at home, and
 * the record of guests away says so.
 */
async function evacuatedBefore(name: string): Promise<string> {
  const disk = join(DIR, `${name}.qcow2`);
  await sh.run(['qemu-img', 'create', '-q', '-f', 'qcow2', home.localPath(disk), '16M']);
  await sh.run(['qemu-io', '-c', 'write -P 0x5a 1M 1M', home.localPath(disk)]);
  mkdirSync(away.localPath(DIR), { recursive: true, mode: 0o755 });
  copyFileSync(home.localPath(disk), away.localPath(disk));
  await sh.run(['qemu-io', '-c', 'write -P 0x66 6M 8M', away.localPath(disk)]);
  await defineXml(away.host, tinyGuestXml(name, { disk }).replace(/<graphics[^>]*\/>/, ''));
  await virsh(away.uri, 'start', name);
  const uuid = (await virsh(away.uri, 'domuuid', name)).stdout.trim();
  mkdirSync(join(vhome, 'state'), { recursive: true, mode: 0o700 });
  updateEvacuated(join(vhome, 'state'), { home: { uri: home.uri, name: 'home' }, to: { uri: away.uri, name: 'away', fromConfig: true } }, { name, uuid, mode: 'live', state: 'moved', leftFiles: [{ path: disk, format: 'qcow2', virtualSize: 16 << 20 }] });
  return disk;
}

/** Starts `host evacuate --return …` and kill -9s it (its whole group) once `guest`'s live step runs. */
async function killMidReturn(guestName: string, ...flags: string[]): Promise<void> {
  const child = execa(...cliArgv('--connect', 'home', 'host', 'evacuate', '--return', '--bandwidth', '1', ...flags), { reject: false, cwd: root, env: env(), detached: true });
  const movingLive = () =>
    existsSync(jobsDir()) &&
    journals().some((rec) => {
      const i = rec.plan.steps.findIndex((x: { id: string }) => x.id === 'migrate');
      return rec.kind === 'evacuate-move' && rec.state === 'running' && rec.steps[i]?.state === 'running' && String(rec.plan.title).includes(guestName);
    });
  const deadline = Date.now() + 120_000;
  while (!movingLive()) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the return did not reach ${guestName}'s live step: ${child.exitCode} ${child.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(-(child.pid as number), 'SIGKILL');
  await child;
}

describe('host evacuate --return interrupted, then recover (two real daemons)', () => {
  const run = `${P}-run`;
  let disk = '';

  it('kill -9 mid-return: recover started against either host lists the half-done move; --finish started against away brings it home, one runnable copy', async () => {
    disk = await evacuatedBefore(run);
    await killMidReturn(run);
    expect((await states(away))[run]).toBe('running');
    expect((await states(home))[run]).toBeUndefined();

    for (const h of ['home', 'away']) {
      const list = await cli(h, 'recover', '--json');
      expect(list.exitCode, `${h}: ${list.stderr}`).toBe(0);
      const items = JSON.parse(list.stdout).items as { id: string; title: string; explanation: string[] }[];
      expect(items.map((i) => i.title), h).toEqual([`Bring 1 guest(s) home from away to home`]);
      expect(items[0]?.explanation.join(' '), h).toContain(`${run}'s move`);
    }
    const id = (JSON.parse((await cli('home', 'recover', '--json')).stdout).items[0] as { id: string }).id;
    // Resolved from the other end: the job runs against home, where it was journaled.
    const r = await cli('away', 'recover', '--finish', id);
    expect(r.exitCode, `${r.stderr}${r.stdout}`).toBe(0);
    expect((await states(home))[run]).toBe('running');
    expect((await states(away))[run]).toBeUndefined();
    const read = await sh.run(['qemu-io', '-r', '-U', '-c', 'read -P 0x66 6M 8M', home.localPath(disk)]);
    expect(read.stdout).not.toMatch(/Pattern verification failed/);
    expect(journals().filter((j) => j.state === 'running')).toEqual([]);
    for (const h of ['home', 'away']) expect(JSON.parse((await cli(h, 'recover', '--json')).stdout).items).toEqual([]);
    // Without --remove-source-disks the copy the guest left on away stays there.
    expect(filesOn(away)).toEqual([`${run}.qcow2`]);
  }, 300_000);

  it('--remove-source-disks: the evacuation deletes the copy at home once the guest runs away; --dry-run of the return names the file; the return deletes the copy on away once the guest runs home', async () => {
    rmSync(away.localPath(disk), { force: true });
    const ev = await cli('home', 'host', 'evacuate', '--to', 'away', '--copy-storage', '--remove-source-disks', '--json');
    expect(ev.exitCode, `${ev.stderr}${ev.stdout}`).toBe(0);
    expect((await states(away))[run]).toBe('running');
    expect(filesOn(home)).toEqual([]);
    expect(filesOn(away)).toEqual([`${run}.qcow2`]);

    const before = { home: await states(home), away: await states(away), files: [filesOn(home), filesOn(away)] };
    const dry = await cli('home', 'host', 'evacuate', '--return', '--remove-source-disks', '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`delete ${disk} on away (${run} runs on home from its copies)`);
    expect(dry.stdout).toContain(`its disk files on away are deleted: ${disk}.`);
    expect({ home: await states(home), away: await states(away), files: [filesOn(home), filesOn(away)] }).toEqual(before);

    const r = await cli('home', 'host', 'evacuate', '--return', '--remove-source-disks', '--json');
    expect(r.exitCode, `${r.stderr}${r.stdout}`).toBe(0);
    expect((await states(home))[run]).toBe('running');
    expect((await states(away))[run]).toBeUndefined();
    expect(filesOn(away)).toEqual([]);
    expect(filesOn(home)).toEqual([`${run}.qcow2`]);
    const read = await sh.run(['qemu-io', '-r', '-U', '-c', 'read -P 0x66 6M 8M', home.localPath(disk)]);
    expect(read.stdout).not.toMatch(/Pattern verification failed/);
  }, 300_000);
});
