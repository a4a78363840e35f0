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
  type GrowMeasures,
  type GrowOp,
  type OsInfo,
  type PartitionInfo,
  growCommands,
  growProblems,
  startedAtEnd,
  vgOf,
  withGuestfishCommands,
} from '../model/expandPlan.js';
import { HostError, explain } from './errors.js';
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

export interface GrowResult extends GrowMeasures {
  /** The step had run before on this image (see startedAtEnd): finished after an interruption. */
  resumed: boolean;
}

/** statvfs's blocks × frsize: the filesystem's size as the guest's df shows it. */
function statvfsBytes(lines: string[]): number {
  const field = (k: string) => Number(lines.find((l) => l.startsWith(`${k}:`))?.split(':')[1]?.trim() ?? Number.NaN);
  return field('blocks') * field('frsize');
}

/** vg_free of the VG named vg in `vgs-full` output (the only VG when the name is not found); null when not printed. */
function vgFreeBytes(lines: string[] | undefined, vg: string): number | null {
  if (!lines) return null;
  const vgs: { name: string; free: number }[] = [];
  for (const l of lines) {
    const m = l.match(/^(vg_name|vg_free):\s*(\S+)$/);
    if (m?.[1] === 'vg_name') vgs.push({ name: m[2] as string, free: Number.NaN });
    else if (m && vgs.length > 0) (vgs[vgs.length - 1] as { free: number }).free = Number(m[2]);
  }
  const mine = vgs.find((v) => v.name === vg) ?? (vgs.length === 1 ? vgs[0] : undefined);
  return mine ? mine.free : Number.NaN;
}

export function parseGrowOutput(stdout: string, op?: Pick<GrowOp, 'lvm'>): GrowMeasures {
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
  const num = (mark: string) => Number(blocks.get(mark)?.[0] ?? Number.NaN);
  const vg = op?.lvm ? vgOf(op.lvm.lv) : '';
  return {
    fsBytesBefore: statvfsBytes(blocks.get(GF_MARK.before) ?? []),
    fsBytesAfter: statvfsBytes(blocks.get(GF_MARK.after) ?? []),
    diskBytes: num(GF_MARK.disk),
    partitionBytes: num(GF_MARK.part),
    partitionBytesBefore: num(GF_MARK.partBefore),
    vgFreeBefore: op?.lvm ? vgFreeBytes(blocks.get(GF_MARK.vgFree), vg) : null,
    vgFreeAfter: op?.lvm ? vgFreeBytes(blocks.get(GF_MARK.vgFreeAfter), vg) : null,
  };
}

/** guestfish ends with 1 when a command fails; its output up to there is still read. */
const GUESTFISH_FAILED = 1;

/**
 * Runs the grow launch (argv from the plan: `env … guestfish --rw …`) and checks what it printed
 * (growProblems): the partition now reaches the end of the disk and the filesystem is larger than
 * before, or, when the step already ran on this image (a finish after an interruption), has kept
 * its full size. Such a run again can fail where the first one did not (lvresize-free with no free
 * extents left, ntfsresize on the volume it marked for chkdsk); then a second launch with the
 * commands adapted to the state the first one measured does the rest. A first run that fails
 * fails as before, with guestfish's error.
 */
export async function growGuest(exec: Executor, argv: string[], op: GrowOp, signal?: AbortSignal): Promise<GrowResult> {
  let ran = argv;
  let r = await exec.run(argv, { signal, timeoutMs: 0, okExitCodes: [GUESTFISH_FAILED] });
  let m = parseGrowOutput(r.stdout, op);
  if (r.exitCode !== 0) {
    if (!startedAtEnd(op, m)) throw explain(argv, r.stderr || r.stdout, r.exitCode);
    ran = withGuestfishCommands(argv, growCommands(op, m.diskBytes, { vgHasFree: m.vgFreeBefore !== 0 }));
    r = await exec.run(ran, { signal, timeoutMs: 0 });
    m = parseGrowOutput(r.stdout, op);
  }
  const { resumed, problems } = growProblems(op, m);
  if (problems.length > 0) {
    throw new HostError({
      sentence: `The guest side was not grown as planned: ${problems.join('; ')}.`,
      fix: 'The disk itself is larger and its data intact; grow the partition from inside the guest (the instructions virtdeck shows), or look at the layout with virt-filesystems --long -h.',
      command: ran,
      stderr: r.stdout.slice(-2000),
      code: 'grow-unverified',
    });
  }
  return { ...m, resumed };
}
