/**
 * Disk expansion, the pure half: from what was read about an image (format, size, guest, free
 * space, partition layout) and the size asked for, decide the route and build the plan the runner
 * executes, the wizard reviews and `--dry-run` prints. Nothing here runs a process.
 *
 * Routes:
 * - raw/qcow2, guest off: `qemu-img resize` in place. Growing only appends zeros after the end
 *   of the disk; no existing byte moves, so an interruption at any point leaves every old byte
 *   where it was. That is why this route has no temporary copy and its resize has no undo (an
 *   undo would be a shrink, which could cut a partition already grown into the new space). It is
 *   journaled like every job and verified afterwards (virtual size, and `qemu-img check` for qcow2).
 * - guest running: `virsh blockresize` (QEMU grows the image under the running guest); the guest
 *   side is then instructions only.
 * - vmdk: qemu-img cannot resize it, so: convert to a temporary raw in a work folder beside it,
 *   resize that, (grow the partition on the copy), convert back with the original's subformat,
 *   adapter and hardware version, compare, then swap — the original is kept, renamed into a
 *   `.virtdeck-orig` folder, and is not touched before the new image is verified.
 */
import { posix } from 'node:path';
import { countOf } from './countText.js';
import { type GuestState, isActive } from './guest.js';
import { isPlainDevice } from './guestfishWords.js';
import { commandLine, compactRoute, type Plan, type PlanRoute, type PlanStep } from './plan.js';
import { shellQuote } from './shellQuote.js';
import { shown } from './shown.js';
import { formatBytesLong, parseSize } from './units.js';
import { UserError } from './userError.js';

// ---------------------------------------------------------------------------------------------
// What the job reads before planning

export interface VmdkFacts {
  /** qemu-img -o options for the copy back: subformat, adapter_type, hwversion. */
  options: Record<string, string>;
  /** Names (in the image's folder) of the descriptor and every extent file. */
  files: string[];
  createType: string;
  /** A vmdk delta (snapshot) of a parent disk: its parentCID is set. */
  hasParent: boolean;
  warnings: string[];
}

export interface ImageFacts {
  path: string;
  format: string;
  virtualSize: number;
  /** Bytes holding data (qemu-img map), what a sparse temporary copy takes on disk. */
  dataBytes: number;
  backingFile: string | null;
  snapshots: string[];
  vmdk: VmdkFacts | null;
  /** Free bytes in the image's folder (df). */
  freeBytes: number;
}

export interface GuestUse {
  name: string;
  state: GuestState;
  /** The disk's target in that guest (vda, sda, hda). */
  target: string;
  /** The guest's own name for the image when it reaches it another way (a symlink, a hard link, a bind mount). */
  source?: string;
}

export interface PartitionInfo {
  num: number;
  start: number;
  end: number;
  size: number;
  /** Filesystem type (ext4, xfs, ntfs, swap, LVM2_member…) or null when none was found. */
  fsType: string | null;
}

export interface OsInfo {
  /** The root filesystem's device in the libguestfs appliance (/dev/sda2, /dev/vg/root). */
  root: string;
  type: string;
  distro: string;
  product: string;
}

/** The disk as libguestfs saw it (one read-only launch, before anything changes). */
export interface DiskLayout {
  partitionTable: 'msdos' | 'gpt' | null;
  diskBytes: number;
  partitions: PartitionInfo[];
  /** Every filesystem libguestfs found: device → type (partitions and logical volumes). */
  filesystems: Record<string, string>;
  pvs: string[];
  vgs: string[];
  lvs: string[];
  os: OsInfo | null;
  /**
   * Which optional parts of the libguestfs appliance are installed (feature-available); a group
   * that is absent from the record was not asked about and counts as available.
   */
  features?: Partial<Record<ApplianceFeature, boolean>>;
}

/** The appliance groups a grow may need: xfs and ntfs tools, sgdisk for GPT, LVM. */
export const APPLIANCE_FEATURES = ['xfs', 'ntfsprogs', 'gdisk', 'lvm2'] as const;
export type ApplianceFeature = (typeof APPLIANCE_FEATURES)[number];

export interface ExpandFacts {
  uri: string;
  /** null: there is no file at the path. */
  image: ImageFacts | null;
  requestedPath: string;
  guest: GuestUse | null;
  /** null when not inspected (guest running, --no-grow-fs) or when inspection failed. */
  layout: DiskLayout | null;
  layoutError?: string;
  /** Variables every libguestfs run needs here (guestfsEnv). */
  guestfsEnv: Record<string, string>;
  /** Work and keep-original names that already exist (a previous run left them). */
  existingLeftovers: string[];
}

export interface ExpandRequest {
  size: string;
  /** Grow the last partition and its filesystem offline when possible. */
  growFs: boolean;
  /** The wizard's "instructions only", chosen by the admin: leave the guest side to them, with the steps for it. */
  instructionsOnly?: boolean;
  /** The wizard is still looking inside the disk: the guest side is not decided yet. */
  inspecting?: boolean;
  /**
   * Before growing in place, copy the image beside it and compare the copy with it, so the
   * original survives a grow that goes wrong (the in-place route keeps nothing otherwise).
   */
  keepCopy?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Size

const SECTOR = 512;

/**
 * The size in bytes the disk will have: absolute or +relative, rounded up to whole sectors. A grow
 * below 1 MiB, or one the review and the result would show as "X → X", is refused: partitions grow
 * in whole MiB, so it changes nothing the guest can use, and a report that shows no change reads
 * like a failure.
 */
export function resolveTargetSize(text: string, currentBytes: number): number {
  const parsed = parseSize(text);
  const raw = parsed.relative ? currentBytes + parsed.bytes : parsed.bytes;
  const target = Math.ceil(raw / SECTOR) * SECTOR;
  if (target <= currentBytes) {
    throw new UserError(
      `The new size ${formatBytesLong(target)} is not larger than the disk's ${formatBytesLong(currentBytes)}; virtdeck only grows disks (shrinking is out of scope).`,
      `Give a size above ${formatBytesLong(currentBytes)}, e.g. +10G to add 10 GiB. To shrink, shrink the filesystem inside the guest first and copy it to a smaller disk with a partition tool.`,
    );
  }
  if (target - currentBytes < MIB || formatBytesLong(target) === formatBytesLong(currentBytes)) {
    // The smallest growth that shows: a tenth of the unit the size is shown in, in whole MiB.
    const unit = 1024 ** Math.max(2, Math.floor(Math.log(currentBytes) / Math.log(1024)));
    const least = Math.max(MIB, Math.ceil(unit / 10 / MIB) * MIB);
    throw new UserError(
      `Growing ${formatBytesLong(currentBytes)} to ${formatBytesLong(target)} adds ${target - currentBytes} bytes, too little to change the disk in a way the guest can use or this report can show.`,
      `Grow by at least ${formatBytesLong(least)}, e.g. +${Math.max(1, Math.round(least / MIB))}M or +10G.`,
    );
  }
  return target;
}

// ---------------------------------------------------------------------------------------------
// Guest side: what can be grown offline

export type GrowFs = 'ext' | 'xfs' | 'ntfs';

export interface GrowOp {
  partitionTable: 'msdos' | 'gpt';
  partition: number;
  /** Its first byte, unchanged by the grow: with its size afterwards, where it ends. */
  partitionStart: number;
  partitionDevice: string;
  /** The device holding the filesystem: the partition, or the logical volume on it. */
  fsDevice: string;
  fsType: string;
  fs: GrowFs;
  lvm: { pv: string; lv: string } | null;
}

export type GuestSide =
  | { kind: 'offline'; op: GrowOp; description: string }
  | { kind: 'instructions'; reason: string }
  | { kind: 'none'; reason: string };

const APPLIANCE_DISK = '/dev/sda';

function fsFamily(type: string | null | undefined): GrowFs | null {
  if (!type) return null;
  if (/^ext[234]$/.test(type)) return 'ext';
  if (type === 'xfs') return 'xfs';
  if (type === 'ntfs') return 'ntfs';
  return null;
}

export function osLabel(os: OsInfo | null): string {
  if (!os) return 'no OS';
  if (os.product && os.product !== 'unknown') return os.product;
  return os.distro && os.distro !== 'unknown' ? `${os.type} (${os.distro})` : os.type;
}

export type EndKind = 'ext' | 'xfs' | 'ntfs' | 'btrfs' | 'swap' | 'lvm' | 'none' | 'other';

/**
 * What sits at the end of the disk: the one reading of a layout that both the offline grow
 * (decideGrow) and the by-hand steps (growInstructions) use, so the reason and the steps name the
 * same partition and filesystem.
 */
export interface EndOfDisk {
  /** The partition that ends last; on a tie the higher number, i.e. a logical one, not its container. */
  last: PartitionInfo;
  /** Its device in the appliance (/dev/sdaN). */
  device: string;
  /** msdos: the extended partition holding a logical last partition (5 and up). */
  extended: PartitionInfo | null;
  /** The filesystem on it (through LVM: on the LV that grows, when one is known). */
  fsType: string | null;
  kind: EndKind;
  /** LVM: the physical volume is the last partition. */
  lvm: boolean;
}

function endKind(fsType: string | null): EndKind {
  const fs = fsFamily(fsType);
  if (fs) return fs;
  if (!fsType) return 'none';
  if (fsType === 'btrfs' || fsType === 'swap') return fsType;
  return 'other';
}

/** The partition at the end of the disk and what it holds; null without partitions. */
export function endOfDisk(layout: DiskLayout): EndOfDisk | null {
  const parts = [...layout.partitions].sort((a, b) => a.end - b.end || a.num - b.num);
  const last = parts[parts.length - 1];
  if (!last) return null;
  const device = `${APPLIANCE_DISK}${last.num}`;
  const extended =
    layout.partitionTable === 'msdos' && last.num >= 5
      ? (layout.partitions.find((p) => p.num <= 4 && p.start <= last.start && p.end >= last.end) ?? null)
      : null;
  const partFs = layout.filesystems[device] ?? last.fsType;
  if (layout.pvs.includes(device) || partFs === 'LVM2_member') {
    const root = layout.os && layout.lvs.includes(layout.os.root) ? layout.os.root : null;
    const withFs = layout.lvs.filter((lv) => fsFamily(layout.filesystems[lv]));
    const lv = root ?? (withFs.length === 1 ? withFs[0] : null);
    return { last, device, extended, fsType: lv ? (layout.filesystems[lv] ?? null) : null, kind: 'lvm', lvm: true };
  }
  return { last, device, extended, fsType: partFs ?? null, kind: endKind(partFs ?? null), lvm: false };
}

/**
 * Whether the last partition and its filesystem can be grown offline, and if not why not. A
 * layout counts as simple when the partition at the end of the disk holds ext2/3/4, xfs or ntfs,
 * directly or in the only VG's logical volume (the root one, or the only one).
 */
export function decideGrow(layout: DiskLayout): { op: GrowOp; description: string } | { reason: string } {
  if (!layout.partitionTable) return { reason: 'the disk has no partition table libguestfs can read' };
  const end = endOfDisk(layout);
  if (!end) return { reason: 'the disk has no partitions' };
  const last = end.last;
  if (layout.partitionTable === 'msdos' && last.num >= 5) {
    const container = end.extended ? ` (${end.extended.num})` : '';
    return { reason: `the last partition (${last.num}) is a logical partition inside an extended one${container}` };
  }
  const partitionDevice = `${APPLIANCE_DISK}${last.num}`;
  const isWindows = layout.os?.type === 'windows';
  if (isWindows && layout.os?.root !== partitionDevice) {
    return {
      reason: `partition ${last.num} after the Windows system partition is the last one (usually a recovery partition), so C: cannot grow into the new space`,
    };
  }
  let fsDevice = partitionDevice;
  let lvm: GrowOp['lvm'] = null;
  let fsType = layout.filesystems[partitionDevice] ?? last.fsType;
  if (layout.pvs.includes(partitionDevice) || fsType === 'LVM2_member') {
    if (layout.vgs.length !== 1) return { reason: `partition ${last.num} is an LVM physical volume and the disk has ${layout.vgs.length} volume groups` };
    const withFs = layout.lvs.filter((lv) => fsFamily(layout.filesystems[lv]));
    const root = layout.os && layout.lvs.includes(layout.os.root) ? layout.os.root : null;
    const lv = root ?? (withFs.length === 1 ? withFs[0] : null);
    if (!lv) return { reason: `partition ${last.num} is an LVM physical volume with several logical volumes and none is the root` };
    // The name comes from the guest's LVM metadata; LVM's own tools never write one outside this set.
    if (!isPlainDevice(lv)) return { reason: `the logical volume's name ${shown(JSON.stringify(lv))} is not one LVM writes, so virtdeck does not pass it to guestfish` };
    fsDevice = lv;
    lvm = { pv: partitionDevice, lv };
    fsType = layout.filesystems[lv] ?? null;
  }
  const fs = fsFamily(fsType);
  if (!fs && fsType === 'swap') return { reason: `the last partition (${last.num}) is swap, so the partition before it cannot grow into the new space until the swap moves` };
  if (!fs) return { reason: `the last partition (${last.num}) holds ${fsType ? fsType : 'no filesystem'}, which virtdeck cannot grow` };
  const op: GrowOp = { partitionTable: layout.partitionTable, partition: last.num, partitionStart: last.start, partitionDevice, fsDevice, fsType: fsType as string, fs, lvm };
  const where = lvm ? `LVM volume ${lvm.lv} on partition ${last.num}` : `partition ${last.num}`;
  return { op, description: `grow ${where} and its ${fsType} to the end of the disk` };
}

/** Markers in guestfish's output that split the verification's answers. */
export const GF_MARK = {
  before: '@@virtdeck-before',
  after: '@@virtdeck-after',
  disk: '@@virtdeck-disk',
  part: '@@virtdeck-part',
  partBefore: '@@virtdeck-part-before',
  vgFree: '@@virtdeck-vgfree',
  vgFreeAfter: '@@virtdeck-vgfree-after',
} as const;

/** GPT keeps its backup at the disk's end: 32 sectors of partition entries (128 × 128 bytes), then the header. */
const GPT_BACKUP_SECTORS = 33;

/**
 * The last sector the grown partition may end on. MBR: the disk's last (-1, parted's "-1s"). GPT:
 * the last usable one before the backup table part-expand-gpt moved to the new end, because
 * parted refuses -1s there ("Unable to satisfy all constraints"); diskBytes is the size after the
 * resize, which the plan's verify step has checked before the grow runs.
 */
export function partitionEndSector(op: GrowOp, diskBytes?: number): number {
  if (op.partitionTable !== 'gpt') return -1;
  if (diskBytes === undefined) throw new Error('growCommands: a GPT disk needs its new size to place the partition end');
  return diskBytes / SECTOR - 1 - GPT_BACKUP_SECTORS;
}

/** The last byte the grown partition must reach on a disk of diskBytes (what the grow is checked against). */
/** What an offline grow does beyond the new space, for the review and --dry-run. */
export function growNotes(op: GrowOp): string[] {
  const notes: string[] = [];
  if (op.lvm) {
    notes.push(`${op.lvm.lv} gets all the free space of its volume group ${vgOf(op.lvm.lv)}: what it had free before this grow too, not only the new space.`);
  }
  if (op.fs === 'ntfs') {
    notes.push('ntfsresize leaves the NTFS volume marked for a check: Windows runs chkdsk on it at its next boot (and may restart once); let it finish.');
  }
  return notes;
}

export function partitionEndByte(op: GrowOp, diskBytes: number): number {
  const sector = partitionEndSector(op, diskBytes);
  return sector === -1 ? diskBytes - 1 : sector * SECTOR + SECTOR - 1;
}

/**
 * A grow launch run again on an image it already (partly) grew: the partition reached its end in
 * the earlier run, so moving it is skipped, and the steps that refuse to run twice are adapted.
 */
export interface GrowResume {
  /** LVM: the VG still had free extents after pvresize; without any, lvresize-free fails ("matches existing size"). */
  vgHasFree: boolean;
}

/** The VG holding the grown LV: /dev/VG/LV. */
export function vgOf(lv: string): string {
  return lv.split('/')[2] ?? '';
}

/**
 * The guestfish commands of one launch that grows the partition and its filesystem and measures
 * before and after. diskBytes: the disk's size after the resize (needed for GPT). The disk and
 * the partition are measured before anything moves, so the check can tell a first run (the
 * partition starts short of the new end) from a run again after an interruption (it is there
 * already). resume: the commands for that second case (see GrowResume).
 */
export function growCommands(op: GrowOp, diskBytes?: number, resume?: GrowResume): string[][] {
  // Every device reaches guestfish as a command-line word; the op may come from a journal, so it is checked here too.
  for (const d of [op.partitionDevice, op.fsDevice, op.lvm?.pv, op.lvm?.lv]) {
    if (d !== undefined && !isPlainDevice(d)) {
      throw new UserError(
        `The device name ${shown(JSON.stringify(d))} is not one virtdeck passes to guestfish.`,
        'Nothing was run; grow the partition from inside the guest instead (expand with --no-grow-fs).',
      );
    }
  }
  const measure = (mark: string): string[][] => [
    ['echo', mark],
    ['mount-ro', op.fsDevice, '/'],
    ['statvfs', '/'],
    ['umount-all'],
  ];
  const cmds: string[][] = [['run'], ...measure(GF_MARK.before)];
  cmds.push(['echo', GF_MARK.disk], ['blockdev-getsize64', APPLIANCE_DISK], ['echo', GF_MARK.partBefore], ['blockdev-getsize64', op.partitionDevice]);
  if (!resume) {
    if (op.partitionTable === 'gpt') cmds.push(['part-expand-gpt', APPLIANCE_DISK]);
    cmds.push(['part-resize', APPLIANCE_DISK, String(op.partition), String(partitionEndSector(op, diskBytes))]);
  }
  if (op.lvm) {
    // pvresize is a no-op on a PV that already fills its partition; the VG's free space after it says whether the LV still has to grow.
    cmds.push(['pvresize', op.lvm.pv], ['echo', GF_MARK.vgFree], ['vgs-full']);
    if (!resume || resume.vgHasFree) cmds.push(['lvresize-free', op.lvm.lv, '100']);
  }
  if (op.fs === 'ext') cmds.push(['e2fsck-f', op.fsDevice], ['resize2fs', op.fsDevice]);
  // ntfsresize marks the volume for a chkdsk (dirty until Windows boots) and then refuses to run
  // on it again; force is for exactly that volume, the one an earlier run of this step resized.
  else if (op.fs === 'ntfs') cmds.push(resume ? ['ntfsresize', op.fsDevice, 'force:true'] : ['ntfsresize', op.fsDevice]);
  else cmds.push(['mount', op.fsDevice, '/'], ['xfs-growfs', '/'], ['umount-all']);
  cmds.push(['echo', GF_MARK.part], ['blockdev-getsize64', op.partitionDevice]);
  if (op.lvm) cmds.push(['echo', GF_MARK.vgFreeAfter], ['vgs-full']);
  cmds.push(...measure(GF_MARK.after));
  return cmds;
}

/** What a grow launch printed (NaN: not printed; null: not asked, no LVM). */
export interface GrowMeasures {
  fsBytesBefore: number;
  fsBytesAfter: number;
  diskBytes: number;
  partitionBytes: number;
  /** Before part-resize; NaN from a launch planned before this was measured (an older journal). */
  partitionBytesBefore: number;
  /** LVM: the VG's free bytes after pvresize, and at the end. */
  vgFreeBefore: number | null;
  vgFreeAfter: number | null;
}

/**
 * The partition already reached its planned end when the launch started: this step ran before
 * (finished after an interruption, or run twice). A first run never starts there, because the
 * disk has just grown past the partition's old end.
 */
export function startedAtEnd(op: GrowOp, m: GrowMeasures): boolean {
  if (op.partitionStart === undefined || !Number.isFinite(m.partitionBytesBefore) || !Number.isFinite(m.diskBytes)) return false;
  return op.partitionStart + m.partitionBytesBefore - 1 === partitionEndByte(op, m.diskBytes);
}

/**
 * What is wrong with a grow's result. Always: the partition ends where planned, and an LV took all
 * the VG's free space. First run: the filesystem got larger in this launch. Run again: it may
 * already have its full size (the grow tools ran again without error, so it fills its device).
 */
export function growProblems(op: GrowOp, m: GrowMeasures): { resumed: boolean; problems: string[] } {
  const problems: string[] = [];
  const resumed = startedAtEnd(op, m);
  // A journal written before GrowOp had partitionStart resumes without this check.
  if (op.partitionStart !== undefined) {
    const end = op.partitionStart + m.partitionBytes - 1;
    const want = partitionEndByte(op, m.diskBytes);
    if (end !== want) problems.push(`partition ${op.partition} ends at byte ${end}, not at ${want} (the end of the disk)`);
  }
  if (op.lvm && m.vgFreeAfter !== null && m.vgFreeAfter !== 0) {
    problems.push(`volume group ${vgOf(op.lvm.lv)} still has ${m.vgFreeAfter} bytes free, so ${op.lvm.lv} did not take them`);
  }
  const grew = `${m.fsBytesBefore} → ${m.fsBytesAfter} bytes`;
  if (!resumed && !(m.fsBytesAfter > m.fsBytesBefore)) problems.push(`the ${op.fsType} filesystem did not grow (${grew})`);
  if (resumed && !(m.fsBytesAfter >= m.fsBytesBefore)) problems.push(`the ${op.fsType} filesystem shrank or was not measured (${grew})`);
  return { resumed, problems };
}

/** What each appliance group does in a grow, and the host package that puts it in the appliance (Debian/Ubuntu). */
const FEATURE_USE: Record<ApplianceFeature, { does: string; pkg: string }> = {
  xfs: { does: 'grows xfs (xfs_growfs)', pkg: 'libguestfs-xfs' },
  ntfsprogs: { does: 'resizes ntfs (ntfsresize)', pkg: 'ntfs-3g' },
  gdisk: { does: 'moves the backup GPT header to the new end (sgdisk -e)', pkg: 'gdisk' },
  lvm2: { does: 'resizes LVM volumes (pvresize, lvresize)', pkg: 'lvm2' },
};

export function featuresNeeded(op: GrowOp): ApplianceFeature[] {
  const need: ApplianceFeature[] = [];
  if (op.partitionTable === 'gpt') need.push('gdisk');
  if (op.lvm) need.push('lvm2');
  if (op.fs === 'xfs') need.push('xfs');
  if (op.fs === 'ntfs') need.push('ntfsprogs');
  return need;
}

/**
 * A grow the appliance lacks the tools for is refused before anything changes: the admin either
 * installs them (the appliance is built from the host's packages) or grows the guest side by hand.
 */
export function missingToolsRefusal(op: GrowOp, layout: DiskLayout): UserError | null {
  const missing = featuresNeeded(op).filter((f) => layout.features?.[f] === false);
  if (missing.length === 0) return null;
  const pkgs = [...new Set(missing.map((f) => FEATURE_USE[f].pkg))].join(' ');
  return new UserError(
    `The libguestfs appliance on this host has no ${missing.join(' or ')} tools, so it cannot grow partition ${op.partition} and its ${op.fsType} (that part ${missing.map((f) => FEATURE_USE[f].does).join(', ')}).`,
    `Install ${pkgs} on the host (apt-get install ${pkgs}) and expand again; or expand with --no-grow-fs (wizard: instructions only) and grow it from inside the guest.`,
  );
}

function commandWords(commands: string[][]): string[] {
  return commands.flatMap((c, i) => (i === 0 ? c : [':', ...c]));
}

/** `env VARS guestfish --rw -a IMG -- cmd args : cmd args…`: one launch, exactly what runs. */
export function guestfishArgv(env: Record<string, string>, image: string, format: string, commands: string[][], rw = true): string[] {
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return ['env', ...vars, 'guestfish', rw ? '--rw' : '--ro', `--format=${format}`, '-a', image, '--', ...commandWords(commands)];
}

/** The same launch (environment, image, format: everything before `--`) with other commands. */
export function withGuestfishCommands(argv: string[], commands: string[][]): string[] {
  const sep = argv.indexOf('--');
  if (sep === -1) throw new Error('withGuestfishCommands: not a guestfishArgv');
  return [...argv.slice(0, sep + 1), ...commandWords(commands)];
}

// ---------------------------------------------------------------------------------------------
// The plan

export type ExpandRoute = 'resize' | 'blockresize' | 'vmdk';

export interface ExpandCheck {
  ok: boolean;
  text: string;
}

export interface ExpandDecision {
  route: ExpandRoute;
  targetBytes: number;
  currentBytes: number;
  guestSide: GuestSide;
  warnings: string[];
  /** Bytes the job needs free beside the image (the vmdk route's copies, or the kept copy), else 0. */
  needBytes: number;
  /** Where the copy of the original goes when one was asked for (in-place route only). */
  keepCopy: KeepCopyNames | null;
  plan: Plan;
}

/** The kept copy of an image grown in place: its final name, and the hidden name it is written under first. */
export interface KeepCopyNames {
  keep: string;
  part: string;
}

export function keepCopyNames(path: string): KeepCopyNames {
  const dir = posix.dirname(path);
  const name = posix.basename(path);
  return { keep: posix.join(dir, `${name}.virtdeck-orig`), part: posix.join(dir, `.${name}.virtdeck-orig.part`) };
}

/** Space the kept copy takes: qemu-img writes only the data (zeros stay holes), plus a qcow2's tables. */
export function keepCopySpace(image: Pick<ImageFacts, 'dataBytes' | 'virtualSize'>): number {
  return image.dataBytes + Math.ceil(image.virtualSize / 8192) + MIB;
}

/**
 * Puts the verified copy under its final name without ever replacing a file there (ln refuses an
 * existing name), then drops the temporary name. Safe to run again after an interruption: a copy
 * already placed is recognised by its inode.
 */
export const KEEP_PLACE = `set -e
part=$1; keep=$2
if [ ! -e "$part" ] && [ -e "$keep" ]; then exit 0; fi
if [ -e "$keep" ] && [ "$part" -ef "$keep" ]; then rm -f -- "$part"; exit 0; fi
ln -- "$part" "$keep"
rm -f -- "$part"`;

export interface ExpandAssessment {
  checks: ExpandCheck[];
  decision: ExpandDecision | null;
  refusal: UserError | null;
}

const ONLINE: GuestState[] = ['running', 'idle', 'paused'];
const MIB = 1024 * 1024;

/** Names beside the image that the vmdk route uses: a work folder and the keep-original folder. */
export function vmdkWorkNames(path: string): { dir: string; name: string; work: string; orig: string; tempRaw: string; newVmdk: string } {
  const dir = posix.dirname(path);
  const name = posix.basename(path);
  const stem = name.replace(/\.vmdk$/i, '');
  const work = posix.join(dir, `.${stem}.virtdeck-expand`);
  return { dir, name, work, orig: posix.join(dir, `${stem}.virtdeck-orig`), tempRaw: posix.join(work, `${stem}.raw`), newVmdk: posix.join(work, name) };
}

/** The files qemu-img writes for a new vmdk, as names relative to its folder (qemu's own naming). */
export function newVmdkFileNames(name: string, subformat: string, sizeBytes: number): string[] {
  const dot = name.lastIndexOf('.');
  const [prefix, postfix] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  if (subformat === 'monolithicFlat') return [name, `${prefix}-flat${postfix}`];
  if (subformat === 'twoGbMaxExtentFlat' || subformat === 'twoGbMaxExtentSparse') {
    const letter = subformat === 'twoGbMaxExtentFlat' ? 'f' : 's';
    const count = Math.max(1, Math.ceil(sizeBytes / (2 * 1024 ** 3)));
    return [name, ...Array.from({ length: count }, (_, i) => `${prefix}-${letter}${String(i + 1).padStart(3, '0')}${postfix}`)];
  }
  return [name];
}

/**
 * Space the vmdk route needs beside the image: the temporary raw is sparse, so it takes the data
 * there is now (plus room for the metadata a filesystem grow writes); the new vmdk takes the same
 * data again (or its full size when it is a flat, preallocated one) plus its grain tables.
 */
export function vmdkSpaceNeeded(image: ImageFacts, targetBytes: number, growFs: boolean): number {
  const growth = targetBytes - image.virtualSize;
  const fsMeta = growFs ? Math.ceil(growth * 0.02) + 8 * MIB : 0;
  const tempRaw = image.dataBytes + fsMeta;
  const flat = /flat/i.test(image.vmdk?.options.subformat ?? '');
  const newVmdk = flat ? targetBytes : image.dataBytes + fsMeta + Math.ceil(targetBytes / 8192) + MIB;
  return tempRaw + newVmdk;
}

function step(id: string, title: string, extra: Partial<PlanStep> = {}): PlanStep {
  return { id, title, ...extra };
}

const sys = (argv: string[], extra: { okExitCodes?: number[] } = {}) => ({ runsOn: 'sys' as const, argv, ...extra });

const STILL_INSPECTING = 'not decided yet: the disk is still being inspected';

function guestSideFor(facts: ExpandFacts, req: ExpandRequest, online: boolean): GuestSide {
  if (!req.growFs) return { kind: 'none', reason: 'the partition is left as it is (--no-grow-fs)' };
  // The real reasons first: "you chose" only when there was a choice.
  if (online) return { kind: 'instructions', reason: `${facts.guest?.name} is running: the partition is grown from inside the guest` };
  if (req.inspecting && !facts.layout && !facts.layoutError) return { kind: 'instructions', reason: STILL_INSPECTING };
  if (req.instructionsOnly) return { kind: 'instructions', reason: 'you chose to grow it from inside the guest' };
  if (!facts.layout) return { kind: 'instructions', reason: facts.layoutError ?? 'the disk was not inspected' };
  const d = decideGrow(facts.layout);
  if ('reason' in d) return { kind: 'instructions', reason: d.reason };
  return { kind: 'offline', op: d.op, description: d.description };
}

function growStep(facts: ExpandFacts, image: string, format: string, side: GuestSide, diskBytes: number): PlanStep[] {
  if (side.kind !== 'offline') return [];
  const argv = guestfishArgv(facts.guestfsEnv, image, format, growCommands(side.op, diskBytes));
  return [
    step('grow-fs', `guestfish: ${side.description}`, {
      command: sys(argv),
      // Run as an action so the before/after sizes guestfish prints are checked, not just its exit code.
      action: { name: 'growGuest', args: { argv, op: side.op } },
      long: true,
    }),
  ];
}

function refuse(sentence: string, fix: string): UserError {
  return new UserError(sentence, fix);
}

/** The ✓/✗ lines of the wizard's size step, and the plan when nothing refuses. */
export function assessExpand(facts: ExpandFacts, req: ExpandRequest): ExpandAssessment {
  const checks: ExpandCheck[] = [];
  const image = facts.image;
  if (!image) {
    return {
      checks,
      decision: null,
      refusal: refuse(`There is no image at ${facts.requestedPath}.`, 'Check the path (ls -l); the Disks pane lists every image the host knows.'),
    };
  }
  let refusal: UserError | null = null;
  const fail = (e: UserError) => {
    refusal ??= e;
  };

  const online = facts.guest !== null && ONLINE.includes(facts.guest.state);
  if (!facts.guest) checks.push({ ok: true, text: 'no guest uses this image' });
  else if (!isActive(facts.guest.state)) checks.push({ ok: true, text: `${facts.guest.name} is shut off` });
  else if (online) checks.push({ ok: true, text: `${facts.guest.name} is ${facts.guest.state}: grown online (virsh blockresize)` });
  else {
    checks.push({ ok: false, text: `${facts.guest.name} is ${facts.guest.state}` });
    fail(refuse(`${facts.guest.name} is ${facts.guest.state}, neither running nor shut off.`, 'Wait until it is running or shut off, then try again.'));
  }

  let targetBytes = 0;
  try {
    targetBytes = resolveTargetSize(req.size, image.virtualSize);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    fail(e);
  }

  const format = image.format;
  let route: ExpandRoute;
  if (online) route = 'blockresize';
  else if (format === 'vmdk') route = 'vmdk';
  else route = 'resize';

  if (!['raw', 'qcow2', 'vmdk'].includes(format)) {
    fail(refuse(`virtdeck grows raw, qcow2 and vmdk images; this one is ${format}.`, 'Convert it to qcow2 or raw first (Disks pane: c), then expand that.'));
  }
  if (format === 'vmdk' && online) {
    const g = facts.guest;
    const as = g?.source && g.source !== image.path ? `, as ${g.source}` : '';
    fail(refuse(`${g?.name} is running with ${image.path} as its disk ${g?.target}${as}, and a vmdk cannot be grown while in use.`, `Shut ${facts.guest?.name} down first; the vmdk is grown by copying, which needs the guest off.`));
  }
  if (image.snapshots.length > 0) {
    fail(
      refuse(
        `The image has ${countOf(image.snapshots.length, 'internal snapshot')} (${image.snapshots.slice(0, 3).join(', ')}), and qemu cannot resize a qcow2 image that has them.`,
        `Delete them first (virsh snapshot-delete GUEST NAME, or qemu-img snapshot -d NAME ${image.path} with the guest off), then expand.`,
      ),
    );
  }
  if (image.vmdk?.hasParent) {
    fail(refuse('This vmdk is a snapshot delta of another vmdk; growing one layer would break the chain.', 'Consolidate the snapshots in VMware (or convert the whole chain to one image) first.'));
  }

  const warnings: string[] = [];
  if (image.backingFile) {
    warnings.push(
      `Only this top layer grows: its backing file ${image.backingFile} keeps its size, and the new space reads as zeros from this layer. Other images on the same backing file are not affected.`,
    );
  }
  if (image.vmdk) warnings.push(...image.vmdk.warnings);

  let needBytes = 0;
  if (route === 'vmdk' && targetBytes > 0) {
    needBytes = vmdkSpaceNeeded(image, targetBytes, req.growFs);
    const dir = posix.dirname(image.path);
    const ok = image.freeBytes >= needBytes;
    checks.push({
      ok,
      text: `${dir} has ${formatBytesLong(image.freeBytes)} free; this needs up to ${formatBytesLong(needBytes)} for a temporary copy`,
    });
    if (!ok) {
      fail(
        refuse(
          `${dir} has ${formatBytesLong(image.freeBytes)} free, but growing this vmdk needs up to ${formatBytesLong(needBytes)} for the temporary raw copy and the new vmdk.`,
          `Free ${formatBytesLong(needBytes - image.freeBytes)} there (or move the image to a bigger filesystem), then try again; nothing was changed.`,
        ),
      );
    }
  } else if (route !== 'blockresize' && !req.keepCopy) {
    checks.push({ ok: true, text: 'grown in place: no temporary copy is needed' });
  }
  let keepCopy: KeepCopyNames | null = null;
  if (req.keepCopy && route === 'blockresize') {
    const g = facts.guest?.name ?? 'its guest';
    fail(
      refuse(
        `${g} is running, and a copy of a disk in use would not be a consistent copy of it.`,
        `Back ${g} up first (b in the Backups pane, or virtdeck backup run ${g}) and grow without a copy, or shut ${g} down and grow it offline with a copy.`,
      ),
    );
  } else if (req.keepCopy && route === 'resize') {
    keepCopy = keepCopyNames(image.path);
    if (image.backingFile) {
      fail(
        refuse(
          `${image.path} is a layer over ${image.backingFile}, and a copy of this layer alone is not a copy of the disk.`,
          `Back ${facts.guest?.name ?? 'the guest'} up first (virtdeck backup run ${facts.guest?.name ?? 'GUEST'}, which copies the whole chain) and grow without a copy.`,
        ),
      );
    }
    needBytes = keepCopySpace(image);
    const dir = posix.dirname(image.path);
    const ok = image.freeBytes >= needBytes;
    checks.push({ ok, text: `${dir} has ${formatBytesLong(image.freeBytes)} free; the copy of the original needs up to ${formatBytesLong(needBytes)}` });
    if (!ok) {
      fail(
        refuse(
          `${dir} has ${formatBytesLong(image.freeBytes)} free, but a copy of the original needs up to ${formatBytesLong(needBytes)}.`,
          `Free ${formatBytesLong(needBytes - image.freeBytes)} there, or back the guest up elsewhere first and grow without a copy; nothing was changed.`,
        ),
      );
    }
    if (facts.existingLeftovers.includes(keepCopy.part)) {
      fail(
        refuse(
          `${keepCopy.part} is the unfinished copy of an earlier expansion of this image.`,
          'Finish or roll back that job (virtdeck offers it at start, or in the Jobs pane); if no job is listed, remove the file and try again.',
        ),
      );
    } else if (facts.existingLeftovers.includes(keepCopy.keep)) {
      fail(
        refuse(
          `${keepCopy.keep} holds the original an earlier expansion kept, and a new copy would go there.`,
          `Once the grown disk has proved right, remove the kept original (rm ${shellQuote(keepCopy.keep)}) or move it elsewhere; then grow the disk again.`,
        ),
      );
    }
  }
  if (route === 'vmdk' && facts.existingLeftovers.length > 0) {
    // Two different leftovers: the work folder of an expansion that did not finish, or the
    // original vmdk a finished one kept. Only the first is a job to finish.
    const n = vmdkWorkNames(image.path);
    if (facts.existingLeftovers.includes(n.work)) {
      fail(
        refuse(
          `${n.work} is the work folder of an earlier expansion of this vmdk that did not finish.`,
          'Finish or roll back that job (virtdeck offers it at start, or in the Jobs pane); if no job is listed, remove the folder (rm -r) and try again.',
        ),
      );
    } else if (facts.existingLeftovers.includes(n.orig)) {
      fail(
        refuse(
          `${n.orig} holds the original vmdk an earlier, finished expansion kept, and a new expansion would keep this one there.`,
          `Once the grown disk has proved right, remove the kept original (rm -r ${shellQuote(n.orig)}), or move it elsewhere; then grow the disk again.`,
        ),
      );
    }
  }

  const guestSide = guestSideFor(facts, req, online);
  if (guestSide.kind === 'offline' && facts.layout) {
    const missing = missingToolsRefusal(guestSide.op, facts.layout);
    if (missing) fail(missing);
  }
  if (guestSide.kind === 'offline') warnings.push(...growNotes(guestSide.op));
  const osText = facts.layout ? `${osLabel(facts.layout.os)} found` : null;
  if (guestSide.kind === 'offline') checks.push({ ok: true, text: `${osText ? `${osText}: ` : ''}${guestSide.description}` });
  else if (guestSide.kind === 'instructions' && guestSide.reason === STILL_INSPECTING) checks.push({ ok: false, text: `guest side ${STILL_INSPECTING}` });
  else if (guestSide.kind === 'instructions') checks.push({ ok: false, text: `${osText ? `${osText}; ` : ''}guest side by hand: ${guestSide.reason}` });
  else checks.push({ ok: true, text: 'the partition and filesystem are left as they are' });

  if (refusal || targetBytes === 0) return { checks, decision: null, refusal };

  const plan = buildPlan(facts, image, route, targetBytes, guestSide, keepCopy);
  return { checks, refusal: null, decision: { route, targetBytes, currentBytes: image.virtualSize, guestSide, warnings, needBytes, keepCopy, plan } };
}

/**
 * What the review promises to keep, by route: only the vmdk route works on a copy. A grow in
 * place (resize, blockresize, and the partition grow after it) keeps no copy and is not undone,
 * so it says so and how to keep one first.
 */
export function expandKeeps(
  facts: Pick<ExpandFacts, 'guest'>,
  decision: Pick<ExpandDecision, 'route' | 'guestSide' | 'plan'> & { keepCopy?: KeepCopyNames | null },
  /** How the admin asks for a copy where they are: the wizard's key or the CLI's flag. */
  keepCopyAsk = '--keep-copy',
): string {
  const steps = 'These steps will run in order, each journaled.';
  if (decision.route === 'vmdk') {
    return `${steps} The original vmdk is not touched until the new one is verified; it is then kept in a .virtdeck-orig folder beside it.`;
  }
  const partition = decision.guestSide.kind === 'offline' ? ', and so are its partition and filesystem' : '';
  if (decision.keepCopy) {
    return `${steps} A copy of the original is made first and compared with it; it stays as ${posix.basename(decision.keepCopy.keep)} beside the image until you remove it. Then the disk is grown in place${partition}.`;
  }
  const live = decision.route === 'blockresize' ? ` while ${facts.guest?.name ?? 'its guest'} runs` : '';
  const backUp = facts.guest ? `back ${facts.guest.name} up first (b in the Backups pane, or virtdeck backup run ${facts.guest.name})` : null;
  const how = decision.route === 'blockresize' ? backUp : `${keepCopyAsk} keeps a verified copy beside it${backUp ? `, or ${backUp}` : ''}`;
  return `${steps} The disk is grown in place${live}${partition}: no copy of the original is kept, and a grow is not undone. To keep one, ${how}.`;
}

/** The plan, or the first refusal as a UserError (for the CLI and the job). */
export function planExpand(facts: ExpandFacts, req: ExpandRequest): ExpandDecision {
  const a = assessExpand(facts, req);
  if (a.refusal) throw a.refusal;
  if (!a.decision) throw new UserError('Nothing to plan.', 'Give the new size, e.g. --size +10G.');
  return a.decision;
}

// The vmdk route's swap: a shell script so that it is one command in the plan, shown by a dry run
// and runnable by hand; the swapIn/swapBack actions run exactly these argvs.

/**
 * Moves the original's files into the keep folder, then the new ones into place. Safe to run
 * again after an interruption: a file already moved is left where it is.
 */
export const SWAP_IN = `set -e
dir=$1; work=$2; orig=$3; n=$4; shift 4
mkdir -p -- "$orig"
i=0
for f in "$@"; do
  if [ "$i" -lt "$n" ]; then
    if [ -e "$dir/$f" ] && [ ! -e "$orig/$f" ]; then mv -- "$dir/$f" "$orig/$f"; fi
  elif [ -e "$work/$f" ]; then
    mv -- "$work/$f" "$dir/$f"
  fi
  i=$((i+1))
done`;

/**
 * The reverse, from any point of SWAP_IN: a new file in the folder goes back to the work folder
 * (only when its name is not an original's, or the original is safely in the keep folder), then
 * every kept original returns.
 */
export const SWAP_BACK = `set -e
dir=$1; work=$2; orig=$3; n=$4; shift 4
mkdir -p -- "$work"
i=0
for f in "$@"; do
  if [ "$i" -ge "$n" ] && [ -e "$dir/$f" ]; then
    isorig=0; j=0
    for g in "$@"; do if [ "$j" -lt "$n" ] && [ "$g" = "$f" ]; then isorig=1; fi; j=$((j+1)); done
    if [ "$isorig" = 0 ] || [ -e "$orig/$f" ]; then mv -- "$dir/$f" "$work/$f"; fi
  fi
  i=$((i+1))
done
i=0
for f in "$@"; do
  if [ "$i" -lt "$n" ] && [ -e "$orig/$f" ]; then mv -- "$orig/$f" "$dir/$f"; fi
  i=$((i+1))
done
rmdir -- "$orig" 2>/dev/null || true`;

export interface SwapArgs {
  dir: string;
  work: string;
  orig: string;
  origFiles: string[];
  newFiles: string[];
}

export function swapArgv(script: string, a: SwapArgs): string[] {
  return ['sh', '-c', script, 'virtdeck-swap', a.dir, a.work, a.orig, String(a.origFiles.length), ...a.origFiles, ...a.newFiles];
}

/** The in-place route's first steps when a copy is kept: written under a hidden name, compared, then placed. */
function keepCopySteps(image: ImageFacts, names: KeepCopyNames): PlanStep[] {
  const fmt = image.format;
  const keep = posix.basename(names.keep);
  return [
    step('keep-copy', `copy the original to ${keep} (only its data)`, {
      // The hidden name did not exist when the plan was made (checked); a rerun after an
      // interruption starts the copy over, which qemu-img does by recreating its output.
      command: sys(['qemu-img', 'convert', '-p', '-f', fmt, '-O', fmt, image.path, names.part]),
      progress: { kind: 'qemu-img', totalBytes: image.virtualSize },
      undo: { title: `remove the unfinished copy ${posix.basename(names.part)}`, command: sys(['rm', '-f', '--', names.part]), partial: true },
      long: true,
    }),
    step('compare-copy', 'compare the copy with the original', {
      command: sys(['qemu-img', 'compare', '-f', fmt, '-F', fmt, image.path, names.part]),
      long: true,
    }),
    step('place-copy', `keep the copy as ${keep} (never over an existing file)`, {
      command: sys(['sh', '-c', KEEP_PLACE, 'sh', names.part, names.keep]),
    }),
  ];
}

function buildPlan(facts: ExpandFacts, image: ImageFacts, route: ExpandRoute, targetBytes: number, guestSide: GuestSide, keepCopy: KeepCopyNames | null): Plan {
  const size = formatBytesLong(targetBytes);
  const base = { kind: 'expand', targets: { guests: facts.guest ? [facts.guest.name] : [], images: [image.path] } };
  if (route === 'blockresize') {
    const g = facts.guest as GuestUse;
    const argv = ['virsh', '-c', facts.uri, 'blockresize', '--domain', g.name, '--path', g.target, '--size', `${targetBytes}B`];
    return {
      ...base,
      title: `Grow ${g.name}'s disk ${g.target} to ${size} (online)`,
      steps: [
        step('blockresize', `grow ${g.target} of the running ${g.name} to ${size}`, { command: { runsOn: 'virsh', argv } }),
        step('verify', `check that ${g.name} sees ${size} on ${g.target}`, {
          command: { runsOn: 'virsh', argv: ['virsh', '-c', facts.uri, 'domblkinfo', '--domain', g.name, '--device', g.target] },
          action: { name: 'verifyBlockSize', args: { guest: g.name, target: g.target, targetBytes } },
        }),
      ],
    };
  }
  if (route === 'resize') {
    const fmt = image.format;
    return {
      ...base,
      title: `Grow ${posix.basename(image.path)} to ${size}`,
      steps: [
        ...(keepCopy ? keepCopySteps(image, keepCopy) : []),
        step('resize', `grow the ${fmt} image to ${size} (appends zeros; no data moves)`, {
          command: sys(['qemu-img', 'resize', '-f', fmt, image.path, String(targetBytes)]),
        }),
        step('verify', `check the image: ${size}${fmt === 'qcow2' ? ', qemu-img check clean' : ''}`, {
          command: sys(['qemu-img', 'info', '--output=json', '-f', fmt, image.path]),
          ...(fmt === 'qcow2' ? { alsoRuns: [sys(['qemu-img', 'check', '--output=json', '-f', 'qcow2', image.path])] } : {}),
          action: { name: 'verifyImage', args: { path: image.path, format: fmt, targetBytes } },
        }),
        ...growStep(facts, image.path, fmt, guestSide, targetBytes),
      ],
    };
  }
  // vmdk: copy, grow the copy, copy back, compare, swap.
  const n = vmdkWorkNames(image.path);
  const vmdk = image.vmdk as VmdkFacts;
  const options = Object.entries(vmdk.options)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const newFiles = newVmdkFileNames(n.name, vmdk.options.subformat ?? 'monolithicSparse', targetBytes);
  return {
    ...base,
    title: `Grow ${n.name} to ${size} (vmdk: through a temporary raw copy)`,
    steps: [
      step('workdir', `make the work folder ${posix.basename(n.work)}`, {
        // -p: a finish after an interruption runs this again (the plan refused a leftover folder).
        command: sys(['mkdir', '-p', '--', n.work]),
        undo: { title: `remove the work folder ${posix.basename(n.work)}`, command: sys(['rm', '-rf', '--', n.work]), partial: true },
      }),
      step('to-raw', 'copy the vmdk to a temporary raw image', {
        command: sys(['qemu-img', 'convert', '-p', '-f', 'vmdk', '-O', 'raw', image.path, n.tempRaw]),
        progress: { kind: 'qemu-img', totalBytes: image.virtualSize },
        long: true,
      }),
      step('resize', `grow the temporary raw image to ${size}`, { command: sys(['qemu-img', 'resize', '-f', 'raw', n.tempRaw, String(targetBytes)]) }),
      ...growStep(facts, n.tempRaw, 'raw', guestSide, targetBytes),
      step('to-vmdk', `copy it back to a vmdk (${options})`, {
        // A rerun after an interruption starts the copy over; qemu-img convert recreates its output.
        command: sys(['qemu-img', 'convert', '-p', '-f', 'raw', '-O', 'vmdk', '-o', options, n.tempRaw, n.newVmdk]),
        progress: { kind: 'qemu-img', totalBytes: targetBytes },
        long: true,
      }),
      step('compare', 'compare the new vmdk with the raw copy, check its size and descriptor', {
        command: sys(['qemu-img', 'compare', '-f', 'raw', '-F', 'vmdk', n.tempRaw, n.newVmdk]),
        alsoRuns: [sys(['qemu-img', 'info', '--output=json', '-f', 'vmdk', n.newVmdk]), sys(['head', '-c', '1024', n.newVmdk])],
        action: { name: 'verifyVmdk', args: { raw: n.tempRaw, vmdk: n.newVmdk, targetBytes, options: vmdk.options } },
        long: true,
      }),
      step('swap', `keep ${n.name} in ${posix.basename(n.orig)}/, put the new one in its place`, {
        command: sys(swapArgv(SWAP_IN, { dir: n.dir, work: n.work, orig: n.orig, origFiles: vmdk.files, newFiles })),
        action: { name: 'swapIn', args: { dir: n.dir, work: n.work, orig: n.orig, origFiles: vmdk.files, newFiles } },
        undo: { title: `put the original ${n.name} back`, action: { name: 'swapBack', args: { dir: n.dir, work: n.work, orig: n.orig, origFiles: vmdk.files, newFiles } }, partial: true },
      }),
      step('cleanup', 'remove the temporary raw copy and the work folder', { command: sys(['rm', '-rf', '--', n.work]) }),
    ],
  };
}

/**
 * The review screen's lines: commands as typed, guestfish and virtdeck's own steps by their title.
 * On a remote host a step that runs there says so (`ssh root@host '…'`); the lines are cut at the
 * screen's width, so the ssh options are left to the saved script.
 */
export function reviewLines(plan: Plan, route: PlanRoute | null = null): string[] {
  const short = compactRoute(route);
  return plan.steps.map((s, i) => {
    if (!s.command || s.command.argv.includes('guestfish') || s.command.argv[0] === 'sh') {
      return `${i + 1} ${s.title}${short && s.command?.runsOn === 'sys' ? ` (on ${route?.host})` : ''}`;
    }
    return `${i + 1} ${commandLine(s.command, short)}`;
  });
}
