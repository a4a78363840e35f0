import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { discardInstant, findInstantRecord, finishInstant, instantDir, prepareInstant, runInstant } from '../../src/jobs/instant.js';
import { prune } from '../../src/jobs/prune.js';
import { detectRecovery, resolveRecovery } from '../../src/jobs/recovery.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { cliArgv } from '../helpers/cli.js';
import { qemuImg, qemuIo, runDir, sha256, writeRun } from '../helpers/handRun.js';
import { killGroup, startPlanChild, theJournal, waitForStep } from '../helpers/planFault.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * Instant recovery on the real host (TCG): a full run and an incremental written by hand, the
 * incremental started as a new guest over overlays, the run's files byte-identical before and
 * after (sha256), prune keeping the runs while the copy exists, discard removing only the copy.
 */

const host = localHost();
const scratch = scratchDir('vdtest-ir-');
const dest = join(scratch.dir, 'dest');
const overlays = join(scratch.dir, 'overlays');
const stateDir = join(scratch.dir, 'home', 'state');
const SRC = 'vdtest-ir-src';
const COPY = `${SRC}-instant`;
const SAME = SRC;
const MAC = '52:54:00:5a:01:01';
const orig = join(scratch.dir, 'vdtest-ir-src.qcow2');
let full = { name: '', dir: '' };
let inc = { name: '', dir: '' };
let newer = { name: '', dir: '' };
let runFiles: string[] = [];
let before: string[] = [];

const hashes = () => runFiles.map(sha256);

beforeAll(async () => {
  mkdirSync(dest, { recursive: true });
  mkdirSync(overlays, { recursive: true });
  process.env.VIRTDECK_HOME = join(scratch.dir, 'home');
  qemuImg('create', '-q', '-f', 'qcow2', orig, '8M');
  qemuIo(orig, 'write -P 0xab 0 1M');
  await virsh.defineXml(host, tinyGuestXml(SRC, { disk: orig, mac: MAC }));
  const xml = await virsh.dumpXml(host, SRC, { inactive: true });
  const uuid = getSettings(parseDomainXml(xml)).uuid ?? '';
  const disk = { target: 'vda', sourcePath: orig, virtualSize: 8 << 20 };

  const fullAt = new Date('2026-06-01T02:00:00Z');
  qemuImg('convert', '-O', 'qcow2', orig, join(runDir(dest, SRC, fullAt, 'full'), 'vda.qcow2'));
  full = writeRun(dest, SRC, { at: fullAt, kind: 'full', disks: [disk], domainXml: xml, uuid });
  const incAt = new Date('2026-06-02T02:00:00Z');
  const incDir = runDir(dest, SRC, incAt, 'incremental');
  qemuImg('create', '-q', '-f', 'qcow2', '-b', `../${full.name}/vda.qcow2`, '-F', 'qcow2', join(incDir, 'vda.qcow2'));
  qemuIo(join(incDir, 'vda.qcow2'), 'write -P 0xcd 2M 256k');
  inc = writeRun(dest, SRC, { at: incAt, kind: 'incremental', parent: full.name, disks: [{ ...disk, backing: `../${full.name}/vda.qcow2` }], domainXml: xml, uuid });
  // A newer full run: with keep-last 1, retention alone would remove the two above.
  const newerAt = new Date('2026-06-03T02:00:00Z');
  qemuImg('convert', '-O', 'qcow2', orig, join(runDir(dest, SRC, newerAt, 'full'), 'vda.qcow2'));
  newer = writeRun(dest, SRC, { at: newerAt, kind: 'full', disks: [disk], domainXml: xml, uuid });
  runFiles = [join(full.dir, 'vda.qcow2'), join(inc.dir, 'vda.qcow2'), join(full.dir, 'manifest.json'), join(inc.dir, 'manifest.json'), join(inc.dir, 'domain.xml')];
  before = hashes();
});

afterAll(async () => {
  for (const g of [COPY, SRC, 'vdtest-ir-fail', 'vdtest-ir-kill1', 'vdtest-ir-kill2', 'vdtest-ir-home']) await removeGuest(host, g);
  scratch.remove();
});

const overlayOf = (name: string) => join(overlays, `${name}-vda.instant.qcow2`);

describe('backup instant', () => {
  it('the CLI prints the plan with --dry-run --json and changes nothing', async () => {
    const r = await execa(...cliArgv('--json', 'backup', 'instant', SRC, inc.name, '--dest', dest, '--dir', overlays, '--isolated', '--dry-run'), {
      reject: false,
      env: { VIRTDECK_HOME: join(scratch.dir, 'home'), NO_COLOR: '1' },
    });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    const out = JSON.parse(r.stdout) as { name: string; run: string; steps: string[] };
    expect(out.name).toBe(COPY);
    expect(out.run).toBe(inc.name);
    expect(out.steps.some((l) => l.includes('qemu-img create -q -f qcow2 -b') && l.includes('-F qcow2'))).toBe(true);
    expect(existsSync(overlayOf(COPY))).toBe(false);
    expect(findInstantRecord(stateDir, COPY, host.uri)).toBeUndefined();
  });

  it('starts the incremental as a new, isolated guest over an overlay; the run stays byte-identical', async () => {
    const r = await runInstant(host, { guest: SRC, dest, run: inc.name, dir: overlays, isolated: true, stateDir });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    expect(r.name).toBe(COPY);
    expect(await virsh.domState(host, COPY)).toBe('running');
    // "Within seconds": the verify of two small images, one qemu-img create, a define and a start.
    expect(r.elapsedMs).toBeLessThan(20_000);
    console.log(`instant recovery to running: ${r.elapsedMs} ms`);

    const live = parseDomainXml(await virsh.dumpXml(host, COPY));
    const s = getSettings(live);
    const original = getSettings(parseDomainXml(await virsh.dumpXml(host, SRC, { inactive: true })));
    expect(s.disks.find((d) => d.target === 'vda')?.source).toBe(overlayOf(COPY));
    expect(s.uuid).not.toBe(original.uuid);
    expect(s.nics[0]?.mac).not.toBe(MAC);
    expect(await virsh.dumpXml(host, COPY)).toMatch(/<link state=['"]down['"]\/>/);

    // The overlay names the run's image itself, with its format, as virtdeck chose it.
    const info = JSON.parse(qemuImg('info', '-U', '--output=json', overlayOf(COPY))) as { 'backing-filename'?: string; 'backing-filename-format'?: string };
    expect(info['backing-filename']).toBe(join(inc.dir, 'vda.qcow2'));
    expect(info['backing-filename-format']).toBe('qcow2');
    // What the guest sees is the run's data.
    expect(() => execFileSync('qemu-img', ['compare', '-U', '-q', overlayOf(COPY), join(inc.dir, 'vda.qcow2')])).not.toThrow();

    const rec = findInstantRecord(stateDir, COPY, host.uri);
    expect(rec?.chain).toEqual([full.name, inc.name]);
    expect(statSync(join(instantDir(stateDir), `${COPY}.json`)).mode & 0o777).toBe(0o600);
    expect(statSync(instantDir(stateDir)).mode & 0o777).toBe(0o700);
    expect(hashes()).toEqual(before);
  });

  it('refuses a second copy under the same name, and the original name while the original is running', async () => {
    await expect(prepareInstant(host, { guest: SRC, dest, run: inc.name, dir: overlays, stateDir })).rejects.toThrow(/already exists/);
    await virsh.start(host, SRC);
    try {
      await expect(prepareInstant(host, { guest: SRC, dest, asName: SAME, dir: overlays, stateDir })).rejects.toThrow(/running.*gone or shut off/);
    } finally {
      await virsh.destroy(host, SRC);
    }
  });

  it('prune keeps the runs the copy reads, naming it', async () => {
    const r = await prune(host, dest, { keepLast: 1 }, { stateDir });
    expect(r.removed).toEqual([]);
    const held = r.items.filter((i) => i.reason === 'instant').sort((a, b) => a.name.localeCompare(b.name));
    expect(held.map((i) => [i.name, i.action, i.usedBy])).toEqual([
      [full.name, 'keep', [COPY]],
      [inc.name, 'keep', [COPY]],
    ]);
    expect(existsSync(full.dir) && existsSync(inc.dir)).toBe(true);
  });

  it('discard stops it and removes only the overlay, the definition and the record; the run is untouched', async () => {
    const r = await discardInstant(host, COPY, { stateDir });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const names = (await host.virshExec.run(['virsh', '-c', host.uri, 'list', '--all', '--name'])).stdout;
    expect(names).not.toContain(COPY);
    expect(names).toContain(SRC);
    expect(existsSync(overlayOf(COPY))).toBe(false);
    expect(findInstantRecord(stateDir, COPY, host.uri)).toBeUndefined();
    expect(hashes()).toEqual(before);
    const dry = await prune(host, dest, { keepLast: 1 }, { stateDir, dryRun: true });
    expect(dry.items.filter((i) => i.action === 'remove').map((i) => i.name).sort()).toEqual([full.name, inc.name]);
    await expect(discardInstant(host, COPY, { stateDir })).rejects.toThrow(/not a guest virtdeck started from a backup/);
  });

  it('takes the original name over the shut-off original, and discard puts its definition back', async () => {
    const xmlBefore = await virsh.dumpXml(host, SRC, { inactive: true });
    const r = await runInstant(host, { guest: SRC, dest, run: newer.name, asName: SAME, dir: overlays, stateDir });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const s = getSettings(parseDomainXml(await virsh.dumpXml(host, SRC)));
    expect(s.disks.find((d) => d.target === 'vda')?.source).toBe(overlayOf(SRC));
    // The same guest again: its own MAC and UUID.
    expect(s.nics[0]?.mac).toBe(MAC);
    expect(s.uuid).toBe(getSettings(parseDomainXml(xmlBefore)).uuid);
    const d = await discardInstant(host, SRC, { stateDir });
    expect(d.state).toBe('done');
    const after = getSettings(parseDomainXml(await virsh.dumpXml(host, SRC, { inactive: true })));
    expect(after.disks.find((x) => x.target === 'vda')?.source).toBe(orig);
    expect(await virsh.domState(host, SRC)).toBe('shut off');
    expect(existsSync(overlayOf(SRC))).toBe(false);
  });

  it('a failed start is rolled back: no guest, no overlay, no record', async () => {
    const missing = join(scratch.dir, 'no-such-dir');
    const r = await runInstant(host, { guest: SRC, dest, run: inc.name, asName: 'vdtest-ir-fail', dir: missing, stateDir });
    // 'failed': the step failed and everything done before it was undone.
    expect(r.state).toBe('failed');
    expect(r.error?.sentence).toBeTruthy();
    expect(findInstantRecord(stateDir, 'vdtest-ir-fail', host.uri)).toBeUndefined();
    const names = (await host.virshExec.run(['virsh', '-c', host.uri, 'list', '--all', '--name'])).stdout;
    expect(names).not.toContain('vdtest-ir-fail');
    expect(hashes()).toEqual(before);
  });

  for (const how of ['finish', 'rollback'] as const) {
    it(`kill -9 between define and start leaves a guest on backup + overlay; recover can ${how} it`, async () => {
      const name = how === 'finish' ? 'vdtest-ir-kill1' : 'vdtest-ir-kill2';
      const home = join(scratch.dir, `kill-${how}`);
      const state = join(home, 'state');
      const p = await prepareInstant(host, { guest: SRC, dest, run: inc.name, asName: name, dir: overlays, stateDir: state });
      const pc = startPlanChild(p.plan, { home, hangAt: 'start' });
      await waitForStep(pc, home, p.plan.steps.findIndex((x) => x.id === 'start'));
      await killGroup(pc);
      // What the kill left: defined on its overlay, not running, recorded (so prune keeps the run).
      expect(await virsh.domState(host, name)).toBe('shut off');
      expect(existsSync(overlayOf(name))).toBe(true);
      expect(findInstantRecord(state, name, host.uri)?.chain).toEqual([full.name, inc.name]);
      const items = await detectRecovery(host, { stateDir: state });
      const item = items.find((i) => i.kind === 'job' && i.id === theJournal(home)?.record.id);
      expect(item).toBeDefined();
      const r = await resolveRecovery(host, item as NonNullable<typeof item>, how, { stateDir: state });
      if (how === 'finish') {
        expect(r.state).toBe('done');
        expect(await virsh.domState(host, name)).toBe('running');
        expect((await discardInstant(host, name, { stateDir: state })).state).toBe('done');
      } else {
        expect(r.state).toBe('rolled-back');
        expect(findInstantRecord(state, name, host.uri)).toBeUndefined();
      }
      const names = (await host.virshExec.run(['virsh', '-c', host.uri, 'list', '--all', '--name'])).stdout;
      expect(names).not.toContain(name);
      expect(existsSync(overlayOf(name))).toBe(false);
      expect(hashes()).toEqual(before);
    });
  }

  it('finish moves a running copy home (blockcopy --pivot): standalone disk, same data, overlay and record gone', async () => {
    const name = 'vdtest-ir-home';
    const home = join(scratch.dir, 'home-disks');
    mkdirSync(home);
    expect((await runInstant(host, { guest: SRC, dest, run: inc.name, asName: name, dir: overlays, stateDir })).state).toBe('done');
    const r = await finishInstant(host, name, home, { stateDir });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const disk = join(home, `${name}-vda.qcow2`);
    expect(await virsh.domState(host, name)).toBe('running');
    for (const inactive of [false, true]) {
      expect(getSettings(parseDomainXml(await virsh.dumpXml(host, name, { inactive }))).disks.find((d) => d.target === 'vda')?.source).toBe(disk);
    }
    const info = JSON.parse(qemuImg('info', '-U', '--output=json', disk)) as { 'backing-filename'?: string };
    expect(info['backing-filename']).toBeUndefined();
    expect(() => execFileSync('qemu-img', ['compare', '-U', '-q', disk, join(inc.dir, 'vda.qcow2')])).not.toThrow();
    expect(existsSync(overlayOf(name))).toBe(false);
    expect(findInstantRecord(stateDir, name, host.uri)).toBeUndefined();
    expect(hashes()).toEqual(before);
  });

  it('a run whose incremental is truncated, or whose full is missing, is refused before anything starts, naming the file', async () => {
    const BAD = 'vdtest-ir-bad';
    const xml = await virsh.dumpXml(host, SRC, { inactive: true });
    const disk = { target: 'vda', sourcePath: orig, virtualSize: 8 << 20 };
    const fAt = new Date('2026-07-01T02:00:00Z');
    qemuImg('convert', '-O', 'qcow2', orig, join(runDir(dest, BAD, fAt, 'full'), 'vda.qcow2'));
    const f = writeRun(dest, BAD, { at: fAt, kind: 'full', disks: [disk], domainXml: xml });
    const iAt = new Date('2026-07-02T02:00:00Z');
    const iDir = runDir(dest, BAD, iAt, 'incremental');
    qemuImg('create', '-q', '-f', 'qcow2', '-b', `../${f.name}/vda.qcow2`, '-F', 'qcow2', join(iDir, 'vda.qcow2'));
    qemuIo(join(iDir, 'vda.qcow2'), 'write -P 0xcd 2M 256k');
    const i = writeRun(dest, BAD, { at: iAt, kind: 'incremental', parent: f.name, disks: [{ ...disk, backing: `../${f.name}/vda.qcow2` }], domainXml: xml });
    execFileSync('truncate', ['-s', '-4096', join(i.dir, 'vda.qcow2')]);
    const r = await runInstant(host, { guest: BAD, dest, run: i.name, dir: overlays, stateDir }).catch((e: Error) => ({ state: 'refused', error: e }));
    expect(r.state).not.toBe('done');
    expect(String(r.error?.message ?? r.error)).toContain(join(i.dir, 'vda.qcow2'));
    expect(existsSync(overlayOf(`${BAD}-instant`))).toBe(false);
    expect(findInstantRecord(stateDir, `${BAD}-instant`, host.uri)).toBeUndefined();

    execFileSync('rm', ['-f', join(f.dir, 'vda.qcow2')]);
    await expect(runInstant(host, { guest: BAD, dest, run: i.name, dir: overlays, stateDir })).rejects.toThrow(new RegExp(f.name));
    const names = (await host.virshExec.run(['virsh', '-c', host.uri, 'list', '--all', '--name'])).stdout;
    expect(names).not.toContain(`${BAD}-instant`);
  });
});
