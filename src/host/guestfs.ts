/**
 * libguestfs: look inside a disk image and grow its last partition and filesystem offline. Each
 * launch boots a small appliance VM (15–20 s here under TCG), so every operation is ONE guestfish
 * run with all its commands batched, and every run gets guestfsEnv's variables.
 */
import {
  APPLIANCE_FEATURES,
  type ApplianceFeature,
  type DiskLayout,
  GF_MARK,
  type GrowMeasures,
  type GrowOp,
  growCommands,
  growProblems,
  type OsInfo,
  type PartitionInfo,
  startedAtEnd,
  vgOf,
  withGuestfishCommands,
} from '../model/expandPlan.js';
import { explain, HostError } from './errors.js';
import type { Executor } from './exec.js';
import { type GuestfishRound, guestfishConversation, markedSections, newMark } from './guestfishConversation.js';
import { guestfsEnv } from './guestfsEnv.js';

const APPLIANCE_DISK = '/dev/sda';
/** The marker of the fixed fakes and older outputs; a real run uses a random one (newMark). */
const DEFAULT_MARK = '@@virtdeck@@';

/**
 * The inspection's first round: every fixed query, then inspect-os. Commands prefixed with `-` may
 * fail (a disk without a partition table) without ending the run.
 */
export function inspectCommands(mark: string): string[][] {
  return [
    ['run'],
    ['echo', `${mark} parttype`],
    ['-part-get-parttype', APPLIANCE_DISK],
    ['echo', `${mark} parts`],
    ['-part-list', APPLIANCE_DISK],
    ['echo', `${mark} fs`],
    ['list-filesystems'],
    ['echo', `${mark} pvs`],
    ['pvs'],
    ['echo', `${mark} vgs`],
    ['vgs'],
    ['echo', `${mark} lvs`],
    ['lvs'],
    ['echo', `${mark} size`],
    ['blockdev-getsize64', APPLIANCE_DISK],
    // Which optional tools this host's appliance has (true/false, in APPLIANCE_FEATURES' order).
    ['echo', `${mark} features`],
    ...APPLIANCE_FEATURES.map((f) => ['feature-available', f]),
    ['echo', `${mark} roots`],
    ['inspect-os'],
  ];
}

/**
 * inspect-os prints one root per line. A root is named by the guest (a btrfs subvolume's name is
 * anything its root user chose), so only lines that look like a device are asked about, and each
 * is passed as one quoted word (gfWord), never as script.
 */
export function rootsOf(sectionLines: string[]): string[] {
  return sectionLines.filter((l) => /^(?:btrfsvol:)?\/dev\//.test(l));
}

/** The second round: the OS details of each root inspect-os printed, each answer under its own marker. */
export function osCommands(mark: string, roots: string[]): string[][] {
  const cmds: string[][] = [];
  roots.forEach((root, i) => {
    cmds.push(['echo', `${mark} root-type ${i}`], ['-inspect-get-type', root]);
    cmds.push(['echo', `${mark} root-distro ${i}`], ['-inspect-get-distro', root]);
    cmds.push(['echo', `${mark} root-product ${i}`], ['-inspect-get-product-name', root]);
  });
  cmds.push(['echo', `${mark} end`]);
  return cmds;
}

/** The marker a run used: the one on its first section line (printed before anything from the image). */
function markOf(stdout: string): string {
  return /^(@@virtdeck(?:-[0-9a-f]+)?@@) parttype$/m.exec(stdout)?.[1] ?? DEFAULT_MARK;
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
  const s = markedSections(stdout, markOf(stdout));
  const filesystems: Record<string, string> = {};
  for (const l of s.get('fs') ?? []) {
    const m = l.match(/^(\S+):\s*(\S+)$/);
    if (m) filesystems[m[1] as string] = m[2] as string;
  }
  const pt = (s.get('parttype') ?? [])[0];
  const partitions = parsePartList(s.get('parts') ?? []).map((p) => ({ ...p, fsType: filesystems[`${APPLIANCE_DISK}${p.num}`] ?? null }));
  const answer = (what: string, i: number) => {
    const lines = s.get(`root-${what} ${i}`) ?? [];
    return lines.length > 0 ? lines.join(' ') : 'unknown';
  };
  const roots: OsInfo[] = rootsOf(s.get('roots') ?? []).map((root, i) => ({ root, type: answer('type', i), distro: answer('distro', i), product: answer('product', i) }));
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

/**
 * One read-only launch: partition table, partitions, filesystems, LVM and the OS. -U-like: --ro
 * never locks writers out. The OS queries need the roots inspect-os finds, so they are a second
 * round of the same launch (guestfishConversation): one appliance boot, and no name from the
 * image is ever read back by guestfish as script.
 */
export async function inspectDisk(exec: Executor, image: string, format: string, signal?: AbortSignal): Promise<DiskLayout> {
  const env = await guestfsEnv(exec, signal);
  const mark = newMark();
  const r = await guestfishConversation(
    exec,
    ['guestfish', '--ro', `--format=${format}`, '-a', image],
    [() => inspectCommands(mark), (out) => osCommands(mark, rootsOf(markedSections(out, mark).get('roots') ?? []))],
    { env, signal, timeoutMs: 300_000 },
  );
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
    } else if (t.startsWith('@@virtdeck-round-')) current = null;
    else if (current && t) current.push(t);
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

/** The commands of a guestfishArgv (the words after `--`, split at `:`); null when argv is not one. */
function plannedCommands(argv: string[]): string[][] | null {
  const sep = argv.indexOf('--');
  if (sep === -1) return null;
  const cmds: string[][] = [[]];
  for (const w of argv.slice(sep + 1)) {
    if (w === ':') cmds.push([]);
    else (cmds[cmds.length - 1] as string[]).push(w);
  }
  return cmds;
}

/** How many commands measure the disk and the partition before anything moves (growCommands' head); -1 when not planned (older journals). */
function measuredHead(cmds: string[][]): number {
  const i = cmds.findIndex((c) => c[0] === 'echo' && c[1] === GF_MARK.partBefore);
  return i === -1 ? -1 : i + 2;
}

/**
 * Runs the grow launch and checks what it printed (growProblems): the partition now reaches the
 * end of the disk and the filesystem is larger than before, or, when the step already ran on this
 * image (a finish after an interruption), has kept its full size.
 *
 * argv is the plan's (`env … guestfish --rw … -- cmds`); its commands go to guestfish in rounds of
 * one launch (guestfishConversation): first the measures before anything moves, then, from what
 * they say, the rest of the plan's commands or, on a run again (startedAtEnd), the ones adapted to
 * it: no partition move, lvresize-free only while the VG has free extents (measured after
 * pvresize, a round of its own), ntfsresize forced on the volume the earlier run marked for
 * chkdsk. So finishing an interrupted grow costs one appliance launch, as the first run does
 * (it used to take a second one, after the first failed on the unadapted commands). A plan
 * without the measures first (an older journal) runs as one batch.
 */
export async function growGuest(exec: Executor, argv: string[], op: GrowOp, signal?: AbortSignal): Promise<GrowResult> {
  const planned = plannedCommands(argv);
  const head = planned ? measuredHead(planned) : -1;
  if (!planned || head === -1) return growGuestBatch(exec, argv, op, signal);
  let ran = argv;
  const resumeWith = (out: string, vgHasFree: boolean) => growCommands(op, parseGrowOutput(out, op).diskBytes, { vgHasFree });
  const rounds: GuestfishRound[] = [
    () => planned.slice(0, head),
    (out) => {
      if (!startedAtEnd(op, parseGrowOutput(out, op))) return planned.slice(head);
      // LVM: pvresize and the VG's free space first, to know whether lvresize-free still has work.
      const resume = resumeWith(out, true);
      const h = measuredHead(resume);
      ran = withGuestfishCommands(argv, resume);
      return op.lvm ? resume.slice(h, h + 3) : resume.slice(h);
    },
    (out) => {
      const m = parseGrowOutput(out, op);
      if (!op.lvm || !startedAtEnd(op, m)) return [];
      const resume = resumeWith(out, m.vgFreeBefore !== 0);
      ran = withGuestfishCommands(argv, resume);
      return resume.slice(measuredHead(resume) + 3);
    },
  ];
  const sep = argv.indexOf('--');
  const r = await guestfishConversation(exec, argv.slice(0, sep), rounds, { signal, timeoutMs: 0, okExitCodes: [GUESTFISH_FAILED] });
  if (r.exitCode !== 0) throw explain(ran, r.stderr || r.stdout, r.exitCode);
  return checkedGrow(op, parseGrowOutput(r.stdout, op), ran, r.stdout);
}

/** The plan's commands as one batch: a plan without the measures first cannot tell a run again (startedAtEnd) from a first run. */
async function growGuestBatch(exec: Executor, argv: string[], op: GrowOp, signal?: AbortSignal): Promise<GrowResult> {
  const r = await exec.run(argv, { signal, timeoutMs: 0, okExitCodes: [GUESTFISH_FAILED] });
  if (r.exitCode !== 0) throw explain(argv, r.stderr || r.stdout, r.exitCode);
  return checkedGrow(op, parseGrowOutput(r.stdout, op), argv, r.stdout);
}

function checkedGrow(op: GrowOp, m: GrowMeasures, ran: string[], stdout: string): GrowResult {
  const { resumed, problems } = growProblems(op, m);
  if (problems.length > 0) {
    throw new HostError({
      sentence: `The guest side was not grown as planned: ${problems.join('; ')}.`,
      fix: 'The disk itself is larger and its data intact; grow the partition from inside the guest (the instructions virtdeck shows), or look at the layout with virt-filesystems --long -h.',
      command: ran,
      stderr: stdout.slice(-2000),
      code: 'grow-unverified',
    });
  }
  return { ...m, resumed };
}
