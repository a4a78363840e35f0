import type { DiskLayout, ExpandFacts } from '../../src/model/expandPlan.js';

export const G = 1024 ** 3;
export const M = 1024 ** 2;

/** A 20 GiB MBR disk whose one ext4 partition fills it; `over` changes what a test needs. */
export function layout(over: Partial<DiskLayout> = {}): DiskLayout {
  return {
    partitionTable: 'msdos',
    diskBytes: 20 * G,
    partitions: [{ num: 1, start: M, end: 20 * G - 1, size: 20 * G - M, fsType: 'ext4' }],
    filesystems: { '/dev/sda1': 'ext4' },
    pvs: [],
    vgs: [],
    lvs: [],
    os: null,
    ...over,
  };
}

/** What prepare reads about a shut-off raw image with this layout. */
export function facts(l: DiskLayout): ExpandFacts {
  return {
    uri: 'qemu:///system',
    requestedPath: '/srv/vm/web.raw',
    image: { path: '/srv/vm/web.raw', format: 'raw', virtualSize: 20 * G, dataBytes: G, backingFile: null, snapshots: [], vmdk: null, freeBytes: 100 * G },
    guest: null,
    layout: l,
    guestfsEnv: {},
    existingLeftovers: [],
  };
}
