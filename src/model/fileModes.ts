/**
 * The modes of what virtdeck writes: backup runs, images, domain XML (with VNC/SPICE passwords),
 * manifests. Private to the running user unless the config names a group that may read them.
 *
 * Directories QEMU must pass through get the search bit for others and nothing else: QEMU runs as
 * libvirt-qemu, libvirt's DAC driver chowns the image file (or the push-backup target) to it at
 * start but never the directories above, so a 0700 directory stops it ("Cannot access storage
 * file … Permission denied" at start, "blockdev-add … Permission denied" for a push backup).
 * 0711 lets it reach a file whose name it is given, and no one list or read what is there.
 */
export interface WriteModes {
  /** The process umask: every file a child (qemu-img, cp, sh) creates gets `file`. */
  umask: number;
  file: number;
  /** Directories only virtdeck's own tools use (temp dirs, logs). */
  dir: number;
  /** Directories QEMU must reach through: backup runs (push backup targets), image directories. */
  qemuDir: number;
  /** The group that may read, or null. */
  group: string | null;
}

/** Pure: the modes for a configured reader group (config.json `group`), or for none. */
export function writeModes(group?: string | null): WriteModes {
  if (group) return { umask: 0o027, file: 0o640, dir: 0o750, qemuDir: 0o2751, group };
  return { umask: 0o077, file: 0o600, dir: 0o700, qemuDir: 0o711, group: null };
}

/** "0711", as mkdir -m takes it. */
export function modeText(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}
