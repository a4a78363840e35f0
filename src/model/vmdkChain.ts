/**
 * VMware snapshot chains over vmdk descriptors. A VM with snapshots runs from its newest delta
 * (NAME-000002.vmdk → NAME-000001.vmdk → NAME.vmdk, linked by parentFileNameHint and checked by
 * CID/parentCID); the .vmx names the delta in use. An import must start from that file: the base
 * alone is the disk as it was when the first snapshot was taken, and a bare -flat/-sNNN extent
 * has no descriptor at all. Pure: the job reads the descriptors and hands them in.
 */
import { UserError } from './userError.js';
import { NO_PARENT_CID, type VmdkDescriptor } from './vmdkDescriptor.js';

/** What the job found at a path: a descriptor, nothing, or a file that is data, not a descriptor. */
export type VmdkLookup = VmdkDescriptor | 'missing' | 'not-descriptor';

export interface VmdkChainLink {
  path: string;
  descriptor: VmdkDescriptor;
}

export interface VmdkChain {
  /** The file the .vmx uses. */
  active: string;
  /** Active first, base last. */
  links: VmdkChainLink[];
  /** The active file is a snapshot delta (it has a parent). */
  snapshot: boolean;
  warnings: string[];
}

function dirOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '.' : slash === 0 ? '/' : path.slice(0, slash);
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** NAME-000003.vmdk → 3; null for a base disk. */
export function snapshotNumber(path: string): number | null {
  const m = /-(\d{6})\.vmdk$/i.exec(baseOf(path));
  return m ? Number(m[1]) : null;
}

/** NAME-flat.vmdk, NAME-s001.vmdk, NAME-f001.vmdk, NAME-delta.vmdk, NAME-000001-delta.vmdk, -sesparse: data, never a descriptor. */
export function isDataExtentName(path: string): boolean {
  return /-(flat|delta|sesparse|ctk|rdm|rdmp|[sf]\d{3})\.vmdk$/i.test(baseOf(path));
}

/** parentFileNameHint is relative to the child's directory unless absolute (ESX writes absolute /vmfs paths sometimes). */
export function parentPathOf(childPath: string, hint: string): string {
  if (hint.startsWith('/')) return hint;
  const dir = dirOf(childPath);
  return dir === '/' ? `/${hint}` : `${dir}/${hint}`;
}

/** The path of the parent to read next, or null for a base disk. */
export function nextParent(path: string, d: VmdkDescriptor): string | null {
  if (d.parentCid === NO_PARENT_CID && !d.parentFileNameHint) return null;
  if (!d.parentFileNameHint) {
    throw new UserError(
      `${path} is a snapshot delta (parentCID ${d.parentCid.toString(16)}) but does not say which file its parent is.`,
      'The descriptor lacks parentFileNameHint; consolidate the snapshots in VMware ("Delete all snapshots") and copy the VM again.',
    );
  }
  return parentPathOf(path, d.parentFileNameHint);
}

const MAX_CHAIN = 64;

/**
 * Follows the chain from the active file. Refuses a bare data extent, a missing link, a file that
 * is not a descriptor, and loops; warns on a CID mismatch (the parent was written after the
 * snapshot was taken, so the combined disk may be inconsistent).
 */
export function resolveVmdkChain(active: string, lookup: (path: string) => VmdkLookup): VmdkChain {
  if (isDataExtentName(active)) {
    throw new UserError(
      `${baseOf(active)} is a data extent of a vmdk, not the disk's descriptor.`,
      `Point the .vmx (and virtdeck) at the small descriptor file, e.g. ${baseOf(active).replace(/-(flat|delta|sesparse|[sf]\d{3})\.vmdk$/i, '.vmdk')}.`,
    );
  }
  const links: VmdkChainLink[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  let path: string | null = active;
  while (path !== null) {
    if (seen.has(path) || links.length >= MAX_CHAIN) {
      throw new UserError(`The snapshot chain of ${baseOf(active)} loops back to ${baseOf(path)}.`, 'The descriptors are damaged; consolidate the snapshots in VMware and copy the VM again.');
    }
    seen.add(path);
    const found = lookup(path);
    const child = links[links.length - 1];
    if (found === 'missing') {
      throw new UserError(
        child ? `${baseOf(child.path)} is a snapshot of ${baseOf(path)}, which is missing.` : `The disk ${path} is missing.`,
        child ? `Copy ${baseOf(path)} from the VMware host into the same directory; every file of the snapshot chain is needed.` : 'Copy the whole VM directory, including every .vmdk, or fix the path in the .vmx.',
      );
    }
    if (found === 'not-descriptor') {
      throw new UserError(`${path} is not a vmdk descriptor or sparse vmdk.`, 'Point at the .vmdk file VMware lists in the .vmx (not its -flat or -s001 data file).');
    }
    if (child && child.descriptor.parentCid !== found.cid) {
      warnings.push(
        `${baseOf(child.path)} expects its parent ${baseOf(path)} to have CID ${child.descriptor.parentCid.toString(16).padStart(8, '0')}, but it has ${found.cid.toString(16).padStart(8, '0')}: the parent was changed after the snapshot was taken, so the disk may be inconsistent.`,
      );
    }
    links.push({ path, descriptor: found });
    path = nextParent(path, found);
  }
  return { active, links, snapshot: links.length > 1, warnings };
}

/**
 * Snapshot files in the directory that the chain does not use (for a warning: a .vmx that points
 * at the base while NAME-000001.vmdk exists was probably copied from before the snapshots, or the
 * deltas are left over from a failed consolidation).
 */
export function unusedSnapshotFiles(chain: VmdkChain, dirEntries: string[]): string[] {
  const base = baseOf(chain.links[chain.links.length - 1]?.path ?? chain.active).replace(/\.vmdk$/i, '');
  const used = new Set(chain.links.map((l) => baseOf(l.path)));
  const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{6}\\.vmdk$`, 'i');
  return dirEntries.filter((f) => re.test(baseOf(f)) && !used.has(baseOf(f))).sort();
}
