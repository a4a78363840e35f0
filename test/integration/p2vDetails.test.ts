import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/hostileCli.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

/**
 * Issue 13 item 7 with the real CLI: the new MAC --dry-run shows is the one the run gives the
 * guest; a bridge or libvirt network that does not exist is refused before anything is copied;
 * as much memory as the host has is warned about.
 */
const host = localHost();
const GUEST = 'vdt13p2vd-mac';
const scratch = scratchDir('vdt13p2vd-');
const dir = scratch.dir;
const OUT = join(dir, 'out');
const RAW = join(dir, 'dump.raw');

beforeAll(() => {
  mkdirSync(OUT);
  writeFileSync(RAW, Buffer.alloc(1024 * 1024));
});

afterAll(async () => {
  // The refused ones too: a build without the refusal defines them.
  for (const g of [GUEST, 'vdt13p2vd-br', 'vdt13p2vd-net', 'vdt13p2vd-mem']) await removeGuest(host, g);
  scratch.remove();
});

const p2v = (...args: string[]) => runCli(['p2v', '--from-file', RAW, '--dest', OUT, '--format', 'raw', '--memory', '64', ...args], { cwd: dir });
const macOf = (text: string) => text.match(/e1000 ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})/)?.[1];

describe('p2v details', () => {
  it('the MAC --dry-run shows is the one the run uses', async () => {
    const dry1 = await p2v('--name', GUEST, '--dry-run');
    const dry2 = await p2v('--name', GUEST, '--dry-run');
    expect(dry1.exitCode, dry1.stderr).toBe(0);
    const mac = macOf(dry1.stdout);
    expect(mac).toMatch(/^52:54:00:/);
    expect(macOf(dry2.stdout)).toBe(mac);
    const run = await p2v('--name', GUEST);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain(`MAC ${mac}`);
    const xml = execFileSync('virsh', ['-c', host.uri, 'dumpxml', '--inactive', GUEST], { encoding: 'utf8' });
    expect(xml).toContain(`<mac address='${mac}'/>`);
  }, 120_000);

  it('a bridge or libvirt network that does not exist is refused before the copy (exit 2)', async () => {
    const bridge = await p2v('--name', 'vdt13p2vd-br', '--network', 'bridge:vdt13nobr0');
    expect(bridge.exitCode, bridge.stderr).toBe(2);
    expect(bridge.stderr.split('\n')[0]).toBe('virtdeck: There is no bridge vdt13nobr0 on this host.');
    const net = await p2v('--name', 'vdt13p2vd-net', '--network', 'network:vdt13nonet');
    expect(net.exitCode, net.stderr).toBe(2);
    expect(net.stderr.split('\n')[0]).toBe('virtdeck: There is no libvirt network vdt13nonet on this host.');
    expect(readdirSync(OUT).filter((f) => f.includes('-br') || f.includes('-net'))).toEqual([]);
  }, 60_000);

  it('as much memory as the host has gets a warning', async () => {
    const kib = Number(execFileSync('virsh', ['-c', host.uri, 'nodeinfo'], { encoding: 'utf8' }).match(/Memory size:\s*(\d+)/)?.[1]);
    const mib = Math.floor(kib / 1024);
    const r = await runCli(['p2v', '--from-file', RAW, '--dest', OUT, '--name', 'vdt13p2vd-mem', '--memory', String(mib), '--dry-run'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`warning: The guest gets ${mib} MiB of memory and this host has ${mib} MiB in all`);
  }, 60_000);
});
