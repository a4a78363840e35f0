/**
 * Windows preparation (MergeIDE) on a real host, two ways:
 * - offline: the guest is shut off; one read-only libguestfs launch finds and downloads the SYSTEM
 *   hive (every filesystem is tried, so a Windows that inspection does not recognise still works),
 *   the keys are merged into every ControlSet00N of a copy on the host and verified, and one
 *   read-write launch keeps a backup next to the hive in the guest, uploads the new hive (and the
 *   virtio .sys files) and downloads it again for a byte compare. The original download stays in
 *   virtdeck's state directory; rolling back uploads it again.
 * - in-guest: an ISO with mergeide.reg + mergeide.bat, attached to the guest as a CD-ROM.
 * The plans are pure functions here (also used by --dry-run and the wizard's review).
 */

import { basename, dirname, join } from 'node:path';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { Executor } from '../host/exec.js';
import { type GuestfishRound, guestfishConversation, markedSections, newMark } from '../host/guestfishConversation.js';
import { rootsOf } from '../host/guestfs.js';
import { guestfsEnv } from '../host/guestfsEnv.js';
import { exportArgv, exportKey, listSubkeys, mergeArgv } from '../host/hive.js';
import type { HostContext } from '../host/hostContext.js';
import { existingPaths } from '../host/qemuImg.js';
import { defineXml, domState, dumpXml } from '../host/virsh.js';
import { countOf } from '../model/countText.js';
import { summarizeDomainXml } from '../model/domainSummary.js';
import { attachIso, parseDomainXml, serializeDomainXml } from '../model/domainXml.js';
import { isActive } from '../model/guest.js';
import { gfScript, gfWord } from '../model/guestfishWords.js';
import {
  CONTROL_SET_RE,
  changeCountText,
  controlSetName,
  controlSetReg,
  describeChanges,
  HKLM_SYSTEM,
  IN_GUEST_STEPS,
  inGuestReadme,
  inGuestReg,
  MERGEIDE_BAT,
  MERGEIDE_KEYS,
  missingAfterMerge,
  plannedChanges,
  type RegChange,
  type RegKey,
  type RegSection,
  selectCurrent,
  virtioKeys,
} from '../model/mergeide.js';
import type { Plan, PlanStep } from '../model/plan.js';
import { FieldRefusal, UserError } from '../model/userError.js';
import { defineEdited } from './defineEdited.js';
import { type Action, type RunnerEvent, type RunResult, runPlan } from './runner.js';

const MARK = '@@virtdeck-mi@@';
/** Case-insensitive glob of the SYSTEM hive and the drivers directory (guestfish `glob`). */
const ci = (s: string) => s.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
export const HIVE_GLOB = `/${ci('windows')}/${ci('system32')}/${ci('config')}/${ci('system')}`;
export const DRIVERS_GLOB = `/${ci('windows')}/${ci('system32')}/${ci('drivers')}`;

/** guestfish quoting (kept under its old name for scripts written elsewhere): see gfWord. */
export const gfQuote = gfWord;

export interface GuestDiskRef {
  path: string;
  format: string;
}

function addArgs(disks: GuestDiskRef[]): string[] {
  return disks.flatMap((d) => [`--format=${d.format}`, '-a', d.path]);
}

/**
 * The read-only scan, one launch in three rounds (guestfishConversation): inspection and the list
 * of filesystems; then the OS facts of the first root and, on every filesystem in turn, a glob for
 * the hive and the drivers directory (a Windows that inspection does not recognise still works);
 * then the download of each hive found. Roots, devices and the hive's path come from the image and
 * reach guestfish only as quoted words (gfWord), never as script text.
 */
export function scanRounds(workdir: string, mark: string): GuestfishRound[] {
  return [
    () => [['run'], ['echo', `${mark} os`], ['inspect-os'], ['echo', `${mark} fs`], ['list-filesystems'], ['echo', `${mark} fs-end`]],
    (out) => {
      const s = markedSections(out, mark);
      const root = rootsOf(s.get('os') ?? [])[0];
      const cmds: string[][] = [];
      if (root !== undefined) {
        cmds.push(['echo', `${mark} root`]);
        for (const q of ['product-name', 'major-version', 'minor-version', 'arch']) cmds.push(['echo', `${mark} ${q}`], [`-inspect-get-${q}`, root]);
      }
      scanDevices(s.get('fs') ?? []).forEach((device, i) => {
        cmds.push(['-mount-ro', device, '/'], ['echo', `${mark} try ${i + 1}`], ['-glob', 'echo', HIVE_GLOB], ['echo', `${mark} drivers ${i + 1}`], ['-glob', 'echo', DRIVERS_GLOB], ['-umount-all']);
      });
      return cmds;
    },
    (out) => {
      const cmds: string[][] = [];
      for (const f of parseScan(out, workdir, mark).found) cmds.push(['-mount-ro', f.device, '/'], ['-download', f.hivePath, f.local], ['-umount-all']);
      cmds.push(['echo', `${mark} end`]);
      return cmds;
    },
  ];
}

/** Devices in list-filesystems' answer that can hold Windows (not swap, not a btrfs subvolume). */
function scanDevices(lines: string[]): string[] {
  return lines
    .map((l) => /^(\/dev\/\S+): (\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[2] !== 'swap')
    .map((m) => m[1] as string);
}

export interface WindowsFacts {
  product: string | null;
  major: number | null;
  minor: number | null;
  arch: string | null;
}

export interface ScanResult {
  os: WindowsFacts;
  /** Filesystems where the hive was found: the local copy, the device, the hive's path in the guest. */
  found: { index: number; device: string; hivePath: string; driversDir: string | null; local: string }[];
}

/** The marker a scan used: the one on its first line, printed before anything from the image. */
function scanMarkOf(stdout: string): string {
  return /^(@@virtdeck-mi(?:-[0-9a-f]+)?@@) os$/m.exec(stdout)?.[1] ?? MARK;
}

export function parseScan(stdout: string, workdir: string, mark = scanMarkOf(stdout)): ScanResult {
  const s = markedSections(stdout, mark);
  const first = (key: string) => s.get(key)?.[0] ?? null;
  const num = (key: string) => {
    const v = first(key);
    return v !== null && /^\d+$/.test(v) ? Number(v) : null;
  };
  const os: WindowsFacts = s.has('root')
    ? { product: first('product-name'), major: num('major-version'), minor: num('minor-version'), arch: first('arch') }
    : { product: null, major: null, minor: null, arch: null };
  const found: ScanResult['found'] = [];
  // An unmatched glob echoes the pattern back (it still has its [xX] classes).
  const matched = (l: string | null) => (l?.startsWith('/') && !l.includes('[') ? l : null);
  scanDevices(s.get('fs') ?? []).forEach((device, i) => {
    const index = i + 1;
    const hivePath = matched(first(`try ${index}`));
    if (hivePath) found.push({ index, device, hivePath, driversDir: matched(first(`drivers ${index}`)), local: join(workdir, `hive-${index}`) });
  });
  return { os, found };
}

/** XP is 5.1, 2003 5.2, Vista/2008 6.0, 7/2008 R2 6.1; 8 is 6.2 and uses the DriverDatabase instead. */
export function usesCriticalDeviceDatabase(os: WindowsFacts): boolean | null {
  if (os.major === null) return null;
  return os.major < 6 || (os.major === 6 && (os.minor ?? 0) <= 1);
}

/** virtio-win's directory name for a Windows version, newest layout first (viostor/w7/amd64/…, then wxp/x86/…). */
export function virtioOsDirs(os: WindowsFacts): string[] {
  const v = `${os.major}.${os.minor}`;
  const server = /server/i.test(os.product ?? '');
  const byVersion: Record<string, string[]> = {
    '5.1': ['xp', 'wxp'],
    '5.2': ['2k3', 'wnet', 'xp', 'wxp'],
    '6.0': server ? ['2k8', 'wlh'] : ['vista', 'wlh', '2k8'],
    '6.1': server ? ['2k8R2', 'w7', 'win7'] : ['w7', 'win7', '2k8R2'],
  };
  return byVersion[v] ?? [];
}

/** The ISO path of `driver`.sys for this Windows, from a list of the ISO's .sys files; null if none fits. */
export function pickVirtioDriver(isoFiles: string[], os: WindowsFacts, driver: string): string | null {
  const arch = /64/.test(os.arch ?? '') ? ['amd64'] : ['x86', 'i386'];
  const lower = isoFiles.map((f) => ({ f, l: f.toLowerCase() }));
  for (const dir of virtioOsDirs(os)) {
    for (const a of arch) {
      const d = dir.toLowerCase();
      const hit = lower.find(({ l }) => l === `/${driver}/${d}/${a}/${driver}.sys` || l === `/${d}/${a}/${driver}.sys`);
      if (hit) return hit.f;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Offline plan

export interface OfflineFacts {
  guest: string;
  disks: GuestDiskRef[];
  workdir: string;
  /** The downloaded original (kept as the local backup). */
  original: string;
  device: string;
  hivePath: string;
  driversDir: string | null;
  os: WindowsFacts;
  controlSets: string[];
  current: number | null;
  changes: RegChange[];
  /** viostor/vioscsi .sys to copy: ISO path → name in system32\drivers. */
  drivers: { isoPath: string; name: string }[];
  virtioIso?: string;
  /** Why virtio keys are not written (Windows 8+, unknown version, no matching driver). */
  virtioNote: string | null;
  stamp: string;
}

export function offlineKeys(f: Pick<OfflineFacts, 'drivers'>): RegKey[] {
  const names = f.drivers.map((d) => d.name.replace(/\.sys$/i, '')) as ('viostor' | 'vioscsi')[];
  return names.length > 0 ? [...MERGEIDE_KEYS, ...virtioKeys(names)] : MERGEIDE_KEYS;
}

interface UploadArgs {
  disks: GuestDiskRef[];
  device: string;
  hivePath: string;
  backupPath: string;
  /**
   * The downloaded original, uploaded as the in-guest backup. Copying the hive inside the guest
   * instead would, when an upload killed after it wrote the new hive is run again, back up the
   * new hive over the only in-guest copy of the original. Absent in journals of older virtdecks.
   */
  original?: string;
  newHive: string;
  downloadTo: string;
  drivers: { local: string; remote: string }[];
}
interface RestoreArgs {
  disks: GuestDiskRef[];
  device: string;
  hivePath: string;
  original: string;
  /** With the original back in place these are leftovers of the undone upload (absent in older journals). */
  backupPath?: string;
  downloaded?: string;
}
interface VerifyArgs {
  hive: string;
  controlSets: string[];
  drivers: { isoPath: string; name: string }[];
}

export function uploadScript(a: UploadArgs): string {
  return gfScript([
    ['run'],
    ['mount', a.device, '/'],
    a.original
      ? ['upload', a.original, a.backupPath]
      : // cp-a keeps the hive's attributes; the backup name is new for each run, so nothing is overwritten.
        ['cp-a', a.hivePath, a.backupPath],
    ['upload', a.newHive, a.hivePath],
    ...a.drivers.map((d) => ['upload', d.local, d.remote]),
    ['download', a.hivePath, a.downloadTo],
    ['echo', `${MARK} backup`],
    ['is-file', a.backupPath],
    ['umount-all'],
  ]);
}

export function restoreScript(a: RestoreArgs): string {
  return gfScript([['run'], ['mount', a.device, '/'], ['upload', a.original, a.hivePath], ...(a.backupPath ? [['rm-f', a.backupPath]] : []), ['umount-all']]);
}

export function planMergeIdeOffline(f: OfflineFacts): Plan {
  const title = `MergeIDE for ${f.guest} (offline, ${f.controlSets.length} control sets)`;
  const targets = { guests: [f.guest], images: f.disks.map((d) => d.path) };
  // Every key and value is there already: nothing is merged, uploaded or backed up again.
  if (f.changes.length === 0) return { kind: 'mergeide', title, targets, steps: [] };
  const newHive = join(f.workdir, 'system.new');
  const uploaded = join(f.workdir, 'system.uploaded');
  const keys = offlineKeys(f);
  const steps: PlanStep[] = [
    {
      id: 'copy',
      title: `copy the downloaded hive to a working copy (the original stays in ${f.workdir})`,
      command: { runsOn: 'sys', argv: ['cp', '--', f.original, newHive] },
      undo: { title: 'remove the working copy', command: { runsOn: 'sys', argv: ['rm', '-f', '--', newHive] }, partial: true },
    },
  ];
  for (const cs of f.controlSets) {
    steps.push({
      id: `merge-${cs}`,
      title: `merge ${changeCountText(f.changes, cs)} into ${cs} (parents first)`,
      command: { runsOn: 'sys', argv: mergeArgv(newHive), input: controlSetReg(keys, cs), timeoutMs: 300_000 },
    });
  }
  const driverFiles = f.drivers.map((d) => ({ local: join(f.workdir, d.name), remote: `${f.driversDir ?? dirname(dirname(f.hivePath))}/${d.name}` }));
  if (f.virtioIso && f.drivers.length > 0) {
    steps.push({
      id: 'extract-drivers',
      title: `extract ${f.drivers.map((d) => d.name).join(' and ')} from ${basename(f.virtioIso)}`,
      command: { runsOn: 'sys', argv: ['xorriso', '-osirrox', 'on', '-indev', f.virtioIso, ...f.drivers.flatMap((d, i) => ['-extract', d.isoPath, driverFiles[i]?.local as string])] },
    });
  }
  steps.push({
    id: 'verify',
    title: `verify every key and value in ${f.controlSets.join(', ')} (hivexregedit --export)`,
    command: { runsOn: 'sys', argv: exportArgv(newHive, `${f.controlSets[0] ?? 'ControlSet001'}\\Control\\CriticalDeviceDatabase`) },
    action: { name: 'mergeide.verify', args: { hive: newHive, controlSets: f.controlSets, drivers: f.drivers } satisfies VerifyArgs },
  });
  const upload: UploadArgs = {
    disks: f.disks,
    device: f.device,
    hivePath: f.hivePath,
    backupPath: `${f.hivePath}.virtdeck-backup-${f.stamp}`,
    original: f.original,
    newHive,
    downloadTo: uploaded,
    drivers: driverFiles,
  };
  steps.push({
    id: 'upload',
    title: `back the hive up as ${basename(upload.backupPath)} in the guest and upload the new one (one guestfish launch)`,
    command: { runsOn: 'sys', argv: ['guestfish', '--rw', ...addArgs(f.disks)], input: uploadScript(upload) },
    action: { name: 'mergeide.upload', args: upload },
    undo: {
      title: `upload the original hive from ${f.original} again`,
      action: { name: 'mergeide.restore', args: { disks: f.disks, device: f.device, hivePath: f.hivePath, original: f.original, backupPath: upload.backupPath, downloaded: uploaded } satisfies RestoreArgs },
      // Uploading the original again is right whether or not the upload got through.
      partial: true,
    },
    long: true,
  });
  steps.push({
    id: 'verify-upload',
    title: 'compare the hive read back from the guest with the new one, byte for byte',
    command: { runsOn: 'sys', argv: ['cmp', '--', newHive, uploaded] },
  });
  return { kind: 'mergeide', title, targets, steps };
}

// ---------------------------------------------------------------------------------------------
// In-guest ISO plan

export interface IsoFacts {
  guest: string;
  iso: string;
  oldXml: string;
  newXml: string;
  stamp: string;
}

export function isoFiles(): Record<string, string> {
  return { 'mergeide.reg': inGuestReg(), 'mergeide.bat': MERGEIDE_BAT, 'README.txt': inGuestReadme() };
}

export function planMergeIdeIso(f: IsoFacts): Plan {
  const stage = `${f.iso}.virtdeck-stage-${f.stamp}`;
  const tmp = `${f.iso}.virtdeck-part-${f.stamp}`;
  const files = isoFiles();
  return {
    kind: 'mergeide',
    title: `MergeIDE ISO for ${f.guest}`,
    targets: { guests: [f.guest], images: [f.iso] },
    steps: [
      {
        id: 'stage',
        title: `write ${Object.keys(files).join(', ')} to ${stage}`,
        action: { name: 'mergeide.stage', args: { dir: stage, files } },
        undo: { title: `remove ${stage}`, action: { name: 'mergeide.unstage', args: { dir: stage, names: Object.keys(files) } }, partial: true },
      },
      {
        id: 'build-iso',
        title: 'build the ISO (Joliet + Rock Ridge, volume MERGEIDE)',
        command: { runsOn: 'sys', argv: ['xorriso', '-as', 'mkisofs', '-quiet', '-J', '-R', '-V', 'MERGEIDE', '-o', tmp, stage] },
        undo: { title: `remove ${tmp}`, command: { runsOn: 'sys', argv: ['rm', '-f', '--', tmp] }, partial: true },
      },
      {
        id: 'check-iso',
        title: 'list the ISO and check every file is on it',
        command: { runsOn: 'sys', argv: ['xorriso', '-indev', tmp, '-ls', '/'] },
        action: { name: 'mergeide.checkIso', args: { iso: tmp, names: Object.keys(files) } },
      },
      {
        id: 'place',
        title: `put the ISO in place as ${f.iso} (never over an existing file)`,
        command: { runsOn: 'sys', argv: ['ln', '--', tmp, f.iso] },
        undo: { title: `remove ${f.iso}`, action: { name: 'mergeide.unplace', args: { final: f.iso, tmp } } },
      },
      {
        id: 'attach',
        title: `attach ${basename(f.iso)} to ${f.guest} as a CD-ROM (persistent definition)`,
        action: { name: 'mergeide.attach', args: { guest: f.guest, oldXml: f.oldXml, newXml: f.newXml, iso: f.iso } },
        undo: { title: `give ${f.guest} its previous definition back`, action: { name: 'mergeide.detach', args: { guest: f.guest, oldXml: f.oldXml, iso: f.iso } } },
      },
      {
        id: 'cleanup',
        title: 'remove the staging files and the temporary name',
        action: { name: 'mergeide.cleanup', args: { dir: stage, names: Object.keys(files), tmp } },
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Gathering facts

export interface MergeIdeInput {
  guest: string;
  mode: 'offline' | 'iso';
  virtioIso?: string;
  /** ISO mode: where the ISO goes (default: beside the guest's first disk). */
  isoPath?: string;
  stateDir?: string;
  /**
   * Only show what would change: the hive is read in a temporary directory removed afterwards, so
   * nothing is left under the state directory (the plan names the folder a real run would use).
   */
  dryRun?: boolean;
}

type PreparedOffline = { mode: 'offline'; facts: OfflineFacts; plan: Plan; warnings: string[] };
export type PreparedMergeIde = PreparedOffline | { mode: 'iso'; facts: IsoFacts; plan: Plan; warnings: string[] };

function stampNow(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

async function guestDisks(host: HostContext, guest: string): Promise<{ xml: string; disks: GuestDiskRef[] }> {
  const xml = await dumpXml(host, guest, { inactive: true });
  const disks = summarizeDomainXml(xml)
    .disks.filter((d) => d.device === 'disk' && d.source)
    .map((d) => ({ path: d.source as string, format: d.format ?? 'raw' }));
  return { xml, disks };
}

async function isoSysFiles(exec: Executor, iso: string, signal?: AbortSignal): Promise<string[]> {
  const r = await exec.run(['xorriso', '-indev', iso, '-find', '/', '-type', 'f', '-name', '*.sys'], { signal, timeoutMs: 120_000 });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().replace(/^'(.*)'$/, '$1'))
    .filter((l) => l.startsWith('/'));
}

async function currentState(exec: Executor, hive: string, cs: string, signal?: AbortSignal): Promise<RegSection[]> {
  const children = await listSubkeys(exec, hive, [cs], signal);
  // The exports below start at CriticalDeviceDatabase and Services; their parents are known to exist from the listing.
  const sections: RegSection[] = children.filter((c) => /^(control|services)$/i.test(c)).map((c) => ({ path: `${HKLM_SYSTEM}\\${cs}\\${c}`, values: [] }));
  if (children.some((c) => /^control$/i.test(c))) sections.push(...(await exportKey(exec, hive, `${cs}\\Control\\CriticalDeviceDatabase`, signal)));
  if (children.some((c) => /^services$/i.test(c))) {
    for (const svc of ['atapi', 'IntelIde', 'PCIIde', 'viostor', 'vioscsi']) sections.push(...(await exportKey(exec, hive, `${cs}\\Services\\${svc}`, signal)));
  }
  return sections;
}

export function windows8Text(guest: string, virtioIso: string, os: WindowsFacts, v2vInstalled: boolean): string {
  const head = `${os.product ?? 'This Windows'} (8 or later) finds boot drivers through its DriverDatabase, not the CriticalDeviceDatabase, so registry entries alone do not help.`;
  return v2vInstalled
    ? `${head} virt-v2v is installed and does this properly: VIRTIO_WIN=${virtioIso} virt-v2v --in-place -i libvirt ${guest}`
    : `${head} Install the virtio drivers inside Windows from the ISO (pnputil /add-driver E:\\viostor\\w10\\amd64\\viostor.inf /install), or install virt-v2v and run it with --in-place.`;
}

async function windows8Advice(exec: Executor, guest: string, virtioIso: string, os: WindowsFacts, signal?: AbortSignal): Promise<string> {
  const which = await exec.run(['sh', '-c', 'command -v virt-v2v'], { okExitCodes: [1, 127], signal });
  return windows8Text(guest, virtioIso, os, which.exitCode === 0 && which.stdout.trim() !== '');
}

export async function prepareOffline(host: HostContext, input: MergeIdeInput, signal?: AbortSignal): Promise<PreparedMergeIde> {
  const exec = host.sysExec;
  const state = await domState(host, input.guest);
  if (isActive(state)) {
    throw new FieldRefusal('mode', `${input.guest} is ${state}; its registry can only be changed offline while it is shut off.`, `Shut ${input.guest} down first, or use the in-guest ISO (--iso) while it runs.`);
  }
  const { disks } = await guestDisks(host, input.guest);
  if (disks.length === 0) throw new UserError(`${input.guest} has no disks.`, 'Attach the Windows system disk first.');
  const stamp = stampNow();
  const workdir = join(input.stateDir ?? defaultStateDir(), 'mergeide', `${input.guest}-${stamp}`);
  // Where the hive is read: the job's own folder, or for a dry run a temporary one removed
  // whatever happens. The job's folder stays only for a job that will change something, or, after
  // a failure, when it holds the downloaded hive to look at; an empty one is removed.
  let scanDir = workdir;
  if (input.dryRun) scanDir = (await exec.run(['mktemp', '-d', '--tmpdir', 'virtdeck-mergeide-XXXXXX'], { signal })).stdout.trim();
  else await exec.run(['mkdir', '-p', '--', workdir], { signal });
  const removeScanDir = async (all: boolean) => {
    if (all) await exec.run(['rm', '-rf', '--', scanDir], { okExitCodes: [1] });
    else await exec.run(['rmdir', '--ignore-fail-on-non-empty', '--', scanDir], { okExitCodes: [1] });
    if (!input.dryRun) await exec.run(['rmdir', '--ignore-fail-on-non-empty', '--', dirname(workdir)], { okExitCodes: [1] });
  };
  let prepared: PreparedOffline;
  try {
    prepared = await readOffline(host, input, { disks, stamp, workdir, scanDir }, signal);
  } catch (e) {
    await removeScanDir(Boolean(input.dryRun));
    throw e;
  }
  if (input.dryRun || prepared.facts.changes.length === 0) await removeScanDir(true);
  return prepared;
}

interface OfflineDirs {
  disks: GuestDiskRef[];
  stamp: string;
  /** The job's folder under the state directory, named in the plan. */
  workdir: string;
  /** Where the hive is downloaded and read now: workdir, or a temporary folder for a dry run. */
  scanDir: string;
}

async function readOffline(host: HostContext, input: MergeIdeInput, dirs: OfflineDirs, signal?: AbortSignal): Promise<PreparedOffline> {
  const exec = host.sysExec;
  const { disks, stamp, workdir, scanDir } = dirs;
  const env = await guestfsEnv(exec, signal);
  const mark = newMark('virtdeck-mi');
  const r = await guestfishConversation(exec, ['guestfish', '--ro', ...addArgs(disks)], scanRounds(scanDir, mark), { env, signal, timeoutMs: 600_000 });
  const scan = parseScan(r.stdout, scanDir);
  const hit = scan.found[0];
  if (!hit) {
    throw new UserError(`No Windows SYSTEM hive was found on ${input.guest}'s disks (looked for \\Windows\\System32\\config\\SYSTEM on every filesystem).`, 'Check that this is a Windows guest and that its system disk is attached.');
  }
  const warnings = scan.found.length > 1 ? [`${scan.found.length} Windows installations were found; using the one on ${hit.device}.`] : [];
  const original = join(scanDir, 'system.original');
  await exec.run(['mv', '--', hit.local, original], { signal });
  for (const other of scan.found.slice(1)) await exec.run(['rm', '-f', '--', other.local], { signal });
  const controlSets = (await listSubkeys(exec, original, [], signal)).filter((k) => CONTROL_SET_RE.test(k)).sort();
  if (controlSets.length === 0) throw new UserError(`The SYSTEM hive of ${input.guest} has no ControlSet00N keys.`, 'The hive may be damaged; start Windows once or restore it from a backup.');
  const current = selectCurrent(await exportKey(exec, original, 'Select', signal));
  if (current !== null && !controlSets.includes(controlSetName(current))) warnings.push(`Select\\Current names ${controlSetName(current)}, which the hive does not have.`);

  let drivers: OfflineFacts['drivers'] = [];
  let virtioNote: string | null = null;
  if (input.virtioIso) {
    const cdd = usesCriticalDeviceDatabase(scan.os);
    if (cdd === null) virtioNote = 'virtdeck could not tell which Windows this is, so no virtio entries are written; install the virtio drivers inside Windows.';
    else if (!cdd) virtioNote = await windows8Advice(exec, input.guest, input.virtioIso, scan.os, signal);
    else {
      const files = await isoSysFiles(exec, input.virtioIso, signal);
      for (const name of ['viostor', 'vioscsi']) {
        const isoPath = pickVirtioDriver(files, scan.os, name);
        if (isoPath) drivers.push({ isoPath, name: `${name}.sys` });
      }
      if (drivers.length === 0) virtioNote = `${input.virtioIso} has no viostor or vioscsi driver for ${scan.os.product ?? 'this Windows'} (${scan.os.arch ?? '?'}).`;
    }
    if (virtioNote) warnings.push(virtioNote);
  } else drivers = [];
  const keys = offlineKeys({ drivers });
  const changes: RegChange[] = [];
  for (const cs of controlSets) changes.push(...plannedChanges(keys, cs, await currentState(exec, original, cs, signal)));
  const facts: OfflineFacts = {
    guest: input.guest,
    disks,
    workdir,
    original: join(workdir, 'system.original'),
    device: hit.device,
    hivePath: hit.hivePath,
    driversDir: hit.driversDir,
    os: scan.os,
    controlSets,
    current,
    changes,
    drivers,
    virtioIso: input.virtioIso,
    virtioNote,
    stamp,
  };
  return { mode: 'offline', facts, plan: planMergeIdeOffline(facts), warnings };
}

export async function prepareIso(host: HostContext, input: MergeIdeInput): Promise<PreparedMergeIde> {
  const { xml, disks } = await guestDisks(host, input.guest);
  const first = disks[0]?.path;
  const iso = input.isoPath ?? join(first ? dirname(first) : '/var/lib/libvirt/images', `${input.guest}-mergeide.iso`);
  if (!iso.startsWith('/')) throw new FieldRefusal('isoPath', `The ISO path "${iso}" is not absolute.`, 'Give the full path, starting with /.');
  if ((await existingPaths(host.sysExec, [iso])).length > 0) {
    throw new FieldRefusal('isoPath', `${iso} already exists.`, 'Remove it, or choose another path for the ISO.');
  }
  const newXml = serializeDomainXml(attachIso(parseDomainXml(xml), iso));
  const facts: IsoFacts = { guest: input.guest, iso, oldXml: xml, newXml, stamp: stampNow() };
  const state = await domState(host, input.guest);
  const warnings = !isActive(state) ? [] : [`${input.guest} is ${state}: the CD-ROM appears at its next start (the persistent definition is changed).`];
  return { mode: 'iso', facts, plan: planMergeIdeIso(facts), warnings };
}

/** What the admin reads before and after: the changes per control set, or the in-guest steps. */
export function summaryLines(p: PreparedMergeIde, opts: { compact?: boolean } = {}): string[] {
  if (p.mode === 'offline') {
    const f = p.facts;
    return [
      `Windows: ${f.os.product ?? 'not identified by inspection'}; hive ${f.hivePath} on ${f.device}`,
      `Control sets: ${f.controlSets.join(', ')}${f.current !== null ? ` (current: ${f.current})` : ''}`,
      ...describeChanges(f.changes, f.controlSets, opts),
      f.changes.length === 0
        ? `Nothing to do: the hive is not rewritten and no backup is made.`
        : `Backups: ${f.original} (here) and ${f.hivePath}.virtdeck-backup-${f.stamp} (in the guest)`,
    ];
  }
  // The ISO is made and attached here, but the steps run where Windows still runs: it has to get there.
  return [
    `ISO: ${p.facts.iso} on this host, attached to ${p.facts.guest} here as a CD-ROM.`,
    'Windows still runs on the old hypervisor: copy the ISO there first (scp, or the vSphere datastore browser) and connect it to the VM\'s CD drive.',
    ...IN_GUEST_STEPS,
  ];
}

export function prepareMergeIde(host: HostContext, input: MergeIdeInput, signal?: AbortSignal): Promise<PreparedMergeIde> {
  return input.mode === 'offline' ? prepareOffline(host, input, signal) : prepareIso(host, input);
}

// ---------------------------------------------------------------------------------------------
// Actions

async function runGuestfish(host: HostContext, disks: GuestDiskRef[], script: string, signal: AbortSignal): Promise<string> {
  const env = await guestfsEnv(host.sysExec, signal);
  return (await host.sysExec.run(['guestfish', '--rw', ...addArgs(disks)], { env, input: script, signal, timeoutMs: 600_000 })).stdout;
}

export function mergeIdeActions(host: HostContext): Record<string, Action> {
  const exec = host.sysExec;
  return {
    'mergeide.verify': async (raw, ctx) => {
      const a = raw as VerifyArgs;
      const keys = offlineKeys(a);
      const missing: string[] = [];
      for (const cs of a.controlSets) missing.push(...missingAfterMerge(keys, cs, await currentState(exec, a.hive, cs, ctx.signal)));
      if (missing.length > 0) {
        throw new UserError(`After the merge ${countOf(missing.length, 'key or value is', 'keys or values are')} still missing, e.g. ${missing[0]}.`, 'Nothing was uploaded to the guest; the hive may be damaged — see the journal.');
      }
      ctx.log(`every key and value is present in ${a.controlSets.join(', ')}`);
    },
    'mergeide.upload': async (raw, ctx) => {
      const a = raw as UploadArgs;
      const out = await runGuestfish(host, a.disks, uploadScript(a), ctx.signal);
      const backup = out.split('\n').map((l) => l.trim());
      if (backup[backup.indexOf(`${MARK} backup`) + 1] !== 'true') {
        throw new UserError(`The backup ${a.backupPath} was not found in the guest after the upload.`, 'The original hive is uploaded again by the rollback; see the journal.');
      }
      ctx.log(`backup kept in the guest: ${a.backupPath}`);
    },
    'mergeide.restore': async (raw, ctx) => {
      const a = raw as RestoreArgs;
      await runGuestfish(host, a.disks, restoreScript(a), ctx.signal);
      if (a.downloaded) await exec.run(['rm', '-f', '--', a.downloaded], { signal: ctx.signal });
    },
    'mergeide.stage': async (raw, ctx) => {
      const a = raw as { dir: string; files: Record<string, string> };
      await exec.run(['mkdir', '-m', '0755', '--', a.dir], { signal: ctx.signal });
      for (const [name, content] of Object.entries(a.files)) {
        await exec.run(['sh', '-c', 'cat > "$1"', 'sh', join(a.dir, name)], { input: content, signal: ctx.signal });
      }
    },
    'mergeide.unstage': async (raw) => {
      const a = raw as { dir: string; names: string[] };
      await exec.run(['rm', '-f', '--', ...a.names.map((n) => join(a.dir, n))]);
      await exec.run(['sh', '-c', 'if test -d "$1"; then rmdir -- "$1"; fi', 'sh', a.dir]);
    },
    'mergeide.checkIso': async (raw, ctx) => {
      const a = raw as { iso: string; names: string[] };
      const r = await exec.run(['xorriso', '-indev', a.iso, '-ls', '/'], { signal: ctx.signal });
      const listed = r.stdout.split('\n').map((l) => l.trim().replace(/^'(.*)'$/, '$1'));
      const missing = a.names.filter((n) => !listed.includes(n));
      if (missing.length > 0) throw new UserError(`The new ISO lacks ${missing.join(', ')}.`, 'Check that xorriso works (xorriso -version) and try again.');
    },
    'mergeide.unplace': async (raw) => {
      const a = raw as { final: string; tmp: string };
      const same = await exec.run(['test', a.final, '-ef', a.tmp], { okExitCodes: [1] });
      if (same.exitCode === 0) await exec.run(['rm', '-f', '--', a.final]);
    },
    'mergeide.attach': async (raw) => {
      const a = raw as { guest: string; oldXml: string; newXml: string; iso: string };
      const now = await dumpXml(host, a.guest, { inactive: true });
      if (summarizeDomainXml(now).disks.some((d) => d.source === a.iso)) return;
      if (now.trim() !== a.oldXml.trim()) {
        throw new UserError(`${a.guest}'s definition changed while the ISO was built.`, `Attach ${a.iso} by hand (virtdeck guest edit) or run MergeIDE again.`);
      }
      await defineEdited(host, now, a.newXml);
    },
    'mergeide.detach': async (raw) => {
      const a = raw as { guest: string; oldXml: string; iso: string };
      const now = await dumpXml(host, a.guest, { inactive: true });
      if (summarizeDomainXml(now).disks.some((d) => d.source === a.iso)) await defineXml(host, a.oldXml, { validate: true });
    },
    'mergeide.cleanup': async (raw) => {
      const a = raw as { dir: string; names: string[]; tmp: string };
      await exec.run(['rm', '-f', '--', a.tmp, ...a.names.map((n) => join(a.dir, n))]);
      await exec.run(['sh', '-c', 'if test -d "$1"; then rmdir -- "$1"; fi', 'sh', a.dir]);
    },
  };
}

export interface RunMergeIdeOptions {
  stateDir: string;
  signal?: AbortSignal;
  onEvent?: (e: RunnerEvent) => void;
}

export function runMergeIde(host: HostContext, plan: Plan, opts: RunMergeIdeOptions): Promise<RunResult> {
  return runPlan(plan, { host, stateDir: opts.stateDir, signal: opts.signal, onEvent: opts.onEvent, actions: mergeIdeActions(host) });
}
