import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { defineXml, listGuests } from '../../src/host/virsh.js';
import { cliArgv } from '../helpers/cli.js';
import { type SecondHost, startSecondHost } from '../helpers/secondHost.js';
import { localHost, removeGuest, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * `virtdeck guest migrate` headless, against a second real libvirtd (test/helpers/secondHost.ts):
 * --dry-run --json prints the checks and the plan and changes nothing; a refused check is exit 2
 * with its sentence and fix in the JSON, nothing changed on either host.
 */

const P = 'vdtest-mgcli';
const DIR = `/var/lib/libvirt/images/${P}`;
const root = path.resolve(import.meta.dirname, '../..');
const local = localHost();
const sh = new LocalExecutor();
let second: SecondHost;
let home: string;

function cli(...args: string[]) {
  return execa(...cliArgv(...args), { reject: false, cwd: root, env: { VIRTDECK_HOME: home, NO_COLOR: '1' } });
}

beforeAll(async () => {
  second = await startSecondHost(`${P}-host-`);
  home = mkdtempSync(join(tmpdir(), `${P}-home-`));
  mkdirSync(join(home, 'config'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, 'config', 'config.json'), JSON.stringify({ hosts: [{ name: 'second', uri: second.uri }] }), { mode: 0o600 });
  mkdirSync(DIR, { recursive: true, mode: 0o755 });
}, 60_000);

afterAll(async () => {
  for (const g of (await listGuests(local)).filter((x) => x.name.startsWith(`${P}-`))) await removeGuest(local, g.name);
  await second?.stop();
  rmSync(DIR, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}, 60_000);

const snapshot = async () => ({
  here: (await listGuests(local)).filter((g) => g.name.startsWith(`${P}-`)).map((g) => `${g.name}:${g.state}`).sort(),
  there: (await listGuests(second.host)).map((g) => g.name).sort(),
  files: readdirSync(DIR).sort(),
});

describe('virtdeck guest migrate (headless)', () => {
  it('--dry-run --json: the checks and the plan of an offline copy, nothing changed; a name clash is exit 2 with its fix', async () => {
    const name = `${P}-a`;
    const disk = join(DIR, `${name}.qcow2`);
    await sh.run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '8M']);
    await defineXml(local, tinyGuestXml(name, { disk }));
    const before = await snapshot();

    const dry = await cli('guest', 'migrate', name, '--to', 'second', '--copy-storage', '--dry-run', '--json');
    expect(dry.stderr).toBe('');
    expect(dry.exitCode).toBe(0);
    const out = JSON.parse(dry.stdout);
    expect(out).toMatchObject({ ok: true, dryRun: true, live: false, copy: true });
    expect(out.plan.steps.map((s: { id: string }) => s.id)).toEqual(['copy-0', 'place-disks', 'define-dest', 'verify', 'undefine-source']);
    expect(out.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);

    const noCopy = await cli('guest', 'migrate', name, '--to', 'second', '--dry-run', '--json');
    expect(noCopy.exitCode).toBe(2);
    expect(JSON.parse(noCopy.stdout).error.fix).toMatch(/--copy-storage/);

    await defineXml(second.host, tinyGuestXml(name));
    const clash = await cli('guest', 'migrate', name, '--to', 'second', '--copy-storage', '--json');
    expect(clash.exitCode).toBe(2);
    const refused = JSON.parse(clash.stdout);
    expect(refused.ok).toBe(false);
    expect(refused.error.message).toBe(`second already has a guest named ${name}.`);
    expect(refused.checks.find((c: { id: string }) => c.id === 'clash')).toMatchObject({ ok: false });
    await sh.run(['virsh', '-c', second.uri, 'undefine', name]);

    const bad = await cli('guest', 'migrate', name, '--to', 'second', '--bandwidth', 'lots');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--bandwidth "?lots"? is not a whole number of MiB\/s/);

    expect(await snapshot()).toEqual(before);
  }, 120_000);
});
