/**
 * A backup run's saved domain XML is outside text: the run may have sat on a NAS for a year.
 * `virtdeck backup restore` of a run whose domain.xml declares an external entity pointing at a
 * host file is refused with exit 2 and a sentence naming domain.xml, before anything is defined or
 * copied, and the file's contents appear in no output.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliArgv } from '../helpers/cli.js';

const URI = 'qemu:///system';
const root = resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'vdsec-pa-restore-'));
const SOURCE_GUEST = 'vdsec-pa-src';
const NEW_GUEST = 'vdsec-pa-rx';
const RUN = '20261125T203000Z-full';
const dest = join(scratch, 'backups');
const runDir = join(dest, SOURCE_GUEST, RUN);
const toDir = join(scratch, 'restored');
const marker = join(scratch, 'marker');
const SECRET = `vdsec-pa-secret-${process.pid}-${Date.now()}`;

const virsh = (...args: string[]) => execa('virsh', ['-c', URI, ...args], { reject: false });
const cli = (...args: string[]) =>
  execa(...cliArgv('--connect', URI, ...args), { reject: false, cwd: root, env: { VIRTDECK_HOME: join(scratch, 'home'), NO_COLOR: '1' } });

beforeAll(async () => {
  chmodSync(scratch, 0o755);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(toDir);
  writeFileSync(marker, SECRET);
  const image = join(runDir, 'vda.qcow2');
  await execa('qemu-img', ['create', '-q', '-f', 'qcow2', image, '1M']);
  const sha256 = createHash('sha256').update(readFileSync(image)).digest('hex');
  // A good run in every respect (the image matches its checksum) except its domain XML.
  writeFileSync(
    join(runDir, 'manifest.json'),
    JSON.stringify({
      version: 1,
      guest: SOURCE_GUEST,
      uuid: '6f1c3a4e-2b7d-4c1e-9a3f-0d5e8b7a6c21',
      createdAt: '2026-11-25T20:30:00Z',
      finishedAt: '2026-11-25T20:31:00Z',
      kind: 'full',
      parent: null,
      checkpoint: null,
      method: 'offline-copy',
      consistency: 'offline',
      hostname: 'old-host',
      uri: URI,
      disks: [{ target: 'vda', file: 'vda.qcow2', format: 'qcow2', sourcePath: `/var/lib/libvirt/images/${SOURCE_GUEST}.qcow2`, sourceFormat: 'qcow2', virtualSize: 1048576, bytesWritten: 196616, sha256, backing: null }],
      note: null,
      verified: null,
    }),
  );
  writeFileSync(
    join(runDir, 'domain.xml'),
    `<?xml version="1.0"?>
<!DOCTYPE domain [<!ENTITY secret SYSTEM "file://${marker}">]>
<domain type='qemu'>
  <name>${SOURCE_GUEST}</name>
  <uuid>6f1c3a4e-2b7d-4c1e-9a3f-0d5e8b7a6c21</uuid>
  <description>&secret;</description>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/${SOURCE_GUEST}.qcow2'/><target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>
`,
  );
});

afterAll(async () => {
  // Only if the code under test defined them.
  for (const g of [NEW_GUEST, SOURCE_GUEST]) if ((await virsh('dominfo', g)).exitCode === 0) await virsh('undefine', g);
  rmSync(scratch, { recursive: true, force: true });
});

describe('backup restore of a run whose domain.xml has a DOCTYPE', () => {
  for (const args of [['--as', NEW_GUEST, '--to', toDir], ['--as', NEW_GUEST, '--to', toDir, '--dry-run'], ['--dry-run'], ['--json', '--as', NEW_GUEST, '--to', toDir]]) {
    it(`virtdeck backup restore ${args.join(' ')}: exit 2, nothing defined or copied, the marker never shown`, async () => {
      const r = await cli('backup', 'restore', SOURCE_GUEST, RUN, '--dest', dest, ...args);
      const output = `${r.stdout}\n${r.stderr}`;
      expect(r.exitCode, output).toBe(2);
      expect(output).toContain(join(runDir, 'domain.xml'));
      expect(output).toMatch(/DOCTYPE/);
      expect(output).not.toContain(SECRET);
      expect((await virsh('dominfo', NEW_GUEST)).exitCode).not.toBe(0);
      expect((await virsh('dominfo', SOURCE_GUEST)).exitCode).not.toBe(0);
      expect(readdirSync(toDir)).toEqual([]);
    }, 60_000);
  }
});
