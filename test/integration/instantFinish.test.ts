import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { discardInstant, findInstantRecord, finishInstant, type InstantListEntry, listInstant, prepareFinish, runInstant } from '../../src/jobs/instant.js';
import { detectRecovery, resolveRecovery } from '../../src/jobs/recovery.js';
import type { RunnerEvent } from '../../src/jobs/runner.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { BOOT_LINE, bootableQcow2 } from '../helpers/bootSector.js';
import { cliArgv } from '../helpers/cli.js';
import { qemuImg, runDir, sha256, writeRun } from '../helpers/handRun.js';
import { hangAfter, killGroup, startPlanChild, theJournal, waitForStep, writeShim } from '../helpers/planFault.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * Moving an instant-recovered guest home on the real host: the blockcopy reports progress and
 * pivots; a kill -9 in the middle leaves a guest that still boots from backup + overlay, and
 * `recover` finishes the move or rolls it back (the copy then still runs from the backup).
 */

const host = localHost();
const scratch = scratchDir('vdtest-if-');
const dest = join(scratch.dir, 'dest');
const overlays = join(scratch.dir, 'overlays');
const homeDisks = join(scratch.dir, 'home-disks');
const stateDir = join(scratch.dir, 'home', 'state');
const SRC = 'vdtest-if-src';
const NAMES = ['vdtest-if-a', 'vdtest-if-k1', 'vdtest-if-k2'];
let run = { name: '', dir: '' };
let before = '';

beforeAll(async () => {
  for (const d of [dest, overlays, homeDisks]) mkdirSync(d, { recursive: true });
  const orig = join(scratch.dir, 'src.qcow2');
  bootableQcow2(orig);
  await virsh.defineXml(host, tinyGuestXml(SRC, { disk: orig }));
  const xml = await virsh.dumpXml(host, SRC, { inactive: true });
  const at = new Date('2026-06-01T02:00:00Z');
  qemuImg('convert', '-O', 'qcow2', orig, join(runDir(dest, SRC, at, 'full'), 'vda.qcow2'));
  run = writeRun(dest, SRC, { at, kind: 'full', disks: [{ target: 'vda', sourcePath: orig, virtualSize: 4 << 20 }], domainXml: xml });
  before = sha256(join(run.dir, 'vda.qcow2'));
});

afterAll(async () => {
  for (const g of [...NAMES, SRC]) await removeGuest(host, g);
  scratch.remove();
});

async function waitFor(ok: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const overlayOf = (name: string) => join(overlays, `${name}-vda.instant.qcow2`);
const diskOf = async (name: string, inactive = false) => getSettings(parseDomainXml(await virsh.dumpXml(host, name, { inactive }))).disks.find((d) => d.target === 'vda')?.source;

describe('backup instant finish', () => {
  it('copies while the guest runs, reporting progress, then pivots; the backup is untouched', async () => {
    const name = 'vdtest-if-a';
    expect((await runInstant(host, { guest: SRC, dest, run: run.name, asName: name, dir: overlays, isolated: true, stateDir })).state).toBe('done');
    // `backup instant list --json`: which run it reads, its overlay, that it runs.
    const listed = await execa(...cliArgv('--json', 'backup', 'instant', 'list'), { reject: false, env: { VIRTDECK_HOME: join(scratch.dir, 'home'), NO_COLOR: '1' } });
    expect(listed.stderr).toBe('');
    expect(listed.exitCode).toBe(0);
    const entry = (JSON.parse(listed.stdout) as { instant: InstantListEntry[] }).instant.find((e) => e.name === name);
    expect(entry).toMatchObject({ guest: SRC, run: run.name, chain: [run.name], state: 'running', overlays: [{ target: 'vda', path: overlayOf(name) }] });
    const events: RunnerEvent[] = [];
    const r = await finishInstant(host, name, homeDisks, { stateDir, onEvent: (e) => events.push(e) });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e.progress] : []));
    expect(progress.at(-1)?.percent).toBe(100);
    expect(progress.at(-1)?.bytesTotal).toBeGreaterThan(0);
    const disk = join(homeDisks, `${name}-vda.qcow2`);
    expect(await diskOf(name)).toBe(disk);
    expect(await diskOf(name, true)).toBe(disk);
    expect(existsSync(overlayOf(name))).toBe(false);
    expect(findInstantRecord(stateDir, name, host.uri)).toBeUndefined();
    expect((await listInstant(host, { stateDir })).map((e) => e.name)).not.toContain(name);
    expect(sha256(join(run.dir, 'vda.qcow2'))).toBe(before);
    await removeGuest(host, name);
  });

  for (const how of ['finish', 'rollback'] as const) {
    it(`kill -9 while the copy runs: the guest still boots from backup + overlay, and recover can ${how}`, async () => {
      const name = how === 'finish' ? 'vdtest-if-k1' : 'vdtest-if-k2';
      const home = join(scratch.dir, `kill-${how}`);
      const state = join(home, 'state');
      const shims = join(home, 'shims');
      // The record lives in the child's state dir, where recovery looks.
      const log = `/var/log/libvirt/qemu/${name}-serial0.log`;
      expect((await runInstant(host, { guest: SRC, dest, run: run.name, asName: name, dir: overlays, isolated: true, stateDir: state, serialLog: log })).state).toBe('done');
      // Only the finish's journal in the child's home, so theJournal() is that one.
      rmSync(join(state, 'jobs'), { recursive: true, force: true });
      const p = await prepareFinish(host, name, homeDisks, { stateDir: state });
      // virsh starts the real block copy, then hangs: the kill lands with QEMU's job in flight.
      const marker = join(home, 'copy-started');
      writeShim(shims, 'virsh', hangAfter('blockcopy', marker));
      const pc = startPlanChild(p.plan, { home, shimDir: shims });
      await waitForStep(pc, home, 0, () => existsSync(marker));
      await killGroup(pc);

      // Still on backup + overlay in both definitions; a cold boot comes up from them.
      expect(await diskOf(name, true)).toBe(overlayOf(name));
      expect(await diskOf(name)).toBe(overlayOf(name));
      await virsh.destroy(host, name);
      await virsh.start(host, name);
      await waitFor(() => readFileSync(log, 'utf8').includes(BOOT_LINE));
      expect(findInstantRecord(state, name, host.uri)?.run).toBe(run.name);

      const items = await detectRecovery(host, { stateDir: state });
      const item = items.find((i) => i.kind === 'job' && i.id === theJournal(home)?.record.id);
      expect(item?.rollback).toMatch(/discard/);
      const r = await resolveRecovery(host, item as NonNullable<typeof item>, how, { stateDir: state });
      const disk = join(homeDisks, `${name}-vda.qcow2`);
      if (how === 'finish') {
        expect(r.state).toBe('done');
        expect(await diskOf(name)).toBe(disk);
        expect(await diskOf(name, true)).toBe(disk);
        expect(() => execFileSync('qemu-img', ['compare', '-U', '-q', disk, join(run.dir, 'vda.qcow2')])).not.toThrow();
        expect(findInstantRecord(state, name, host.uri)).toBeUndefined();
        expect(existsSync(overlayOf(name))).toBe(false);
      } else {
        expect(r.state).toBe('rolled-back');
        expect(await diskOf(name)).toBe(overlayOf(name));
        expect(existsSync(disk)).toBe(false);
        expect(findInstantRecord(state, name, host.uri)?.name).toBe(name);
      }
      if (how === 'rollback') {
        expect((await discardInstant(host, name, { stateDir: state })).state).toBe('done');
        expect(existsSync(log)).toBe(false);
      }
      expect(sha256(join(run.dir, 'vda.qcow2'))).toBe(before);
    });
  }
});
