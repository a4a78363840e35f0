/**
 * Host checks: the rules in assets/host-checks.json applied to what the probes measured. Pure —
 * the probes are gathered by src/jobs/hostChecks.ts — so every outcome is unit-tested from
 * scripted inputs. A rule says what "good" is (expect), how bad it is when missed (severity), why
 * it matters and the exact commands that fix it; the evaluator per probe kind fills in the facts.
 */

import { z } from 'zod';
import rulesFile from '../../assets/host-checks.json' with { type: 'json' };
import type { GuestDisk, GuestNic } from './domainSummary.js';
import { isActive } from './guest.js';
import { formatBytesLong as formatBytes } from './units.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export const PROBE_KINDS = [
  'cpu.flags',
  'kvm.probe',
  'libvirt.version',
  'net.bridges',
  'dir.free',
  'dir.fstype',
  'dir.atime',
  'dir.overcommit',
  'disk.scheduler',
  'sysctl',
  'shm',
  'kernel.hz',
  'ksm',
  'thp',
  'guests.cdrom',
  'guests.ide',
  'guests.mac',
  'host.ovmf',
  'host.swtpm',
  'host.swtpmca',
] as const;
export type ProbeKind = (typeof PROBE_KINDS)[number];

const ruleSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  title: z.string().min(1),
  probe: z.enum(PROBE_KINDS),
  expect: z.record(z.string(), z.unknown()),
  severity: z.enum(['warn', 'fail']),
  why: z.string().min(1),
  fix: z.array(z.string().min(1)).min(1),
  safeFix: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('sysctl'), key: z.string().regex(/^[a-z0-9_.]+$/), value: z.string().regex(/^[0-9A-Za-z_ .-]+$/) }),
    z.object({ kind: z.literal('remount-noatime') }),
  ]).optional(),
});

export type HostCheckRule = z.infer<typeof ruleSchema>;

export function parseRules(raw: unknown): HostCheckRule[] {
  const rules = z.array(ruleSchema).parse(raw);
  const ids = new Set<string>();
  for (const r of rules) {
    if (ids.has(r.id)) throw new Error(`host-checks.json: duplicate rule id ${r.id}`);
    ids.add(r.id);
  }
  return rules;
}

export const HOST_CHECK_RULES: HostCheckRule[] = parseRules((rulesFile as { rules: unknown }).rules);

/** A fix virtdeck may apply itself, after a confirmation naming the file and line it changes. */
export type SafeFix = { kind: 'sysctl'; key: string; value: string } | { kind: 'remount-noatime'; mountpoint: string };

export interface CheckResult {
  /** Rule id, plus the subject for per-directory rules: "image-dir-space:/var/lib/libvirt/images". */
  id: string;
  rule: string;
  status: CheckStatus;
  title: string;
  /** One sentence: what was found. */
  detail: string;
  why: string;
  /** Exact commands, placeholders filled. */
  fix: string[];
  safeFix: SafeFix | null;
}

// ---------------------------------------------------------------------------------------------
// What the probes measured

/** A probe either measured something or says in one sentence why it could not. */
export type Probed<T> = { value: T } | { error: string };

export interface CpuProbe {
  /** 'vmx' or 'svm', or null when /proc/cpuinfo shows neither. */
  virtFlag: string | null;
  /** The host is itself a virtual machine (cpuinfo "hypervisor" flag). */
  hypervisor: boolean;
}

export interface MountProbe {
  target: string;
  source: string;
  fstype: string;
  options: string[];
  sizeBytes: number;
  availBytes: number;
}

export interface ImageFileProbe {
  path: string;
  virtualBytes: number;
  allocatedBytes: number;
}

export interface BlockDiskProbe {
  name: string;
  rotational: boolean | null;
  scheduler: string | null;
  available: string[];
}

export interface ImageDirProbe {
  dir: string;
  exists: boolean;
  mount: MountProbe | null;
  images: ImageFileProbe[];
  /** The whole disks under the file system (through partitions, LVM, RAID). */
  disks: BlockDiskProbe[];
}

export interface KernelConfigProbe {
  /** Where the config was read: /boot/config-R, /proc/config.gz or another kernel's file. */
  source: string;
  forRunningKernel: boolean;
  running: string;
  hz: number | null;
  tick: 'idle' | 'full' | 'periodic' | null;
}

/** What the host has for UEFI and TPM guests. */
export interface FirmwareProbe {
  /** x86_64 UEFI firmware descriptors libvirt can pick (the code file they name exists), with their features. */
  uefi: { path: string; features: string[] }[];
  /** The swtpm programs found on PATH (libvirt needs swtpm and swtpm_setup). */
  swtpm: string[];
  /**
   * /var/lib/swtpm-localca, where swtpm_setup signs each new TPM's certificate: its owner (the user
   * libvirt runs swtpm_setup as) and files another user owns. Absent when the directory is.
   */
  localCa?: { owner: string; foreign: { name: string; owner: string }[] };
}

export interface SystemProbe {
  cpu: CpuProbe;
  sysctl: Record<string, string | null>;
  /** null when /dev/shm is not a mount point. */
  shm: { fstype: string; sizeBytes: number } | null;
  kernelConfig: KernelConfigProbe | null;
  /** /sys/kernel/mm/ksm/run: 0 off, 1 on, 2 unmerge; null when the kernel has no KSM. */
  ksmRun: number | null;
  /** The selected transparent-hugepage mode, or null without THP. */
  thp: string | null;
  memTotalKiB: number | null;
  /** Absent: the host did not report it (an older probe script). */
  firmware?: FirmwareProbe;
}

export interface NetworkProbe {
  bridges: string[];
  networks: { name: string; active: boolean; bridge: string | null }[];
}

export interface GuestProbe {
  name: string;
  state: string;
  osType: string | null;
  memoryKiB: number;
  disks: GuestDisk[];
  nics: GuestNic[];
  /** MAC of each NIC in the saved (inactive) definition, null where it has none; null for a transient guest. */
  savedMacs: (string | null)[] | null;
}

export interface HostProbes {
  system: Probed<SystemProbe>;
  accel: Probed<{ accel: 'kvm' | 'tcg'; reason: string }>;
  libvirt: Probed<{ libvirt: string; hypervisor: string }>;
  network: Probed<NetworkProbe>;
  guests: Probed<GuestProbe[]>;
  imageDirs: Probed<ImageDirProbe[]>;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** 'bad' means "the expectation is not met": the rule's severity decides warn or fail. */
interface Outcome {
  subject?: string;
  status: CheckStatus | 'bad';
  detail: string;
  vars?: Record<string, string>;
  /** Per-item values: a fix line naming one of their keys is repeated for each item. */
  items?: Record<string, string>[];
  safeFix?: SafeFix;
}

type Evaluator = (rule: HostCheckRule, p: HostProbes) => Outcome[];

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function listNames(names: string[], max = 4): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** The probe could not run: say so as a warning, never as "ok". */
function unknown(error: string): Outcome[] {
  return [{ status: 'warn', detail: `Could not check: ${error}` }];
}

function withSystem(p: HostProbes, run: (s: SystemProbe) => Outcome[]): Outcome[] {
  return 'error' in p.system ? unknown(p.system.error) : run(p.system.value);
}

function withDirs(p: HostProbes, run: (d: ImageDirProbe) => Outcome): Outcome[] {
  if ('error' in p.imageDirs) return unknown(p.imageDirs.error);
  return p.imageDirs.value.map((d) => {
    if (!d.exists || !d.mount) return { subject: d.dir, status: 'fail', detail: `The image directory ${d.dir} does not exist.`, vars: { dir: d.dir, mount: d.dir } };
    return { subject: d.dir, ...run(d) };
  });
}

const cpuFlags: Evaluator = (_r, p) =>
  withSystem(p, ({ cpu }) => {
    if (cpu.virtFlag) return [{ status: 'ok', detail: `The CPU has ${cpu.virtFlag === 'vmx' ? 'Intel VT-x (vmx)' : 'AMD-V (svm)'}.` }];
    const nested = cpu.hypervisor ? ' This host is itself a virtual machine, and its hypervisor does not pass the extensions through (nested virtualization off).' : '';
    return [{ status: 'bad', detail: `The CPU shows no vmx or svm flag.${nested}` }];
  });

const kvmProbe: Evaluator = (_r, p) => {
  if ('error' in p.accel) return unknown(p.accel.error);
  const a = p.accel.value;
  if (a.accel === 'kvm') return [{ status: 'ok', detail: a.reason }];
  return [{ status: 'bad', detail: `Guests run under TCG (software emulation): ${a.reason.replace(/^KVM is not usable: /, '').replace(/; guests run under TCG emulation\.$/, '.')}` }];
};

const libvirtVersion: Evaluator = (_r, p) => {
  if ('error' in p.libvirt) return [{ status: 'bad', detail: `libvirtd does not answer: ${p.libvirt.error}` }];
  return [{ status: 'ok', detail: `libvirt ${p.libvirt.value.libvirt} answers, hypervisor ${p.libvirt.value.hypervisor}.` }];
};

const netBridges: Evaluator = (_r, p) => {
  if ('error' in p.network) return unknown(p.network.error);
  if ('error' in p.guests) return unknown(p.guests.error);
  const { bridges, networks } = p.network.value;
  const users = new Map<string, string[]>();
  // One entry per guest and missing thing: two NICs on the same missing network are one problem.
  const missing = new Map<string, { item: Record<string, string>; text: string }>();
  const miss = (guest: string, key: 'bridge' | 'network' | 'inactive', name: string, text: string) => missing.set(`${guest}\0${key}\0${name}`, { item: { guest, [key]: name }, text });
  for (const g of p.guests.value) {
    for (const n of g.nics) {
      if (!n.source) continue;
      if (n.type === 'bridge') {
        if (!bridges.includes(n.source)) miss(g.name, 'bridge', n.source, `${g.name} on the missing bridge ${n.source}`);
        else users.set(n.source, [...(users.get(n.source) ?? []), g.name]);
      } else if (n.type === 'network') {
        const net = networks.find((x) => x.name === n.source);
        if (!net) miss(g.name, 'network', n.source, `${g.name} on the missing network ${n.source}`);
        else if (!net.active) miss(g.name, 'inactive', n.source, `${g.name} on the missing network ${n.source} (not started)`);
        else if (net.bridge) users.set(net.bridge, [...(users.get(net.bridge) ?? []), g.name]);
      }
    }
  }
  const used = bridges.map((b) => `${b}: ${users.get(b)?.length ? listNames([...new Set(users.get(b))]) : 'no guests'}`);
  const have = bridges.length ? `Bridges ${used.join('; ')}.` : 'No bridges on this host.';
  if (missing.size === 0) return [{ status: 'ok', detail: have }];
  const items = [...missing.values()].map((m) => m.item);
  const text = [...missing.values()].map((m) => m.text);
  return [{ status: 'bad', detail: `${listNames(text, 3)}. ${have}`, items }];
};

const dirFree: Evaluator = (r, p) =>
  withDirs(p, (d) => {
    const m = d.mount as MountProbe;
    const pct = m.sizeBytes > 0 ? (m.availBytes / m.sizeBytes) * 100 : 0;
    const detail = `${d.dir} (on ${m.target}): ${formatBytes(m.availBytes)} free of ${formatBytes(m.sizeBytes)} (${pct.toFixed(0)} %).`;
    const vars = { dir: d.dir, mount: m.target };
    if (pct < num(r.expect.failBelowPercent, 5) || m.availBytes < num(r.expect.failBelowBytes, 0)) return { status: 'fail', detail, vars };
    if (pct < num(r.expect.warnBelowPercent, 15)) return { status: 'warn', detail, vars };
    return { status: 'ok', detail, vars };
  });

const dirFstype: Evaluator = (r, p) =>
  withDirs(p, (d) => {
    const m = d.mount as MountProbe;
    const vars = { dir: d.dir, mount: m.target };
    const recommended = strings(r.expect.recommended);
    if (recommended.includes(m.fstype)) return { status: 'ok', detail: `${d.dir} is on ${m.fstype}.`, vars };
    const cautions = (r.expect.cautions ?? {}) as Record<string, string>;
    const why = cautions[m.fstype];
    return { status: 'bad', detail: `${d.dir} is on ${m.fstype}${why ? `: ${why}` : `, not one of ${recommended.join(', ')}`}.`, vars };
  });

/** The atime mode a mount's options select: Linux defaults to relatime when none is named. */
export function atimeMode(options: string[]): 'noatime' | 'relatime' | 'strictatime' {
  if (options.includes('noatime')) return 'noatime';
  if (options.includes('strictatime')) return 'strictatime';
  return 'relatime';
}

const dirAtime: Evaluator = (r, p) =>
  withDirs(p, (d) => {
    const m = d.mount as MountProbe;
    const vars = { dir: d.dir, mount: m.target };
    const mode = atimeMode(m.options);
    if (mode === r.expect.option) return { status: 'ok', detail: `${m.target} (holding ${d.dir}) is mounted noatime.`, vars };
    return {
      status: 'bad',
      detail: `${m.target} (holding ${d.dir}) is mounted ${mode}, not noatime.`,
      vars,
      safeFix: r.safeFix?.kind === 'remount-noatime' ? { kind: 'remount-noatime', mountpoint: m.target } : undefined,
    };
  });

const dirOvercommit: Evaluator = (r, p) =>
  withDirs(p, (d) => {
    const m = d.mount as MountProbe;
    const vars = { dir: d.dir, mount: m.target };
    const claim = d.images.reduce((n, i) => n + Math.max(0, i.virtualBytes - i.allocatedBytes), 0);
    const share = m.availBytes > 0 ? claim / m.availBytes : claim > 0 ? Number.POSITIVE_INFINITY : 0;
    const shareText = Number.isFinite(share) ? `${(share * 100).toFixed(0)} %` : 'all';
    const detail = `${plural(d.images.length, 'image')} in ${d.dir} may still grow by ${formatBytes(claim)}: ${shareText} of the ${formatBytes(m.availBytes)} free.`;
    return { status: share > num(r.expect.warnAboveShareOfFree, 1) ? 'bad' : 'ok', detail, vars };
  });

const diskScheduler: Evaluator = (r, p) => {
  if ('error' in p.imageDirs) return unknown(p.imageDirs.error);
  const seen = new Map<string, { disk: BlockDiskProbe; dirs: string[] }>();
  const notBlock: string[] = [];
  for (const d of p.imageDirs.value) {
    if (!d.exists) continue;
    if (d.disks.length === 0) notBlock.push(d.dir);
    for (const disk of d.disks) seen.set(disk.name, { disk, dirs: [...(seen.get(disk.name)?.dirs ?? []), d.dir] });
  }
  if (seen.size === 0) {
    return [{ status: 'ok', detail: notBlock.length ? `${listNames(notBlock)} is not on a local block device; no scheduler applies.` : 'No image directory exists to check.' }];
  }
  const bad: Record<string, string>[] = [];
  const parts: string[] = [];
  for (const { disk, dirs } of seen.values()) {
    const kind = disk.rotational ? 'rotational' : 'solid';
    const ok = strings(r.expect[kind]);
    const label = disk.rotational === null ? '' : disk.rotational ? ' (spinning)' : ' (SSD/virtual)';
    parts.push(`${disk.name}${label} uses ${disk.scheduler ?? 'no scheduler'} for ${listNames(dirs, 2)}`);
    if (disk.scheduler && !ok.includes(disk.scheduler)) {
      const want = ok.find((s) => disk.available.includes(s)) ?? ok[0] ?? 'mq-deadline';
      bad.push({ device: disk.name, want });
    }
  }
  return [{ status: bad.length ? 'bad' : 'ok', detail: `${parts.join('; ')}.`, items: bad.length ? bad : undefined }];
};

const sysctl: Evaluator = (r, p) =>
  withSystem(p, (s) => {
    const key = String(r.expect.key);
    const raw = s.sysctl[key];
    if (raw === null || raw === undefined) return [{ status: 'warn', detail: `${key} could not be read.` }];
    const value = Number(raw);
    const max = num(r.expect.max, Number.POSITIVE_INFINITY);
    const min = num(r.expect.min, Number.NEGATIVE_INFINITY);
    const safeFix = r.safeFix?.kind === 'sysctl' ? { kind: 'sysctl' as const, key: r.safeFix.key, value: r.safeFix.value } : undefined;
    if (value > max) return [{ status: 'bad', detail: `${key} is ${raw}; ${max} or less suits a virtualization host.`, safeFix }];
    if (value < min) return [{ status: 'bad', detail: `${key} is ${raw}; ${min} or more suits a virtualization host.`, safeFix }];
    return [{ status: 'ok', detail: `${key} is ${raw}.` }];
  });

const shm: Evaluator = (r, p) =>
  withSystem(p, (s) => {
    if (!s.shm) return [{ status: 'fail', detail: '/dev/shm is not mounted.' }];
    if (s.shm.fstype !== 'tmpfs') return [{ status: 'fail', detail: `/dev/shm is ${s.shm.fstype}, not tmpfs.` }];
    const min = num(r.expect.minBytes, 0);
    if (s.shm.sizeBytes < min) return [{ status: 'bad', detail: `/dev/shm is a tmpfs of only ${formatBytes(s.shm.sizeBytes)} (want at least ${formatBytes(min)}).` }];
    return [{ status: 'ok', detail: `/dev/shm is a tmpfs of ${formatBytes(s.shm.sizeBytes)}.` }];
  });

const kernelHz: Evaluator = (_r, p) =>
  withSystem(p, (s) => {
    const k = s.kernelConfig;
    if (!k) return [{ status: 'warn', detail: 'No kernel config was found (/boot/config-*, /proc/config.gz), so the timer frequency is unknown.' }];
    const hz = k.hz ? `HZ=${k.hz}` : 'HZ unknown';
    const tick = k.tick === 'idle' ? 'tickless when idle (NO_HZ_IDLE)' : k.tick === 'full' ? 'fully tickless (NO_HZ_FULL)' : k.tick === 'periodic' ? 'a periodic tick' : 'an unknown tick mode';
    if (!k.forRunningKernel) {
      return [{ status: 'warn', detail: `The running kernel ${k.running} has no readable config; ${k.source} (another kernel) says ${hz}, ${tick}.` }];
    }
    const detail = `Kernel ${k.running}: ${hz}, ${tick} (from ${k.source}).`;
    return [{ status: k.tick === 'idle' || k.tick === 'full' ? 'ok' : 'bad', detail }];
  });

const ksm: Evaluator = (r, p) =>
  withSystem(p, (s) => {
    if (s.ksmRun === null) return [{ status: 'ok', detail: 'This kernel has no KSM; nothing to tune.' }];
    const on = s.ksmRun === 1;
    const guestsKiB = 'error' in p.guests ? 0 : p.guests.value.reduce((n, g) => n + g.memoryKiB, 0);
    const host = s.memTotalKiB ?? 0;
    const share = host > 0 ? guestsKiB / host : 0;
    const committed = `Guests are given ${formatBytes(guestsKiB * 1024)} of ${formatBytes(host * 1024)} host memory (${(share * 100).toFixed(0)} %)`;
    if (!on && share > num(r.expect.onWhenCommittedShare, 0.9)) return [{ status: 'bad', detail: `KSM is off. ${committed}: merging identical pages would leave room.` }];
    return [{ status: 'ok', detail: `KSM is ${on ? 'on' : 'off'}. ${committed}.` }];
  });

const thp: Evaluator = (r, p) =>
  withSystem(p, (s) => {
    if (!s.thp) return [{ status: 'warn', detail: 'This kernel offers no transparent hugepages.' }];
    const ok = strings(r.expect.allowed).includes(s.thp);
    return [{ status: ok ? 'ok' : 'bad', detail: `Transparent hugepages: ${s.thp}.` }];
  });

function withGuests(p: HostProbes, run: (g: GuestProbe[]) => Outcome[]): Outcome[] {
  return 'error' in p.guests ? unknown(p.guests.error) : run(p.guests.value);
}

const guestsCdrom: Evaluator = (_r, p) =>
  withGuests(p, (guests) => {
    const items: Record<string, string>[] = [];
    const text: string[] = [];
    for (const g of guests) {
      for (const d of g.disks) {
        if (d.device !== 'cdrom' || !d.source) continue;
        items.push({ guest: g.name, target: d.target, live: isActive(g.state) ? ' --live' : '' });
        text.push(`${g.name} (${d.target}: ${d.source.split('/').pop()})`);
      }
    }
    if (items.length === 0) return [{ status: 'ok', detail: 'No guest has a CD-ROM image inserted.' }];
    return [{ status: 'bad', detail: `${plural(items.length, 'CD-ROM')} inserted: ${listNames(text, 3)}.`, items }];
  });

/** A guest counts as Linux when its libosinfo id names a Linux distribution. */
export function isLinuxOs(osType: string | null, pattern: string): boolean {
  if (!osType) return false;
  return new RegExp(`(?:^|[/.:-])(?:${pattern})`, 'i').test(osType) || new RegExp(`^(?:${pattern})`, 'i').test(osType);
}

const guestsIde: Evaluator = (r, p) =>
  withGuests(p, (guests) => {
    const pattern = String(r.expect.linuxOs ?? 'linux');
    const linux = guests.filter((g) => isLinuxOs(g.osType, pattern));
    const items: Record<string, string>[] = [];
    for (const g of linux) for (const d of g.disks) if (d.device === 'disk' && d.bus === 'ide') items.push({ guest: g.name, target: d.target });
    const unknownOs = guests.filter((g) => !g.osType).length;
    const note = unknownOs ? ` (${plural(unknownOs, 'guest')} without a recorded OS not judged)` : '';
    if (items.length === 0) return [{ status: 'ok', detail: `No Linux guest has a disk on IDE${note}.` }];
    const names = [...new Set(items.map((i) => i.guest as string))];
    return [{ status: 'bad', detail: `Linux guests with IDE disks: ${listNames(names)}${note}.`, items }];
  });

const guestsMac: Evaluator = (_r, p) =>
  withGuests(p, (guests) => {
    const items: Record<string, string>[] = [];
    const owners = new Map<string, string[]>();
    for (const g of guests) {
      (g.savedMacs ?? []).forEach((mac, index) => {
        if (mac === null) items.push({ guest: g.name, index: String(index) });
        else owners.set(mac.toLowerCase(), [...(owners.get(mac.toLowerCase()) ?? []), g.name]);
      });
    }
    const dupes = [...owners.entries()].filter(([, names]) => new Set(names).size > 1);
    const dupeText = dupes.map(([mac, names]) => `${mac} is used by ${[...new Set(names)].join(' and ')}`);
    const transient = guests.filter((g) => g.savedMacs === null).length;
    const note = transient ? ` ${plural(transient, 'transient guest')} not judged.` : '';
    if (dupes.length) {
      return [{ status: 'fail', detail: `Duplicate MACs: ${listNames(dupeText, 2)}; they cannot share a network.${note}`, items }];
    }
    if (items.length === 0) return [{ status: 'ok', detail: `Every NIC of ${plural(guests.length, 'guest')} has a fixed MAC.${note}` }];
    const names = [...new Set(items.map((i) => i.guest as string))];
    return [{ status: 'bad', detail: `NICs without a saved MAC: ${listNames(names)}.${note}`, items }];
  });

function withFirmware(p: HostProbes, run: (f: FirmwareProbe) => Outcome[]): Outcome[] {
  return withSystem(p, (s) => (s.firmware ? run(s.firmware) : [{ status: 'warn', detail: 'Could not check: the host did not report its firmware files.' }]));
}

const hostOvmf: Evaluator = (_r, p) =>
  withFirmware(p, ({ uefi }) => {
    const plain = uefi.some((d) => !d.features.includes('secure-boot'));
    const secure = uefi.some((d) => d.features.includes('secure-boot') && d.features.includes('enrolled-keys'));
    if (plain && secure) return [{ status: 'ok', detail: `OVMF for UEFI guests, with and without Secure Boot (Microsoft keys enrolled): ${plural(uefi.length, 'firmware descriptor')}.` }];
    if (!plain && !secure) return [{ status: 'bad', detail: 'No UEFI firmware for x86_64 guests: no descriptor in /usr/share/qemu/firmware names an OVMF file that exists.' }];
    return [{ status: 'bad', detail: plain ? 'OVMF is here, but no build with Secure Boot and Microsoft keys enrolled: Secure Boot guests will not start.' : 'OVMF is here only with Secure Boot: UEFI guests without it will not start.' }];
  });

const hostSwtpm: Evaluator = (_r, p) =>
  withFirmware(p, ({ swtpm }) => {
    const missing = ['swtpm', 'swtpm_setup'].filter((name) => !swtpm.some((path) => path.endsWith(`/${name}`)));
    if (missing.length === 0) return [{ status: 'ok', detail: 'swtpm and swtpm_setup are installed: guests can have a TPM 2.0.' }];
    return [{ status: 'bad', detail: `${missing.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed: a guest with a TPM will not start.` }];
  });

// A swtpm_setup once run by hand as root leaves the CA's lock and serial files owned by root;
// libvirt runs it as the directory's owner (tss), which then cannot take the lock.
const hostSwtpmCa: Evaluator = (_r, p) =>
  withFirmware(p, ({ localCa }) => {
    if (!localCa) return [{ status: 'ok', detail: 'No local TPM certificate authority yet: swtpm_setup creates it for the first TPM guest.' }];
    const { owner, foreign } = localCa;
    if (foreign.length === 0) return [{ status: 'ok', detail: `The local TPM certificate authority (/var/lib/swtpm-localca) belongs to ${owner}, who runs swtpm_setup.` }];
    const shown = foreign.slice(0, 3).map((f) => `${f.name} (${f.owner})`).join(', ');
    return [
      {
        status: 'bad',
        detail: `${plural(foreign.length, 'file')} in /var/lib/swtpm-localca ${foreign.length === 1 ? 'belongs' : 'belong'} to another user than ${owner} (${shown}${foreign.length > 3 ? ', …' : ''}): swtpm_setup, run as ${owner}, cannot sign a new TPM, so a guest with a TPM will not start.`,
        vars: { owner },
      },
    ];
  });

const EVALUATORS: Record<ProbeKind, Evaluator> = {
  'cpu.flags': cpuFlags,
  'kvm.probe': kvmProbe,
  'libvirt.version': libvirtVersion,
  'net.bridges': netBridges,
  'dir.free': dirFree,
  'dir.fstype': dirFstype,
  'dir.atime': dirAtime,
  'dir.overcommit': dirOvercommit,
  'disk.scheduler': diskScheduler,
  sysctl,
  shm,
  'kernel.hz': kernelHz,
  ksm,
  thp,
  'guests.cdrom': guestsCdrom,
  'guests.ide': guestsIde,
  'guests.mac': guestsMac,
  'host.ovmf': hostOvmf,
  'host.swtpm': hostSwtpm,
  'host.swtpmca': hostSwtpmCa,
};

function fill(line: string, vars: Record<string, string>): string {
  return line.replace(/\{([a-z]+)\}/g, (all, key: string) => vars[key] ?? all);
}

/**
 * The fix lines with placeholders filled. Where a check found items, a line naming a per-item key
 * is repeated for each item that has it (one eject command per inserted CD-ROM; `ip link add` only
 * for a missing bridge, `virsh net-start` only for a stopped network) and left out when none has
 * it; without items, lines still holding a placeholder are kept generic.
 */
export function fillFix(lines: string[], vars: Record<string, string> = {}, items: Record<string, string>[] = []): string[] {
  const out: string[] = [];
  for (const line of lines) {
    const open = [...line.matchAll(/\{([a-z]+)\}/g)].map((m) => m[1] as string).filter((k) => !(k in vars));
    if (items.length > 0 && open.length > 0) {
      for (const item of items) if (open.every((k) => k in item)) out.push(fill(line, { ...vars, ...item }));
    } else {
      out.push(fill(line, vars));
    }
  }
  return [...new Set(out)];
}

/** Every rule applied to the probes; per-directory rules give one result per image directory. */
export function evaluateChecks(probes: HostProbes, rules: HostCheckRule[] = HOST_CHECK_RULES): CheckResult[] {
  const results: CheckResult[] = [];
  for (const rule of rules) {
    for (const o of EVALUATORS[rule.probe](rule, probes)) {
      const status: CheckStatus = o.status === 'bad' ? rule.severity : o.status;
      results.push({
        id: o.subject ? `${rule.id}:${o.subject}` : rule.id,
        rule: rule.id,
        status,
        title: o.subject ? `${rule.title}: ${o.subject}` : rule.title,
        detail: o.detail,
        why: rule.why,
        fix: status === 'ok' ? [] : fillFix(rule.fix, o.vars, o.items),
        safeFix: status === 'ok' ? null : (o.safeFix ?? null),
      });
    }
  }
  return results;
}

/** Worst status wins: the doctor's exit code and the pane's summary. */
export function overallStatus(results: CheckResult[]): CheckStatus {
  if (results.some((r) => r.status === 'fail')) return 'fail';
  if (results.some((r) => r.status === 'warn')) return 'warn';
  return 'ok';
}

export function countByStatus(results: CheckResult[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const r of results) counts[r.status]++;
  return counts;
}
