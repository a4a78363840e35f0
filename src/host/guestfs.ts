/**
 * libguestfs: look inside a disk image and grow its last partition and filesystem offline. Each
 * launch boots a small appliance VM (15–20 s here under TCG), so every operation is ONE guestfish
 * run with all its commands batched, and every run gets guestfsEnv's variables.
 */
import { randomBytes } from 'node:crypto';
import {
  APPLIANCE_FEATURES,
  type ApplianceFeature,
  type DiskLayout,
  GF_MARK,
  type GrowOp,
  type OsInfo,
  type PartitionInfo,
  partitionEndByte,
} from '../model/expandPlan.js';
import { HostError } from './errors.js';
import type { Executor } from './exec.js';
import { guestfsEnv } from './guestfsEnv.js';

const APPLIANCE_DISK = '/dev/sda';
const MARK = '@@virtdeck@@';

/**
 * The inspection script. Everything is a fixed query except the OS details, which need the root
 * devices inspect-os finds: its answer is piped (guestfish pipes run on the host) through sed into
 * a small file of follow-up commands that `<!` reads back, so it all stays in one launch.
 * Commands prefixed with `-` may fail (a disk without a partition table) without ending the run.
 */
export function inspectScript(followUpFile: string): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const lines = [
    'run',
    `echo ${MARK} parttype`,
    `-part-get-parttype ${APPLIANCE_DISK}`,
    `echo ${MARK} parts`,
    `-part-list ${APPLIANCE_DISK}`,
    `echo ${MARK} fs`,
    'list-filesystems',
    `echo ${MARK} pvs`,
    'pvs',
    `echo ${MARK} vgs`,
    'vgs',
    `echo ${MARK} lvs`,
    'lvs',
    `echo ${MARK} size`,
    `blockdev-getsize64 ${APPLIANCE_DISK}`,
    // Which optional tools this host's appliance has (true/false, in APPLIANCE_FEATURES' order).
    `echo ${MARK} features`,
    ...APPLIANCE_FEATURES.map((f) => `feature-available ${f}`),
    `echo ${MARK} roots`,
    `inspect-os | sed -e 's|.*|echo ${MARK} root &\\n-inspect-get-type &\\n-inspect-get-distro &\\n-inspect-get-product-name &|' > ${q(followUpFile)}`,
    `<! cat ${q(followUpFile)}; rm -f ${q(followUpFile)}`,
    `echo ${MARK} end`,
  ];
  return `${lines.join('\n')}\n`;
}

function sections(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | null = null;
  let roots = 0;
  for (const line of stdout.split('\n')) {
    const m = line.match(new RegExp(`^${MARK} (\\S+)(?: (.*))?$`));
    if (m) {
      const key = m[1] === 'root' ? `root${roots++}` : (m[1] as string);
      current = m[2] !== undefined ? [m[2]] : [];
      out.set(key, current);
      continue;
    }
    if (current && line.trim() !== '') current.push(line.trim());
  }
  return out;
}

/** guestfish prints structs as `[0] = {` … `part_num: 1` … `}`. */
function parsePartList(lines: string[]): Omit<PartitionInfo, 'fsType'>[] {
  const parts: Omit<PartitionInfo, 'fsType'>[] = [];
  let cur: Record<string, number> = {};
  for (const l of lines) {
    const kv = l.match(/^(\w+):\s*(-?\d+)$/);
    if (kv) cur[kv[1] as string] = Number(kv[2]);
    if (l === '}') {
      if (cur.part_num !== undefined) parts.push({ num: cur.part_num, start: cur.part_start ?? 0, end: cur.part_end ?? 0, size: cur.part_size ?? 0 });
      cur = {};
    }
  }
  return parts;
}

/** Parses the inspection script's output. */
export function parseInspection(stdout: string): DiskLayout {
  const s = sections(stdout);
  const filesystems: Record<string, string> = {};
  for (const l of s.get('fs') ?? []) {
    const m = l.match(/^(\S+):\s*(\S+)$/);
    if (m) filesystems[m[1] as string] = m[2] as string;
  }
  const pt = (s.get('parttype') ?? [])[0];
  const partitions = parsePartList(s.get('parts') ?? []).map((p) => ({ ...p, fsType: filesystems[`${APPLIANCE_DISK}${p.num}`] ?? null }));
  const roots: OsInfo[] = [];
  for (const [key, v] of s) {
    if (!/^root\d+$/.test(key)) continue;
    roots.push({ root: v[0] ?? '', type: v[1] ?? 'unknown', distro: v[2] ?? 'unknown', product: v[3] ?? 'unknown' });
  }
  const answers = s.get('features') ?? [];
  const features: Partial<Record<ApplianceFeature, boolean>> = {};
  APPLIANCE_FEATURES.forEach((f, i) => {
    if (answers[i] === 'true' || answers[i] === 'false') features[f] = answers[i] === 'true';
  });
  return {
    partitionTable: pt === 'msdos' || pt === 'gpt' ? pt : null,
    diskBytes: Number((s.get('size') ?? [])[0] ?? 0),
    partitions,
    filesystems,
    pvs: s.get('pvs') ?? [],
    vgs: s.get('vgs') ?? [],
    lvs: s.get('lvs') ?? [],
    os: roots[0] ?? null,
    features,
  };
}

/** One read-only launch: partition table, partitions, filesystems, LVM and the OS. -U-like: --ro never locks writers out. */
export async function inspectDisk(exec: Executor, image: string, format: string, signal?: AbortSignal): Promise<DiskLayout> {
  const env = await guestfsEnv(exec, signal);
  const followUp = `/tmp/virtdeck-inspect-${randomBytes(4).toString('hex')}.gf`;
  const r = await exec.run(['guestfish', '--ro', `--format=${format}`, '-a', image], {
    env,
    input: inspectScript(followUp),
    signal,
    timeoutMs: 300_000,
  });
  return parseInspection(r.stdout);
}

// ---------------------------------------------------------------------------------------------
// Growing

export interface GrowResult {
  fsBytesBefore: number;
  fsBytesAfter: number;
  diskBytes: number;
  partitionBytes: number;
}

/** statvfs's blocks × frsize: the filesystem's size as the guest's df shows it. */
function statvfsBytes(lines: string[]): number {
  const field = (k: string) => Number(lines.find((l) => l.startsWith(`${k}:`))?.split(':')[1]?.trim() ?? Number.NaN);
  return field('blocks') * field('frsize');
}

export function parseGrowOutput(stdout: string): GrowResult {
  const blocks = new Map<string, string[]>();
  let current: string[] | null = null;
  const marks = Object.values(GF_MARK) as string[];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (marks.includes(t)) {
      current = [];
      blocks.set(t, current);
    } else if (current && t) current.push(t);
  }
  return {
    fsBytesBefore: statvfsBytes(blocks.get(GF_MARK.before) ?? []),
    fsBytesAfter: statvfsBytes(blocks.get(GF_MARK.after) ?? []),
    diskBytes: Number(blocks.get(GF_MARK.disk)?.[0] ?? Number.NaN),
    partitionBytes: Number(blocks.get(GF_MARK.part)?.[0] ?? Number.NaN),
  };
}

/**
 * Runs the grow launch (argv from the plan: `env … guestfish --rw …`) and checks what it printed:
 * the partition now reaches the end of the disk and the filesystem is larger than before.
 */
export async function growGuest(exec: Executor, argv: string[], op: GrowOp, signal?: AbortSignal): Promise<GrowResult> {
  const r = await exec.run(argv, { signal, timeoutMs: 0 });
  const g = parseGrowOutput(r.stdout);
  const problems: string[] = [];
  // A journal written before GrowOp had partitionStart resumes without this check.
  if (op.partitionStart !== undefined) {
    const end = op.partitionStart + g.partitionBytes - 1;
    const want = partitionEndByte(op, g.diskBytes);
    if (end !== want) problems.push(`partition ${op.partition} ends at byte ${end}, not at ${want} (the end of the disk)`);
  }
  if (!(g.fsBytesAfter > g.fsBytesBefore)) problems.push(`the ${op.fsType} filesystem did not grow (${g.fsBytesBefore} → ${g.fsBytesAfter} bytes)`);
  if (problems.length > 0) {
    throw new HostError({
      sentence: `The guest side was not grown as planned: ${problems.join('; ')}.`,
      fix: 'The disk itself is larger and its data intact; grow the partition from inside the guest (the instructions virtdeck shows), or look at the layout with virt-filesystems --long -h.',
      command: argv,
      stderr: r.stdout.slice(-2000),
      code: 'grow-unverified',
    });
  }
  return g;
}
