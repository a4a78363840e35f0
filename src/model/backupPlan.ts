/**
 * Backups, the pure half: which method each guest gets (and the consistency that buys), whether
 * an incremental is safe or drift forces a full run, and the plan of steps the runner executes.
 *
 * Every plan writes into DEST/GUEST/RUN.partial and renames it to RUN only as its last step, so a
 * run killed at any point is never listed as good; each step that changes the guest (a checkpoint,
 * an overlay) has an undo that is safe on a partial result.
 */
import { type BackupKind, type BackupMethod, type CatalogRun, type Consistency, chainOf, DOMAIN_XML_NAME, MANIFEST_NAME, PARTIAL_SUFFIX, runDirName } from './backupManifest.js';
import { getSettings, parseDomainXml, serializeDomainXml, setDiskSource } from './domainXml.js';
import { isActive } from './guest.js';
import type { Plan, PlanStep } from './plan.js';
import { UserError } from './userError.js';
import { escapeXml } from './xmlText.js';

export const BACKUP_JOB_KIND = 'backup';
export const CHECKPOINT_PREFIX = 'virtdeck-';
export const OVERLAY_MARK = '.virtdeck-overlay-';

export interface DiskFacts {
  target: string;
  source: string;
  /** Driver type from the domain XML (qcow2, raw, vmdk). */
  format: string;
  /** qcow2 compat from the image header ("1.1" = v3, holds bitmaps; "0.10" = v2); null for others. */
  qcow2Compat: string | null;
  /** Persistent bitmaps stored in the image header (qemu-img info -U). */
  bitmaps: string[];
  virtualSize: number;
}

export interface GuestFacts {
  name: string;
  uuid: string;
  /** running, paused, shut off… */
  state: string;
  disks: DiskFacts[];
  /** Disks left out, and why (CD-ROMs, network disks). */
  skipped: { target: string; why: string }[];
  /** The guest agent answers (quiesce possible). */
  agent: boolean;
  /** libvirt's checkpoints of this guest. */
  checkpoints: string[];
  /** Changed bytes per disk since the candidate checkpoint, or null when libvirt could not say (bitmap gone). */
  checkpointSizes: Map<string, number | null> | null;
  /** Complete runs of this guest at the destination, oldest first. */
  runs: CatalogRun[];
  /** Run directories an interrupted run left (RUN.partial): their names are taken too. */
  partials?: string[];
}

export interface BackupOptions {
  dest: string;
  now: Date;
  /** --full: never incremental. */
  full: boolean;
  hostname: string;
  uri: string;
  /** qemu-img measure's `required` bytes per disk target (null: it could not say); for per-disk progress. */
  required?: Map<string, number | null>;
  /** The config's reader group: runs 0640/2751 with that group instead of 0600/0711. */
  group?: string | null;
  /** Where the images' checksums, as written, are recorded for instant recovery (jobs/verifiedRuns.ts). */
  trust?: { stateDir: string; uri: string };
}

/**
 * The run directory step: 0711 so QEMU (libvirt-qemu) reaches the push-backup targets libvirt makes
 * in it, nobody lists it, and files in it are 0600 by the umask; with a reader group, setgid 2751 in
 * that group so every file made inside is the group's, 0640 by the umask.
 */
export function runDirCommand(guestDir: string, partialDir: string, group?: string | null): string[] {
  if (group) return ['sh', '-c', RUN_DIR_SCRIPT_GROUP, 'sh', guestDir, partialDir, group];
  return ['sh', '-c', RUN_DIR_SCRIPT, 'sh', guestDir, partialDir];
}
export const RUN_DIR_SCRIPT = 'umask 077 && mkdir -p -m 0711 -- "$1" && mkdir -m 0711 -- "$2"';
export const RUN_DIR_SCRIPT_GROUP = 'umask 027 && mkdir -p -m 2751 -- "$1" && mkdir -m 2751 -- "$2" && chgrp -- "$3" "$1" "$2"';

export interface BackupDecision {
  method: BackupMethod;
  kind: BackupKind;
  consistency: Consistency;
  /** Run this one builds on (incremental only). */
  parent: CatalogRun | null;
  /** libvirt checkpoint the incremental starts from. */
  baseCheckpoint: string | null;
  /** Checkpoint created by this run (backup-api only). */
  newCheckpoint: string | null;
  /** Why a full run was taken where an incremental was expected; null otherwise. */
  note: string | null;
}

const LIVE_STATES = ['running', 'paused', 'idle'];

/** "20261125T203000Z": the time in checkpoint and overlay names, sortable. */
export function stamp(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function checkpointName(at: Date): string {
  return `${CHECKPOINT_PREFIX}${stamp(at)}`;
}

const NAME_STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?:[-.]|$)/;

/** The time in a run directory, partial run or virtdeck checkpoint name, in ms; null for other names. */
export function stampTimeOf(name: string): number | null {
  const m = NAME_STAMP.exec(name.startsWith(CHECKPOINT_PREFIX) ? name.slice(CHECKPOINT_PREFIX.length) : name);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/**
 * Pure: the instant a run is named after. Names carry the second, so a second run of one guest
 * within a second (or after the clock stepped back) would take a name in use: libvirt refuses the
 * checkpoint, or the run sorts before the one it builds on. The name moves to the first second
 * after every name already taken, so names stay unique, keep their format (old runs on disk read
 * as before) and sort in the order the runs were made. The manifest keeps the exact time.
 */
export function freeInstant(now: Date, taken: string[]): Date {
  const second = Math.floor(now.getTime() / 1000) * 1000;
  const newest = taken.reduce((max, n) => Math.max(max, stampTimeOf(n) ?? Number.NEGATIVE_INFINITY), Number.NEGATIVE_INFINITY);
  return new Date(Math.max(second, newest + 1000));
}

/** The instant this guest's next run, checkpoint and overlays are named after (see freeInstant). */
export function runInstant(f: Pick<GuestFacts, 'checkpoints' | 'runs' | 'partials'>, now: Date): Date {
  const ours = f.checkpoints.filter((c) => c.startsWith(CHECKPOINT_PREFIX));
  return freeInstant(now, [...ours, ...f.runs.map((r) => r.name), ...(f.partials ?? [])]);
}

/** `<image>.virtdeck-overlay-<time>.qcow2` next to the image, so it lives on the same storage. */
export function overlayPath(source: string, at: Date): string {
  return `${source}${OVERLAY_MARK}${stamp(at)}.qcow2`;
}

export function isOverlayPath(path: string | null): boolean {
  const p = path ?? '';
  return p.includes(OVERLAY_MARK) && p.endsWith('.qcow2');
}

/** Qcow2 v3 can carry the persistent bitmaps a checkpoint needs. */
function bitmapCapable(d: DiskFacts): boolean {
  return d.format === 'qcow2' && d.qcow2Compat === '1.1';
}

/** Format of the copy: raw stays raw (sparse, restorable with cp); everything else becomes one self-contained qcow2. */
export function copyFormat(method: BackupMethod, sourceFormat: string): string {
  if (method === 'backup-api') return 'qcow2';
  return sourceFormat === 'raw' ? 'raw' : 'qcow2';
}

export function imageFileName(target: string, format: string): string {
  return `${target}.${format}`;
}

/** Why an incremental from the newest run cannot be trusted, or null when it can. */
function incrementalBlocker(f: GuestFacts): { why: string } | { parent: CatalogRun; checkpoint: string } {
  const last = f.runs[f.runs.length - 1];
  if (!last) return { why: 'there is no earlier run at this destination' };
  if (last.manifest.method !== 'backup-api' || !last.manifest.checkpoint) {
    return { why: `the newest run ${last.name} was not made with the backup API, so it has no checkpoint to start from` };
  }
  const ck = last.manifest.checkpoint;
  try {
    chainOf(f.runs, last.name);
  } catch (e) {
    return { why: `the chain of the newest run ${last.name} is broken (${e instanceof UserError ? e.sentence : String(e)})` };
  }
  if (!f.checkpoints.includes(ck)) return { why: `the checkpoint ${ck} of the newest run ${last.name} is missing in libvirt` };
  const targets = f.disks.map((d) => d.target).sort().join(',');
  const lastTargets = last.manifest.disks.map((d) => d.target).sort().join(',');
  if (targets !== lastTargets) return { why: `the guest's disks changed since ${last.name} (${lastTargets} → ${targets})` };
  for (const d of f.disks) {
    const size = f.checkpointSizes?.get(d.target);
    if ((size === undefined || size === null) && !d.bitmaps.includes(ck)) {
      return { why: `the dirty bitmap ${ck} is missing in the image of ${d.target}` };
    }
  }
  return { parent: last, checkpoint: ck };
}

/** The method, kind and consistency for one guest; a UserError when it cannot be backed up now. */
export function decideBackup(f: GuestFacts, o: Pick<BackupOptions, 'now' | 'full'>): BackupDecision {
  if (f.disks.length === 0) {
    throw new UserError(`The guest ${f.name} has no disk that can be backed up.`, 'Nothing to back up: attach a file or block disk, or leave it out of the run.');
  }
  if (!isActive(f.state)) {
    return { method: 'offline-copy', kind: 'full', consistency: 'offline', parent: null, baseCheckpoint: null, newCheckpoint: null, note: null };
  }
  if (!LIVE_STATES.includes(f.state)) {
    throw new UserError(`The guest ${f.name} is ${f.state}, so its disks cannot be read consistently.`, 'Wait until it is running or shut off, then back it up again.');
  }
  const consistency: Consistency = f.agent ? 'quiesced' : 'crash-consistent';
  if (!f.disks.every(bitmapCapable)) {
    return { method: 'snapshot-copy', kind: 'full', consistency, parent: null, baseCheckpoint: null, newCheckpoint: null, note: null };
  }
  const newCheckpoint = checkpointName(runInstant(f, o.now));
  if (o.full) return { method: 'backup-api', kind: 'full', consistency, parent: null, baseCheckpoint: null, newCheckpoint, note: null };
  const inc = incrementalBlocker(f);
  if ('why' in inc) {
    // The very first run is full by nature; only drift deserves a note.
    const note = f.runs.length === 0 ? null : `Full instead of incremental: ${inc.why}.`;
    return { method: 'backup-api', kind: 'full', consistency, parent: null, baseCheckpoint: null, newCheckpoint, note };
  }
  return { method: 'backup-api', kind: 'incremental', consistency, parent: inc.parent, baseCheckpoint: inc.checkpoint, newCheckpoint, note: null };
}

/** What a run reads and writes, in words for the review screen and `--dry-run`. */
export function describeDecision(d: BackupDecision): string {
  const how = { 'backup-api': 'libvirt backup API (push)', 'snapshot-copy': 'disk-only snapshot, copy, commit', 'offline-copy': 'offline sparse copy' }[d.method];
  const kind = d.kind === 'incremental' ? `incremental since ${d.parent?.name}` : 'full';
  return `${kind}, ${how}, ${d.consistency}${d.note ? ` — ${d.note}` : ''}`;
}

export function backupXml(disks: { target: string; file: string }[], incremental: string | null): string {
  const lines = ["<domainbackup mode='push'>"];
  if (incremental) lines.push(`  <incremental>${escapeXml(incremental)}</incremental>`);
  lines.push('  <disks>');
  for (const d of disks) {
    lines.push(`    <disk name='${escapeXml(d.target)}' backup='yes' type='file'><target file='${escapeXml(d.file)}'/><driver type='qcow2'/></disk>`);
  }
  lines.push('  </disks>', '</domainbackup>', '');
  return lines.join('\n');
}

export function checkpointXml(name: string, targets: string[], description: string): string {
  const disks = targets.map((t) => `    <disk name='${escapeXml(t)}' checkpoint='bitmap'/>`);
  return [`<domaincheckpoint>`, `  <name>${escapeXml(name)}</name>`, `  <description>${escapeXml(description)}</description>`, '  <disks>', ...disks, '  </disks>', '</domaincheckpoint>', ''].join('\n');
}

export interface PlannedDisk {
  target: string;
  source: string;
  sourceFormat: string;
  virtualSize: number;
  /** File name in the run directory. */
  file: string;
  format: string;
  /** Relative backing file of an incremental image (../PARENT/vda.qcow2). */
  backing: string | null;
  /** Snapshot-copy only: the overlay the guest writes to while its base is copied. */
  overlay: string | null;
}

/** Everything the manifest step needs, recorded in the plan so a resumed job writes the same manifest. */
export interface ManifestDraft {
  guest: string;
  uuid: string;
  createdAt: string;
  kind: BackupKind;
  parent: string | null;
  checkpoint: string | null;
  method: BackupMethod;
  consistency: Consistency;
  hostname: string;
  uri: string;
  note: string | null;
  disks: PlannedDisk[];
}

export interface GuestBackupPlan {
  guest: string;
  decision: BackupDecision;
  runName: string;
  runDir: string;
  partialDir: string;
  disks: PlannedDisk[];
  plan: Plan;
}

/** The plan for one guest. `virshArgv(args)` renders a virsh command for display and for the step. */
export function planGuestBackup(f: GuestFacts, d: BackupDecision, o: BackupOptions, virshArgv: (args: string[]) => string[]): GuestBackupPlan {
  const at = runInstant(f, o.now);
  const runName = runDirName(at, d.kind);
  const guestDir = `${o.dest}/${f.name}`;
  const runDir = `${guestDir}/${runName}`;
  const partialDir = `${runDir}${PARTIAL_SUFFIX}`;
  const disks: PlannedDisk[] = f.disks.map((disk) => {
    const format = copyFormat(d.method, disk.format);
    const file = imageFileName(disk.target, format);
    const parentDisk = d.parent?.manifest.disks.find((p) => p.target === disk.target);
    return {
      target: disk.target,
      source: disk.source,
      sourceFormat: disk.format,
      virtualSize: disk.virtualSize,
      file,
      format,
      backing: d.kind === 'incremental' && d.parent && parentDisk ? `../${d.parent.name}/${parentDisk.file}` : null,
      overlay: d.method === 'snapshot-copy' ? overlayPath(disk.source, at) : null,
    };
  });
  const draft: ManifestDraft = {
    guest: f.name,
    uuid: f.uuid,
    createdAt: o.now.toISOString(),
    kind: d.kind,
    parent: d.parent?.name ?? null,
    checkpoint: d.newCheckpoint,
    method: d.method,
    consistency: d.consistency,
    hostname: o.hostname,
    uri: o.uri,
    note: d.note,
    disks,
  };
  const steps: PlanStep[] = [
    {
      id: 'mkdir',
      title: `create ${partialDir}`,
      command: { runsOn: 'sys', argv: runDirCommand(guestDir, partialDir, o.group) },
      undo: { title: `remove ${partialDir}`, partial: true, command: { runsOn: 'sys', argv: ['rm', '-rf', '--', partialDir] } },
    },
    {
      id: 'domain-xml',
      title: `save the definition of ${f.name} (virsh dumpxml --inactive --security-info)`,
      command: { runsOn: 'virsh', argv: virshArgv(['dumpxml', '--domain', f.name, '--inactive', '--security-info']) },
      action: { name: 'save-domain-xml', args: { guest: f.name, path: `${partialDir}/${DOMAIN_XML_NAME}` } },
    },
  ];
  const targetPath = (p: PlannedDisk) => `${partialDir}/${p.file}`;
  if (d.method === 'backup-api') {
    const total = f.disks.reduce((s, x) => s + x.virtualSize, 0);
    const xml = backupXml(
      disks.map((p) => ({ target: p.target, file: targetPath(p) })),
      d.baseCheckpoint,
    );
    const progressDisks = disks.map((p) => {
      const facts = f.disks.find((x) => x.target === p.target);
      return { target: p.target, file: targetPath(p), expectedBytes: expectedTargetBytes(d, p.target, facts?.virtualSize ?? p.virtualSize, o.required?.get(p.target), f.checkpointSizes) };
    });
    const ckXml = checkpointXml(d.newCheckpoint as string, disks.map((p) => p.target), `virtdeck ${d.kind} backup to ${o.dest}`);
    steps.push({
      id: 'backup-begin',
      title: `${d.kind} push backup of ${disks.map((p) => p.target).join(', ')}${d.baseCheckpoint ? ` since ${d.baseCheckpoint}` : ''}, new checkpoint ${d.newCheckpoint}`,
      command: { runsOn: 'virsh', argv: virshArgv(['backup-begin', '--domain', f.name, '--backupxml', 'backup.xml', '--checkpointxml', 'checkpoint.xml']) },
      action: { name: 'backup-api', args: { guest: f.name, backupXml: xml, checkpointXml: ckXml, checkpoint: d.newCheckpoint, quiesce: d.consistency === 'quiesced', totalBytes: total, disks: progressDisks } },
      undo: { title: `abort the backup job and delete checkpoint ${d.newCheckpoint}`, partial: true, action: { name: 'abort-backup-api', args: { guest: f.name, checkpoint: d.newCheckpoint } } },
      progress: { kind: 'qemu-img', totalBytes: total },
      long: true,
    });
    for (const p of disks) {
      if (!p.backing) continue;
      steps.push({
        id: `rebase-${p.target}`,
        title: `make ${p.file} build on ${p.backing} instead of the live image`,
        command: { runsOn: 'sys', argv: ['qemu-img', 'rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', p.backing, targetPath(p)] },
      });
    }
  } else if (d.method === 'snapshot-copy') {
    const specs = disks.map((p) => ({ target: p.target, file: p.overlay as string }));
    const others = f.skipped.filter((s) => !disks.some((p) => p.target === s.target)).map((s) => ({ target: s.target }));
    const diskspec = [
      ...specs.flatMap((s) => ['--diskspec', `${s.target},snapshot=external,file=${s.file.replace(/,/g, ',,')}`]),
      ...others.flatMap((s) => ['--diskspec', `${s.target},snapshot=no`]),
    ];
    steps.push({
      id: 'snapshot',
      title: `freeze ${disks.map((p) => p.target).join(', ')}: the guest writes to overlays while the bases are copied`,
      command: {
        runsOn: 'virsh',
        argv: virshArgv([
          'snapshot-create-as',
          '--domain',
          f.name,
          '--name',
          `virtdeck-backup-${stamp(at)}`,
          '--disk-only',
          '--atomic',
          '--no-metadata',
          ...(d.consistency === 'quiesced' ? ['--quiesce'] : []),
          ...diskspec,
        ]),
      },
      undo: { title: `merge the overlays back (blockcommit --active --pivot) and delete them`, partial: true, action: { name: 'commit-overlays', args: { guest: f.name, disks: specs } } },
    });
    for (const p of disks) {
      steps.push({
        id: `copy-${p.target}`,
        title: `copy ${p.source} → ${p.file}`,
        command: { runsOn: 'sys', argv: ['qemu-img', 'convert', '-p', '-U', '-f', p.sourceFormat, '-O', p.format, p.source, targetPath(p)] },
        progress: { kind: 'qemu-img', totalBytes: p.virtualSize },
        long: true,
      });
    }
    steps.push({
      id: 'commit',
      title: `merge the overlays back into ${disks.map((p) => p.target).join(', ')} and delete them`,
      command: { runsOn: 'virsh', argv: virshArgv(['blockcommit', '--domain', f.name, '--path', disks[0]?.target ?? 'vda', '--active', '--pivot', '--wait']) },
      action: { name: 'commit-overlays', args: { guest: f.name, disks: specs } },
      long: true,
    });
  } else {
    for (const p of disks) {
      steps.push({
        id: `copy-${p.target}`,
        title: `copy ${p.source} → ${p.file}`,
        // No -U: qemu-img's read lock keeps the guest from being started mid-copy.
        command: { runsOn: 'sys', argv: ['qemu-img', 'convert', '-p', '-f', p.sourceFormat, '-O', p.format, p.source, targetPath(p)] },
        progress: { kind: 'qemu-img', totalBytes: p.virtualSize },
        long: true,
      });
    }
  }
  steps.push(
    {
      id: 'manifest',
      title: `checksum the images and write ${MANIFEST_NAME}`,
      action: { name: 'write-manifest', args: { dir: partialDir, draft, ...(o.group ? { readers: o.group } : {}), ...(o.trust ? { trust: o.trust, finalDir: runDir } : {}) } },
    },
    {
      id: 'publish',
      title: `mark the run complete: ${runName}`,
      command: { runsOn: 'sys', argv: ['mv', '-T', '--', partialDir, runDir] },
    },
  );
  return {
    guest: f.name,
    decision: d,
    runName,
    runDir,
    partialDir,
    disks,
    plan: {
      kind: BACKUP_JOB_KIND,
      title: `Back up ${f.name} (${describeDecision(d)}) to ${o.dest}`,
      targets: { guests: [f.name], images: f.disks.map((x) => x.source) },
      steps,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Free space

export interface SpaceNeed {
  bytes: number;
  /** How the number was reached, for the message ("estimate from the dirty bitmap"). */
  basis: string;
}

/**
 * Bytes a run needs at the destination. Full: qemu-img measure's `required` per disk. Incremental:
 * libvirt's dirty size per disk plus qcow2 metadata (an L2 table per 512 MiB of changed data is
 * about 64 KiB; 1 MiB per disk covers header, refcounts and the bitmap directory).
 */
export function spaceNeeded(
  d: BackupDecision,
  disks: { target: string; required: number | null; virtualSize: number }[],
  dirty: Map<string, number | null> | null,
): SpaceNeed {
  const META = 1024 * 1024;
  if (d.kind === 'incremental') {
    let unknown = false;
    const bytes = disks.reduce((sum, x) => {
      const changed = dirty?.get(x.target);
      if (changed === undefined || changed === null) {
        unknown = true;
        return sum + (x.required ?? x.virtualSize) + META;
      }
      return sum + changed + Math.ceil(changed / (512 * 1024 * 1024)) * 64 * 1024 + META;
    }, 0);
    return { bytes, basis: unknown ? 'changed data unknown for some disks: counted as their whole allocated size' : 'changed data from the dirty bitmaps' };
  }
  const bytes = disks.reduce((sum, x) => sum + (x.required ?? x.virtualSize), 0);
  return { bytes, basis: disks.some((x) => x.required === null) ? 'virtual size (qemu-img measure could not say)' : 'qemu-img measure' };
}

/** A new qcow2 before any data: header, L1 and refcount tables (qemu-img create of a small image). */
const QCOW2_EMPTY = 192 * 1024;

/**
 * The size one disk's push-backup target (a qcow2 QEMU writes) should reach: for a full run what
 * qemu-img measure says a qcow2 copy needs; for an incremental the changed bytes from the dirty
 * bitmap plus the qcow2 header and an L2 table per 512 MiB. Unknown numbers fall back to the whole
 * disk, which only makes the row move slower.
 */
export function expectedTargetBytes(d: BackupDecision, target: string, virtualSize: number, required: number | null | undefined, dirty: Map<string, number | null> | null): number {
  const changed = dirty?.get(target);
  if (d.kind === 'incremental' && changed !== undefined && changed !== null) {
    return changed + QCOW2_EMPTY + Math.ceil(changed / (512 * 1024 * 1024)) * 64 * 1024;
  }
  return required ?? virtualSize;
}

// ---------------------------------------------------------------------------------------------
// Overlay recovery, pure part

/**
 * The inactive definition with disk `target` pointing at `base` again (after its overlay was
 * committed offline): source file, driver type, and no stale <backingStore>.
 */
export function pointDiskAt(xml: string, target: string, base: string, baseFormat: string): string {
  const doc = parseDomainXml(xml);
  const disk = getSettings(doc).disks.find((d) => d.target === target);
  if (!disk) throw new UserError(`The guest has no disk ${target}.`, 'Check the target name (virsh domblklist GUEST).');
  if (disk.source === null) throw new UserError(`The disk ${target} has no source.`, 'Nothing to point back.');
  return serializeDomainXml(setDiskSource(doc, target, base, baseFormat));
}
