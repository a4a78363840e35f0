/**
 * Item 7: helper files are never written at a predictable /tmp name. Another user plants a symlink
 * where virtdeck used to write a snapshot revert's domain XML (tmpdir()/virtdeck-snapshot-GUEST.PID.xml)
 * pointing at a file root owns; the revert must not write through it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defineXml, dumpXml } from '../../src/host/virsh.js';
import { isPrivateTempPath, writeStepFile } from '../../src/jobs/privateTemp.js';
import { createSnapshot, revertSnapshot } from '../../src/jobs/snapshot.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { localHost, removeGuest, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const scratch = scratchDir('vdsec-st-tmp-');
const home = mkdtempSync(join(tmpdir(), 'vdsec-st-tmp-home-'));
const GUEST = 'vdsec-st-snap';
const planted = join(tmpdir(), `virtdeck-snapshot-${GUEST}.${process.pid}.xml`);
const victim = join(scratch.dir, 'victim.conf');
const savedHome = process.env.VIRTDECK_HOME;

const virsh = (...args: string[]) => execFileSync('virsh', ['-c', host.uri, ...args], { encoding: 'utf8' });

async function cleanup(): Promise<void> {
  try {
    virsh('snapshot-delete', '--domain', GUEST, '--snapshotname', 's1', '--metadata');
  } catch {
    // not there
  }
  await removeGuest(host, GUEST);
}

beforeAll(async () => {
  process.env.VIRTDECK_HOME = home;
  await cleanup();
});

afterAll(async () => {
  await cleanup();
  rmSync(planted, { force: true });
  scratch.remove();
  rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.VIRTDECK_HOME;
  else process.env.VIRTDECK_HOME = savedHome;
});

describe('a symlink planted at the old predictable snapshot temp name', () => {
  test('is not followed: the file it points at keeps its bytes, and the revert still works', async () => {
    const disk = join(scratch.dir, `${GUEST}.raw`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', disk, '8M']);
    await defineXml(
      host,
      `<domain type='qemu'><name>${GUEST}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`,
    );
    await createSnapshot(host, GUEST, { name: 's1' }, { stateDir: join(home, 'state') });

    writeFileSync(victim, 'PermitRootLogin no\n', { mode: 0o600 });
    rmSync(planted, { force: true });
    symlinkSync(victim, planted);

    await revertSnapshot(host, GUEST, 's1', { stateDir: join(home, 'state') });

    expect(readFileSync(victim, 'utf8')).toBe('PermitRootLogin no\n');
    expect(lstatSync(planted).isSymbolicLink() && readlinkSync(planted)).toBe(victim);
    const source = summarizeDomainXml(await dumpXml(host, GUEST, { inactive: true })).disks[0]?.source ?? '';
    expect(source).toMatch(/\.virtdeck-snap-s1\.r\d{8}T\d{6}Z\.qcow2$/);
  });
});

describe('step helper files', () => {
  test('a private temp directory someone else made first is refused, and nothing is written into it', () => {
    const path = join(tmpdir(), `virtdeck-vdsec-st-${process.pid}`, 'domain.xml');
    expect(isPrivateTempPath(path)).toBe(true);
    const dir = join(tmpdir(), `virtdeck-vdsec-st-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    execFileSync('mkdir', ['-m', '0777', dir]);
    execFileSync('chown', ['nobody', dir]);
    try {
      expect(() => writeStepFile(path, '<domain/>')).toThrow(/not a private directory of virtdeck/);
      expect(existsSync(path)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
