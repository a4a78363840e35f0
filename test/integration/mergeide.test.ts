import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../src/host/exec.js';
import { exportKey } from '../../src/host/hive.js';
import { prepareMergeIde, runMergeIde, summaryLines } from '../../src/jobs/mergeide.js';
import { summarizeDomainXml } from '../../src/model/domainSummary.js';
import { controlSetReg, MERGEIDE_KEYS, missingAfterMerge, parseReg, renderReg } from '../../src/model/mergeide.js';
import { corpusPath } from '../helpers/corpus.js';
import { localHost, removeGuest, scratchDir, tinyGuestXml } from '../helpers/tinyGuest.js';
import { buildTinyWindowsImage } from '../helpers/tinyWindows.js';

/**
 * MergeIDE on the real stack: a qcow2 holding an NTFS filesystem with
 * /Windows/System32/config/SYSTEM, built from the hivex corpus' `minimal` hive with two control
 * sets and Select\Current (built on the host, no appliance: tinyWindows); then the job (one
 * read-only launch to find and download, one read-write launch to back up, upload and read back).
 */
const host = localHost();
const exec = new LocalExecutor();
const OFFLINE = 'vdtest-mi-offline';
const ISO_GUEST = 'vdtest-mi-iso';
const scratch = scratchDir('vdtest-mi-');
const dir = scratch.dir;
const disk = join(dir, 'win.qcow2');
const state = join(dir, 'state');

function virsh(args: string[]): string {
  return execFileSync('virsh', ['-c', host.uri, ...args], { encoding: 'utf8' });
}

beforeAll(async () => {
  // An existing service with a different Start proves "changed" is reported and merged.
  await buildTinyWindowsImage(dir, 'win.qcow2', [
    { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services', values: [] },
    { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet002\\Services\\atapi', values: [{ name: 'Start', type: 'dword', data: 3 }] },
  ]);
  const xml = join(dir, 'g.xml');
  writeFileSync(xml, tinyGuestXml(OFFLINE, { disk }));
  virsh(['define', '--file', xml]);
  writeFileSync(xml, tinyGuestXml(ISO_GUEST, { disk: join(dir, 'other.qcow2') }));
  virsh(['define', '--file', xml]);
}, 400_000);

afterAll(async () => {
  await removeGuest(host, OFFLINE);
  await removeGuest(host, ISO_GUEST);
  scratch.remove();
});

const scratchTemps = () => readdirSync(tmpdir()).filter((n) => n.startsWith('virtdeck-mergeide-'));

describe('MergeIDE offline', () => {
  it('a dry run reads the hive in a temporary folder and writes nothing anywhere (issue 12 item 27)', async () => {
    const temps = scratchTemps();
    const prepared = await prepareMergeIde(host, { guest: OFFLINE, mode: 'offline', stateDir: state, dryRun: true });
    if (prepared.mode !== 'offline') throw new Error('offline expected');
    expect(prepared.facts.changes.length).toBeGreaterThan(0);
    expect(prepared.plan.steps.map((s) => s.id)).toContain('upload');
    expect(prepared.facts.workdir.startsWith(join(state, 'mergeide', `${OFFLINE}-`))).toBe(true);
    expect(existsSync(state)).toBe(false);
    expect(scratchTemps()).toEqual(temps);
  }, 300_000);

  it('merges the keys into both control sets, verifies, keeps backups, and reports the changes', async () => {
    const prepared = await prepareMergeIde(host, { guest: OFFLINE, mode: 'offline', stateDir: state });
    if (prepared.mode !== 'offline') throw new Error('offline expected');
    const f = prepared.facts;
    expect(f.controlSets).toEqual(['ControlSet001', 'ControlSet002']);
    expect(f.current).toBe(1);
    expect(f.hivePath).toBe('/Windows/System32/config/SYSTEM');
    expect(f.device).toBe('/dev/sda1');
    expect(f.changes).toContainEqual({ controlSet: 'ControlSet002', key: 'Services\\atapi', kind: 'value-changed', value: 'Start', before: '3', after: '0' });
    expect(f.changes.filter((c) => c.controlSet === 'ControlSet001' && c.kind === 'key-added').length).toBeGreaterThan(MERGEIDE_KEYS.length);
    expect(prepared.plan.steps.map((s) => s.id)).toEqual(['copy', 'merge-ControlSet001', 'merge-ControlSet002', 'verify', 'upload', 'verify-upload']);
    expect(prepared.plan.steps.find((s) => s.id === 'merge-ControlSet002')?.command?.input).toBe(controlSetReg(MERGEIDE_KEYS, 'ControlSet002'));

    const logs: string[] = [];
    const r = await runMergeIde(host, prepared.plan, { stateDir: state, onEvent: (e) => e.type === 'log' && logs.push(e.line) });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    expect(logs.some((l) => /backup kept in the guest: \/Windows\/System32\/config\/SYSTEM\.virtdeck-backup-/.test(l))).toBe(true);

    // The hive read back from the guest in the job's launch: both sets have every key.
    const uploaded = join(f.workdir, 'system.uploaded');
    for (const cs of f.controlSets) {
      const text = execFileSync('hivexregedit', ['--export', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', uploaded, cs], { encoding: 'utf8' });
      expect(missingAfterMerge(MERGEIDE_KEYS, cs, parseReg(text))).toEqual([]);
      expect(text).toContain(`[HKEY_LOCAL_MACHINE\\SYSTEM\\${cs}\\Control\\CriticalDeviceDatabase\\pci#ven_8086&dev_7010]`);
    }
    expect(execFileSync('hivexregedit', ['--export', uploaded, '\\'], { encoding: 'utf8' })).not.toMatch(/CurrentControlSet/);
    // The local backup is the untouched original.
    const before = await exportKey(exec, f.original, 'ControlSet002\\Services\\atapi');
    expect(before[0]?.values).toEqual([{ name: 'Start', type: 'dword', data: 3 }]);
    expect(existsSync(f.original)).toBe(true);
  }, 300_000);

  it('a second run is a true no-op: zero changes, zero steps, no new folder (issue 12 item 26)', async () => {
    const folders = readdirSync(join(state, 'mergeide'));
    const again = await prepareMergeIde(host, { guest: OFFLINE, mode: 'offline', stateDir: state });
    if (again.mode !== 'offline') throw new Error('offline expected');
    expect(again.facts.changes).toEqual([]);
    expect(again.plan.steps).toEqual([]);
    expect(summaryLines(again).join('\n')).toMatch(/already has every key and value[\s\S]*no backup is made/);
    expect(readdirSync(join(state, 'mergeide'))).toEqual(folders);
  }, 300_000);

  it('a look that fails leaves no folder behind, dry run or not (issue 12 item 27)', async () => {
    const folders = readdirSync(join(state, 'mergeide'));
    const temps = scratchTemps();
    for (const dryRun of [false, true]) {
      // ISO_GUEST's disk does not exist, so guestfish fails after the folder was made.
      await expect(prepareMergeIde(host, { guest: ISO_GUEST, mode: 'offline', stateDir: state, dryRun })).rejects.toThrow();
    }
    expect(readdirSync(join(state, 'mergeide'))).toEqual(folders);
    expect(scratchTemps()).toEqual(temps);
  }, 300_000);
});

describe('MergeIDE in-guest ISO', () => {
  it('builds the ISO with the .reg and .bat, attaches it as a CD-ROM, and the .reg parses', async () => {
    const iso = join(dir, 'vdtest-mi-kit.iso');
    const prepared = await prepareMergeIde(host, { guest: ISO_GUEST, mode: 'iso', isoPath: iso, stateDir: state });
    const r = await runMergeIde(host, prepared.plan, { stateDir: state });
    expect(r.error?.sentence).toBeUndefined();
    expect(r.state).toBe('done');
    const listing = execFileSync('xorriso', ['-indev', iso, '-ls', '/'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    for (const name of ['mergeide.reg', 'mergeide.bat', 'README.txt']) expect(listing).toContain(`'${name}'`);
    const out = join(dir, 'extracted.reg');
    execFileSync('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/mergeide.reg', out], { stdio: 'ignore' });
    const reg = readFileSync(out, 'utf8');
    expect(parseReg(reg)).toHaveLength(MERGEIDE_KEYS.length);
    // hivexregedit accepts it too (CurrentControlSet mapped onto a set of a copy of minimal).
    const hive = join(dir, 'check-hive');
    copyFileSync(corpusPath('hives', 'minimal'), hive);
    chmodSync(hive, 0o644);
    const asSet = reg.replace(/CurrentControlSet/g, 'ControlSet001');
    const parents = renderReg([{ path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001', values: [] }, { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control', values: [] }, { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\CriticalDeviceDatabase', values: [] }, { path: 'HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services', values: [] }]);
    execFileSync('hivexregedit', ['--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', hive], { input: parents });
    execFileSync('hivexregedit', ['--merge', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', hive], { input: asSet });
    const merged = parseReg(execFileSync('hivexregedit', ['--export', '--prefix', 'HKEY_LOCAL_MACHINE\\SYSTEM', hive, 'ControlSet001'], { encoding: 'utf8' }));
    expect(missingAfterMerge(MERGEIDE_KEYS, 'ControlSet001', merged)).toEqual([]);

    const disks = summarizeDomainXml(virsh(['dumpxml', '--inactive', ISO_GUEST])).disks;
    expect(disks).toContainEqual(expect.objectContaining({ device: 'cdrom', source: iso }));
    expect(existsSync(`${iso}.virtdeck-part-${prepared.facts.stamp}`)).toBe(false);
  }, 120_000);
});
