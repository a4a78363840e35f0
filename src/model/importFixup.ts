/**
 * The guest fix-up after an import's copy, pure: which engine runs and why, the bus the disks get
 * because of it, and its plan step. A VMware guest boots on QEMU only with drivers for the disk
 * controller it finds there:
 *
 * - `v2v`: virt-v2v-in-place (libguestfs) on the converted copies while they are still in their
 *   private temp directories, before they are linked into place: for Linux it rebuilds the
 *   initramfs with virtio drivers and fixes fstab and the boot loader; for Windows it installs the
 *   virtio drivers from the virtio-win ISO the admin names. The disks then go on virtio.
 * - `mergeide`: virtdeck's offline MergeIDE (model/mergeide.ts) on the defined guest, whose disks
 *   are the import's own copies, and the disks on IDE: what Windows 2000/XP/2003 boots from.
 * - `none`: the copy as it is.
 *
 * Never on the only copy: a fix-up needs converted disks (the VMware files are only ever read).
 */
import type { ConvertTarget } from './convertPlan.js';
import type { PlanStep } from './plan.js';
import { FieldRefusal, type UserError } from './userError.js';
import type { VmxGuest } from './vmx.js';
import type { BusChoice } from './vmxToDomain.js';
import { checkXmlText, escapeXml } from './xmlText.js';

export type FixupChoice = 'auto' | 'v2v' | 'mergeide' | 'none';
export const FIXUP_CHOICES: FixupChoice[] = ['auto', 'v2v', 'mergeide', 'none'];
export type FixupEngine = 'v2v' | 'mergeide' | 'none';

/** What the host has for fix-ups (absent: not looked at, as good as missing). */
export interface FixupTools {
  v2vInPlace: boolean;
}

export interface FixupRequest {
  convert: 'none' | 'qcow2' | 'raw';
  bus: BusChoice;
  /** Default 'none': an import is a plain copy unless a fix-up is asked for. */
  fixup?: FixupChoice;
  /** The virtio-win ISO on the host (already checked to be a readable regular file). */
  virtioWin?: string;
}

export interface FixupDecision {
  engine: FixupEngine;
  /** One sentence for the review screen, the dry run and --json. */
  why: string;
  /** The bus the disks go on when the admin kept the .vmx's ('keep'); absent: the .vmx's. */
  bus?: Exclude<BusChoice, 'keep'>;
  refusal?: UserError;
}

/** Windows before Vista finds no driver for an unknown disk controller: only MergeIDE's IDE entries help. */
const LEGACY_WINDOWS_RE = /^(win2000|winnt|winxp|winnet|whistler|nt4|win31|win95|win98|winme)/i;

export function isLegacyWindows(guestOS: string | null): boolean {
  return guestOS !== null && LEGACY_WINDOWS_RE.test(guestOS);
}

const V2V_LINUX = 'virt-v2v-in-place rebuilds the initramfs with virtio drivers and fixes fstab and the boot loader on the copy; the disks go on virtio';
const NO_V2V = 'virt-v2v-in-place is not installed (apt install virt-v2v)';

function refuse(sentence: string, fix: string, engine: FixupEngine = 'none'): FixupDecision {
  return { engine, why: sentence, refusal: new FieldRefusal('fixup', sentence, fix) };
}

/** Which fix-up runs for this guest and request, and why; a refusal when the choice cannot be honoured. */
export function decideFixup(guest: Pick<VmxGuest, 'windows' | 'guestOS'>, req: FixupRequest, tools: FixupTools | undefined): FixupDecision {
  const choice = req.fixup ?? 'none';
  const v2v = tools?.v2vInPlace === true;
  const iso = req.virtioWin;
  if (choice === 'none') {
    return { engine: 'none', why: 'no fix-up asked for (--fixup none): the guest gets its disks as copied' };
  }
  if (req.convert === 'none') {
    if (choice === 'auto') return { engine: 'none', why: 'no fix-up: the vmdk files are used in place and virtdeck never changes the only copy (convert the disks to have them fixed up)' };
    return refuse('A fix-up changes the guest\'s disks, and without conversion they are the VMware files themselves.', 'Convert the disks (--convert qcow2) so the fix-up runs on the copy, or use --fixup none.');
  }
  if (choice === 'v2v') {
    if (!v2v) return refuse('virt-v2v-in-place is not installed on this host.', `Install it (apt install virt-v2v), or use --fixup ${guest.windows ? 'mergeide' : 'none'}.`);
    if (guest.windows && !iso) {
      return refuse('virt-v2v needs the virtio-win ISO to give a Windows guest its virtio drivers.', 'Name it with --virtio-win /path/virtio-win.iso, or use --fixup mergeide (IDE disks, no ISO needed).');
    }
    return v2vDecision(guest, iso);
  }
  if (choice === 'mergeide') {
    if (!guest.windows) {
      return refuse(`MergeIDE changes a Windows registry, and this guest is ${guest.guestOS ?? 'not marked as Windows'}.`, 'Use --fixup v2v (Linux guests) or --fixup none.');
    }
    return mergeIdeDecision(guest, iso, 'asked for (--fixup mergeide)');
  }
  // auto
  if (guest.windows) {
    if (v2v && iso) return v2vDecision(guest, iso);
    const missing = v2v ? 'no virtio-win ISO named (--virtio-win)' : NO_V2V;
    if (isLegacyWindows(guest.guestOS)) return mergeIdeDecision(guest, iso, `chosen because ${missing}`);
    return { engine: 'none', why: `no fix-up: ${missing}; ${guest.guestOS ?? 'this Windows'} boots from SATA (AHCI) with its own drivers, so the disks go on SATA`, bus: 'sata' };
  }
  if (!v2v) return { engine: 'none', why: `no fix-up: ${NO_V2V}; the disks keep the .vmx's bus` };
  return v2vDecision(guest, iso);
}

function v2vDecision(guest: Pick<VmxGuest, 'windows'>, iso: string | undefined): FixupDecision {
  return guest.windows
    ? { engine: 'v2v', why: `virt-v2v-in-place installs the virtio drivers from ${iso} into Windows on the copy; the disks go on virtio`, bus: 'virtio' }
    : { engine: 'v2v', why: V2V_LINUX, bus: 'virtio' };
}

function mergeIdeDecision(guest: Pick<VmxGuest, 'guestOS'>, iso: string | undefined, how: string): FixupDecision {
  const modern = !isLegacyWindows(guest.guestOS);
  return {
    engine: 'mergeide',
    why: `MergeIDE ${how}: the IDE driver entries are merged into the copy's SYSTEM hive${iso ? ` (and viostor/vioscsi from ${iso})` : ''} and the disks go on IDE${modern ? `; ${guest.guestOS ?? 'this Windows'} is Vista or later, which needs no MergeIDE to boot from IDE or SATA` : ''}`,
    bus: 'ide',
  };
}

/** The bus the domain gets: the admin's choice, else the fix-up's, else the .vmx's. */
export function fixupBus(req: Pick<FixupRequest, 'bus'>, decision: FixupDecision): BusChoice {
  return req.bus !== 'keep' ? req.bus : (decision.bus ?? 'keep');
}

// ---------------------------------------------------------------------------------------------
// virt-v2v-in-place

export interface V2vDisk {
  /** The converted copy in its temp directory. */
  path: string;
  format: ConvertTarget['format'];
}

/**
 * The libvirt XML virt-v2v-in-place reads (-i libvirtxml): only what it uses, the name, memory,
 * vCPUs, firmware and the disks at their temp paths. Everything in it is escaped: the name and
 * paths come from the .vmx or the OVF.
 */
export function v2vInputXml(name: string, guest: Pick<VmxGuest, 'memoryMiB' | 'vcpus' | 'firmware'>, disks: V2vDisk[]): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const disk = (d: V2vDisk, i: number) =>
    `    <disk type='file' device='disk'>\n      <driver name='qemu' type='${escapeXml(d.format)}'/>\n      <source file='${escapeXml(checkXmlText(d.path))}'/>\n      <target dev='sd${letters[i % 26]}${i >= 26 ? String(Math.floor(i / 26)) : ''}' bus='scsi'/>\n    </disk>\n`;
  return [
    "<domain type='kvm'>\n",
    `  <name>${escapeXml(checkXmlText(name))}</name>\n`,
    `  <memory unit='MiB'>${Math.max(1, Math.floor(guest.memoryMiB))}</memory>\n`,
    `  <vcpu>${Math.max(1, Math.floor(guest.vcpus))}</vcpu>\n`,
    `  <os${guest.firmware === 'efi' ? " firmware='efi'" : ''}>\n    <type>hvm</type>\n  </os>\n`,
    '  <devices>\n',
    ...disks.map(disk),
    '  </devices>\n',
    '</domain>\n',
  ].join('');
}

/** The command as it runs: libguestfs's direct backend (no session libvirtd), TCG where KVM is unusable. */
export function v2vArgv(xmlPath: string, opts: { tcg: boolean; virtioWin?: string }): string[] {
  return [
    'env',
    'LIBGUESTFS_BACKEND=direct',
    ...(opts.tcg ? ['LIBGUESTFS_BACKEND_SETTINGS=force_tcg'] : []),
    ...(opts.virtioWin ? [`VIRTIO_WIN=${opts.virtioWin}`] : []),
    'virt-v2v-in-place',
    '-i',
    'libvirtxml',
    '--',
    xmlPath,
  ];
}

export interface V2vArgs {
  guest: string;
  xmlPath: string;
  xml: string;
  argv: string[];
  /** The temp copies it changes (for the log and the undo's message). */
  disks: string[];
}

/** The step that runs virt-v2v-in-place on the temp copies; the temp directories' own undo removes them. */
export function v2vStep(a: V2vArgs, why: string): PlanStep {
  return {
    id: 'fixup-v2v',
    title: `fix the guest up on the copies before they are put in place: ${why}`,
    command: { runsOn: 'sys', argv: a.argv },
    action: { name: 'import.v2v', args: a },
    // The input XML lies in a temp directory whose own undo removes only the copies it knows.
    undo: { title: `remove ${a.xmlPath}`, action: { name: 'import.v2vClean', args: { xmlPath: a.xmlPath } }, partial: true },
    script: [
      { runsOn: 'sys', argv: ['sh', '-c', 'umask 077 && cat > "$1"', 'sh', a.xmlPath], input: a.xml },
      { runsOn: 'sys', argv: a.argv },
      { runsOn: 'sys', argv: ['rm', '-f', '--', a.xmlPath] },
    ],
    long: true,
  };
}

/**
 * virt-v2v prints one "[  12.3] Stage" line per stage on stdout. The stages of an in-place
 * conversion in order, so a line becomes progress (the conversion itself is the long one).
 */
const V2V_STAGES: [RegExp, number][] = [
  [/^Setting up the source/, 0.02],
  [/^Opening the source/, 0.05],
  [/^Inspecting the source/, 0.4],
  [/^Checking for sufficient free disk space/, 0.45],
  [/^Converting /, 0.5],
  [/^Mapping filesystem data/, 0.9],
  [/^Closing the overlay|^Finishing off|^Creating output metadata/, 0.97],
];

/** A stage line's text and the fraction done when it starts, or null for any other line. */
export function v2vStage(line: string): { stage: string; fraction: number } | null {
  const m = /^\[\s*\d+(?:\.\d+)?\]\s+(.+)$/.exec(line.trim());
  if (!m) return null;
  const stage = m[1] as string;
  const hit = V2V_STAGES.find(([re]) => re.test(stage));
  return { stage, fraction: hit ? hit[1] : -1 };
}

/** The first "virt-v2v-in-place: error: …" sentence of its output, or null. */
export function v2vError(output: string): string | null {
  const m = /virt-v2v(?:-in-place)?: error: ([^\n]+(?:\n(?!\n)[^\n]+)*)/.exec(output);
  return m ? (m[1] as string).replace(/\s+/g, ' ').trim() : null;
}
