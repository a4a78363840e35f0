/**
 * Snapshots on the real libvirtd (TCG guests with no OS): internal on a running qcow2 guest;
 * external on a raw guest, off and running, reverted by virtdeck's own method and deleted by
 * merging the newer writes back. Data is checked with qemu-io patterns.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listSnapshots } from '../../src/host/snapshots.js';
import { defineXml, dumpXml } from '../../src/host/virsh.js';
import { createSnapshot, deleteSnapshot, revertSnapshot } from '../../src/jobs/snapshot.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdtest-sn-');
const home = mkdtempSync(join(tmpdir(), 'vdtest-sn-home-'));
const GUESTS = ['vdtest-sn-int', 'vdtest-sn-rawoff', 'vdtest-sn-rawon'];
const stateDir = join(home, 'state');

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

function guestXml(name: string, file: string, format: string): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='${format}'/><source file='${file}'/><target dev='vda' bus='virtio'/><alias name='ua-vda'/></disk>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
  </devices>
</domain>`;
}

function makeImage(name: string, format: 'qcow2' | 'raw'): string {
  const file = join(scratch.dir, `${name}.${format}`);
  sh('qemu-img', ['create', '-q', '-f', format, file, '8M']);
  sh('qemu-io', ['-f', format, '-c', 'write -P 0xab 1M 64k', file]);
  return file;
}

/** Writes into the live disk through QEMU's monitor, as the guest would. */
function liveWrite(guest: string, pattern: string): void {
  const out = sh('virsh', ['-c', 'qemu:///system', 'qemu-monitor-command', guest, '--hmp', `qemu-io -d /machine/peripheral/ua-vda/virtio-backend "write -P ${pattern} 1M 64k"`]);
  expect(out).not.toMatch(/error|failed/i);
}

function reads(file: string, format: string, pattern: string): boolean {
  try {
    const out = sh('qemu-io', ['-r', '-U', '-f', format, '-c', `read -P ${pattern} 1M 64k`, file]);
    return !/Pattern verification failed/.test(out);
  } catch {
    return false;
  }
}

async function sourceOf(guest: string, inactive = false): Promise<string | null> {
  return summarizeDomainXml(await dumpXml(host, guest, { inactive })).disks[0]?.source ?? null;
}

function virsh(...args: string[]): string {
  return sh('virsh', ['-c', 'qemu:///system', ...args]);
}

async function cleanup(): Promise<void> {
  for (const g of GUESTS) {
    try {
      for (const s of (await listSnapshots(host, g)).reverse()) virsh('snapshot-delete', '--domain', g, '--snapshotname', s.name, '--metadata');
    } catch {
      // not there
    }
    await removeGuest(host, g);
  }
}

beforeAll(async () => {
  process.env.VIRTDECK_HOME = home;
  await cleanup();
});

afterAll(async () => {
  await cleanup();
  scratch.remove();
  rmSync(home, { recursive: true, force: true });
});

describe('internal snapshot of a running qcow2 guest', () => {
  test('create → write → revert gives the data as at the snapshot', async () => {
    const g = 'vdtest-sn-int';
    const file = makeImage(g, 'qcow2');
    await defineXml(host, guestXml(g, file, 'qcow2'));
    virsh('start', g);
    const created = await createSnapshot(host, g, { name: 'before-update', description: 'test' }, { stateDir });
    expect(created.plan.title).toContain('internal, with memory');
    const snaps = await listSnapshots(host, g);
    expect(snaps.map((s) => [s.name, s.location, s.withMemory, s.description])).toEqual([['before-update', 'internal', true, 'test']]);
    liveWrite(g, '0xcd');
    virsh('destroy', g);
    expect(reads(file, 'qcow2', '0xcd')).toBe(true);
    virsh('start', g);
    await revertSnapshot(host, g, 'before-update', { stateDir });
    expect(virsh('domstate', g).trim()).toBe('running');
    virsh('destroy', g);
    expect(reads(file, 'qcow2', '0xab')).toBe(true);
    await deleteSnapshot(host, g, 'before-update', { stateDir });
    expect(await listSnapshots(host, g)).toEqual([]);
  });
});

describe('external snapshot of a raw guest', () => {
  test('shut off: create → write → revert (virtdeck method) → write → delete merges into the original', async () => {
    const g = 'vdtest-sn-rawoff';
    const file = makeImage(g, 'raw');
    await defineXml(host, guestXml(g, file, 'raw'));
    const created = await createSnapshot(host, g, { name: 's1' }, { stateDir });
    expect(created.plan.title).toContain('external');
    const overlay = `${file}.virtdeck-snap-s1.qcow2`;
    expect(await sourceOf(g, true)).toBe(overlay);
    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xcd 1M 64k', overlay]);

    await revertSnapshot(host, g, 's1', { stateDir });
    const fresh = (await sourceOf(g, true)) as string;
    expect(fresh).toMatch(/\.virtdeck-snap-s1\.r\d{8}T\d{6}Z\.qcow2$/);
    expect(reads(fresh, 'qcow2', '0xab')).toBe(true);
    expect(existsSync(overlay)).toBe(true); // abandoned overlay kept unless asked

    sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xee 1M 64k', fresh]);
    await deleteSnapshot(host, g, 's1', { stateDir, removeAbandoned: true });
    expect(await sourceOf(g, true)).toBe(file);
    expect(reads(file, 'raw', '0xee')).toBe(true);
    expect(readdirSync(scratch.dir).filter((f) => f.startsWith(`${g}.raw.virtdeck-snap`))).toEqual([]);
    expect(await listSnapshots(host, g)).toEqual([]);
  });

  test('running: create → live write → revert → live write → delete with blockcommit', async () => {
    const g = 'vdtest-sn-rawon';
    const file = makeImage(g, 'raw');
    await defineXml(host, guestXml(g, file, 'raw'));
    virsh('start', g);
    await createSnapshot(host, g, { name: 's2' }, { stateDir });
    const overlay = `${file}.virtdeck-snap-s2.qcow2`;
    expect(await sourceOf(g)).toBe(overlay);
    liveWrite(g, '0xcd');

    const reverted = await revertSnapshot(host, g, 's2', { stateDir, removeAbandoned: true });
    expect(reverted.plan.steps.map((s) => s.id)).toEqual(['stop', 'overlay-vda', 'repoint', 'remove-abandoned', 'start']);
    expect(virsh('domstate', g).trim()).toBe('running');
    const fresh = (await sourceOf(g)) as string;
    expect(fresh).toMatch(/\.r\d{8}T\d{6}Z\.qcow2$/);
    expect(existsSync(overlay)).toBe(false);
    expect(reads(fresh, 'qcow2', '0xab')).toBe(true);

    liveWrite(g, '0x77');
    const deleted = await deleteSnapshot(host, g, 's2', { stateDir });
    expect(deleted.plan.steps[0]?.command?.argv).toContain('blockcommit');
    expect(await sourceOf(g)).toBe(file);
    expect(await sourceOf(g, true)).toBe(file);
    virsh('destroy', g);
    expect(reads(file, 'raw', '0x77')).toBe(true);
    expect(existsSync(fresh)).toBe(false);
    expect(await listSnapshots(host, g)).toEqual([]);
  });
});
