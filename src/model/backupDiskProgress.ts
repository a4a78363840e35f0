/**
 * Per-disk progress of a push backup (libvirt backup API). libvirt reports one figure for the whole
 * guest (domjobinfo); asking QEMU per block job would need qemu-monitor-command, which taints the
 * guest. What is visible without that: each disk's target file grows as QEMU writes into it, and the
 * plan knows how big it should end up (qemu-img measure for a full run, the dirty bitmap for an
 * incremental). The guest-wide figure stays domjobinfo's; these are the rows under it.
 */
import { type PartProgress, ProgressTracker } from './progress.js';

export interface DiskTarget {
  /** Guest device name (vda), the row's label. */
  target: string;
  /** The file QEMU writes this disk's backup into. */
  file: string;
  /** Size the file should reach when the disk is done. */
  expectedBytes: number;
}

/**
 * A disk is never shown done before libvirt says the job finished: the expectation is an estimate
 * (zeroes the guest wrote since the measure, qcow2 metadata), so a file can reach it early.
 */
export const RUNNING_CAP = 0.99;

/** Fraction of one disk done: the file's size against what it should reach; 1 once the job finished. */
export function growthFraction(fileBytes: number | null, expectedBytes: number, finished: boolean): number {
  if (finished) return 1;
  if (fileBytes === null || !(expectedBytes > 0) || !(fileBytes > 0)) return 0;
  return Math.min(RUNNING_CAP, fileBytes / expectedBytes);
}

/** One tracker per disk, so each row gets its own smoothed rate and ETA. */
export class DiskProgressTracker {
  private readonly trackers: { disk: DiskTarget; tracker: ProgressTracker; last: number }[];

  constructor(disks: DiskTarget[]) {
    this.trackers = disks.map((disk) => ({ disk, tracker: new ProgressTracker(Math.max(0, disk.expectedBytes)), last: 0 }));
  }

  /**
   * `sizes`: each target file's current size (a missing entry: not measured this time, the last
   * fraction stands). Fractions never go back, so a file QEMU preallocates or trims does not make
   * a row jump backwards.
   */
  update(sizes: Map<string, number | null>, now: number, finished = false): PartProgress[] {
    return this.trackers.map((t) => {
      const size = sizes.get(t.disk.file);
      const fraction = size === undefined && !finished ? t.last : growthFraction(size ?? null, t.disk.expectedBytes, finished);
      t.last = Math.max(t.last, fraction);
      return { label: t.disk.target, ...t.tracker.update(t.last, now) };
    });
  }
}
