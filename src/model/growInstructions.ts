/**
 * What to do inside the guest after its disk grew, when virtdeck cannot grow the partition
 * offline (the guest runs, or the layout is not simple): per-OS steps, shown and saved as text.
 */
import { type DiskLayout, endOfDisk, type OsInfo } from './expandPlan.js';
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
  return layout ? (endOfDisk(layout)?.last ?? null) : null;
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
  const partOf = (n: number | string) => (/\d$/.test(dev) ? `${dev}p${n}` : `${dev}${n}`);
  const rescan = ['', `If the kernel does not see the new size yet: echo 1 > /sys/block/${input.target ?? 'vda'}/device/rescan (or reboot).`];
  const end = input.layout ? endOfDisk(input.layout) : null;
  if (!end) {
    // Nothing was read from the disk: the usual layout, said as a guess, with N to fill in.
    return [
      `Linux (as root; the disk is ${dev} here). virtdeck did not look inside this disk, so these are the usual`,
      'steps, not a reading of it: find the last partition (N) and what it holds with lsblk -f first.',
      '  # growpart comes with cloud-guest-utils (Debian/Ubuntu) or cloud-utils-growpart (RHEL)',
      `  growpart ${dev} N`,
      `  resize2fs ${partOf('N')}                        # ext2/3/4`,
      '  xfs_growfs /MOUNTPOINT                    # xfs',
      '  btrfs filesystem resize max /MOUNTPOINT   # btrfs',
      `  # LVM: pvresize ${partOf('N')}; lvextend -r -l +100%FREE /dev/VG/LV`,
      '  # swap as the last partition: it has to move to the end before the one in front of it can grow',
      ...rescan,
    ];
  }
  const n = end.last.num;
  const part = partOf(n);
  const lines = [`Linux (as root; the disk is ${dev} here, check with lsblk; partition ${n} is the last one${end.extended ? `, a logical partition inside extended partition ${end.extended.num}` : ''}):`];
  if (end.kind === 'swap') {
    return [
      ...lines,
      `Partition ${n} is swap: growing it gains nothing, and it sits between the partition in front of it and`,
      'the new space. Either leave the new space unused, or move the swap to the end:',
      `  swapoff ${part}`,
      `  # delete partition ${n} (fdisk ${dev}), grow the partition before it and its filesystem,`,
      '  # then create a swap partition in the last part of the disk, mkswap it, and put its new',
      '  # UUID into /etc/fstab (and /etc/initramfs-tools/conf.d/resume if it is the resume device).',
      ...rescan,
    ];
  }
  if (end.extended) {
    // growpart does not grow an extended partition; parted grows the container, then the logical one.
    lines.push(`  parted ${dev} resizepart ${end.extended.num} 100%`, `  parted ${dev} resizepart ${n} 100%`);
  } else {
    lines.push('  # growpart comes with cloud-guest-utils (Debian/Ubuntu) or cloud-utils-growpart (RHEL)', `  growpart ${dev} ${n}`);
  }
  if (end.kind === 'lvm') {
    lines.push(
      `  pvresize ${part}`,
      '  lvextend -r -l +100%FREE /dev/VG/LV      # the LV to grow, e.g. /dev/debian-vg/root (see lvs)',
      '  # +100%FREE gives the LV all the free space of the VG: what it had free before too (vgs shows how much)',
    );
  }
  else if (end.kind === 'xfs') lines.push('  xfs_growfs /                              # the mount point of the filesystem');
  else if (end.kind === 'ext') lines.push(`  resize2fs ${part}`);
  else if (end.kind === 'btrfs') lines.push('  btrfs filesystem resize max /             # the mount point of the filesystem');
  else if (end.kind === 'none') lines.push(`  # partition ${n} holds no filesystem: it is larger now; create one (mkfs) or use it as it is meant to be`);
  else lines.push(`  # partition ${n} holds ${end.fsType}: grow it with that filesystem's own tool`);
  return [...lines, ...rescan];
}

/** The full text: what happened, why by hand, then the steps for the guest's OS (all of them when unknown). */
export function growInstructions(input: InstructionsInput): string {
  const inspected = osFamily(input.layout?.os ?? null, input.osHint);
  // A disk that was read and has no OS gets the steps for what is on it, not both sets.
  const endFs = input.layout ? endOfDisk(input.layout)?.fsType : undefined;
  const family = inspected !== 'unknown' || !input.layout ? inspected : endFs === 'ntfs' ? 'windows' : 'linux';
  // "web's disk vda is now…" or "The disk /x.img is now…", never "The disk web's disk vda".
  const who = input.guest ? `${input.guest}'s disk${input.target ? ` ${input.target}` : ''}` : `The disk ${input.image}`;
  const head = [
    `${who} is now ${formatBytesLong(input.newSizeBytes)}.`,
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
