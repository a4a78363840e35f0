/**
 * What to do inside the guest after its disk grew, when virtdeck cannot grow the partition
 * offline (the guest runs, or the layout is not simple): per-OS steps, shown and saved as text.
 */
import type { DiskLayout, OsInfo } from './expandPlan.js';
import { formatBytesLong } from './units.js';

export interface InstructionsInput {
  guest: string | null;
  image: string;
  /** The disk's target in the guest (vda, sda, hda); the guest's own name for the disk may differ. */
  target: string | null;
  newSizeBytes: number;
  /** From libguestfs inspection, when it ran. */
  layout: DiskLayout | null;
  /** libosinfo short id from the domain XML (win2k3, debian12), a hint when not inspected. */
  osHint: string | null;
  /** Why the guest side is by hand. */
  reason: string;
}

export type OsFamily = 'windows' | 'linux' | 'unknown';

export function osFamily(os: OsInfo | null, hint: string | null): OsFamily {
  if (os?.type === 'windows' || os?.type === 'linux') return os.type;
  if (hint && /^win/i.test(hint)) return 'windows';
  if (hint && /(debian|ubuntu|rhel|centos|fedora|rocky|alma|opensuse|sles|linux|arch|alpine)/i.test(hint)) return 'linux';
  return 'unknown';
}

function lastPartition(layout: DiskLayout | null) {
  return layout ? [...layout.partitions].sort((a, b) => b.end - a.end)[0] ?? null : null;
}

function windowsSteps(input: InstructionsInput): string[] {
  const last = lastPartition(input.layout);
  const recoveryAfterC = input.layout?.os && last && input.layout.os.root !== `/dev/sda${last.num}`;
  const lines = [
    'Windows: extend C: with diskpart (Windows Server 2003 and later; as Administrator):',
    '  diskpart',
    '  DISKPART> rescan',
    '  DISKPART> list volume',
    '  DISKPART> select volume C',
    '  DISKPART> extend',
    '  DISKPART> exit',
    'Or in Disk Management (diskmgmt.msc): right-click C: > Extend Volume.',
    '',
    'A recovery partition right after C: blocks this: extend only grows into free space directly',
    'behind the volume. Move the recovery partition to the end with a partition tool, or delete it',
    '(reagentc /disable first, then diskpart: select partition N, delete partition override) and',
    'recreate it after extending.',
  ];
  if (recoveryAfterC) lines.push('', `Here partition ${last?.num} lies after the Windows partition: expect exactly that.`);
  lines.push('On Windows 2000/XP/2003 the system volume cannot be extended while Windows runs from it:', 'attach the disk to another Windows guest and extend it there, or use a partition tool CD.');
  return lines;
}

function linuxSteps(input: InstructionsInput): string[] {
  const dev = `/dev/${input.target ?? 'vda'}`;
  const last = lastPartition(input.layout);
  const n = last?.num ?? 1;
  const part = /\d$/.test(dev) ? `${dev}p${n}` : `${dev}${n}`;
  const fsType = last ? (input.layout?.filesystems[`/dev/sda${n}`] ?? last.fsType) : null;
  const lvm = fsType === 'LVM2_member' || (input.layout?.pvs.includes(`/dev/sda${n}`) ?? false);
  const lines = [
    `Linux (as root; the disk is ${dev} here, check with lsblk, partition ${n} is the last one):`,
    '  # growpart comes with cloud-guest-utils (Debian/Ubuntu) or cloud-utils-growpart (RHEL)',
    `  growpart ${dev} ${n}`,
  ];
  if (lvm) {
    lines.push(`  pvresize ${part}`, '  lvextend -r -l +100%FREE /dev/VG/LV      # the LV to grow, e.g. /dev/debian-vg/root (see lvs)');
  } else if (fsType === 'xfs') {
    lines.push('  xfs_growfs /                              # the mount point of the filesystem');
  } else if (fsType && /^ext/.test(fsType)) {
    lines.push(`  resize2fs ${part}`);
  } else {
    lines.push(`  resize2fs ${part}                         # ext2/3/4`, '  xfs_growfs /MOUNTPOINT                    # xfs', `  # LVM: pvresize ${part}; lvextend -r -l +100%FREE /dev/VG/LV`);
  }
  lines.push('', `If the kernel does not see the new size yet: echo 1 > /sys/block/${input.target ?? 'vda'}/device/rescan (or reboot).`);
  return lines;
}

/** The full text: what happened, why by hand, then the steps for the guest's OS (all of them when unknown). */
export function growInstructions(input: InstructionsInput): string {
  const family = osFamily(input.layout?.os ?? null, input.osHint);
  const who = input.guest ? `${input.guest}'s disk ${input.target ?? ''}`.trim() : input.image;
  const head = [
    `The disk ${who} is now ${formatBytesLong(input.newSizeBytes)}.`,
    `The partition and filesystem inside it still have their old size: ${input.reason}.`,
    'Grow them from inside the guest:',
    '',
  ];
  const body = family === 'windows' ? windowsSteps(input) : family === 'linux' ? linuxSteps(input) : [...linuxSteps(input), '', ...windowsSteps(input)];
  return `${[...head, ...body].join('\n')}\n`;
}

/** stateDir()/instructions/GUEST-DATE.txt: the file name part, safe for any guest name. */
export function instructionsFileName(guestOrImage: string, now: Date): string {
  const safe = guestOrImage.replace(/^.*\//, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'disk';
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${safe}-${stamp}.txt`;
}
