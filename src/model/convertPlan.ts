/**
 * The disk round trip (raw ⇄ vmdk ⇄ qcow2), the pure half: target presets, the destination's
 * files, the refusals, and the plan. The result is written into a private temp directory beside
 * the destination under its final names — a monolithicFlat descriptor names its extent
 * ("NAME-flat.vmdk"), so only a copy made under the final name stays valid after the move —
 * compared with the source, then hard-linked into place (`ln` never overwrites), so the original
 * is untouched until the copy is verified and every step can be undone after a kill -9.
 */

import {
  childElements,
  type DiskBus,
  type DomainDoc,
  domainRoot,
  firstChild,
  parseDomainXml,
  serializeDomainXml,
  setDiskBus,
  setDiskSource,
  type XmlElement,
} from './domainXml.js';
import { isActive } from './guest.js';
import type { Plan, PlanStep } from './plan.js';
import { shellQuote } from './shellQuote.js';
import { formatBytes } from './units.js';
import { UserError } from './userError.js';
import { type DirState, writableDirProblem } from './writableDir.js';

export type PresetId = 'vmware-growable' | 'vmware-flat' | 'raw-sparse' | 'qcow2' | 'custom';

export interface ConvertTarget {
  preset: PresetId;
  format: string;
  /** -o options, in the order they are shown. */
  options: Record<string, string>;
  /** Extra convert flags (raw sparse: -S 4k). */
  flags: string[];
  /** File name extension for the default destination. */
  extension: string;
}

export interface Preset {
  id: Exclude<PresetId, 'custom'>;
  label: string;
  /** The CLI's --to word. */
  to: string;
  target: ConvertTarget;
}

export const PRESETS: Preset[] = [
  {
    id: 'vmware-growable',
    label: 'VMware, growable (vmdk sparse, v6, SCSI lsilogic)',
    to: 'vmdk',
    target: { preset: 'vmware-growable', format: 'vmdk', options: { subformat: 'monolithicSparse', compat6: 'on', adapter_type: 'lsilogic' }, flags: [], extension: 'vmdk' },
  },
  {
    id: 'vmware-flat',
    label: 'VMware, preallocated (vmdk flat + -flat.vmdk)',
    to: 'vmdk-flat',
    target: { preset: 'vmware-flat', format: 'vmdk', options: { subformat: 'monolithicFlat', compat6: 'on', adapter_type: 'lsilogic' }, flags: [], extension: 'vmdk' },
  },
  {
    id: 'raw-sparse',
    label: 'raw, sparse (Xen, dd, any hypervisor)',
    to: 'raw',
    target: { preset: 'raw-sparse', format: 'raw', options: {}, flags: ['-S', '4k'], extension: 'raw' },
  },
  {
    id: 'qcow2',
    label: 'qcow2 v3 (snapshots, thin)',
    to: 'qcow2',
    target: { preset: 'qcow2', format: 'qcow2', options: { compat: '1.1' }, flags: [], extension: 'qcow2' },
  },
];

/** Output formats and the -o options qemu-img 7.2 accepts for each (from `qemu-img create -f F -o help`). */
export const KNOWN_OPTIONS: Record<string, string[]> = {
  raw: ['extent_size_hint', 'nocow', 'preallocation'],
  qcow2: ['cluster_size', 'compat', 'compression_type', 'extended_l2', 'extent_size_hint', 'lazy_refcounts', 'nocow', 'preallocation', 'refcount_bits'],
  vmdk: ['adapter_type', 'compat6', 'extent_size_hint', 'hwversion', 'nocow', 'subformat', 'toolsversion', 'zeroed_grain'],
  vdi: ['extent_size_hint', 'nocow', 'preallocation', 'static'],
  vhdx: ['block_size', 'block_state_zero', 'extent_size_hint', 'log_size', 'nocow', 'subformat'],
  vpc: ['extent_size_hint', 'force_size', 'nocow', 'subformat'],
};

const EXTENSIONS: Record<string, string> = { raw: 'raw', qcow2: 'qcow2', vmdk: 'vmdk', vdi: 'vdi', vhdx: 'vhdx', vpc: 'vhd' };

/** The part of a conversion a refusal is about, so a form shows it where it can be fixed. */
export type ConvertField = 'source' | 'target' | 'format' | 'options' | 'dest' | 'repoint' | 'keepOriginal';

/** A reason not to convert, carrying the field it belongs to (never told by its wording). */
export class ConvertRefusal extends UserError {
  constructor(
    readonly field: ConvertField,
    sentence: string,
    fix: string,
  ) {
    super(sentence, fix);
    this.name = 'ConvertRefusal';
  }

  static of(field: ConvertField, e: UserError): ConvertRefusal {
    return e instanceof ConvertRefusal ? e : new ConvertRefusal(field, e.sentence, e.fix);
  }
}

export function presetById(id: string): Preset {
  const p = PRESETS.find((x) => x.id === id || x.to === id);
  if (!p) {
    throw new ConvertRefusal('target', `"${id}" is not a conversion target virtdeck knows.`, `Use one of ${PRESETS.map((x) => x.to).join(', ')}, or give a format with options.`);
  }
  return p;
}

/** "subformat=monolithicFlat,adapter_type=ide" → record; qemu's ",," escape is kept inside values. */
export function parseOptionText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const parts = text.trim() === '' ? [] : text.replace(/,,/g, '\u0000').split(',');
  for (const part of parts) {
    const [key = '', ...rest] = part.split('=');
    const k = key.trim();
    if (k === '') throw new ConvertRefusal('options', `"${text}" has an empty option.`, 'Write options as key=value separated by commas, e.g. subformat=monolithicFlat,adapter_type=lsilogic.');
    out[k] = rest.length === 0 ? 'on' : rest.join('=').replace(/\u0000/g, ',');
  }
  return out;
}

/** A custom target, checked against what qemu-img can write. */
export function customTarget(format: string, optionText = ''): ConvertTarget {
  const known = KNOWN_OPTIONS[format];
  if (!known) {
    throw new ConvertRefusal('format', `virtdeck cannot convert to "${format}".`, `Choose one of ${Object.keys(KNOWN_OPTIONS).join(', ')}.`);
  }
  const options = parseOptionText(optionText);
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConvertRefusal('options', `${unknown.join(', ')} ${unknown.length === 1 ? 'is not an option' : 'are not options'} of the ${format} format.`, `Options of ${format}: ${known.join(', ')}.`);
  }
  if (options.compat6 !== undefined && options.hwversion !== undefined) {
    throw new ConvertRefusal('options', 'compat6 and hwversion cannot be given together.', 'Use hwversion=6 alone (it writes what compat6 does), or compat6 alone.');
  }
  return { preset: 'custom', format, options, flags: format === 'raw' ? ['-S', '4k'] : [], extension: EXTENSIONS[format] ?? format };
}

/** `--to WORD [-o …]`: a preset, or a format with options (-o on a preset adds to its options). */
export function targetFrom(to: string, optionText?: string): ConvertTarget {
  const preset = PRESETS.find((p) => p.to === to || p.id === to);
  if (preset && !optionText) return structuredClone(preset.target);
  if (preset) {
    const custom = customTarget(preset.target.format, '');
    const extra = customTarget(preset.target.format, optionText).options;
    const options = { ...preset.target.options, ...extra };
    if (extra.hwversion !== undefined) delete options.compat6;
    return { ...custom, options, flags: preset.target.flags };
  }
  return customTarget(to, optionText);
}

// ---------------------------------------------------------------------------------------------
// Paths

function splitPath(path: string): { dir: string; base: string } {
  const slash = path.lastIndexOf('/');
  return { dir: slash <= 0 ? (slash === 0 ? '/' : '.') : path.slice(0, slash), base: path.slice(slash + 1) };
}

function join2(dir: string, base: string): string {
  return dir === '/' ? `/${base}` : `${dir}/${base}`;
}

/** Beside the source, same base name, the target's extension: web.raw → web.vmdk. */
export function defaultDest(sourcePath: string, target: ConvertTarget): string {
  const { dir, base } = splitPath(sourcePath);
  const dot = base.lastIndexOf('.');
  const stem = dot > 0 ? base.slice(0, dot) : base;
  const plain = join2(dir, `${stem}.${target.extension}`);
  // vmdk → vmdk with other options would otherwise land on the source's own name.
  return plain === sourcePath ? join2(dir, `${stem}-new.${target.extension}`) : plain;
}

/** Every file a new image at `dest` consists of (a monolithicFlat vmdk has its -flat extent). */
export function destFiles(dest: string, target: ConvertTarget): string[] {
  if (target.format !== 'vmdk' || target.options.subformat !== 'monolithicFlat') return [dest];
  const dot = dest.lastIndexOf('.');
  const slash = dest.lastIndexOf('/');
  const [stem, ext] = dot > slash ? [dest.slice(0, dot), dest.slice(dot)] : [dest, ''];
  return [dest, `${stem}-flat${ext}`];
}

/** The private directory the copy is made in: beside the destination, so the final link is on the same filesystem. */
export function tempDirFor(dest: string): string {
  const { dir, base } = splitPath(dest);
  return join2(dir, `.${base}.virtdeck-tmp`);
}

function inTemp(dest: string, file: string): string {
  return join2(tempDirFor(dest), splitPath(file).base);
}

// ---------------------------------------------------------------------------------------------
// The request and what the host says about it

export interface DiskUser {
  guest: string;
  target: string;
  state: string;
  /** The guest's own name for the image (a symlink, a hard link, another mount of it); default: the source path. */
  source?: string;
}

export interface ConvertSource {
  path: string;
  format: string;
  virtualSize: number;
  /** Files the source consists of (a flat vmdk: descriptor and extents); default [path]. */
  files?: string[];
  backingFile?: string | null;
  /** Options the source was made with, to recognise a conversion that changes nothing. */
  options?: Record<string, string>;
  users: DiskUser[];
}

export interface RepointRequest {
  guest: string;
  /** The disk's target (vda, hda) in the guest. */
  target: string;
  bus?: DiskBus;
  /** The file the guest's disk names now, when it names the source another way. */
  oldSource?: string;
}

export interface ConvertRequest {
  source: ConvertSource;
  target: ConvertTarget;
  /** Default: defaultDest(source, target). */
  dest?: string;
  repoint?: RepointRequest;
  /** Default true: the original is removed only when asked, and only as the very last step. */
  keepOriginal?: boolean;
}

export interface ConvertFacts {
  sourceReadable: boolean;
  /** Which of the destination files (and the temp directory) exist already. */
  existing: string[];
  destDirExists: boolean;
  /** What a write probe found there (absent: not probed). */
  destDirState?: DirState;
  /** Bytes free in the destination's directory. */
  freeBytes: number;
  /** Bytes the new image needs (from qemu-img measure, or the virtual size for a flat vmdk). */
  requiredBytes: number;
  /** `virsh dumpxml --inactive` of the guest to repoint. */
  guestXml?: string;
}

export interface ConvertCheck {
  refusals: ConvertRefusal[];
  warnings: string[];
}

function sameOptions(source: ConvertSource, target: ConvertTarget): boolean {
  if (source.format !== target.format) return false;
  const have = source.options ?? {};
  const norm = (o: Record<string, string>) => {
    const n = { ...o };
    // compat6=on and hwversion=6 write the same file.
    if (n.compat6 === 'on') {
      delete n.compat6;
      n.hwversion = '6';
    }
    return n;
  };
  const want = norm(target.options);
  const got = norm(have);
  return Object.entries(want).every(([k, v]) => got[k] === v);
}

export function resolvedDest(req: ConvertRequest): string {
  return req.dest?.trim() ? req.dest.trim() : defaultDest(req.source.path, req.target);
}

/** Every reason not to start, each with its fix; and what the admin should know before running. */
export function checkConvert(req: ConvertRequest, facts: ConvertFacts): ConvertCheck {
  const refusals: ConvertRefusal[] = [];
  const refuse = (field: ConvertField, sentence: string, fix: string) => refusals.push(new ConvertRefusal(field, sentence, fix));
  const warnings: string[] = [];
  const src = req.source;
  const dest = resolvedDest(req);
  if (!facts.sourceReadable) {
    refuse('source', `${src.path} does not exist or cannot be read.`, 'Check the path (qemu-img info shows what it is) and that virtdeck runs as a user who can read it.');
    return { refusals, warnings };
  }
  if (!dest.startsWith('/')) refuse('dest', `The destination "${dest}" is not an absolute path.`, 'Give the full path, starting with /.');
  if (sameOptions(src, req.target)) {
    refuse('target', `${src.path} already is ${src.format}${Object.keys(req.target.options).length ? ' with these options' : ''}; there is nothing to convert.`, 'Pick another target format or options.');
  }
  const running = src.users.filter((u) => isActive(u.state));
  if (running.length > 0) {
    const names = running.map((u) => u.guest).join(', ');
    const as = running.filter((u) => u.source && u.source !== src.path).map((u) => `${u.guest} names it ${u.source}`);
    refuse('source', `${names} ${running.length === 1 ? 'is' : 'are'} using ${src.path}${as.length ? ` (${as.join('; ')})` : ''} and ${running.length === 1 ? 'is' : 'are'} not shut off; a disk being written cannot be copied consistently.`, `Shut ${names} down first (virtdeck guest shutdown ${running[0]?.guest}), then convert.`);
  }
  const files = destFiles(dest, req.target);
  if (files.some((f) => f === src.path || (src.files ?? []).includes(f))) {
    refuse('dest', `The destination ${dest} is the source itself.`, 'Give another destination name.');
  } else if (facts.existing.length > 0) {
    refuse('dest', `${facts.existing.join(', ')} already exist${facts.existing.length === 1 ? 's' : ''}; virtdeck never overwrites an image.`, 'Choose another destination with --dest, or move the old file away first.');
  }
  const dirProblem = writableDirProblem(splitPath(dest).dir, facts.destDirState, 'the destination directory');
  if (!facts.destDirExists) {
    refuse('dest', `The directory of ${dest} does not exist.`, 'Create it first, or choose another destination.');
  } else if (dirProblem) {
    refusals.push(ConvertRefusal.of('dest', dirProblem));
  } else if (facts.requiredBytes > facts.freeBytes) {
    refuse('dest', `${splitPath(dest).dir} has ${formatBytes(facts.freeBytes)} free, but the new image needs up to ${formatBytes(facts.requiredBytes)}.`, 'Free some space there, or choose a destination on a filesystem with more room (--dest).');
  }
  if (src.backingFile) {
    warnings.push(`${src.path} has the backing file ${src.backingFile}; the copy is flattened (it holds the data of the whole chain and needs no backing file).`);
  }
  if (req.repoint) {
    const user = src.users.find((u) => u.guest === req.repoint?.guest);
    if (!user) refuse('repoint', `${req.repoint.guest} does not use ${src.path}, so there is nothing to repoint.`, 'Repoint only a guest listed as using the disk, or convert without repointing.');
    else if (facts.guestXml) {
      try {
        repointXml(facts.guestXml, req.repoint, dest, req.target.format, req.repoint.oldSource ?? src.path);
      } catch (e) {
        if (e instanceof UserError) refusals.push(ConvertRefusal.of('repoint', e));
        else throw e;
      }
    }
  }
  // Any other guest whose disk is this file, under any name, would lose it.
  const stranded = src.users.filter((u) => u.guest !== req.repoint?.guest);
  if (req.keepOriginal === false && stranded.length > 0) {
    const who = stranded.map((u) => `${u.guest}${u.source && u.source !== src.path ? ` (as ${u.source})` : ''}`).join(', ');
    refuse('keepOriginal', `${who} still use ${src.path}; removing it would leave them without a disk.`, 'Repoint the guest to the new image, or keep the original.');
  }
  if (req.target.format === 'vmdk' && req.target.options.subformat === 'monolithicFlat') {
    warnings.push('A flat vmdk is a descriptor plus a -flat.vmdk data file: copy both when moving it to VMware.');
  }
  return { refusals, warnings };
}

// ---------------------------------------------------------------------------------------------
// The guest's definition after repointing

/** The inactive domain XML with the disk at `target` pointing at the new image (pure; UserError on a bad bus). */
export function repointXml(xml: string, rp: RepointRequest, newPath: string, newFormat: string, oldPath: string): string {
  const disksIn = (doc: DomainDoc) => {
    const devices = firstChild(domainRoot(doc), 'devices');
    return devices ? childElements(devices, 'disk') : [];
  };
  const before = parseDomainXml(xml);
  // setDiskBus may rename the target (hda → sda), so the disk is found again by its position.
  const index = disksIn(before).findIndex((d) => firstChild(d, 'target')?.attrs.dev === rp.target);
  if (index < 0) throw new UserError(`${rp.guest} has no disk "${rp.target}".`, "Pick the target shown in the guest's disk list.");
  const doc = rp.bus ? setDiskBus(before, rp.target, rp.bus) : structuredClone(before);
  const disk = disksIn(doc)[index] as XmlElement;
  if (firstChild(disk, 'source')?.attrs.file !== oldPath) {
    throw new UserError(`${rp.guest}'s disk ${rp.target} is not the file ${oldPath}.`, 'Repoint the disk that uses this image.');
  }
  return serializeDomainXml(setDiskSource(doc, firstChild(disk, 'target')?.attrs.dev ?? rp.target, newPath, newFormat));
}

// ---------------------------------------------------------------------------------------------
// The plan

export interface ConvertPlanOptions {
  uri: string;
  /** Where the repoint step writes the new XML for `virsh define --file` (a local private path). */
  xmlFile: string;
  /** Check the copy with qemu-img compare (default true; the bench turns it off to time the copy alone). */
  compare?: boolean;
}

/** qemu-img convert's argv for this request, writing into `out`. */
export function convertCommandArgv(src: ConvertSource, target: ConvertTarget, out: string): string[] {
  const opts = Object.entries(target.options).map(([k, v]) => `${k}=${v.replace(/,/g, ',,')}`);
  return [
    'qemu-img',
    'convert',
    '-p',
    '-f',
    src.format,
    '-O',
    target.format,
    ...(opts.length > 0 ? ['-o', opts.join(',')] : []),
    ...target.flags,
    src.path,
    out,
  ];
}

/**
 * Convert into a temp directory beside `dest`, compare, link into place. The building block the
 * expansion job reuses for its vmdk route. The copy's files keep their final names inside the temp
 * directory, so a flat descriptor's extent line is right after the move.
 */
export function convertSteps(src: ConvertSource, target: ConvertTarget, dest: string, opts: { compare?: boolean; idPrefix?: string } = {}): PlanStep[] {
  const p = opts.idPrefix ?? '';
  const tmpDir = tempDirFor(dest);
  const finals = destFiles(dest, target);
  const temps = finals.map((f) => inTemp(dest, f));
  const tmpImage = temps[0] as string;
  const removeTemp = { name: 'convert.removeTemp', args: { dir: tmpDir, files: temps } };
  const steps: PlanStep[] = [
    {
      id: `${p}tempdir`,
      title: `make the private directory ${tmpDir}`,
      command: { runsOn: 'sys', argv: ['mkdir', '-p', '-m', '0700', '--', tmpDir] },
      undo: { title: `remove ${tmpDir}`, action: removeTemp, partial: true },
    },
    {
      id: `${p}convert`,
      title: `convert to ${target.format}${target.options.subformat ? ` ${target.options.subformat}` : ''}`,
      command: { runsOn: 'sys', argv: ['setpriv', '--pdeathsig', 'KILL', '--', ...convertCommandArgv(src, target, tmpImage)] },
      undo: { title: `remove the partial copy in ${tmpDir}`, action: removeTemp, partial: true },
      progress: { kind: 'qemu-img', totalBytes: src.virtualSize },
      long: true,
    },
  ];
  if (opts.compare !== false) {
    steps.push({
      id: `${p}compare`,
      title: 'compare the copy with the original',
      command: { runsOn: 'sys', argv: ['setpriv', '--pdeathsig', 'KILL', '--', 'qemu-img', 'compare', '-p', '-f', src.format, '-F', target.format, src.path, tmpImage] },
      progress: { kind: 'qemu-img', totalBytes: src.virtualSize },
      long: true,
    });
  }
  steps.push({
    id: `${p}place`,
    title: `put the copy in place as ${dest}`,
    // ln refuses to replace an existing name, so nothing that appeared meanwhile is overwritten.
    command: { runsOn: 'sys', argv: ['ln', '--', ...temps, splitPath(dest).dir] },
    // The action runs the same ln, skipping links a killed run already made, so finishing can repeat it.
    action: { name: 'convert.place', args: { pairs: finals.map((f, i) => [f, temps[i]]) } },
    undo: { title: `take ${dest} away again`, action: { name: 'convert.unplace', args: { pairs: finals.map((f, i) => [f, temps[i]]), originals: src.files ?? [src.path] } }, partial: true },
  });
  return steps;
}

/** Drops the temp directory (its files are hard links of the placed copy by now). */
export function dropTempStep(dest: string, target: ConvertTarget): PlanStep {
  const tmpDir = tempDirFor(dest);
  const temps = destFiles(dest, target).map((f) => inTemp(dest, f));
  return {
    id: 'droptemp',
    title: `remove the private directory ${tmpDir} (its files are extra links of the copy now)`,
    action: { name: 'convert.removeTemp', args: { dir: tmpDir, files: temps } },
    // What convert.removeTemp runs.
    script: [
      { runsOn: 'sys', argv: ['rm', '-f', '--', ...temps] },
      { runsOn: 'sys', argv: ['sh', '-c', 'if test -d "$1"; then rmdir -- "$1"; fi', 'sh', tmpDir] },
    ],
  };
}

export function planConvert(req: ConvertRequest, facts: ConvertFacts, opts: ConvertPlanOptions): Plan {
  const check = checkConvert(req, facts);
  const first = check.refusals[0];
  if (first) throw first;
  const src = req.source;
  const dest = resolvedDest(req);
  const steps = convertSteps(src, req.target, dest, { compare: opts.compare });
  const guests: string[] = [];
  if (req.repoint) {
    const rp = req.repoint;
    const oldXml = facts.guestXml;
    if (!oldXml) throw new UserError(`virtdeck has not read ${rp.guest}'s definition.`, 'Read it first (virsh dumpxml --inactive).');
    const newXml = repointXml(oldXml, rp, dest, req.target.format, rp.oldSource ?? src.path);
    guests.push(rp.guest);
    steps.push({
      id: 'repoint',
      title: `repoint ${rp.guest}'s ${rp.target} to ${dest} (${req.target.format}${rp.bus ? `, bus ${rp.bus}` : ''})`,
      command: { runsOn: 'virsh', argv: ['virsh', '-c', opts.uri, 'define', '--validate', '--file', opts.xmlFile] },
      writesFile: { path: opts.xmlFile, content: newXml },
      action: { name: 'convert.repoint', args: { guest: rp.guest, oldXml, newXml, newPath: dest } },
      undo: { title: `give ${rp.guest} its old definition back`, action: { name: 'convert.restoreXml', args: { guest: rp.guest, oldXml, newXml, newPath: dest, originals: src.files ?? [src.path] } }, partial: true },
    });
  }
  if (req.keepOriginal === false) {
    const originals = src.files ?? [src.path];
    steps.push({
      id: 'remove-original',
      title: `remove the original ${originals.join(', ')} (asked for; everything above succeeded)`,
      command: { runsOn: 'sys', argv: ['rm', '-f', '--', ...originals] },
      // The copy may have taken hours: the action asks again which guests use the original first.
      action: { name: 'convert.removeOriginal', args: { files: originals } },
    });
  }
  // Last: until here every undo can tell the copy is this job's by its link in the temp directory.
  steps.push(dropTempStep(dest, req.target));
  return {
    kind: 'convert',
    title: `convert ${src.path} to ${dest}`,
    targets: { guests, images: [src.path, ...destFiles(dest, req.target)] },
    steps,
  };
}

/** One line for people: "raw → vmdk (subformat=monolithicSparse, compat6, adapter_type=lsilogic)". */
export function describeTarget(target: ConvertTarget): string {
  const opts = Object.entries(target.options).map(([k, v]) => (v === 'on' ? k : `${k}=${v}`));
  return `${target.format}${opts.length ? ` (${opts.join(', ')})` : ''}${target.flags.length ? ` ${target.flags.map(shellQuote).join(' ')}` : ''}`;
}
