import { type ErrorContext, HostError, type KnownError } from './errors.js';

/**
 * qemu-img's own failures in plain words. They are matched before the shared catalog in
 * errors.ts, whose broad entries (missing disk, lock, permission) speak of a guest that cannot
 * start — true for `virsh start`, misleading when qemu-img itself could not open an image.
 */
export const QEMU_IMG_ERRORS: KnownError[] = [
  {
    code: 'qemu-img-locked',
    pattern: /qemu-img: Could not open '([^']+)': Failed to get (?:shared )?"(\w+)" lock/,
    sentence: (m) => `The image ${m[1]} is in use by a running guest or another QEMU process.`,
    fix: () => 'Shut that guest down first (virsh list shows it). Read-only looks can use force-share (-U); never write to an image in use.',
  },
  {
    code: 'qemu-img-backing-missing',
    pattern: /qemu-img: Could not open '([^']+)': Could not open backing file: Could not open '([^']+)': No such file or directory/,
    sentence: (m) => `The backing file ${m[2]} of ${m[1]} does not exist.`,
    fix: (m) =>
      `Put the backing file back, or if its data is elsewhere, point the image at it: qemu-img rebase -u -F FORMAT -b NEW ${m[1]} (qemu-img info shows the chain).`,
  },
  {
    code: 'qemu-img-missing',
    pattern: /qemu-img: [^\n]*Could not open '([^']+)': No such file or directory/,
    sentence: (m) => `The image ${m[1]} does not exist.`,
    fix: () => 'Check the path (ls -l); it may have been moved, renamed or removed.',
  },
  {
    code: 'qemu-img-folder-missing',
    pattern: /qemu-img: [^\n]*Could not create '([^']+)': (?:No such file or directory|Not a directory)/,
    sentence: (m) => `The folder for ${m[1]} does not exist.`,
    fix: () => 'Create the folder first (mkdir -p), or choose a destination in an existing one.',
  },
  {
    code: 'qemu-img-permission',
    pattern: /qemu-img: [^\n]*'([^']+)': (?:Permission denied|Operation not permitted)/,
    sentence: (m) => `qemu-img may not open ${m[1]}: permission denied.`,
    fix: () => 'Run virtdeck as root, or make the file (and every folder above it) readable — and writable for changes — by this user.',
  },
  {
    code: 'qemu-img-wrong-format',
    pattern: /qemu-img: Could not open '([^']+)': Image is not in (\w+) format/,
    sentence: (m) => `${m[1]} is not a ${m[2]} image.`,
    fix: () => 'Give its real format (qemu-img info shows it), or leave the format out so qemu-img detects it.',
  },
  {
    code: 'qemu-img-bad-vmdk',
    pattern: /qemu-img: Could not open '([^']+)': invalid VMDK image descriptor/,
    sentence: (m) => `${m[1]} is not a valid vmdk.`,
    fix: () => 'For a flat or split vmdk open the small descriptor .vmdk, not its -flat/-f001/-s001 data file; otherwise the descriptor text is damaged.',
  },
  {
    code: 'qemu-img-no-resize',
    pattern: /qemu-img: Image format driver does not support resize/,
    sentence: () => 'qemu-img cannot resize this image format in place.',
    fix: () => 'Grow it by copying: convert to raw or qcow2, resize the copy, convert back with the original options, compare, then swap the files.',
  },
  {
    code: 'qemu-img-shrink',
    pattern: /qemu-img: Use the --shrink option to perform a shrink operation/,
    sentence: () => 'The new size is smaller than the image, which would cut off the data at its end.',
    fix: () => 'Give a size at least as large as the current one (qemu-img info shows it).',
  },
  {
    code: 'qemu-img-bad-option',
    pattern: /qemu-img: [^\n]*?(?:Invalid parameter '([^']+)'|invalid parameter value: ([^\n]+)|(compat6 cannot be enabled with hwversion set)|(Cluster size must be [^\n]+))/,
    sentence: (m) =>
      m[1]
        ? `qemu-img does not know the option ${m[1]} for this format.`
        : m[2]
          ? `qemu-img does not accept the value ${m[2].trim()}.`
          : m[3]
            ? 'The vmdk options compat6 and hwversion cannot be used together.'
            : `qemu-img rejected an option: ${m[4]}.`,
    fix: () => 'List the valid options with: qemu-img create -f FORMAT -o help x 1M.',
  },
  {
    code: 'qemu-img-unknown-format',
    pattern: /qemu-img: [^\n]*Unknown (?:file format|driver) '([^']+)'/,
    sentence: (m) => `qemu-img does not know the image format ${m[1]}.`,
    fix: () => 'Use one of raw, qcow2, vmdk, vdi, vhdx or vpc (qemu-img --help lists all).',
  },
  {
    code: 'qemu-img-no-measure',
    pattern: /qemu-img: Block driver '([^']+)' does not support size measurement/,
    sentence: (m) => `qemu-img cannot estimate the size of a ${m[1]} image.`,
    fix: () => 'Measure it as raw instead: the raw fully-allocated size is an upper bound for the space needed.',
  },
];

/** Codes the executor sets itself; their sentence is already the right one. */
const KEEP = new Set(['cancelled', 'not-installed']);

/** Re-explains a failed qemu-img run with the qemu-img catalog; other errors pass unchanged. */
export function explainQemuImg(e: unknown): unknown {
  if (!(e instanceof HostError) || KEEP.has(e.code)) return e;
  const ctx: ErrorContext = { command: e.command, guest: null };
  for (const k of QEMU_IMG_ERRORS) {
    const m = e.stderr.match(k.pattern);
    if (m) return new HostError({ sentence: k.sentence(m, ctx), fix: k.fix(m, ctx), command: e.command, stderr: e.stderr, exitCode: e.exitCode, code: k.code });
  }
  return e;
}
