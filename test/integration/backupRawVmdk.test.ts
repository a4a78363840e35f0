import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOverlays, runBackup } from '../../src/jobs/backup.js';
import { verifyRun } from '../../src/jobs/backupVerify.js';
import { defineAndStart, diskSources, removeBackupGuest, sh } from '../helpers/backupFixtures.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

const host = localHost();
const RAW = 'vdtest-bk-raw';
const VMDK = 'vdtest-bk-vmdk';
const scratch = scratchDir('vdtest-bk-rv-');
const dir = scratch.dir;
const rawImage = `${dir}/r.raw`;
const vmdkImage = `${dir}/v.vmdk`;
const dest = `${dir}/dest`;

beforeAll(() => {
  for (const g of [RAW, VMDK]) removeBackupGuest(host, g);
  sh(['qemu-img', 'create', '-q', '-f', 'raw', rawImage, '16M']);
  sh(['qemu-io', '-f', 'raw', '-c', 'write -P 0x5a 1M 2M', rawImage]);
  sh(['qemu-img', 'create', '-q', '-f', 'vmdk', vmdkImage, '16M']);
  sh(['qemu-io', '-f', 'vmdk', '-c', 'write -P 0xa5 3M 1M', vmdkImage]);
  sh(['mkdir', '-p', dest]);
  defineAndStart(host, RAW, [{ path: rawImage, format: 'raw' }]);
  defineAndStart(host, VMDK, [{ path: vmdkImage, format: 'vmdk' }]);
});

afterAll(() => {
  for (const g of [RAW, VMDK]) removeBackupGuest(host, g);
  scratch.remove();
});

describe('running guests with raw and vmdk disks: snapshot → copy → commit', () => {
  it('backs both up, puts them back on their files, and leaves no overlay', async () => {
    const events: string[] = [];
    const r = await runBackup(host, {
      guests: [RAW, VMDK],
      dest,
      stateDir: `${dir}/state`,
      onEvent: (e) => {
        if (e.type === 'runner' && e.event.type === 'step-start') events.push(`${e.guest}:${e.event.step.id}`);
      },
    });
    for (const g of r.guests) {
      expect(g.error).toBeUndefined();
      expect(g).toMatchObject({ ok: true, kind: 'full', method: 'snapshot-copy', consistency: 'crash-consistent' });
    }
    expect(events).toContain(`${RAW}:snapshot`);
    expect(events).toContain(`${VMDK}:commit`);
    expect(diskSources(host, RAW)).toEqual([rawImage]);
    expect(diskSources(host, VMDK)).toEqual([vmdkImage]);
    expect(diskSources(host, RAW, true)).toEqual([rawImage]);
    expect(readdirSync(dir).filter((f) => f.includes('virtdeck-overlay'))).toEqual([]);
    expect((await findOverlays(host)).filter((o) => o.guest.startsWith('vdtest-bk-'))).toEqual([]);

    const rawRun = `${dest}/${RAW}/${r.guests[0]?.run}`;
    const vmdkRun = `${dest}/${VMDK}/${r.guests[1]?.run}`;
    expect(readdirSync(rawRun).sort()).toEqual(['domain.xml', 'manifest.json', 'vda.raw']);
    expect(readdirSync(vmdkRun).sort()).toEqual(['domain.xml', 'manifest.json', 'vda.qcow2']);
    expect(sh(['qemu-img', 'compare', '-U', '-f', 'raw', '-F', 'raw', `${rawRun}/vda.raw`, rawImage])).toMatch(/identical/);
    expect(sh(['qemu-img', 'compare', '-U', '-f', 'qcow2', '-F', 'vmdk', `${vmdkRun}/vda.qcow2`, vmdkImage])).toMatch(/identical/);
    const reports = await verifyRun(host, { dest });
    expect(reports.map((x) => x.ok)).toEqual([true, true]);
  });
});
