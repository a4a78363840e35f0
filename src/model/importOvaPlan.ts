/**
 * Import of an OVA or OVF export, the pure half. The descriptor became the .vmx path's guest model
 * (model/ovf.ts), so refusals, the domain XML and the convert/define/start steps are the .vmx
 * import's own (importVmwarePlan.ts); this adds what a package needs in front and behind them:
 *
 * - `.ova`: one step reads the archive once, front to back: every file listed in the manifest goes
 *   through its digest, and each disk at the same time into a private directory beside the
 *   destination (`.virtdeck-ova-NAME/`), under a name virtdeck makes (never the archive's). A
 *   digest that differs fails the step before any conversion, and its undo removes the directory.
 *   The extracted streamOptimized vmdk is then converted (with progress) like a .vmx's disk, and
 *   the directory goes once the guest is defined.
 * - `.ovf` (a directory export): one step reads each file once through its digest; the disks are
 *   converted from where they are.
 *
 * A streamOptimized vmdk is read-only for QEMU, so the disks are always converted (qcow2 by default).
 */
import { type ImportDiskFacts, type ImportFacts, type ImportRequest, importDestDir, importName, planImport } from './importVmwarePlan.js';
import { type DigestAlgorithm, type ManifestEntry, type OvaSignature, signatureWarning } from './ovaPackage.js';
import type { OvfGuest } from './ovf.js';
import type { Plan, PlanStep } from './plan.js';
import { FieldRefusal, type UserError } from './userError.js';
import type { VmxGuest } from './vmx.js';

export interface PackageFile {
  name: string;
  /** .ova: where the member's bytes start in the archive; .ovf: 0. */
  offset: number;
  size: number;
  /** .ovf: the file's path (beside the descriptor); .ova: null. */
  path: string | null;
}

export interface OvaPackage {
  kind: 'ova' | 'ovf';
  /** The .ova, or the .ovf descriptor. */
  path: string;
  descriptorName: string;
  manifestName: string | null;
  manifest: ManifestEntry[];
  files: PackageFile[];
  ovf: OvfGuest;
  /** The `.cert` that signs the manifest, checked; absent or null: the package is not signed. */
  signature?: OvaSignature | null;
}

/** ImportFacts of the .vmx path, with the package they were read from. */
export interface OvaImportFacts extends ImportFacts {
  ova: OvaPackage;
}

export function isOvaFacts(f: ImportFacts): f is OvaImportFacts {
  return 'ova' in f && (f as OvaImportFacts).ova !== undefined;
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** File names virtdeck gives the disks it takes out of a package: the package's stem, made safe and unique. */
export function diskStems(ovf: OvfGuest): string[] {
  const used = new Set<string>();
  return ovf.disks.map((d, i) => {
    let stem =
      d.href
        .replace(/\.vmdk$/i, '')
        .replace(/[^A-Za-z0-9._-]+/g, '-')
        .replace(/^[.-]+/, '')
        .slice(0, 100) || `disk${i}`;
    if (used.has(stem)) stem = `${stem}-${i}`;
    used.add(stem);
    return stem;
  });
}

/** The private directory an .ova's disks are written into: beside the converted images. */
export function extractDir(facts: Pick<OvaImportFacts, 'ova' | 'vmxPath'>, req: ImportRequest): string {
  const dest = importDestDir(facts, { ...req, convert: req.convert === 'none' ? 'qcow2' : req.convert }) as string;
  const safe = baseOf(facts.ova.path).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  return `${dest === '/' ? '' : dest}/.virtdeck-ova-${safe || 'package'}`;
}

/** Where each hard disk is read from for conversion: the extracted copy (.ova) or the file beside the .ovf. */
export function diskSourcePaths(facts: OvaImportFacts, req: ImportRequest): string[] {
  const stems = diskStems(facts.ova.ovf);
  return facts.ova.ovf.disks.map((d, i) => {
    if (facts.ova.kind === 'ova') return `${extractDir(facts, req)}/${stems[i]}.vmdk`;
    return (facts.ova.files.find((f) => f.name === d.href)?.path as string) ?? `${dirOf(facts.ova.path)}/${d.href}`;
  });
}

/** The guest model with each hard disk's source at the path it is read from. */
export function guestWithSources(ovf: OvfGuest, paths: string[]): VmxGuest {
  const byKey = new Map(ovf.disks.map((d, i) => [d.key, paths[i] as string]));
  return { ...ovf.guest, disks: ovf.guest.disks.map((d) => (d.device === 'disk' && byKey.has(d.key) ? { ...d, source: { kind: 'file', path: byKey.get(d.key) as string } } : d)) };
}

/** The .vmx import's facts for this request: disks as single-file chains at the paths they are converted from. */
export function factsForRequest(facts: OvaImportFacts, req: ImportRequest): OvaImportFacts {
  const paths = diskSourcePaths(facts, req);
  const disks: ImportDiskFacts[] = facts.ova.ovf.disks.map((d, i) => {
    const path = paths[i] as string;
    const createType = d.format === 'streamOptimized' ? 'streamOptimized' : 'monolithicSparse';
    return {
      key: d.key,
      chain: { active: path, links: [{ path, descriptor: { version: 1, cid: 0, parentCid: 0xffffffff, createType, extents: [], ddb: {}, parentFileNameHint: null } }], snapshot: false, warnings: [] },
      virtualSize: d.capacityBytes,
      unused: [],
    };
  });
  return { ...facts, guest: guestWithSources(facts.ova.ovf, paths), disks };
}

/** What the package adds to the .vmx import's refusals. */
export function ovaRefusals(req: ImportRequest): UserError[] {
  const out: UserError[] = [];
  if (req.convert === 'none') {
    out.push(new FieldRefusal('convert', "An export's disks are streamOptimized vmdk, which QEMU only reads, so they must be converted.", 'Choose qcow2 or raw (--convert qcow2).'));
  }
  return out;
}

/** Package warnings: no manifest, Secure Boot and TPM carried or not. */
export function ovaWarnings(facts: OvaImportFacts): string[] {
  const w: string[] = [];
  if (facts.ova.signature) w.push(signatureWarning(facts.ova.signature));
  if (!facts.ova.manifestName) w.push(`${baseOf(facts.ova.path)} has no manifest (.mf), so its files cannot be checked against the digests they were exported with.`);
  if (facts.ova.ovf.secureBoot) w.push('The VM had Secure Boot on; the guest gets the Secure Boot OVMF build with Microsoft keys enrolled, and a fresh UEFI variable store (the export carries none).');
  if (facts.ova.ovf.tpm) w.push('The VM had a virtual TPM; its keys are not in the export (VMware never exports them), so BitLocker or other TPM-sealed secrets need their recovery keys.');
  return w;
}

interface DigestTarget {
  name: string;
  offset: number;
  size: number;
  /** .ovf: the file read. */
  path: string | null;
  algorithm: DigestAlgorithm | null;
  digest: string | null;
  /** A hard disk (checked to be a sparse vmdk before conversion). */
  disk: boolean;
  /** .ova disks: written here. */
  out?: string;
}

export interface ExtractArgs {
  archive: string;
  dir: string;
  manifest: string | null;
  targets: DigestTarget[];
}

/** Every file the manifest lists, plus the disks, each read once. */
export function digestTargets(facts: OvaImportFacts, req: ImportRequest): DigestTarget[] {
  const pkg = facts.ova;
  const diskOut = new Map<string, string>();
  if (pkg.kind === 'ova') {
    const paths = diskSourcePaths(facts, req);
    for (const [i, d] of pkg.ovf.disks.entries()) diskOut.set(d.href, paths[i] as string);
  }
  const names = [...new Set([...pkg.manifest.map((e) => e.name), ...pkg.ovf.disks.map((d) => d.href)])];
  return names.map((name) => {
    const f = pkg.files.find((x) => x.name === name) as PackageFile;
    const e = pkg.manifest.find((x) => x.name === name);
    const out = diskOut.get(name);
    const disk = pkg.ovf.disks.some((d) => d.href === name);
    return { name, offset: f.offset, size: f.size, path: f.path, algorithm: e?.algorithm ?? null, digest: e?.digest ?? null, disk, ...(out ? { out } : {}) };
  });
}

function checkStep(facts: OvaImportFacts, req: ImportRequest): PlanStep {
  const pkg = facts.ova;
  const targets = digestTargets(facts, req);
  const algos = [...new Set(targets.flatMap((t) => (t.algorithm ? [t.algorithm.toUpperCase()] : [])))].join('/');
  const checks = pkg.manifestName ? `check every file against ${pkg.manifestName}${algos ? ` (${algos})` : ''}` : 'no manifest to check against';
  if (pkg.kind === 'ovf') {
    return {
      id: 'ova-check',
      title: `read the export's files once: ${checks}`,
      action: { name: 'ova.verify', args: { archive: pkg.path, dir: dirOf(pkg.path), manifest: pkg.manifestName, targets } satisfies ExtractArgs },
    };
  }
  const dir = extractDir(facts, req);
  const outs = targets.flatMap((t) => (t.out ? [t.out] : []));
  return {
    id: 'ova-extract',
    title: `read ${baseOf(pkg.path)} once: ${checks}, and write its ${outs.length} disk${outs.length === 1 ? '' : 's'} into ${dir}`,
    action: { name: 'ova.extract', args: { archive: pkg.path, dir, manifest: pkg.manifestName, targets } satisfies ExtractArgs },
    undo: { title: `remove ${dir}`, action: { name: 'ova.removeDir', args: { dir, files: outs } }, partial: true },
  };
}

export interface OvaPlanOptions {
  uri: string;
  xmlFile: string;
}

/** The plan: the package check (and extraction), then the .vmx import's steps, then the extraction directory removed. */
export function planOvaImport(facts: OvaImportFacts, req: ImportRequest, opts: OvaPlanOptions): Plan {
  const first = ovaRefusals(req)[0];
  if (first) throw first;
  const f = factsForRequest(facts, req);
  const base = planImport(f, req, opts);
  const steps: PlanStep[] = [checkStep(f, req), ...base.steps];
  if (facts.ova.kind === 'ova') {
    const dir = extractDir(facts, req);
    steps.push({
      id: 'ova-drop',
      title: `remove ${dir} (the extracted vmdk files; the converted images are the disks now)`,
      action: { name: 'ova.removeDir', args: { dir, files: diskSourcePaths(facts, req) } },
    });
  }
  return { ...base, kind: 'import-ova', title: `import ${baseOf(facts.ova.path)} as ${importName(f, req)}`, steps };
}
