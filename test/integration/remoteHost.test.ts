import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshExecutor } from '../../src/host/exec.js';
import type { HostContext } from '../../src/host/hostContext.js';
import { info } from '../../src/host/qemuImg.js';
import { defineXml, domState, listGuests, start } from '../../src/host/virsh.js';
import { prepareConvert, runConvert } from '../../src/jobs/convert.js';
import { targetFrom } from '../../src/model/convertPlan.js';
import { startThrowawaySshd, type ThrowawaySshd } from '../helpers/throwawaySshd.js';
import { removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * A "remote" host over SSH on this machine (test/helpers/throwawaySshd.ts): libvirt's own ssh
 * transport for virsh, and virtdeck's SshExecutor for qemu-img and the disk jobs.
 */

const GUEST = 'vdtest-jb-remote';
let scratch: { dir: string; remove: () => void };
let sshd: ThrowawaySshd | null = null;
let host: HostContext;

const logins = () => sshd?.logins() ?? 0;

beforeAll(async () => {
  scratch = scratchDir('vdtest-jb-remote-');
  sshd = await startThrowawaySshd(scratch.dir);
  host = sshd.host;
});

afterAll(async () => {
  if (host) await removeGuest(host, GUEST);
  sshd?.stop();
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
