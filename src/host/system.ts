/**
 * Reads the host facts the checks need: /proc and /sys values, sysctls, mounts, the kernel config,
 * bridges, and per image directory its mount, its files' sizes and the scheduler of the disks
 * under it. One `sh -c` script per look, so it costs one process (one SSH round trip on a remote
 * host) however many directories and images there are; the image directories are passed as
 * positional parameters, never spliced into the script.
 */
import { z } from 'zod';
import type { BlockDiskProbe, FirmwareProbe, ImageDirProbe, ImageFileProbe, KernelConfigProbe, MountProbe, SystemProbe } from '../model/hostChecks.js';
import type { ExecOptions, Executor } from './exec.js';

const SECTION = /^@@vd ([a-z-]+) ?(.*)@@$/;

/**
 * Each section starts with a marker line `@@vd NAME ARG@@`. Commands that may be missing on a
 * small host end in `|| true` so one absent tool leaves its section empty instead of failing all.
 */
export const SYSTEM_SCRIPT = `
sec() { printf '\\n@@vd %s %s@@\\n' "$1" "\${2:-}"; }
KCONF='^(CONFIG_HZ=|CONFIG_NO_HZ_IDLE=|CONFIG_NO_HZ_FULL=|CONFIG_HZ_PERIODIC=)'
sec uname; uname -r
sec cpu; grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\\n' | grep -xE 'vmx|svm|hypervisor' | sort -u | tr '\\n' ' ' || true
sec swappiness; cat /proc/sys/vm/swappiness 2>/dev/null || true
sec ksm; cat /sys/kernel/mm/ksm/run 2>/dev/null || true
sec thp; cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || true
sec mem; grep '^MemTotal:' /proc/meminfo || true
sec shm; findmnt -J -b --mountpoint /dev/shm -o TARGET,FSTYPE,SIZE 2>/dev/null || true
sec kconfig
r=$(uname -r)
if [ -r "/boot/config-$r" ]; then echo "source /boot/config-$r running"; grep -E "$KCONF" "/boot/config-$r"
elif [ -r /proc/config.gz ]; then echo "source /proc/config.gz running"; zcat /proc/config.gz | grep -E "$KCONF"
else f=$(ls -1 /boot/config-* 2>/dev/null | sort -V | tail -n 1); if [ -n "$f" ]; then echo "source $f other"; grep -E "$KCONF" "$f"; fi
fi
sec bridges; ip -j link show type bridge 2>/dev/null || true
sec firmware
for f in /usr/share/qemu/firmware/*.json /etc/qemu/firmware/*.json; do
  [ -r "$f" ] || continue
  printf 'descriptor %s ' "$f"; tr -d '\\n' < "$f"; echo
  sed -n 's/.*"filename": *"\\([^"]*\\)".*/\\1/p' "$f" | while read -r p; do [ -e "$p" ] && printf 'present %s\\n' "$p"; done
done
sec swtpm; for p in swtpm swtpm_setup; do command -v "$p" || true; done
sec swtpmca; [ -d /var/lib/swtpm-localca ] && find /var/lib/swtpm-localca -maxdepth 1 -printf '%u %P\\n' 2>/dev/null || true
for d in "$@"; do
  sec dir "$d"
  [ -d "$d" ] || continue
  findmnt -J -b -T "$d" -o TARGET,SOURCE,FSTYPE,OPTIONS,SIZE,AVAIL 2>/dev/null || true
  sec files "$d"
  find "$d" -maxdepth 1 -type f -printf '%s %b %p\\n' 2>/dev/null | while read -r size blocks path; do
    head=$(od -An -tx1 -N32 -v -- "$path" 2>/dev/null | tr -d ' \\n')
    printf '%s %s %s %s\\n' "$size" "$blocks" "\${head:--}" "$path"
  done
  sec disks "$d"
  src=$(findmnt -n -o SOURCE -T "$d" 2>/dev/null | sed 's/\\[.*\\]$//')
  case "$src" in /dev/*) ;; *) continue ;; esac
  for disk in $(lsblk -nrso NAME,TYPE "$src" 2>/dev/null | awk '$2=="disk"{print $1}' | sort -u); do
    printf '%s %s %s\\n' "$disk" "$(cat /sys/block/$disk/queue/rotational 2>/dev/null || echo -)" "$(cat /sys/block/$disk/queue/scheduler 2>/dev/null)"
  done
done
`;

export interface Sections {
  get(name: string, arg?: string): string | undefined;
}

export function parseSections(stdout: string): Sections {
  const map = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of stdout.split('\n')) {
    const m = line.match(SECTION);
    if (m) {
      current = [];
      map.set(`${m[1]}\u0000${m[2] ?? ''}`, current);
    } else if (current) {
      current.push(line);
    }
  }
  return { get: (name, arg = '') => map.get(`${name}\u0000${arg}`)?.join('\n').trim() };
}

/** findmnt -J -b: sizes are numbers, or strings of digits on older util-linux; fields may be null. */
const findmntSchema = z.object({
  filesystems: z.array(
    z.object({
      target: z.string().nullish(),
      source: z.string().nullish(),
      fstype: z.string().nullish(),
      options: z.string().nullish(),
      size: z.union([z.number(), z.string().regex(/^\d+$/)]).nullish(),
      avail: z.union([z.number(), z.string().regex(/^\d+$/)]).nullish(),
    }),
  ),
});

type FindmntFs = z.infer<typeof findmntSchema>['filesystems'][number];

/** The first filesystem findmnt reports; null for no answer or one of another shape (a remote host's output). */
function findmntFirst(text: string | undefined): FindmntFs | null {
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = findmntSchema.safeParse(raw);
  return parsed.success ? (parsed.data.filesystems[0] ?? null) : null;
}

export function parseMount(text: string | undefined): MountProbe | null {
  const fs = findmntFirst(text);
  if (!fs?.target) return null;
  return {
    target: fs.target,
    source: fs.source ?? '',
    fstype: fs.fstype ?? 'unknown',
    options: (fs.options ?? '').split(',').filter(Boolean),
    sizeBytes: Number(fs.size ?? 0),
    availBytes: Number(fs.avail ?? 0),
  };
}

const QCOW2_MAGIC = '514649fb';

/**
 * `SIZE BLOCKS HEAD PATH` lines: apparent size, 512-byte blocks allocated, the first 32 bytes in
 * hex. A qcow2 keeps its virtual size big-endian at offset 24; for raw and others the apparent size
 * is the virtual size (a sparse raw file is as long as the disk it holds).
 */
export function parseImageFiles(text: string | undefined): ImageFileProbe[] {
  const out: ImageFileProbe[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = line.match(/^(\d+) (\d+) (\S+) (.+)$/);
    if (!m) continue;
    const [, size, blocks, head, path] = m as unknown as [string, string, string, string, string];
    if (/\.iso$/i.test(path)) continue;
    const apparent = Number(size);
    const allocated = Number(blocks) * 512;
    let virtual = apparent;
    const sizeHex = head.startsWith(QCOW2_MAGIC) ? head.slice(48, 64) : '';
    // Anything but 16 hex digits (a remote host's od printing something else) keeps the apparent size.
    if (/^[0-9a-f]{16}$/i.test(sizeHex)) virtual = Number(BigInt(`0x${sizeHex}`));
    out.push({ path, virtualBytes: virtual, allocatedBytes: allocated });
  }
  return out;
}

/** `NAME ROTATIONAL SCHEDULERS` lines, the selected scheduler in brackets. */
export function parseDisks(text: string | undefined): BlockDiskProbe[] {
  const out: BlockDiskProbe[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [name, rota, ...sched] = line.trim().split(/\s+/);
    if (!name) continue;
    const selected = sched.find((s) => /^\[.*\]$/.test(s))?.slice(1, -1) ?? (sched.length === 1 ? (sched[0] ?? null) : null);
    out.push({
      name,
      rotational: rota === '1' ? true : rota === '0' ? false : null,
      scheduler: selected,
      available: sched.map((s) => s.replace(/[[\]]/g, '')),
    });
  }
  return out;
}

export function parseKernelConfig(text: string | undefined, running: string): KernelConfigProbe | null {
  const lines = (text ?? '').split('\n');
  const head = lines[0]?.match(/^source (\S+) (running|other)$/);
  if (!head) return null;
  const has = (key: string) => lines.some((l) => l.trim() === `${key}=y`);
  const hz = lines.map((l) => l.match(/^CONFIG_HZ=(\d+)$/)?.[1]).find(Boolean);
  return {
    source: head[1] as string,
    forRunningKernel: head[2] === 'running',
    running,
    hz: hz ? Number(hz) : null,
    tick: has('CONFIG_NO_HZ_FULL') ? 'full' : has('CONFIG_NO_HZ_IDLE') ? 'idle' : has('CONFIG_HZ_PERIODIC') ? 'periodic' : null,
  };
}

export function parseBridges(text: string | undefined): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text || '[]');
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  return raw
    .map((l: unknown) => (l && typeof l === 'object' && typeof (l as { ifname?: unknown }).ifname === 'string' ? (l as { ifname: string }).ifname : ''))
    .filter(Boolean)
    .sort();
}

/** A firmware descriptor (QEMU's docs/interop/firmware.json), as much as the check needs; hostile when remote. */
const descriptorSchema = z.object({
  'interface-types': z.array(z.string()),
  mapping: z.object({ filename: z.string().optional(), executable: z.object({ filename: z.string() }).optional() }),
  targets: z.array(z.object({ architecture: z.string() })),
  features: z.array(z.string()).default([]),
});

/**
 * Pure: the firmware and swtpm sections → what UEFI and TPM guests can use. A descriptor counts
 * when it is UEFI for x86_64 and the code file it names exists; one that does not parse is skipped.
 * undefined when the host sent no firmware section (a probe script from before it).
 */
export function parseFirmware(firmware: string | undefined, swtpm: string | undefined, swtpmCa?: string): FirmwareProbe | undefined {
  if (firmware === undefined) return undefined;
  const lines = firmware.split('\n');
  const present = new Set(lines.filter((l) => l.startsWith('present ')).map((l) => l.slice('present '.length)));
  const uefi: FirmwareProbe['uefi'] = [];
  for (const line of lines) {
    if (!line.startsWith('descriptor ')) continue;
    const at = line.indexOf(' {');
    if (at < 0) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line.slice(at + 1));
    } catch {
      continue;
    }
    const d = descriptorSchema.safeParse(raw);
    if (!d.success) continue;
    const code = d.data.mapping.executable?.filename ?? d.data.mapping.filename;
    if (!d.data['interface-types'].includes('uefi') || !d.data.targets.some((t) => t.architecture === 'x86_64') || !code || !present.has(code)) continue;
    uefi.push({ path: line.slice('descriptor '.length, at), features: d.data.features });
  }
  const programs = (swtpm ?? '').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('/'));
  const localCa = parseLocalCa(swtpmCa);
  return { uefi, swtpm: programs, ...(localCa ? { localCa } : {}) };
}

/**
 * Pure: `find /var/lib/swtpm-localca -printf '%u %P'` → its owner and the files someone else owns.
 * The first line is the directory itself (an empty %P). undefined when the directory is absent.
 */
export function parseLocalCa(text: string | undefined): FirmwareProbe['localCa'] {
  const lines = (text ?? '').split('\n').filter((l) => l.trim() !== '');
  const first = lines[0]?.match(/^(\S+) ?$/);
  if (!first) return undefined;
  const owner = first[1] as string;
  const foreign = lines
    .slice(1)
    .map((l) => l.match(/^(\S+) (.+)$/))
    .filter((m): m is RegExpMatchArray => m !== null && m[1] !== owner)
    .map((m) => ({ name: m[2] as string, owner: m[1] as string }));
  return { owner, foreign };
}

export interface SystemFacts {
  system: SystemProbe;
  bridges: string[];
  imageDirs: ImageDirProbe[];
}

/** Pure: the script's output → facts. */
export function parseSystemFacts(stdout: string, imageDirs: string[]): SystemFacts {
  const s = parseSections(stdout);
  const running = s.get('uname') ?? 'unknown';
  const flags = (s.get('cpu') ?? '').split(/\s+/).filter(Boolean);
  const shm = parseMount(s.get('shm'));
  const memKiB = s.get('mem')?.match(/(\d+)\s*kB/)?.[1];
  const ksm = s.get('ksm');
  const swappiness = s.get('swappiness');
  const system: SystemProbe = {
    cpu: { virtFlag: flags.find((f) => f === 'vmx' || f === 'svm') ?? null, hypervisor: flags.includes('hypervisor') },
    sysctl: { 'vm.swappiness': swappiness ? swappiness : null },
    shm: shm ? { fstype: shm.fstype, sizeBytes: shm.sizeBytes } : null,
    kernelConfig: parseKernelConfig(s.get('kconfig'), running),
    ksmRun: ksm && /^\d+$/.test(ksm) ? Number(ksm) : null,
    thp: s.get('thp')?.match(/\[(\w+)\]/)?.[1] ?? null,
    memTotalKiB: memKiB ? Number(memKiB) : null,
  };
  const firmware = parseFirmware(s.get('firmware'), s.get('swtpm'), s.get('swtpmca'));
  if (firmware) system.firmware = firmware;
  const dirs = imageDirs.map((dir): ImageDirProbe => {
    const mount = parseMount(s.get('dir', dir));
    return { dir, exists: mount !== null, mount, images: parseImageFiles(s.get('files', dir)), disks: parseDisks(s.get('disks', dir)) };
  });
  return { system, bridges: parseBridges(s.get('bridges')), imageDirs: dirs };
}

/** Runs the script once through the executor (local or over SSH) and parses it. */
export async function readSystemFacts(exec: Executor, imageDirs: string[], opts: Pick<ExecOptions, 'signal' | 'timeoutMs'> = {}): Promise<SystemFacts> {
  const r = await exec.run(['sh', '-c', SYSTEM_SCRIPT, 'virtdeck-probe', ...imageDirs], { timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal });
  return parseSystemFacts(r.stdout, imageDirs);
}
