import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as virsh from '../../src/host/virsh.js';
import { type BackupManifest, serializeManifest } from '../../src/model/backupManifest.js';
import { getSettings, parseDomainXml } from '../../src/model/domainXml.js';
import { cliArgv } from '../helpers/cli.js';
import { qemuImg, qemuIo, runDir, sha256, writeRun } from '../helpers/handRun.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';

/**
 * A backup run whose image rotted (truncated, one bit flipped) or that `backup verify` already
 * found damaged must never replace a guest's good disk: the restore refuses with exit 2 naming
 * the file, before anything is moved — even with --delete-old — and the original is byte for byte
 * what it was. Only `--as NEW --allow-damaged` restores such a run, as a new guest.
 */

const URI = 'qemu:///system';
const root = resolve(import.meta.dirname, '../..');
const host = localHost();
const scratch = scratchDir('vdsec-rs-damaged-');
const GUEST = 'vdsec-rs-damaged';
const COPY = 'vdsec-rs-damaged-copy';
const orig = join(scratch.dir, `${GUEST}.qcow2`);
const home = join(scratch.dir, 'home');
/** One destination per kind of damage, each with an older good run to suggest. */
const dests = { truncated: join(scratch.dir, 'd-trunc'), flipped: join(scratch.dir, 'd-flip'), recorded: join(scratch.dir, 'd-rec') };
const runs: Record<keyof typeof dests, { good: string; bad: string; badImage: string }> = {
  truncated: { good: '', bad: '', badImage: '' },
  flipped: { good: '', bad: '', badImage: '' },
  recorded: { good: '', bad: '', badImage: '' },
};
let origSha = '';

function cli(...args: string[]) {
  return execa(...cliArgv('--connect', URI, ...args), {
    reject: false,
    cwd: root,
    env: { VIRTDECK_HOME: home, NO_COLOR: '1' },
  });
}

/** Nothing a restore writes next to the disk (temp image, moved-aside original) is left behind. */
function leftovers(): string[] {
  return readdirSync(scratch.dir).filter((f) => f.includes('virtdeck-restore-tmp') || f.includes('virtdeck-before-restore'));
}

async function diskSource(): Promise<string | null | undefined> {
  return getSettings(parseDomainXml(await virsh.dumpXml(host, GUEST, { inactive: true }))).disks.find((d) => d.target === 'vda')?.source;
}

beforeAll(async () => {
  await removeGuest(host, GUEST);
  await removeGuest(host, COPY);
  mkdirSync(home, { recursive: true });
  qemuImg('create', '-q', '-f', 'qcow2', orig, '8M');
  qemuIo(orig, 'write -P 0xab 0 1M');
  await virsh.defineXml(host, tinyGuestXml(GUEST, { disk: orig }));
  const xml = await virsh.dumpXml(host, GUEST, { inactive: true });
  const uuid = getSettings(parseDomainXml(xml)).uuid ?? '';
  const disk = { target: 'vda', sourcePath: orig, virtualSize: 8 << 20 };
  for (const [kind, dest] of Object.entries(dests) as [keyof typeof dests, string][]) {
    const goodAt = new Date('2026-06-01T02:00:00Z');
    qemuImg('convert', '-O', 'qcow2', orig, join(runDir(dest, GUEST, goodAt, 'full'), 'vda.qcow2'));
    runs[kind].good = writeRun(dest, GUEST, { at: goodAt, kind: 'full', disks: [disk], domainXml: xml, uuid }).name;
    const badAt = new Date('2026-06-02T02:00:00Z');
    const image = join(runDir(dest, GUEST, badAt, 'full'), 'vda.qcow2');
    qemuImg('convert', '-O', 'qcow2', orig, image);
    const bad = writeRun(dest, GUEST, { at: badAt, kind: 'full', disks: [disk], domainXml: xml, uuid });
    runs[kind].bad = bad.name;
    runs[kind].badImage = image;
    // The damage happens after the manifest recorded the image's sha256.
    if (kind === 'truncated') truncateSync(image, Math.floor(statSync(image).size / 2));
    if (kind === 'flipped') {
      const bytes = readFileSync(image);
      const at = bytes.indexOf(Buffer.alloc(4096, 0xab));
      expect(at).toBeGreaterThan(0);
      bytes[at + 100] = 0xaa;
      writeFileSync(image, bytes);
    }
    if (kind === 'recorded') {
      const file = join(bad.dir, 'manifest.json');
      const m = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
      m.verified = { at: '2026-06-03T02:00:00Z', ok: false, findings: [`${image}: qemu-img check found 3 corruption(s), 0 leak(s), 0 check error(s).`], testRestore: false };
      writeFileSync(file, serializeManifest(m));
    }
  }
  // The guest's disk moved on since the backups: it is the good original every refusal must keep.
  qemuIo(orig, 'write -P 0xee 0 512k');
  origSha = sha256(orig);
}, 120_000);

afterAll(async () => {
  await removeGuest(host, COPY);
  await removeGuest(host, GUEST);
  scratch.remove();
});

describe('restore refuses a damaged run before it touches the original', () => {
  for (const kind of ['truncated', 'flipped'] as const) {
    it(`a ${kind} image: exit 2 naming the file and the good run, original disk byte-identical, even with --delete-old`, async () => {
      const r = await cli('backup', 'restore', GUEST, runs[kind].bad, '--dest', dests[kind], '--delete-old');
      expect(sha256(orig)).toBe(origSha);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toContain(runs[kind].badImage);
      expect(r.stderr).toContain(runs[kind].good);
      expect(sha256(orig)).toBe(origSha);
      expect(await diskSource()).toBe(orig);
      expect(leftovers()).toEqual([]);
    }, 90_000);
  }

  it('the newest run is the damaged one: a restore without a run name refuses too', async () => {
    const r = await cli('backup', 'restore', GUEST, '--dest', dests.flipped, '--delete-old');
    expect(sha256(orig)).toBe(origSha);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(runs.flipped.badImage);
    expect(sha256(orig)).toBe(origSha);
    expect(leftovers()).toEqual([]);
  }, 90_000);

  it('a run backup verify found damaged: exit 2 saying so, also with --dry-run; nothing changed', async () => {
    const dry = await cli('backup', 'restore', GUEST, runs.recorded.bad, '--dest', dests.recorded, '--dry-run');
    expect(dry.exitCode, dry.stderr).toBe(2);
    expect(dry.stderr).toContain('backup verify found the run');
    const r = await cli('backup', 'restore', GUEST, runs.recorded.bad, '--dest', dests.recorded, '--delete-old');
    expect(sha256(orig)).toBe(origSha);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(runs.recorded.bad);
    expect(r.stderr).toContain(runs.recorded.good);
    expect(sha256(orig)).toBe(origSha);
    expect(leftovers()).toEqual([]);
  }, 90_000);

  it('--allow-damaged never restores over the original', async () => {
    const r = await cli('backup', 'restore', GUEST, runs.flipped.bad, '--dest', dests.flipped, '--allow-damaged', '--delete-old');
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/new name/);
    expect(sha256(orig)).toBe(origSha);
  }, 60_000);

  it('--dry-run shows the check as the first step', async () => {
    const r = await cli('backup', 'restore', GUEST, runs.flipped.good, '--dest', dests.flipped, '--dry-run');
    expect(r.exitCode, r.stderr).toBe(0);
    const steps = r.stdout.split('\n').filter((l) => /^ {2}\d+ /.test(l));
    // The check comes first; each image's sha256 is checked on the copy the next step makes (one read).
    expect(steps[0]).toMatch(/^ {2}1 check the 1 image .*sha256 is checked as it is copied/);
    expect(steps[1]).toMatch(/^ {2}2 sh -c .*sha256sum -c .*vda\.qcow2/);
  }, 60_000);

  it('--as NEW --allow-damaged restores the damaged run as a new guest, and says it is damaged', async () => {
    const to = join(scratch.dir, 'copy');
    mkdirSync(to);
    const r = await cli('backup', 'restore', GUEST, runs.flipped.bad, '--dest', dests.flipped, '--as', COPY, '--to', to, '--allow-damaged');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('damaged');
    expect(existsSync(join(to, `${COPY}-vda.qcow2`))).toBe(true);
    expect(await virsh.domState(host, COPY)).toBe('shut off');
    expect(sha256(orig)).toBe(origSha);
  }, 90_000);
});
