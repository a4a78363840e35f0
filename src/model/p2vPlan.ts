/**
 * P2V, the pure half: a physical disk (a local block device or LVM volume, a remote machine's disk
 * over SSH, or a raw dump file) becomes an image and a guest. Parsers for what the source reports
 * (lsblk, sfdisk, /proc/meminfo, nproc, ip -j link), the refusals and warnings, the domain XML
 * (MAC kept, IDE or SATA and e1000 for a first boot that needs no new drivers) and the plan.
 *
 * Over SSH the disk is streamed with `ssh root@host dd if=DEV` into a local sparse writer rather
 * than read with QEMU's ssh block driver: that driver learns the size through SFTP, which reports 0
 * for a block device, authenticates only through ssh-agent (no -i key file), honours no ssh_config
 * options, and needs the SFTP subsystem on a live system that may lack it. dd over plain ssh needs
 * nothing on the source but dd, and the stream is hashed on the way for the verify step.
 */

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { diskDevice, interfaceDevice, renderDomain, serialConsole, tabletInput, videoDevice, vncGraphics } from './domainBuild.js';
import { guestNameProblem } from './guestName.js';
import { isValidUnicastMac, normaliseMac } from './mac.js';
import type { CommandSpec, Plan, PlanStep } from './plan.js';
import { compareArgv, convertArgv } from './qemuImgArgv.js';
import { shellQuote } from './shellQuote.js';
import { shown } from './shown.js';
import { checkSshDestination } from './sshDestination.js';
import { formatBytes, parseSize } from './units.js';
import { FieldRefusal, UserError } from './userError.js';
import { type DirState, writableDirProblem } from './writableDir.js';

export type P2vSource =
  | { kind: 'device'; path: string }
  | { kind: 'file'; path: string }
  | {
      kind: 'ssh';
      /** root@host */
      destination: string;
      /** The remote disk; a regular file works too (dd reads either). */
      device: string;
      port?: number;
      identityFile?: string;
      /** Extra ssh arguments, e.g. ['-o', 'StrictHostKeyChecking=no']. */
      sshOptions?: string[];
    };

export interface SourcePartition {
  name: string;
  sizeBytes: number;
  fstype: string | null;
  mountpoint: string | null;
  /** sfdisk's partition type (MBR id or GPT GUID), when known. */
  type?: string;
}

export interface SourceNic {
  name: string;
  mac: string;
}

export interface P2vSourceFacts {
  sizeBytes: number;
  model: string | null;
  partitionTable: string | null;
  partitions: SourcePartition[];
  /** Mountpoints on the source disk that are in use now (a live system mounts none). */
  mounted: string[];
  /** Only known for an SSH source: the machine itself. */
  memoryKiB: number | null;
  vcpus: number | null;
  nics: SourceNic[];
}

export interface P2vHostFacts {
  domainType: 'kvm' | 'qemu';
  guestExists: boolean;
  destDirExists: boolean;
  /** What a write probe found there (absent: not probed). */
  destDirState?: DirState;
  /** Paths the plan would write that already exist. */
  existing: string[];
  freeBytes: number;
  /** The source can be read from this host (always false for SSH). */
  sourceReadable: boolean;
  /** Linux bridges on the host, when a bridge was asked for. */
  bridges?: string[];
  /** libvirt networks, when one was asked for. */
  networks?: { name: string; active: boolean }[];
  /** The host's memory, when known. */
  hostMemoryMiB?: number;
}

export type P2vFormat = 'qcow2' | 'raw';
export type P2vBus = 'ide' | 'sata';
export type P2vNetwork = { kind: 'user' } | { kind: 'bridge'; source: string } | { kind: 'network'; source: string };

export interface P2vRequest {
  source: P2vSource;
  name: string;
  destDir: string;
  format: P2vFormat;
  /** One NIC per MAC, in order (the source's MACs are kept: Windows ties its network settings to them). */
  macs: string[];
  memoryMiB: number;
  vcpus: number;
  bus: P2vBus;
  network: P2vNetwork;
  osType: 'windows' | 'linux' | 'other';
  /** SSH: compare the stream's sha256 with `sha256sum DEV` on the source (a second full read there). */
  verifyRemote: boolean;
}

/** Above this the remote checksum (a second full read of the source disk) is skipped unless asked for. */
export const REMOTE_VERIFY_LIMIT = 256 * 1024 ** 3;

// ---------------------------------------------------------------------------------------------
// Parsers of what the source reports

interface LsblkDevice {
  name?: string;
  size?: number | string;
  type?: string | null;
  fstype?: string | null;
  mountpoint?: string | null;
  model?: string | null;
  children?: LsblkDevice[];
}

/** lsblk -b prints sizes as numbers; older util-linux as strings of digits. */
const lsblkDeviceSchema: z.ZodType<LsblkDevice> = z.lazy(() =>
  z.object({
    name: z.string().optional(),
    size: z.union([z.number().nonnegative(), z.string().regex(/^\d+$/)]).optional(),
    type: z.string().nullable().optional(),
    fstype: z.string().nullable().optional(),
    mountpoint: z.string().nullable().optional(),
    model: z.string().nullable().optional(),
    children: z.array(lsblkDeviceSchema).optional(),
  }),
);
const lsblkSchema = z.object({ blockdevices: z.array(lsblkDeviceSchema) });

/** Disk → partition → LVM → crypt is four; a remote shell could nest deep enough to overflow the stack. */
const MAX_LSBLK_DEPTH = 16;

function nestedDeeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

const LSBLK_FIX = 'Check that util-linux is recent enough for lsblk --json, and run the lsblk command by hand to see its output.';

export function parseLsblk(json: string): Pick<P2vSourceFacts, 'sizeBytes' | 'model' | 'partitions' | 'mounted'> {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new UserError('lsblk did not answer in JSON.', LSBLK_FIX);
  }
  // Each device level is two JSON levels (the object and its children array).
  if (nestedDeeperThan(raw, 2 * MAX_LSBLK_DEPTH + 2)) throw new UserError(`lsblk answered with devices nested more than ${MAX_LSBLK_DEPTH} deep.`, LSBLK_FIX);
  const parsed = lsblkSchema.safeParse(raw);
  if (!parsed.success) throw new UserError(`lsblk answered in JSON virtdeck does not understand (${parsed.error.issues[0]?.path.join('.') || 'top level'}).`, LSBLK_FIX);
  const dev = parsed.data.blockdevices[0];
  if (!dev) throw new UserError('lsblk found no such block device.', 'Give a disk or LVM volume that lsblk lists.');
  const partitions: SourcePartition[] = [];
  const mounted: string[] = [];
  const walk = (d: LsblkDevice, top: boolean) => {
    if (d.mountpoint) mounted.push(d.mountpoint);
    if (!top) partitions.push({ name: d.name ?? '?', sizeBytes: Number(d.size ?? 0), fstype: d.fstype ?? null, mountpoint: d.mountpoint ?? null });
    for (const c of d.children ?? []) walk(c, false);
  };
  walk(dev, true);
  if (partitions.length === 0 && dev.fstype) partitions.push({ name: dev.name ?? '?', sizeBytes: Number(dev.size ?? 0), fstype: dev.fstype, mountpoint: dev.mountpoint ?? null });
  return { sizeBytes: Number(dev.size ?? 0), model: dev.model?.trim() || null, partitions, mounted };
}

export interface SfdiskTable {
  label: string;
  partitions: { node: string; start: number; size: number; type: string }[];
  sectorSize: number;
}

const sfdiskSchema = z.object({
  partitiontable: z
    .object({
      label: z.string().optional(),
      sectorsize: z.number().int().positive().optional(),
      partitions: z.array(z.object({ node: z.string(), start: z.number().nonnegative(), size: z.number().nonnegative(), type: z.string() })).optional(),
    })
    .optional(),
});

/** The partition table sfdisk reports; null when there is none or the answer is not one (a dump file, garbage). */
export function parseSfdisk(json: string): SfdiskTable | null {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return null;
  }
  const parsed = sfdiskSchema.safeParse(raw);
  const t = parsed.success ? parsed.data.partitiontable : undefined;
  if (!t) return null;
  return { label: t.label ?? 'unknown', sectorSize: t.sectorsize ?? 512, partitions: t.partitions ?? [] };
}

/** sfdisk's view, for a dump file lsblk cannot read. */
export function partitionsFromSfdisk(t: SfdiskTable): SourcePartition[] {
  return t.partitions.map((p) => ({ name: p.node.split('/').pop() ?? p.node, sizeBytes: p.size * t.sectorSize, fstype: null, mountpoint: null, type: p.type }));
}

export function parseMeminfo(text: string): number | null {
  const m = text.match(/^MemTotal:\s+(\d+)\s*kB/m);
  return m ? Number(m[1]) : null;
}

const VIRTUAL_NIC = /^(lo|veth|docker|virbr|vnet|br-|tap|tun|wg|vmnet|cni|flannel|kube|ifb|dummy)/;

const ipLinkSchema = z.object({ ifname: z.string().min(1), link_type: z.string(), address: z.string() });

/** Physical Ethernet NICs from `ip -j link`; entries of another shape are skipped, garbage gives none. */
export function parseIpLink(json: string): SourceNic[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((entry) => {
    const l = ipLinkSchema.safeParse(entry);
    if (!l.success || l.data.link_type !== 'ether' || VIRTUAL_NIC.test(l.data.ifname) || !isValidUnicastMac(l.data.address)) return [];
    return [{ name: l.data.ifname, mac: normaliseMac(l.data.address) }];
  });
}

const WINDOWS_TYPES = new Set(['7', '0x7', 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7', 'de94bba4-06d1-4d40-a16a-bfd50179d6ac']);

/** Windows when an NTFS (or Microsoft basic data) partition is there, Linux for ext/xfs/btrfs/LVM. */
export function guessOs(partitions: SourcePartition[]): P2vRequest['osType'] {
  if (partitions.some((p) => p.fstype === 'ntfs' || WINDOWS_TYPES.has((p.type ?? '').toLowerCase()))) return 'windows';
  if (partitions.some((p) => /^(ext[234]|xfs|btrfs|LVM2_member|swap)$/.test(p.fstype ?? ''))) return 'linux';
  return 'other';
}

// ---------------------------------------------------------------------------------------------
// SSH

export function sshBase(s: Extract<P2vSource, { kind: 'ssh' }>): string[] {
  checkSshDestination(s.destination, 'the SSH source');
  return [
    'ssh',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    ...(s.port ? ['-p', String(s.port)] : []),
    ...(s.identityFile ? ['-i', s.identityFile] : []),
    ...(s.sshOptions ?? []),
    // `--` first: ssh would read a destination that starts with `-` as an option.
    '--',
    s.destination,
  ];
}

/**
 * An ssh argv read back from a journal (the stream and remote-checksum steps): it must be the
 * shape sshBase makes, `ssh … -- DEST COMMAND`, with a destination that cannot be an option.
 */
export function checkJournalSshArgv(argv: string[]): void {
  const dashes = argv.indexOf('--');
  const dest = argv[dashes + 1];
  if (argv[0] !== 'ssh' || dashes < 0 || dest === undefined || argv.length !== dashes + 3) {
    throw new UserError('The journal holds an ssh command virtdeck did not write.', 'Roll the job back (virtdeck job rollback) and start the P2V again.');
  }
  checkSshDestination(dest, 'the journal');
}

/** ssh argv running `words` on the source; each word is quoted for the remote shell. */
export function sshArgv(s: Extract<P2vSource, { kind: 'ssh' }>, words: string[]): string[] {
  return [...sshBase(s), words.map(shellQuote).join(' ')];
}

export const REMOTE_FACTS_SCRIPT = [
  'dev=$1',
  'echo @@size; if [ -b "$dev" ]; then blockdev --getsize64 "$dev"; else stat -L -c %s "$dev"; fi',
  'echo @@lsblk; lsblk --json -b -o NAME,SIZE,TYPE,FSTYPE,MOUNTPOINT,MODEL "$dev" 2>/dev/null',
  'echo @@sfdisk; sfdisk --json "$dev" 2>/dev/null',
  'echo @@meminfo; cat /proc/meminfo',
  'echo @@nproc; nproc',
  'echo @@iplink; ip -j link 2>/dev/null',
  'echo @@end',
].join('\n');

/** One ssh connection gathers everything; the device goes in as $1, never into the script text. */
export function remoteFactsArgv(s: Extract<P2vSource, { kind: 'ssh' }>): string[] {
  return sshArgv(s, ['sh', '-c', REMOTE_FACTS_SCRIPT, 'sh', s.device]);
}

export function splitSections(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  let key: string | null = null;
  let buf: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = line.match(/^@@(\w+)$/);
    if (m) {
      if (key) out.set(key, buf.join('\n').trim());
      key = m[1] as string;
      buf = [];
    } else buf.push(line);
  }
  if (key) out.set(key, buf.join('\n').trim());
  return out;
}

export function parseRemoteFacts(stdout: string, device: string): P2vSourceFacts {
  const s = splitSections(stdout);
  const sizeBytes = Number(s.get('size'));
  if (!Number.isFinite(sizeBytes) || sizeBytes <= 0 || !s.has('end')) {
    throw new UserError(`The source did not report a size for ${device}.`, `Check that ${device} exists on the source and can be read by the SSH user (root).`);
  }
  let facts: P2vSourceFacts = { sizeBytes, model: null, partitionTable: null, partitions: [], mounted: [], memoryKiB: null, vcpus: null, nics: [] };
  const lsblk = s.get('lsblk');
  if (lsblk) {
    try {
      facts = { ...facts, ...parseLsblk(lsblk), sizeBytes };
    } catch {
      // a regular file: lsblk has nothing to say, sfdisk below does
    }
  }
  const table = parseSfdisk(s.get('sfdisk') ?? '');
  if (table) {
    facts.partitionTable = table.label;
    if (facts.partitions.length === 0) facts.partitions = partitionsFromSfdisk(table);
    else for (const [i, p] of table.partitions.entries()) if (facts.partitions[i]) (facts.partitions[i] as SourcePartition).type = p.type;
  }
  facts.memoryKiB = parseMeminfo(s.get('meminfo') ?? '');
  const n = Number(s.get('nproc'));
  facts.vcpus = Number.isInteger(n) && n > 0 ? n : null;
  facts.nics = parseIpLink(s.get('iplink') ?? '[]');
  return facts;
}

// ---------------------------------------------------------------------------------------------
// What the admin types (CLI flags and wizard fields)

/** root@host or root@host:/dev/sdb (default device /dev/sda). */
export function parseSshSource(text: string, flags: { sshPort?: string; identity?: string; sshOption?: string[] }): P2vSource {
  const m = text.match(/^([^@\s:]+@[^\s:]+)(?::(\/\S+))?$/);
  if (!m) throw new UserError(`"${shown(text)}" is not an SSH source.`, 'Write root@HOST or root@HOST:/dev/sdX.');
  checkSshDestination(m[1] as string, `the SSH source "${shown(text)}"`);
  const port = flags.sshPort === undefined ? undefined : Number(flags.sshPort);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) throw new UserError(`"${flags.sshPort}" is not a port.`, 'Give a number from 1 to 65535.');
  return { kind: 'ssh', destination: m[1] as string, device: m[2] ?? '/dev/sda', port, identityFile: flags.identity || undefined, sshOptions: (flags.sshOption ?? []).flatMap((o) => ['-o', o]) };
}

/**
 * The wizard's "SSH -o" field: `Key=value` words separated by spaces (a `-o` before one is
 * allowed), each becoming one `-o Key=value`, as the CLI's --ssh-option. A value with spaces
 * (ProxyCommand) belongs in ~/.ssh/config.
 */
export function parseSshOptionsText(text: string): string[] {
  const words = text.split(/\s+/).filter((w) => w && w !== '-o');
  return words.map((w) => {
    const o = w.startsWith('-o') ? w.slice(2) : w;
    if (!/^[A-Za-z][A-Za-z0-9]*=\S+$/.test(o)) throw new UserError(`"${shown(w)}" is not an ssh option.`, 'Write Key=value, e.g. StrictHostKeyChecking=accept-new; separate several with spaces (a value with spaces belongs in ~/.ssh/config).');
    return o;
  });
}

export function parseNetwork(text: string | undefined): P2vNetwork | undefined {
  if (text === undefined) return undefined;
  if (text === 'user') return { kind: 'user' };
  const m = text.match(/^(bridge|network):(\S+)$/);
  if (!m) throw new UserError(`"${text}" is not a network choice.`, 'Use user, bridge:NAME or network:NAME.');
  return { kind: m[1] as 'bridge' | 'network', source: m[2] as string };
}

/**
 * The MAC of a source that reported no NIC: made from the source and the guest name rather than
 * drawn at random, so the MAC that --dry-run (or the wizard's review) shows is the one the run
 * uses. QEMU's locally administered prefix.
 */
export function p2vMac(source: P2vSource, name: string): string {
  const h = createHash('sha256').update(`virtdeck p2v\n${sourceLabel(source)}\n${name}`).digest();
  return ['52', '54', '00', ...[h[0], h[1], h[2]].map((b) => (b as number).toString(16).padStart(2, '0'))].join(':');
}

/**
 * A guest name from where the disk comes from: the first label of a host name (oldsrv from
 * oldsrv.example.com), p2v-10-0-0-5 for an address (its first three numbers say nothing), the
 * file name without its extension.
 */
export function nameFromSource(source: P2vSource): string {
  if (source.kind === 'ssh') {
    const host = source.destination.slice(source.destination.lastIndexOf('@') + 1);
    if (/^\d+(\.\d+){3}$/.test(host) || host.includes(':')) return `p2v-${host.replace(/[.:]+/g, '-').replace(/^-+|-+$/g, '')}`;
    return (host.split('.')[0] ?? '').replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  }
  const base = source.path.split('/').pop() ?? '';
  return base.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
}

/** "oldsrv: 2048 MiB, 2 vCPU, ide disk, e1000 MAC (user), windows": the guest as the dry-run and the review show it. */
export function p2vGuestLine(req: P2vRequest): string {
  const net = `${req.network.kind}${'source' in req.network ? ` ${req.network.source}` : ''}`;
  return `${req.name}: ${req.memoryMiB} MiB, ${req.vcpus} vCPU, ${req.bus} disk, e1000 ${req.macs.join(' ')} (${net}), ${req.osType}`;
}

/** Plain numbers are MiB ("2048"); suffixed sizes are read as sizes ("2G"). */
export function parseMemoryMiB(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  return Math.round(parseSize(text).bytes / 1024 ** 2);
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Why a --from-device path is not a disk to read, or null; `statType` is stat's %F (null: nothing there). */
export function deviceSourceProblem(path: string, statType: string | null): UserError | null {
  if (statType === null) return new UserError(`The source device ${shown(path)} does not exist.`, 'Check the path (lsblk lists disks and LVM volumes).');
  if (statType === 'block special file') return null;
  if (statType === 'regular file' || statType === 'regular empty file') {
    return new UserError(`The source ${shown(path)} is a regular file, not a block device.`, `Read a disk dump with --from-file ${shown(path)} (the wizard's "raw dump file" source).`);
  }
  return new UserError(`The source ${shown(path)} is a ${shown(statType)}, not a block device.`, 'Give a disk or LVM volume that lsblk lists, e.g. /dev/sdb.');
}

export function sourceLabel(s: P2vSource): string {
  return s.kind === 'ssh' ? `${s.destination}:${s.device}` : s.path;
}

export interface P2vPaths {
  final: string;
  /** The copy is written here and renamed only once verified. */
  tmp: string;
  /** SSH with qcow2: the raw stream lands here first. */
  rawTmp: string;
  /** The stream's sha256, written by the stream step for the verify step. */
  hashFile: string;
}

export function p2vPaths(req: Pick<P2vRequest, 'destDir' | 'name' | 'format' | 'source'>): P2vPaths {
  const dir = req.destDir.replace(/\/+$/, '') || '/';
  const ext = req.format === 'qcow2' ? 'qcow2' : 'raw';
  const final = `${dir}/${req.name}.${ext}`;
  const tmp = `${dir}/.${req.name}.${ext}.virtdeck-part`;
  const rawTmp = req.source.kind === 'ssh' && req.format === 'qcow2' ? `${dir}/.${req.name}.raw.virtdeck-part` : tmp;
  return { final, tmp, rawTmp, hashFile: `${rawTmp}.sha256` };
}

/** Why the source must be quiet, for the wizard and the CLI. */
export const QUIET_EXPLANATION = [
  'The source should be quiet: booted from a live system (SystemRescue, a Debian live USB) with its disk not mounted.',
  'A running system keeps writing while the copy reads the disk front to back, so the image mixes',
  'moments in time: crash-inconsistent at best (like pulling the plug), with a damaged filesystem or database at worst.',
];

export function checkP2v(req: P2vRequest, src: P2vSourceFacts, host: P2vHostFacts): { refusals: UserError[]; warnings: string[] } {
  const refusals: UserError[] = [];
  const warnings: string[] = [];
  const nameProblem = guestNameProblem(req.name);
  if (nameProblem) refusals.push(new FieldRefusal('name', nameProblem.sentence, nameProblem.fix));
  if (host.guestExists) refusals.push(new FieldRefusal('name', `A guest called ${req.name} already exists.`, 'Choose another name.'));
  if (!req.destDir.startsWith('/')) refusals.push(new FieldRefusal('destDir', `The destination "${req.destDir}" is not an absolute path.`, 'Give the directory for the image, starting with /.'));
  else {
    const dirProblem = writableDirProblem(req.destDir, host.destDirExists ? host.destDirState : 'missing', 'the destination directory');
    if (dirProblem) refusals.push(new FieldRefusal('destDir', dirProblem.sentence, dirProblem.fix));
  }
  for (const p of host.existing) refusals.push(new UserError(`${p} already exists; virtdeck never overwrites an image.`, 'Choose another name or destination, or remove the file.'));
  if (req.source.kind !== 'ssh' && !host.sourceReadable) refusals.push(new UserError(`${sourceLabel(req.source)} does not exist or cannot be read.`, 'Check the path (lsblk lists disks and LVM volumes).'));
  if (src.sizeBytes <= 0) refusals.push(new UserError(`${sourceLabel(req.source)} is empty.`, 'Choose the whole disk, not an empty partition.'));
  if (host.destDirExists && host.freeBytes > 0 && host.freeBytes < src.sizeBytes) {
    const what = req.format === 'raw' || req.source.kind === 'ssh' ? 'the raw copy' : 'a qcow2 copy';
    warnings.push(`${req.destDir} has ${formatBytes(host.freeBytes)} free and the disk is ${formatBytes(src.sizeBytes)}: ${what} fits only if enough of the disk is empty (it is written sparse).`);
  }
  for (const [i, mac] of req.macs.entries()) {
    if (!isValidUnicastMac(mac)) refusals.push(new FieldRefusal('macs', `MAC ${i + 1} "${mac}" is not a unicast MAC address.`, 'Write it as six hex pairs, e.g. 00:1a:2b:3c:4d:5e.'));
  }
  if (req.macs.length === 0) refusals.push(new FieldRefusal('macs', 'The guest needs at least one network card.', 'Give the source NIC\'s MAC (or a new one).'));
  if (!Number.isInteger(req.memoryMiB) || req.memoryMiB < 32) refusals.push(new FieldRefusal('memory', `${req.memoryMiB} MiB is not enough memory for a guest.`, 'Give at least 32 MiB (the source had what it had).'));
  if (!Number.isInteger(req.vcpus) || req.vcpus < 1 || req.vcpus > 64) refusals.push(new FieldRefusal('vcpus', `${req.vcpus} is not a vCPU count virtdeck uses.`, 'Give 1 to 64.'));
  if (req.network.kind !== 'user' && !req.network.source) refusals.push(new FieldRefusal('network', `The ${req.network.kind} needs a name.`, 'e.g. bridge:br0 or network:default.'));
  // The define would succeed and the first start fail, after hours of copying.
  const net = req.network;
  if (net.kind === 'bridge' && net.source && host.bridges && !host.bridges.includes(net.source)) {
    refusals.push(new FieldRefusal('network', `There is no bridge ${net.source} on this host.`, host.bridges.length > 0 ? `Use one of: ${host.bridges.join(', ')}.` : 'Create a bridge first, or use a libvirt network or user-mode networking (user).'));
  }
  if (net.kind === 'network' && net.source && host.networks) {
    const found = host.networks.find((n) => n.name === net.source);
    const names = host.networks.map((n) => n.name);
    if (!found) refusals.push(new FieldRefusal('network', `There is no libvirt network ${net.source} on this host.`, names.length > 0 ? `Use one of: ${names.join(', ')}.` : 'Define one with virsh net-define, or use a bridge or user-mode networking (user).'));
    else if (!found.active) warnings.push(`The libvirt network ${found.name} is not running: the guest will not start until it is (virsh net-start ${found.name}; virsh net-autostart ${found.name} keeps it so).`);
  }
  if (host.hostMemoryMiB && Number.isInteger(req.memoryMiB) && req.memoryMiB >= host.hostMemoryMiB) {
    warnings.push(`The guest gets ${req.memoryMiB} MiB of memory and this host has ${host.hostMemoryMiB} MiB in all: it would leave nothing for the host and other guests (give it less, e.g. ${Math.max(32, Math.floor(host.hostMemoryMiB / 2))} MiB).`);
  }
  if (src.mounted.length > 0) {
    const root = src.mounted.includes('/');
    warnings.push(`${root ? 'The source runs from this disk' : 'The source disk has mounted filesystems'} (${src.mounted.join(', ')}): the copy will be crash-inconsistent.`);
  }
  if (req.source.kind === 'ssh' && !req.verifyRemote) warnings.push(remoteVerifySkipReason(src.sizeBytes));
  return { refusals, warnings };
}

export function remoteVerifySkipReason(sizeBytes: number): string {
  return sizeBytes > REMOTE_VERIFY_LIMIT
    ? `The remote checksum is skipped: it reads all ${formatBytes(sizeBytes)} of the source disk a second time (the local copy is still checked against the stream's sha256).`
    : "The remote checksum is skipped as asked; the local copy is still checked against the stream's sha256.";
}

// ---------------------------------------------------------------------------------------------
// Domain XML

/**
 * i440fx (pc) rather than q35: old Windows does not boot on q35, and pc has both IDE and (through
 * libvirt's AHCI controller) SATA. e1000 is driven by Windows since XP-era service packs and by
 * every Linux. Windows keeps its clock in local time.
 */
export function buildP2vDomainXml(req: P2vRequest, domainType: 'kvm' | 'qemu', uuid?: string): string {
  const { final } = p2vPaths(req);
  const windows = req.osType === 'windows';
  return renderDomain({
    type: domainType,
    name: req.name,
    uuid,
    description: `P2V of ${sourceLabel(req.source)} by virtdeck`,
    memoryMiB: req.memoryMiB,
    vcpus: req.vcpus,
    machine: 'pc',
    boot: ['hd'],
    pae: windows,
    clock: windows ? 'localtime' : 'utc',
    devices: [
      diskDevice({ path: final, format: req.format, target: `${req.bus === 'ide' ? 'hd' : 'sd'}a`, bus: req.bus }),
      ...req.macs.map((mac) => interfaceDevice(req.network, 'e1000', normaliseMac(mac))),
      tabletInput('usb'),
      vncGraphics('auto', '127.0.0.1'),
      videoDevice('vga'),
      ...serialConsole(),
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Plan

/** The writer's block: a hole is only left where a whole block is zero, so smaller finds more holes. */
export const SPARSE_BLOCK = '64K';

export interface StreamArgs {
  ssh: string[];
  out: string;
  hashFile: string;
  sizeBytes: number;
}

export interface P2vPlanOptions {
  uri: string;
  xmlFile: string;
  domainType: 'kvm' | 'qemu';
  /**
   * The new guest's UUID, chosen before the define: a define killed before the journal knew it
   * finished can then be run again (same name and UUID is a redefine, not a clash), and its undo
   * can tell this job's guest from one of the same name defined by someone else.
   */
  uuid?: string;
}

/** Arguments of the define's undo: undefine `name` only while it still has this job's UUID. */
export interface P2vUndefineArgs {
  name: string;
  uuid: string;
  xmlFile: string;
}

const rm = (...paths: string[]): CommandSpec => ({ runsOn: 'sys', argv: ['rm', '-f', '--', ...paths] });

/**
 * The stream as a script runs it (what p2v.stream does): ssh's output written sparse by dd, and its
 * sha256 into the hash file on the way. bash for pipefail, so a failed ssh fails the step, not
 * just the dd behind it; fd 3 carries the tee'd copy to sha256sum without a temp file or a race.
 */
export function streamScript(ssh: string[], out: string, hashFile: string): CommandSpec {
  const body = `set -o pipefail; { "\${@:3}" | tee /dev/fd/3 | dd of="$1" bs=${SPARSE_BLOCK} iflag=fullblock conv=sparse status=none; } 3>&1 | sha256sum > "$2"`;
  return { runsOn: 'local', argv: ['bash', '-c', body, 'p2v-stream', out, hashFile, ...ssh] };
}

/** A check as a script runs it (p2v.checkLocal / checkRemote): the sha256 the command prints must be the stream's. */
export function hashCheckScript(argv: string[], hashFile: string, differs: string): CommandSpec {
  const body = `want=$(cut -d ' ' -f 1 "$1"); shift; got=$("$@" | cut -d ' ' -f 1); if [ -z "$got" ] || [ "$got" != "$want" ]; then echo "${differs} (sha256 $got, stream $want)" >&2; exit 1; fi`;
  return { runsOn: 'local', argv: ['sh', '-c', body, 'p2v-check', hashFile, ...argv] };
}

export function planP2v(req: P2vRequest, src: P2vSourceFacts, opts: P2vPlanOptions): Plan {
  const paths = p2vPaths(req);
  const steps: PlanStep[] = [];
  const size = src.sizeBytes;
  if (req.source.kind === 'ssh') {
    const s = req.source;
    const ddWords = ['dd', `if=${s.device}`, 'bs=4M', 'status=none'];
    steps.push({
      id: 'stream',
      title: `stream ${s.device} from ${s.destination} over ssh into ${paths.rawTmp} (${[...sshBase(s), ...ddWords].map(shellQuote).join(' ')} | dd of=${paths.rawTmp} conv=sparse bs=64K iflag=fullblock)`,
      action: { name: 'p2v.stream', args: { ssh: sshArgv(s, ddWords), out: paths.rawTmp, hashFile: paths.hashFile, sizeBytes: size } satisfies StreamArgs },
      script: [streamScript(sshArgv(s, ddWords), paths.rawTmp, paths.hashFile)],
      undo: { title: `remove the partial copy ${paths.rawTmp}`, command: rm(paths.rawTmp, paths.hashFile), partial: true },
      long: true,
    });
    steps.push({
      id: 'check-stream',
      title: "check the written copy against the stream's sha256",
      command: { runsOn: 'sys', argv: ['sha256sum', '--', paths.rawTmp] },
      action: { name: 'p2v.checkLocal', args: { file: paths.rawTmp, hashFile: paths.hashFile } },
      script: [hashCheckScript(['sha256sum', '--', paths.rawTmp], paths.hashFile, 'the written copy differs from what came over the wire')],
      long: true,
    });
    if (req.verifyRemote) {
      steps.push({
        id: 'verify-remote',
        title: `compare with sha256sum of ${s.device} on ${s.destination} (reads the source once more)`,
        command: { runsOn: 'sys', argv: sshArgv(s, ['sha256sum', '--', s.device]) },
        action: { name: 'p2v.checkRemote', args: { ssh: sshArgv(s, ['sha256sum', '--', s.device]), hashFile: paths.hashFile } },
        script: [hashCheckScript(sshArgv(s, ['sha256sum', '--', s.device]), paths.hashFile, 'the source disk changed during the copy')],
        long: true,
      });
    }
    if (req.format === 'qcow2') {
      steps.push({
        id: 'convert',
        title: `convert the raw copy to qcow2 (${paths.tmp})`,
        command: { runsOn: 'sys', argv: convertArgv({ source: paths.rawTmp, sourceFormat: 'raw', dest: paths.tmp, destFormat: 'qcow2', options: { compat: '1.1' } }) },
        progress: { kind: 'qemu-img', totalBytes: size },
        undo: { title: `remove the partial ${paths.tmp}`, command: rm(paths.tmp), partial: true },
        long: true,
      });
      steps.push({
        id: 'compare',
        title: 'compare the qcow2 with the raw copy (qemu-img compare)',
        command: { runsOn: 'sys', argv: compareArgv(paths.rawTmp, paths.tmp, { formatA: 'raw', formatB: 'qcow2' }) },
        progress: { kind: 'qemu-img', totalBytes: size },
        long: true,
      });
    }
  } else {
    const from = req.source.path;
    steps.push({
      id: 'copy',
      title: `copy ${from} into ${paths.tmp} (${req.format}, sparse)`,
      command: {
        runsOn: 'sys',
        argv: convertArgv({ source: from, sourceFormat: 'raw', dest: paths.tmp, destFormat: req.format, options: req.format === 'qcow2' ? { compat: '1.1' } : undefined }),
      },
      progress: { kind: 'qemu-img', totalBytes: size },
      undo: { title: `remove the partial copy ${paths.tmp}`, command: rm(paths.tmp), partial: true },
      long: true,
    });
    steps.push({
      id: 'compare',
      title: `compare the copy with ${from} (qemu-img compare)`,
      command: { runsOn: 'sys', argv: compareArgv(from, paths.tmp, { formatA: 'raw', formatB: req.format }) },
      progress: { kind: 'qemu-img', totalBytes: size },
      long: true,
    });
  }
  steps.push({
    id: 'place',
    title: `put the verified image in place as ${paths.final} (never over an existing file)`,
    command: { runsOn: 'sys', argv: ['ln', '--', paths.tmp, paths.final] },
    // The action links only when the final name is not already this copy: a kill after ln but
    // before the journal recorded it must not make the finish fail on "File exists".
    action: { name: 'p2v.place', args: { final: paths.final, tmp: paths.tmp } },
    // Safe on a partial result: it removes the final name only when it is the temp copy's own inode.
    undo: { title: `remove ${paths.final}`, action: { name: 'p2v.unplace', args: { final: paths.final, tmp: paths.tmp } }, partial: true },
  });
  const xml = buildP2vDomainXml(req, opts.domainType, opts.uuid);
  const undefineCommand: CommandSpec = { runsOn: 'virsh', argv: ['virsh', '-c', opts.uri, 'undefine', '--domain', req.name] };
  steps.push({
    id: 'define',
    title: `define the guest ${req.name} (${req.bus} disk, e1000 NIC${req.macs.length > 1 ? 's' : ''} ${req.macs.join(', ')})`,
    command: { runsOn: 'virsh', argv: ['virsh', '-c', opts.uri, 'define', '--file', opts.xmlFile], timeoutMs: 120_000 },
    writesFile: { path: opts.xmlFile, content: xml },
    undo: opts.uuid
      ? {
          title: `undefine ${req.name} (only while it has this job's UUID ${opts.uuid})`,
          command: undefineCommand,
          action: { name: 'p2v.undefine', args: { name: req.name, uuid: opts.uuid, xmlFile: opts.xmlFile } satisfies P2vUndefineArgs },
          // A define killed midway may or may not have happened; the UUID check makes the undo right either way.
          partial: true,
        }
      : { title: `undefine ${req.name}`, command: undefineCommand },
  });
  const leftovers = [paths.tmp, ...(paths.rawTmp !== paths.tmp ? [paths.rawTmp] : []), ...(req.source.kind === 'ssh' ? [paths.hashFile] : [])];
  steps.push({ id: 'cleanup', title: 'remove the temporary names', command: rm(...leftovers) });
  return { kind: 'p2v', title: `P2V ${sourceLabel(req.source)} → ${req.name}`, targets: { guests: [req.name], images: [paths.final] }, steps };
}
