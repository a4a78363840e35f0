import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCatalog } from '../../src/jobs/backupCatalog.js';
import { prune } from '../../src/jobs/prune.js';
import { runDirName } from '../../src/model/backupManifest.js';
import { writeRun } from '../helpers/handRun.js';
import { localHost, scratchDir } from '../helpers/tinyGuest.js';

/** Prune on a temp catalog written by hand: manifests only, no images needed. */

const host = localHost();
const scratch = scratchDir('vdtest-rs-prune-');
const dest = join(scratch.dir, 'dest');
const G = 'vdtest-rs-pruneg';
const now = new Date('2026-06-10T12:00:00Z');

function listing(): string[] {
  const out: string[] = [];
  for (const g of readdirSync(dest)) for (const r of readdirSync(join(dest, g))) out.push(`${g}/${r}`);
  return out.sort();
}

const day = (d: number, h = 2) => new Date(Date.UTC(2026, 5, d, h));
let names: Record<string, string> = {};

beforeAll(() => {
  mkdirSync(dest, { recursive: true });
  const disk = { target: 'vda', sourcePath: '/var/lib/libvirt/images/x.qcow2', virtualSize: 1 << 20 };
  // Chain A: full Jun 1 + incs Jun 2, 3. Chain B: full Jun 5 + incs Jun 6, 7, 8, 9.
  const fullA = writeRun(dest, G, { at: day(1), kind: 'full', disks: [disk] });
  const incA1 = writeRun(dest, G, { at: day(2), kind: 'incremental', parent: fullA.name, disks: [disk] });
  const incA2 = writeRun(dest, G, { at: day(3), kind: 'incremental', parent: incA1.name, disks: [disk] });
  const fullB = writeRun(dest, G, { at: day(5), kind: 'full', disks: [disk] });
  let parent = fullB.name;
  const incs: string[] = [];
  for (const d of [6, 7, 8, 9]) {
    parent = writeRun(dest, G, { at: day(d), kind: 'incremental', parent, disks: [disk] }).name;
    incs.push(parent);
  }
  // A second guest, untouched when prune names only G.
  const other = writeRun(dest, 'vdtest-rs-other', { at: day(1), kind: 'full', disks: [disk] });
  writeRun(dest, G, { at: day(8, 5), kind: 'full', disks: [disk], partial: true }); // stale partial
  writeRun(dest, G, { at: new Date('2026-06-10T11:00:00Z'), kind: 'full', disks: [disk], partial: true }); // fresh
  mkdirSync(join(dest, G, `${runDirName(day(4), 'full')}.deleting`)); // left by an interrupted prune
  names = { fullA: fullA.name, incA1: incA1.name, incA2: incA2.name, fullB: fullB.name, inc6: incs[0] ?? '', inc9: incs[3] ?? '', other: other.name };
});

afterAll(() => scratch.remove());

describe('backup prune on a real directory', () => {
  it('dry-run plans and changes nothing', async () => {
    const before = listing();
    const r = await prune(host, dest, { keepLast: 1 }, { guests: [G], now, dryRun: true });
    expect(listing()).toEqual(before);
    expect(r.removed).toEqual([]);
    const keep = r.items.filter((i) => i.action === 'keep').map((i) => `${i.name}:${i.reason}`);
    // inc9 kept by keep-last; its whole chain back to fullB kept for it; the fresh partial kept.
    expect(keep).toContain(`${names.inc9}:last`);
    expect(keep).toContain(`${names.fullB}:chain`);
    expect(keep).toContain(`${names.inc6}:chain`);
    expect(r.items.find((i) => i.name === names.fullB)?.neededBy).toEqual([names.inc9]);
    const remove = r.items.filter((i) => i.action === 'remove').map((i) => i.name);
    expect(remove.sort()).toEqual(
      [names.fullA, names.incA1, names.incA2, `${runDirName(day(8, 5), 'full')}.partial`, `${runDirName(day(4), 'full')}.deleting`].sort(),
    );
  });

  it('a real prune removes exactly the planned directories, renaming them first', async () => {
    const before = listing();
    const plan = await prune(host, dest, { keepLast: 1 }, { guests: [G], now, dryRun: true });
    const planned = plan.items.filter((i) => i.action === 'remove').map((i) => `${i.guest}/${i.name}`);
    const r = await prune(host, dest, { keepLast: 1 }, { guests: [G], now });
    expect(r.removed.map((p) => p.slice(dest.length + 1)).sort()).toEqual(planned.sort());
    expect(listing()).toEqual(before.filter((x) => !planned.includes(x)));
    expect(listing().some((x) => x.endsWith('.deleting'))).toBe(false);
    // The catalog still reads every kept chain as complete, and the other guest is untouched.
    const cat = await readCatalog(host.sysExec, dest);
    expect(cat.find((g) => g.guest === G)?.runs.length).toBe(5);
    expect(cat.find((g) => g.guest === 'vdtest-rs-other')?.runs.map((x) => x.name)).toEqual([names.other]);
  });

  it('an empty policy keeps every complete run', async () => {
    const before = listing();
    const r = await prune(host, dest, {}, { now });
    expect(r.items.filter((i) => i.kind === 'run').every((i) => i.action === 'keep' && i.reason === 'all')).toBe(true);
    expect(listing()).toEqual(before);
  });
});
