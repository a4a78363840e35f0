/**
 * Import of a VM straight from an ESXi host over SSH, the pure half. The .vmx became the .vmx
 * import's guest model, so refusals, the domain XML and the convert/define/start steps are that
 * import's own (importVmwarePlan.ts); in front of them the disks come over to this machine:
 *
 * - one step makes a private staging directory beside the destination (`.virtdeck-esxi-NAME/`,
 *   0700) and writes the chain's descriptors into it, rewritten by virtdeck;
 * - one step per data file (-flat, -delta, -sesparse) reads it over ONE ssh stream, writes it
 *   sparse under a temp name and renames it only once the sha256 of what came over the wire equals
 *   the one the host computed from the same read (openssl, else sha256sum; model/esxiStream.ts): the
 *   datastore file is read once. A dropped link starts the file again from its first byte;
 * - the copied chain goes through the image gate, then the .vmx import's convert steps flatten it
 *   into qcow2/raw, and the staging directory goes once the guest is defined;
 * - a disk that is one flat extent is streamed straight into the convert step's private directory
 *   under its final name: as raw, the checked copy IS the image; as qcow2, the stream is written
 *   into a new qcow2 as it arrives (host/qcow2Writer.ts, each data cluster written once, in order),
 *   converted while it crosses the link, with no raw copy written and read back;
 * - after a convert, `qemu-img check` and the virtual size stand where the .vmx import runs
 *   `qemu-img compare`. Every source byte is proven by the host's sha256, and a compare would read
 *   that source through the same vmdk driver the convert used, both sides from the page cache: it
 *   could only find qemu-img writing other bytes than it read, which its exit status already
 *   answers. What a zero exit does not rule out is a target whose metadata is wrong (a cut-off
 *   write, a refcount or L2 table that points wrong), and that is what check reads, metadata only:
 *   milliseconds where compare reads both images whole (a 200 GB disk twice more from storage).
 *
 * Each step is journaled: `virtdeck recover` finishes (the interrupted file starts over) or rolls
 * back (the staging directory and partial files go).
 */
import { tempDirFor } from './convertPlan.js';
import type { EsxiVm } from './esxiListing.js';
import type { EsxiDisk } from './esxiVmDir.js';
import { convertedPath, type ImportDiskFacts, type ImportFacts, type ImportRequest, importDestDir, importName, planImport } from './importVmwarePlan.js';
import type { Plan, PlanStep } from './plan.js';
import { formatBytes } from './units.js';
import { FieldRefusal, type UserError } from './userError.js';
import type { VmxGuest } from './vmx.js';

/** Where converted images go when no --dest is given: the VM's directory is on the ESXi host. */
export const ESXI_DEFAULT_DEST = '/var/lib/libvirt/images';

export interface EsxiSource {
  /** user@host, as typed. */
  destination: string;
  /** ssh and its options up to and including the destination (sshBase's shape). */
  ssh: string[];
  vm: EsxiVm;
  /** The VM's directory on the host. */
  dir: string;
  disks: EsxiDisk[];
}

export interface EsxiImportFacts extends ImportFacts {
  esxi: EsxiSource;
  /** Free bytes in the destination directory (absent: not looked at). */
  destFree?: number;
}

export function isEsxiFacts(f: ImportFacts): f is EsxiImportFacts {
  return 'esxi' in f && (f as EsxiImportFacts).esxi !== undefined;
}

/** The request with the destination every ESXi import needs (the VM's own directory is remote). */
export function esxiRequest(req: ImportRequest): ImportRequest {
  return { ...req, destDir: req.destDir ?? ESXI_DEFAULT_DEST };
}

/** The private directory the disks are copied into: beside the converted images. */
export function stagingDir(facts: Pick<EsxiImportFacts, 'esxi' | 'vmxPath'>, req: ImportRequest): string {
  const dest = importDestDir(facts, { ...esxiRequest(req), convert: req.convert === 'none' ? 'qcow2' : req.convert }) as string;
  const d = facts.esxi;
  const safe = `${d.vm.datastore}-${d.dir.slice(d.dir.lastIndexOf('/') + 1)}`.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+/, '');
  return `${dest === '/' ? '' : dest}/.virtdeck-esxi-${safe || 'vm'}`;
}

/** The guest model with each hard disk at its staged active descriptor. */
function guestWithStaged(guest: VmxGuest, staged: Map<string, string>): VmxGuest {
  return { ...guest, disks: guest.disks.map((d) => (d.device === 'disk' && staged.has(d.key) ? { ...d, source: { kind: 'file', path: staged.get(d.key) as string } } : d)) };
}

/** The .vmx import's facts for this request: each chain at its staged paths. */
export function factsForRequest(facts: EsxiImportFacts, req: ImportRequest): EsxiImportFacts {
  const dir = stagingDir(facts, req);
  const local = (p: string) => `${dir}/${p.slice(p.lastIndexOf('/') + 1)}`;
  const disks: ImportDiskFacts[] = facts.esxi.disks.map((d) => ({
    key: d.key,
    chain: { ...d.chain, active: local(d.chain.active), links: d.chain.links.map((l) => ({ ...l, path: local(l.path) })) },
    virtualSize: d.virtualSize,
    unused: [],
  }));
  const staged = new Map(disks.map((d) => [d.key, d.chain.active]));
  return { ...facts, guest: guestWithStaged(facts.guest, staged), disks };
}

/** What the ESXi source adds to the .vmx import's refusals. */
export function esxiRefusals(req: ImportRequest): UserError[] {
  if (req.convert !== 'none') return [];
  return [new FieldRefusal('convert', "The disks come over the network into a copy, which is converted: the host's vmdk files cannot be run from here.", 'Choose qcow2 or raw (--convert qcow2).')];
}

/** Bytes read from the host, and the most the destination needs (the staged copies plus the converted images; a one-file flat disk is not staged). */
export function esxiSpace(facts: EsxiImportFacts): { copied: number; needed: number } {
  const bytes = (d: EsxiDisk) => d.extents.reduce((m, e) => m + e.size, 0);
  const copied = facts.esxi.disks.reduce((n, d) => n + bytes(d), 0);
  const staged = facts.esxi.disks.reduce((n, d) => n + (d.rawImage ? 0 : bytes(d)), 0);
  const images = facts.esxi.disks.reduce((n, d) => n + d.virtualSize, 0);
  return { copied, needed: staged + images };
}

/** The dry run's and the review's first lines: what comes over, and the space it needs. */
export function esxiCopySummary(facts: EsxiImportFacts, req: ImportRequest): string[] {
  const { copied, needed } = esxiSpace(facts);
  const files = facts.esxi.disks.flatMap((d) => d.extents.map((e) => `  ${d.key}  ${e.name}  ${formatBytes(e.size)}`));
  const free = facts.destFree === undefined ? '' : `, ${formatBytes(facts.destFree)} free there`;
  return [
    `copy from ${facts.esxi.destination}:${facts.esxi.dir} (${facts.esxi.vm.name}, ${facts.esxi.vm.power === 'off' ? 'powered off' : facts.esxi.vm.power}):`,
    ...files,
    `${formatBytes(copied)} over ssh; up to ${formatBytes(needed)} in ${esxiRequest(req).destDir}${free} (the staged copy is sparse and goes once the images are made)`,
  ];
}

/** Warnings: space, and what an ESXi VM leaves behind. */
export function esxiWarnings(facts: EsxiImportFacts): string[] {
  const w: string[] = [];
  const { needed } = esxiSpace(facts);
  if (facts.destFree !== undefined && facts.destFree < needed) {
    w.push(`The destination has ${formatBytes(facts.destFree)} free and the import may need up to ${formatBytes(needed)} (less where the disks are sparse).`);
  }
  return w;
}

export interface CopyArgs {
  ssh: string[];
  remote: string;
  out: string;
  size: number;
  /** Written into a new image of this format and size instead of a plain file (a flat disk as qcow2). */
  image?: { format: 'qcow2'; virtualSize: number };
}

export interface VerifyArgs {
  path: string;
  format: string;
  virtualSize: number;
}

export interface StageArgs {
  dir: string;
  descriptors: { path: string; text: string }[];
}

export interface EsxiPlanOptions {
  uri: string;
  xmlFile: string;
}

/** The plan: stage, copy each data file, gate each chain, then the .vmx import's steps, then the staging directory removed. */
export function planEsxiImport(facts: EsxiImportFacts, reqIn: ImportRequest, opts: EsxiPlanOptions): Plan {
  const req = esxiRequest(reqIn);
  const first = esxiRefusals(req)[0];
  if (first) throw first;
  const f = factsForRequest(facts, req);
  const base = planImport(f, req, opts);
  const format = req.convert as 'qcow2' | 'raw';
  // The convert step's own temp name for disk i: where a one-file flat disk is streamed straight (raw, or qcow2 written as it arrives).
  const newImage = (i: number) => {
    const dest = convertedPath(f, f.disks[i] as ImportDiskFacts, req);
    return `${tempDirFor(dest)}/${dest.slice(dest.lastIndexOf('/') + 1)}`;
  };
  const direct = new Set(facts.esxi.disks.flatMap((d, i) => (d.rawImage ? [i] : [])));
  const baseStep = (id: string) => base.steps.find((s) => s.id === id) as PlanStep;
  const dir = stagingDir(facts, req);
  const src = facts.esxi;
  const descriptors = src.disks.flatMap((d) => d.descriptors.map((x) => ({ path: `${dir}/${x.name}`, text: x.text })));
  const extentPaths = src.disks.flatMap((d) => d.extents.map((e) => `${dir}/${e.name}`));
  const all = [...descriptors.map((d) => d.path), ...extentPaths, ...extentPaths.map((p) => `${p}.part`)];
  const steps: PlanStep[] = [
    {
      id: 'esxi-stage',
      title: `make the private directory ${dir} and write the ${descriptors.length} vmdk descriptor${descriptors.length === 1 ? '' : 's'} read from ${src.destination} into it`,
      action: { name: 'esxi.stage', args: { dir, descriptors } satisfies StageArgs },
      undo: { title: `remove ${dir}`, action: { name: 'esxi.removeDir', args: { dir, files: all } }, partial: true },
    },
  ];
  let i = 0;
  src.disks.forEach((d, k) => {
    if (direct.has(k)) steps.push(baseStep(`disk${k}-tempdir`));
    for (const e of d.extents) {
      const remote = `${src.dir}/${e.name}`;
      const out = direct.has(k) ? newImage(k) : `${dir}/${e.name}`;
      const into = !direct.has(k) ? '' : format === 'raw' ? ` straight into the new raw image ${out}` : ` into the new qcow2 ${out} as it arrives`;
      const image = direct.has(k) && format === 'qcow2' ? { image: { format, virtualSize: d.virtualSize } } : {};
      steps.push({
        id: `esxi-copy${i++}`,
        title: `${d.key}: copy ${e.name} (${formatBytes(e.size)}) over one ssh stream${into}; sha256 checked against the one ${src.destination} computes from the same read`,
        action: { name: 'esxi.copy', args: { ssh: src.ssh, remote, out, size: e.size, ...image } satisfies CopyArgs },
        undo: { title: `remove the partial copy ${out}`, action: { name: 'esxi.removeFiles', args: { files: [out, `${out}.part`] } }, partial: true },
        long: true,
      });
    }
    // The raw copy is never opened as a vmdk: nothing for the gate to read.
    if (direct.has(k)) return;
    const active = `${dir}/${d.chain.active.slice(d.chain.active.lastIndexOf('/') + 1)}`;
    steps.push({
      id: `esxi-gate-${d.key}`,
      title: `${d.key}: check the copied chain (every extent a plain file of ${dir}, opened as vmdk)`,
      action: { name: 'esxi.check', args: { path: active, extents: d.extents.map((e) => ({ path: `${dir}/${e.name}`, type: e.type })) } },
    });
  });
  for (const s of base.steps) {
    const m = /^disk(\d+)-(tempdir|convert|compare)$/.exec(s.id);
    const k = Number(m?.[1]);
    // A direct disk's temp directory came before its copy, and the copy made the image.
    if (!m) steps.push(s);
    else if (direct.has(k) && m[2] !== 'compare') continue;
    else if (m[2] !== 'compare') steps.push(s);
    // A raw copy's check is its sha256 and its length: nothing converted it.
    else if (direct.has(k) && format === 'raw') continue;
    else {
      const d = f.disks[k] as ImportDiskFacts;
      steps.push({
        id: `disk${k}-verify`,
        title: `${d.key}: check the new image (${format === 'qcow2' ? 'qemu-img check: every table and refcount; ' : ''}virtual size ${formatBytes(d.virtualSize)}); its source is proven by sha256`,
        action: { name: 'esxi.verify', args: { path: newImage(k), format, virtualSize: d.virtualSize } satisfies VerifyArgs },
      });
    }
  }
  steps.push({
    id: 'esxi-drop',
    title: `remove ${dir} (the copied vmdk files; the converted images are the disks now)`,
    action: { name: 'esxi.removeDir', args: { dir, files: all } },
  });
  return { ...base, kind: 'import-esxi', title: `import ${src.vm.name} from ${src.destination} as ${importName(f, req)}`, steps };
}
