/**
 * File-level restore: browse the filesystems inside a backup run and copy files or directories out
 * to the host. The run is opened read-only through one guestfish session (host/guestfsBrowse.ts);
 * for an incremental run the top image is opened and qemu follows its relative backing files down
 * the chain, so any run shows the guest's files as they were at that run.
 */
import { posix } from 'node:path';
import { type FsEntry, type FsInfo, type GuestfishSession, openGuestfish } from '../host/guestfsBrowse.js';
import type { HostContext } from '../host/hostContext.js';
import { inspectUntrustedImage } from '../host/imageInspect.js';
import { type BackupManifest, MANIFEST_NAME, parseManifest } from '../model/backupManifest.js';
import { UserError } from '../model/userError.js';
import { findRun } from './restore.js';
import { checkConfinement, goodCandidates, recordedDamage, runFilesOf, verifyRunFiles } from './runCheck.js';

export type { FsEntry, FsInfo } from '../host/guestfsBrowse.js';

export interface BackupFs {
  /** The disks opened, in the order the appliance sees them (sda, sdb…). */
  disks: { target: string; path: string }[];
  /** Why the run cannot be trusted, as its last `backup verify` recorded (empty when it was not found damaged). */
  damage: string[];
  filesystems(): Promise<FsInfo[]>;
  list(fsDevice: string, path: string): Promise<FsEntry[]>;
  /** `onNote`: each thing dropped (device nodes, FIFOs) or made safe (setuid, group/other write). */
  extract(fsDevice: string, paths: string[], toDir: string, onNote?: (line: string) => void): Promise<string[]>;
  close(): Promise<void>;
}

export async function readRunManifest(host: HostContext, runDir: string, signal?: AbortSignal): Promise<BackupManifest> {
  const file = posix.join(runDir, MANIFEST_NAME);
  const r = await host.sysExec.run(['cat', '--', file], { signal, okExitCodes: [1] });
  if (r.exitCode !== 0) throw new UserError(`There is no backup manifest at ${file}.`, 'Give a run directory as listed by `virtdeck backup list`.');
  return parseManifest(r.stdout, file);
}

/**
 * Opens a run for browsing: all its disks (or just `disk`, a target such as vda) in ONE appliance,
 * kept alive until close(). Launching takes 15–20 s here; every later call is quick.
 */
export async function openBackupFs(host: HostContext, runDir: string, disk?: string, signal?: AbortSignal): Promise<BackupFs> {
  const manifest = await readRunManifest(host, runDir, signal);
  const disks = manifest.disks.filter((d) => disk === undefined || d.target === disk);
  if (disks.length === 0) {
    throw new UserError(
      disk ? `The run ${runDir} has no disk ${disk}.` : `The run ${runDir} holds no disk images.`,
      `Its disks are: ${manifest.disks.map((d) => d.target).join(', ') || 'none'}.`,
    );
  }
  const images = disks.map((d) => ({ path: posix.join(runDir, d.file), format: d.format }));
  // Never open a file outside the run directory, whatever the manifest says (checked now, not when it was parsed).
  const run = posix.basename(runDir);
  await checkConfinement(host.sysExec, disks.map((d) => ({ run, runDir, file: d.file, path: posix.join(runDir, d.file), sha256: d.sha256, format: d.format, backing: d.backing })), signal);
  // The appliance's QEMU runs on this host: a run's image naming a host file must not get there.
  for (const i of images) await inspectUntrustedImage(host.sysExec, i.path, { roots: [posix.dirname(runDir)], expectFormat: i.format, signal });
  const session: GuestfishSession = await openGuestfish(host.sysExec, images, signal);
  return {
    disks: disks.map((d, i) => ({ target: d.target, path: images[i]?.path ?? '' })),
    damage: recordedDamage([{ name: run, manifest }]).map((r) => r.sentence),
    filesystems: () => session.filesystems(),
    list: (fsDevice, path) => session.list(fsDevice, path),
    extract: (fsDevice, paths, toDir, onNote) => session.extract(fsDevice, paths, toDir, onNote),
    close: () => session.close(),
  };
}

/** The run directory of GUEST/RUN under DEST, checked against the catalog (RUN may be "latest"). */
export async function runDirOf(host: HostContext, dest: string, guest: string, run: string | undefined, signal?: AbortSignal): Promise<string> {
  const found = await findRun(host, dest, guest, run, signal);
  return posix.join(dest, guest, found.run.name);
}

/** What `backup files` warns about: the recorded verify failures of the run and the chain it builds on. */
export async function runDamage(host: HostContext, dest: string, guest: string, run: string | undefined, signal?: AbortSignal): Promise<{ runDir: string; damage: string[] }> {
  const found = await findRun(host, dest, guest, run, signal);
  // qemu follows an incremental's backing files down the chain: every one of them must be confined too.
  await checkConfinement(host.sysExec, runFilesOf(dest, guest, found.chain), signal);
  return { runDir: posix.join(dest, guest, found.run.name), damage: recordedDamage(found.chain).map((r) => r.sentence) };
}

/**
 * Before files are copied out of a run: every image of its chain is checked (confinement, recorded
 * verify, sha256 with progress). Damage refuses (UserError naming the file) unless allowed.
 */
export async function checkRunForExtract(
  host: HostContext,
  o: { dest: string; guest: string; run: string | undefined; allowDamaged: boolean; signal?: AbortSignal; progress?: (fraction: number, totalBytes: number) => void; log?: (line: string) => void },
): Promise<{ runDir: string; findings: string[] }> {
  const found = await findRun(host, o.dest, o.guest, o.run, o.signal);
  const candidates = goodCandidates(found.backups, found.run.name);
  const findings = await verifyRunFiles(
    host,
    {
      guest: o.guest,
      dest: o.dest,
      files: runFilesOf(o.dest, o.guest, found.chain),
      recorded: recordedDamage(found.chain),
      allowDamaged: o.allowDamaged,
      candidates,
      retry: `virtdeck backup extract ${o.guest} RUN PATH… --dest ${o.dest} --to DIR`,
      anyway: 'copy out of this one anyway with --allow-damaged',
    },
    { progress: o.progress ?? (() => {}), log: o.log ?? (() => {}), signal: o.signal },
  );
  return { runDir: posix.join(o.dest, o.guest, found.run.name), findings };
}

/** Splits "/dev/sda1:/etc/hosts" into device and path; a bare path means the only (or first) filesystem. */
export function splitFsPath(spec: string): { device: string | null; path: string } {
  const m = /^(\/dev\/[^:]+|btrfsvol:[^:]+):(\/.*)$/.exec(spec);
  return m ? { device: m[1] as string, path: m[2] as string } : { device: null, path: spec };
}

/** The filesystem a path without a device refers to: the only mountable one; several must be named. */
export function defaultFilesystem(fss: FsInfo[]): FsInfo {
  const mountable = fss.filter((f) => f.mountable);
  const only = mountable[0];
  if (!only) throw new UserError('This backup holds no filesystem virtdeck can open.', 'It may be encrypted or empty; restore the whole guest instead.');
  if (mountable.length > 1) {
    throw new UserError(
      `This backup holds ${mountable.length} filesystems, so a path must say which one.`,
      `Write it as DEVICE:PATH, e.g. ${only.device}:/etc (filesystems: ${mountable.map((f) => f.device).join(', ')}).`,
    );
  }
  return only;
}
