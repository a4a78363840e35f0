import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostContext } from '../../src/config/connect.js';
import { SshExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { info } from '../../src/host/qemuImg.js';
import { defineXml, domState, listGuests, start } from '../../src/host/virsh.js';
import { prepareConvert, runConvert } from '../../src/jobs/convert.js';
import { targetFrom } from '../../src/model/convertPlan.js';
import { removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * A "remote" host over SSH on this machine: a throwaway sshd on 127.0.0.1 with its own host key
 * and one authorized client key, and virtdeck connected with
 * qemu+ssh://root@127.0.0.1:PORT/system?keyfile=KEY&no_verify=1 — libvirt's own ssh transport for
 * virsh, and virtdeck's SshExecutor for qemu-img and the disk jobs. sshd's log shows each login.
 */

const GUEST = 'vdtest-jb-remote';
let scratch: { dir: string; remove: () => void };
let sshd: ChildProcess | null = null;
let createdRunSshd = false;
let host: HostContext;
let sshdLog = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const logins = () => (existsSync(sshdLog) ? readFileSync(sshdLog, 'utf8').match(/Accepted publickey for root/g)?.length ?? 0 : 0);

beforeAll(async () => {
  scratch = scratchDir('vdtest-jb-remote-');
  const d = scratch.dir;
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'host_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(d, 'client_key')]);
  writeFileSync(join(d, 'authorized_keys'), readFileSync(join(d, 'client_key.pub')));
  const port = await freePort();
  sshdLog = join(d, 'sshd.log');
  writeFileSync(
    join(d, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(d, 'host_key')}`,
      `PidFile ${join(d, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(d, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  // sshd's privilege separation needs this directory; it is only made (and later removed) when missing.
  if (!existsSync('/run/sshd')) {
    mkdirSync('/run/sshd', { mode: 0o755 });
    createdRunSshd = true;
  }
  sshd = spawn('/usr/sbin/sshd', ['-D', '-f', join(d, 'sshd_config'), '-E', sshdLog], { stdio: 'ignore' });
  // libvirt's ssh transport runs this instead of plain ssh: the same ssh, recording no host keys.
  const wrapper = join(d, 'ssh-no-known-hosts');
  writeFileSync(wrapper, '#!/bin/sh\nexec ssh -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$@"\n');
  chmodSync(wrapper, 0o755);
  const uri = `qemu+ssh://root@127.0.0.1:${port}/system?keyfile=${join(d, 'client_key')}&no_verify=1&command=${wrapper}`;
  host = createHostContext({ uri });
  // Wait for sshd to listen.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await host.sysExec.run(['true'], { okExitCodes: [255] }).catch(() => null);
    if (r?.exitCode === 0) break;
    if (Date.now() > deadline) throw new Error(`sshd did not come up: ${existsSync(sshdLog) ? readFileSync(sshdLog, 'utf8') : ''}`);
    await new Promise((r2) => setTimeout(r2, 200));
  }
});

afterAll(async () => {
  if (host) await removeGuest(host, GUEST);
  sshd?.kill('SIGTERM');
  if (createdRunSshd) rmSync('/run/sshd', { recursive: true, force: true });
  scratch?.remove();
});

describe('remote host over SSH (sshd on 127.0.0.1)', () => {
  it('runs file commands through ssh with the URI port, key and no_verify', () => {
    expect(host.sysExec).toBeInstanceOf(SshExecutor);
    expect(host.sysExec.label).toBe('root@127.0.0.1');
    expect(host.name).toBe('127.0.0.1');
  });

  it('runs qemu-img over SSH, lists and starts a guest through libvirt’s ssh transport', async () => {
    const disk = join(scratch.dir, `${GUEST}.qcow2`);
    const before = logins();
    await host.sysExec.run(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '16M']);
    const i = await info(host.sysExec, disk);
    expect(i.format).toBe('qcow2');
    expect(i.virtualSize).toBe(16 * 1024 * 1024);
    expect(logins()).toBeGreaterThanOrEqual(before + 2);

    await defineXml(host, tinyGuestXml(GUEST, { disk }));
    const guests = await listGuests(host);
    const row = guests.find((g) => g.name === GUEST);
    expect(row?.state).toBe('shut off');
    expect(row?.disks[0]?.source).toBe(disk);
    await start(host, GUEST);
    expect(await domState(host, GUEST)).toBe('running');
    await removeGuest(host, GUEST);
  });

  it('runs a disk job (convert, compare, place) over SSH', async () => {
    const src = join(scratch.dir, 'vdtest-jb-remote-src.raw');
    await host.sysExec.run(['qemu-img', 'create', '-q', '-f', 'raw', src, '8M']);
    await host.sysExec.run(['dd', 'if=/dev/urandom', `of=${src}`, 'bs=64k', 'count=8', 'conv=notrunc', 'status=none']);
    const before = logins();
    const prepared = await prepareConvert(host, { source: src, target: targetFrom('qcow2') });
    expect(prepared.check.refusals).toEqual([]);
    const r = await runConvert(host, prepared.plan!, { stateDir: join(scratch.dir, 'state') });
    expect(r.state).toBe('done');
    expect((await info(host.sysExec, join(scratch.dir, 'vdtest-jb-remote-src.qcow2'))).format).toBe('qcow2');
    // Every step's file command went through sshd.
    expect(logins() - before).toBeGreaterThanOrEqual(prepared.plan!.steps.length);
  });
});
