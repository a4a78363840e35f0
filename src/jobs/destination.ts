/**
 * Checks of a backup destination before anything is written: it must exist and take writes
 * (a real write probe: `test -w` says yes for root on a dying USB disk remounted read-only only
 * when the kernel has not noticed yet); it should be its own mount point on other storage than
 * the images; and it must hold the run (qemu-img measure against df).
 */
import type { Executor } from '../host/exec.js';
import { formatBytes } from '../model/units.js';
import { UserError } from '../model/userError.js';

export interface DestinationFacts {
  dest: string;
  exists: boolean;
  isDir: boolean;
  writable: boolean;
  probeOk: boolean;
  /** findmnt -T: the mount point holding dest. */
  mountTarget: string | null;
  /** stat -c %d of dest, and of each image that exists. */
  device: string | null;
  imageDevices: { path: string; device: string }[];
  availBytes: number | null;
}

export interface DestinationReport {
  dest: string;
  availBytes: number | null;
  mountTarget: string | null;
  /** Worth telling, not worth refusing. */
  warnings: string[];
}

/**
 * One shell for every fact, whatever the number of images; paths travel as arguments, never
 * inside the script.
 */
export const PROBE = [
  'd="$1"; shift',
  'if test -e "$d"; then echo exists=1; else echo exists=0; exit 0; fi',
  'if test -d "$d"; then echo dir=1; else echo dir=0; exit 0; fi',
  'if test -w "$d"; then echo writable=1; else echo writable=0; fi',
  'p="$d/.virtdeck-write-probe-$$"',
  'if ( printf x > "$p" ) 2>/dev/null && rm -f -- "$p"; then echo probe=1; else rm -f -- "$p" 2>/dev/null; echo probe=0; fi',
  'printf "mount=%s\\n" "$(findmnt -T "$d" -n -o TARGET 2>/dev/null | head -n1)"',
  'printf "device=%s\\n" "$(stat -L -c %d -- "$d")"',
  'printf "avail=%s\\n" "$(df --output=avail -B1 -- "$d" 2>/dev/null | tail -n1 | tr -d " ")"',
  'for f in "$@"; do if test -e "$f"; then printf "image=%s\\t%s\\n" "$(stat -L -c %d -- "$f")" "$f"; fi; done',
].join('\n');

/** Pure: the probe's lines → facts. */
export function parseDestinationProbe(dest: string, stdout: string): DestinationFacts {
  const facts: DestinationFacts = {
    dest,
    exists: false,
    isDir: false,
    writable: false,
    probeOk: false,
    mountTarget: null,
    device: null,
    imageDevices: [],
    availBytes: null,
  };
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'exists') facts.exists = value === '1';
    else if (key === 'dir') facts.isDir = value === '1';
    else if (key === 'writable') facts.writable = value === '1';
    else if (key === 'probe') facts.probeOk = value === '1';
    else if (key === 'mount') facts.mountTarget = value || null;
    else if (key === 'device') facts.device = value || null;
    else if (key === 'avail') facts.availBytes = /^\d+$/.test(value) ? Number(value) : null;
    else if (key === 'image') {
      const tab = value.indexOf('\t');
      if (tab > 0) facts.imageDevices.push({ device: value.slice(0, tab), path: value.slice(tab + 1) });
    }
  }
  return facts;
}

/** Pure: refusals (thrown as UserError) and warnings. */
export function assessDestination(f: DestinationFacts): DestinationReport {
  if (!f.exists) {
    throw new UserError(`The backup destination ${f.dest} does not exist.`, 'Mount the backup disk (or create the directory), then run the backup again.');
  }
  if (!f.isDir) throw new UserError(`The backup destination ${f.dest} is not a directory.`, 'Give the directory (e.g. the mount point of the backup disk), not a file.');
  if (!f.writable || !f.probeOk) {
    throw new UserError(
      `The backup destination ${f.dest} cannot be written to${f.writable ? ' (a test file could not be created)' : ''}.`,
      'Check that the disk is mounted read-write (mount -o remount,rw, or fsck it if the kernel remounted it read-only) and that the directory is writable.',
    );
  }
  const warnings: string[] = [];
  if (f.mountTarget !== null && f.mountTarget !== f.dest) {
    warnings.push(
      `${f.dest} is not a mount point (it is on the filesystem mounted at ${f.mountTarget}): if the backup disk is not mounted, backups fill that filesystem instead.`,
    );
  }
  const shared = f.device === null ? [] : f.imageDevices.filter((i) => i.device === f.device);
  if (shared.length > 0) {
    warnings.push(
      `${f.dest} is on the same filesystem as ${shared.map((s) => s.path).join(', ')}: a failure of that disk takes the backups with it.`,
    );
  }
  return { dest: f.dest, availBytes: f.availBytes, mountTarget: f.mountTarget, warnings };
}

export async function probeDestination(exec: Executor, dest: string, images: string[], signal?: AbortSignal): Promise<DestinationFacts> {
  const r = await exec.run(['sh', '-c', PROBE, 'sh', dest, ...images], { signal });
  return parseDestinationProbe(dest, r.stdout);
}

/** Probes and assesses: throws a UserError for a destination that cannot be used. */
export async function checkDestination(exec: Executor, dest: string, images: string[], signal?: AbortSignal): Promise<DestinationReport> {
  return assessDestination(await probeDestination(exec, dest, images, signal));
}

/** Pure: refuses when the run does not fit (with 1 % or 64 MiB of slack, whichever is larger). */
export function checkSpace(dest: string, need: { bytes: number; basis: string }, availBytes: number | null, guest: string): void {
  if (availBytes === null) return;
  const slack = Math.max(64 * 1024 * 1024, Math.ceil(need.bytes / 100));
  if (need.bytes + slack > availBytes) {
    throw new UserError(
      `The backup of ${guest} needs about ${formatBytes(need.bytes)} (${need.basis}), but ${dest} has only ${formatBytes(availBytes)} free.`,
      'Free space there (prune old runs: virtdeck backup prune), or choose a destination with more room.',
    );
  }
}

export async function availableBytes(exec: Executor, dest: string, signal?: AbortSignal): Promise<number | null> {
  const r = await exec.run(['df', '--output=avail', '-B1', '--', dest], { signal });
  const last = r.stdout.trim().split('\n').pop()?.trim() ?? '';
  return /^\d+$/.test(last) ? Number(last) : null;
}
