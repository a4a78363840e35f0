/**
 * One ESXi VM's directory, read with one ssh command: every entry with its kind and size, and the
 * small files (the .vmx, vmdk descriptors) whole, each framed by its byte count. From that the
 * disk chains are resolved the .vmx import's way (vmdkChain.ts), with one rule more: every file a
 * descriptor names, extent or snapshot parent, must be a plain file of the VM's own directory
 * (a bare name, or an absolute /vmfs path that is that directory under the datastore's name or
 * UUID). `../`, other directories and symlinks are refused before anything is copied. The
 * descriptors staged on this machine are written anew from what was parsed, never the host's text,
 * so qemu-img reads only lines virtdeck understood. Pure.
 */
import { LISTING_SCRIPT, plainSegment } from './esxiListing.js';
import { shown } from './shown.js';
import { UserError } from './userError.js';
import { resolveVmdkChain, type VmdkChain, type VmdkLookup } from './vmdkChain.js';
import { descriptorVirtualBytes, parseVmdkDescriptor, type VmdkDescriptor } from './vmdkDescriptor.js';

export const MAX_VMX_BYTES = 1024 * 1024;
export const MAX_DESCRIPTOR_BYTES = 64 * 1024;

/** $1 the VM's directory. Names go through `./` so one that starts with `-` is no option. */
export const VMDIR_SCRIPT = [
  'cd "$1" || exit 3',
  'echo @@ls',
  'for f in * .[!.]* ..?*; do',
  '  [ -e "$f" ] || [ -L "$f" ] || continue',
  '  if [ -L "$f" ]; then t=l; elif [ -d "$f" ]; then t=d; elif [ -f "$f" ]; then t=f; else t=o; fi',
  '  s=0; [ "$t" = f ] && s=$(stat -c %s "./$f")',
  '  printf "%s\\t%s\\t%s\\n" "$t" "$s" "$f"',
  'done',
  'for f in *.vmx *.vmdk; do',
  '  [ -f "$f" ] && [ ! -L "$f" ] || continue',
  '  s=$(stat -c %s "./$f")',
  `  case $f in *.vmx) cap=${MAX_VMX_BYTES};; *) cap=${MAX_DESCRIPTOR_BYTES};; esac`,
  '  [ "$s" -le "$cap" ] || continue',
  '  printf "@@file\\t%s\\t%s\\n" "$s" "$f"',
  '  head -c "$s" "./$f"',
  '  echo',
  'done',
  'echo @@end',
].join('\n');

export const LISTED_MARKER = '@@listed';

/**
 * The listing and then the directory of the VM chosen from it, in ONE ssh session (`import esxi
 * --vm`): the listing goes out first; this side picks the VM and answers with its directory on
 * stdin, one line; the directory's dump follows. A second session would cost a channel, a process
 * and a shell on the host more. The line is only ever read into a variable and quoted; an empty
 * one (no such VM here) ends the script. The listing's commands read no stdin: the line is the
 * directory read's alone. $1 the datastore root, as for LISTING_SCRIPT.
 */
export const LIST_THEN_VMDIR_SCRIPT = [
  '{',
  LISTING_SCRIPT,
  '} </dev/null',
  `echo ${LISTED_MARKER}`,
  'IFS= read -r d || exit 0',
  '[ -n "$d" ] || exit 0',
  'set -- "$d"',
  VMDIR_SCRIPT,
].join('\n');

/** Where the listing ends in LIST_THEN_VMDIR_SCRIPT's stdout (just after the marker line), or -1 while it has not. */
export function listedEnd(out: Buffer): number {
  const line = `${LISTED_MARKER}\n`;
  const at = out.indexOf(`\n${line}`);
  if (at >= 0) return at + 1 + line.length;
  return out.subarray(0, line.length).toString('latin1') === line ? line.length : -1;
}

export type EntryKind = 'f' | 'd' | 'l' | 'o';

export interface VmDirEntry {
  kind: EntryKind;
  size: number;
}

export interface VmDirDump {
  dir: string;
  entries: Map<string, VmDirEntry>;
  /** Small files, whole. */
  files: Map<string, Buffer>;
}

/** The script's answer (bytes: a descriptor's text is framed by its length, not by lines). */
export function parseVmDirDump(out: Buffer, dir: string): VmDirDump {
  const entries = new Map<string, VmDirEntry>();
  const files = new Map<string, Buffer>();
  let at = 0;
  const line = () => {
    const nl = out.indexOf(0x0a, at);
    if (nl < 0) return null;
    const text = out.subarray(at, nl).toString('utf8');
    at = nl + 1;
    return text;
  };
  const cut = () => new UserError(`The host's answer about ${shown(dir)} was cut short or garbled.`, 'Run the import again; if it repeats, check that the ESXi shell (sh) works for the ssh user.');
  if (line() !== '@@ls') throw cut();
  let l = line();
  while (l !== null && l !== '@@end' && !l.startsWith('@@file\t')) {
    const [kind, size, ...name] = l.split('\t');
    const n = name.join('\t');
    if (plainSegment(n) && (kind === 'f' || kind === 'd' || kind === 'l' || kind === 'o')) entries.set(n, { kind, size: Number(size) || 0 });
    l = line();
  }
  while (l?.startsWith('@@file\t')) {
    const [, size, ...name] = l.split('\t');
    const n = name.join('\t');
    const bytes = Number(size);
    if (!Number.isSafeInteger(bytes) || bytes < 0 || at + bytes + 1 > out.length) throw cut();
    if (plainSegment(n)) files.set(n, out.subarray(at, at + bytes));
    at += bytes + 1;
    l = line();
  }
  if (l !== '@@end') throw cut();
  return { dir, entries, files };
}

/** How the VM's directory may be named by a descriptor: its datastore under its name and its UUID. */
export interface VmDirNames {
  root: string;
  /** The datastore's name and UUID directory (either may be the same). */
  datastores: string[];
  /** The VM directory's own name on the datastore. */
  dirName: string;
}

/** The file's name in the VM's directory, or the refusal for a path that leaves it. */
export function nameInVmDir(path: string, names: VmDirNames, namedBy: string): string {
  if (plainSegment(path)) return path;
  const rel = path.startsWith(`${names.root}/`) ? path.slice(names.root.length + 1).split('/') : null;
  if (rel && rel.length === 3 && rel.every(plainSegment) && names.datastores.includes(rel[0] as string) && rel[1] === names.dirName) return rel[2] as string;
  throw new UserError(
    `${namedBy} names ${shown(path)}, which is outside the VM's directory ${shown(`${names.root}/${names.datastores[0]}/${names.dirName}`)}; virtdeck copies only the VM's own files.`,
    'Consolidate the snapshots in ESXi (Delete all snapshots) or move the disk into the VM\'s directory (Storage vMotion), then import again.',
  );
}

/** Extent kinds qemu-img reads, and how each is copied. */
const READABLE_EXTENTS = new Set(['FLAT', 'VMFS', 'VMFSSPARSE', 'SESPARSE', 'SPARSE', 'ZERO']);

export interface EsxiExtentFile {
  /** Name in the VM's directory (and in the staging directory). */
  name: string;
  size: number;
  /** SPARSE: checked after the copy (a hosted sparse header can carry a descriptor of its own). */
  type: string;
}

export interface EsxiDisk {
  key: string;
  /** The chain with paths in the VM's directory on the host, active first. */
  chain: VmdkChain;
  virtualSize: number;
  /** Descriptors to write in the staging directory: name → text made by virtdeck. */
  descriptors: { name: string; text: string }[];
  /** Data files to stream, each once. */
  extents: EsxiExtentFile[];
  /**
   * The disk is its one data file byte for byte (no snapshot, one flat extent from offset 0 the size
   * of the disk): a raw image needs no conversion, the checked copy is the image.
   */
  rawImage: boolean;
}

/** A descriptor as virtdeck writes it: only the fields qemu-img needs, parent named by its bare file name. */
export function stagedDescriptor(d: VmdkDescriptor, parentName: string | null): string {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  return [
    '# Disk DescriptorFile (rewritten by virtdeck from the ESXi host\'s)',
    'version=1',
    `CID=${hex(d.cid)}`,
    `parentCID=${hex(d.parentCid)}`,
    `createType="${d.createType}"`,
    ...(parentName ? [`parentFileNameHint="${parentName}"`] : []),
    '',
    '# Extent description',
    ...d.extents.map((e) => `${e.access} ${e.sectors} ${e.type}${e.file === null ? '' : ` "${e.file}"${e.type === 'FLAT' ? ` ${e.offset}` : ''}`}`),
    '',
    // Not decoration: QEMU 7.2 counts the last extent twice when only blank lines follow it.
    '# The Disk Data Base',
    ...(d.ddb.adapterType && /^[A-Za-z0-9]+$/.test(d.ddb.adapterType) ? [`ddb.adapterType = "${d.ddb.adapterType}"`] : []),
    '',
  ].join('\n');
}

const CREATE_TYPE = /^[A-Za-z0-9]+$/;

/** One hard disk of the .vmx, from its active descriptor down to its base, every file checked. */
export function esxiDisk(key: string, source: string, dump: VmDirDump, names: VmDirNames): EsxiDisk {
  const active = nameInVmDir(source, names, `The .vmx (${key})`);
  const parsed = new Map<string, { d: VmdkDescriptor; parent: string | null }>();
  const lookup = (path: string): VmdkLookup => {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const entry = dump.entries.get(name);
    if (!entry) return 'missing';
    if (entry.kind !== 'f') {
      throw new UserError(`${shown(`${dump.dir}/${name}`)} is ${entry.kind === 'l' ? 'a symlink' : 'not a regular file'}; a VM's disk files are plain files.`, 'Copy the disk into the VM\'s directory as a plain file, then import again.');
    }
    const bytes = dump.files.get(name);
    if (!bytes) return 'not-descriptor';
    let d: VmdkDescriptor;
    try {
      d = parseVmdkDescriptor(bytes.toString('latin1'));
    } catch {
      return 'not-descriptor';
    }
    if (!CREATE_TYPE.test(d.createType)) return 'not-descriptor';
    const parent = d.parentFileNameHint === null ? null : nameInVmDir(d.parentFileNameHint, names, shown(name));
    parsed.set(name, { d, parent });
    // The chain is walked over bare names in the VM's directory.
    return { ...d, parentFileNameHint: parent };
  };
  const chain = resolveVmdkChain(`${dump.dir}/${active}`, lookup);
  const descriptors: EsxiDisk['descriptors'] = [];
  const extents: EsxiExtentFile[] = [];
  for (const link of chain.links) {
    const name = link.path.slice(link.path.lastIndexOf('/') + 1);
    const p = parsed.get(name) as { d: VmdkDescriptor; parent: string | null };
    for (const e of p.d.extents) {
      if (!READABLE_EXTENTS.has(e.type)) {
        throw new UserError(
          `${shown(name)} has a ${e.type} extent${/RDM|RAW/.test(e.type) ? ' (a raw device mapping: the data is on a LUN, not in a file)' : ''}, which virtdeck cannot copy.`,
          /RDM|RAW/.test(e.type) ? 'Copy the LUN itself (or convert the RDM to a virtual disk in ESXi), then import again.' : 'Clone the disk to a thin or thick virtual disk in ESXi (vmkfstools -i), then import again.',
        );
      }
      if (e.file === null) continue;
      const ext = nameInVmDir(e.file, names, shown(name));
      if (ext !== e.file) throw new UserError(`${shown(name)} names its extent by the path ${shown(e.file)}; an extent is named by its bare file name.`, 'Consolidate or clone the disk in ESXi, then import again.');
      const entry = dump.entries.get(ext);
      if (!entry) throw new UserError(`${shown(`${dump.dir}/${ext}`)} is missing; ${shown(name)} keeps its data there.`, 'Check the datastore (a disk on another datastore is not copied), then import again.');
      if (entry.kind !== 'f') throw new UserError(`${shown(`${dump.dir}/${ext}`)} is ${entry.kind === 'l' ? 'a symlink' : 'not a regular file'}; a VM's disk files are plain files.`, 'Copy the extent into the VM\'s directory as a plain file, then import again.');
      if (!extents.some((x) => x.name === ext)) extents.push({ name: ext, size: entry.size, type: e.type });
    }
    descriptors.push({ name, text: stagedDescriptor(p.d, p.parent) });
  }
  const virtualSize = descriptorVirtualBytes(chain.links[0]?.descriptor as VmdkDescriptor);
  const only = chain.links.length === 1 ? parsed.get(chain.links[0]?.path.slice((chain.links[0]?.path.lastIndexOf('/') ?? -1) + 1) ?? '')?.d.extents : undefined;
  const e = only?.length === 1 ? only[0] : undefined;
  const rawImage = e !== undefined && (e.type === 'FLAT' || e.type === 'VMFS') && e.offset === 0 && e.sectors * 512 === virtualSize && extents[0]?.size === virtualSize;
  return { key, chain, virtualSize, descriptors, extents, rawImage };
}
