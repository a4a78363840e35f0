import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleRemoveCommand, scheduleSetCommand, scheduleShowCommand } from '../../src/cli/commands/backupRestore.js';
import { safeOutput } from '../../src/cli/output.js';
import { installSchedule, readInstalledSchedule, removeSchedule } from '../../src/jobs/schedule.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { scratchDir } from '../helpers/tinyGuest.js';

/**
 * Issue 13 item 2: `backup schedule set` against a qemu+ssh:// host writes the schedule on this
 * machine (under a temp root here) and nothing of it crosses SSH: the sshd's ForceCommand log
 * shows no command while the schedule is set, shown and removed.
 */

let scratch: { dir: string; remove: () => void };
let sshd: ThrowawaySshd | null = null;
let root: string;
const V = ['/usr/bin/node', '/opt/virtdeck/virtdeck.js'];
const savedHome = process.env.VIRTDECK_HOME;

beforeAll(async () => {
  scratch = scratchDir('vdtest-rsched-');
  // The CLI commands log under the state directory: this test's own, never /var/lib/virtdeck.
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  sshd = await startThrowawaySshd(scratch.dir);
  root = join(scratch.dir, 'root');
  mkdirSync(join(root, 'usr/sbin'), { recursive: true });
  writeFileSync(join(root, 'usr/sbin/cron'), '');
});

afterAll(() => {
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
  sshd?.stop();
  scratch?.remove();
});

function capture() {
  const out: string[] = [];
  return { out, output: safeOutput(false, { out: (t) => out.push(t), err: (t) => out.push(t) }) };
}

describe('a remote host backup schedule', () => {
  it('is written on this machine, names this machine, and runs virtdeck here with --connect', async () => {
    const s = sshd as ThrowawaySshd;
    const logFile = join(scratch.dir, 'state/logs/schedule.log');
    s.clearCommands();
    const dry = await installSchedule(s.host, { at: '02:30', days: [], dest: '/mnt/b' }, { root, virtdeck: V, logFile, home: null, dryRun: true });
    expect(dry.writtenOn).toBe(hostname());
    expect(dry.connectsTo).toBe(s.host.name);
    const file = dry.files[0]?.path as string;
    expect(file).toMatch(/\/etc\/cron\.d\/virtdeck-127-0-0-1-[0-9a-f]{8}$/);
    expect(existsSync(file)).toBe(false);
    await installSchedule(s.host, { at: '02:30', days: [], dest: '/mnt/b' }, { root, virtdeck: V, logFile, home: null });
    expect(readFileSync(file, 'utf8')).toContain(`30 2 * * * root /usr/bin/node /opt/virtdeck/virtdeck.js --connect '${s.host.uri}' backup run --all --dest /mnt/b`);
    expect(existsSync(join(scratch.dir, 'state/logs'))).toBe(true);
    expect((await readInstalledSchedule(s.host, { root, home: null }))?.schedule?.at).toBe('02:30');
    expect(await removeSchedule(s.host, { root, home: null })).toEqual([file]);
    expect(s.commands()).toEqual([]);
  });

  it('set --dry-run, show and remove say which machine the schedule is on, and send nothing over SSH', async () => {
    const s = sshd as ThrowawaySshd;
    s.clearCommands();
    const ctx = capture();
    await scheduleSetCommand({ host: s.host, output: ctx.output }, { at: '03:00', dest: '/mnt/b', root, dryRun: true });
    expect(ctx.out.join('\n')).toContain(`Would write the cron schedule on this machine (${hostname()}), not on ${s.host.name}:`);
    // This machine's state directory and the way to reach the host travel with the run.
    expect(ctx.out.join('\n')).toContain(`root /usr/bin/env VIRTDECK_HOME=${process.env.VIRTDECK_HOME} `);
    expect(ctx.out.join('\n')).toContain(` --connect '${s.host.uri}' backup run --all --dest /mnt/b`);
    await scheduleSetCommand({ host: s.host, output: ctx.output }, { at: '03:00', dest: '/mnt/b', root });
    const shown = capture();
    await scheduleShowCommand({ host: s.host, output: shown.output }, { root });
    expect(shown.out.join('\n')).toContain(`The schedule of ${s.host.name} runs on this machine (${hostname()})`);
    expect(shown.out.join('\n')).toMatch(/Backups run every day at 03:00 into \/mnt\/b/);
    const removed = capture();
    await scheduleRemoveCommand({ host: s.host, output: removed.output }, { root });
    expect(removed.out.join('\n')).toMatch(new RegExp(`^Removed \\(kept as .bak\\) on this machine \\(${hostname()}\\) for ${s.host.name.replace(/\./g, '\\.')}: `));
    // Reading the catalog of the destination on the host is the one thing `show` may ask the host.
    expect(s.commands().filter((c) => !c.includes('/mnt/b'))).toEqual([]);
  });
});
