import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { readCatalog } from '../../src/jobs/backupCatalog.js';

const dest = mkdtempSync(join(tmpdir(), 'vd-catalog-'));
afterAll(() => rmSync(dest, { recursive: true, force: true }));

function manifest(guest: string, kind: 'full' | 'incremental', parent: string | null): string {
  return JSON.stringify({
    version: 1, guest, uuid: 'u', createdAt: 'x', finishedAt: 'y', kind, parent, checkpoint: null,
    method: 'offline-copy', consistency: 'offline', hostname: 'h', uri: 'qemu:///system', disks: [],
  });
}

function put(rel: string, text?: string) {
  mkdirSync(join(dest, rel), { recursive: true });
  if (text !== undefined) writeFileSync(join(dest, rel, 'manifest.json'), text);
}

describe('backup catalog', () => {
  it('reads every run in one process, and sets partial and damaged runs apart', async () => {
    put('web/20261125T203000Z-full', manifest('web', 'full', null));
    put('web/20261126T203000Z-inc', manifest('web', 'incremental', '20261125T203000Z-full'));
    put('web/20261127T203000Z-inc.partial');
    put('db/20261125T203000Z-full', '{broken');
    put('db/not-a-run', manifest('db', 'full', null));
    const exec = new LocalExecutor();
    let spawns = 0;
    const counting = {
      label: 'local',
      run: (a: string[], o?: object) => {
        spawns++;
        return exec.run(a, o);
      },
      interactive: exec.interactive,
    };
    const cat = await readCatalog(counting, dest);
    expect(spawns).toBe(1);
    expect(cat.map((g) => g.guest)).toEqual(['db', 'web']);
    const web = cat[1]!;
    expect(web.runs.map((r) => r.name)).toEqual(['20261125T203000Z-full', '20261126T203000Z-inc']);
    expect(web.runs[1]?.manifest.parent).toBe('20261125T203000Z-full');
    expect(web.partials).toEqual(['20261127T203000Z-inc.partial']);
    expect(cat[0]?.runs).toEqual([]);
    expect(cat[0]?.damaged[0]?.reason).toMatch(/not valid JSON/);
  });

  it('names a missing destination and the fix', async () => {
    await expect(readCatalog(new LocalExecutor(), join(dest, 'nope'))).rejects.toMatchObject({
      sentence: `The backup destination ${join(dest, 'nope')} does not exist.`,
    });
  });
});
