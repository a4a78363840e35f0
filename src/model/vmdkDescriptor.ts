import { UserError } from './userError.js';

/**
 * Reading VMware vmdk descriptors: the text that says how a disk is laid out (createType, extent
 * files) and what VMware hardware it was made for (ddb.adapterType, ddb.virtualHWVersion). qemu-img
 * info shows createType and extents but not the ddb, and the disk-expansion route (convert → resize
 * → convert back) must recreate the same kind of vmdk, so the descriptor is read here.
 */

export type ExtentAccess = 'RW' | 'RDONLY' | 'NOACCESS';

export interface VmdkExtent {
  access: ExtentAccess;
  /** Size in 512-byte sectors. */
  sectors: number;
  /** SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE, VMFSRDM, VMFSRAW, SESPARSE. */
  type: string;
  /** Relative to the descriptor's directory; null for ZERO extents. */
  file: string | null;
  /** Start within a FLAT file, in sectors. */
  offset: number;
}

export interface VmdkDescriptor {
  version: number;
  /** Content id, written in hex in the file. */
  cid: number;
  /** 0xffffffff when the disk has no parent (not a snapshot delta). */
  parentCid: number;
  createType: string;
  extents: VmdkExtent[];
  /** `ddb.*` entries without the prefix: adapterType, virtualHWVersion, geometry.cylinders… */
  ddb: Record<string, string>;
  parentFileNameHint: string | null;
}

export const NO_PARENT_CID = 0xffffffff;

const EXTENT_RE = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?\s*$/i;
const PAIR_RE = /^([A-Za-z0-9_.]+)\s*=\s*(.*)$/;

function unquote(v: string): string {
  const t = v.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Parses descriptor text (a small .vmdk file, or the block embedded in a sparse one). */
export function parseVmdkDescriptor(text: string): VmdkDescriptor {
  // Embedded descriptors are padded with NULs to a whole number of sectors.
  const lines = text.replace(/\0+/g, '').split(/\r?\n/);
  const top: Record<string, string> = {};
  const ddb: Record<string, string> = {};
  const extents: VmdkExtent[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const ext = EXTENT_RE.exec(line);
    if (ext) {
      extents.push({
        access: (ext[1] as string).toUpperCase() as ExtentAccess,
        sectors: Number(ext[2]),
        type: (ext[3] as string).toUpperCase(),
        file: ext[4] ?? null,
        offset: ext[5] ? Number(ext[5]) : 0,
      });
      continue;
    }
    const pair = PAIR_RE.exec(line);
    if (!pair) continue;
    const key = pair[1] as string;
    const value = unquote(pair[2] as string);
    if (/^ddb\./i.test(key)) ddb[key.slice(4)] = value;
    else top[key.toLowerCase()] = value;
  }
  if (top.createtype === undefined || extents.length === 0) {
    throw new UserError(
      'This is not a vmdk descriptor: it has no createType or no extent lines.',
      'Point at the small .vmdk descriptor file (not the -flat/-s001 data file), or at a monolithic sparse .vmdk.',
    );
  }
  const hex = (v: string | undefined, fallback: number) => {
    const n = v === undefined ? Number.NaN : Number.parseInt(v, 16);
    return Number.isFinite(n) ? n : fallback;
  };
  return {
    version: Number(top.version ?? '1') || 1,
    cid: hex(top.cid, 0),
    parentCid: hex(top.parentcid, NO_PARENT_CID),
    createType: top.createtype,
    extents,
    ddb,
    parentFileNameHint: top.parentfilenamehint ?? null,
  };
}

/** Total size of the disk the descriptor describes. */
export function descriptorVirtualBytes(desc: VmdkDescriptor): number {
  return desc.extents.reduce((sum, e) => sum + e.sectors * 512, 0);
}

/** The start of a hosted sparse extent: magic "KDMV", then little-endian fields. */
export interface SparseHeader {
  version: number;
  capacitySectors: number;
  grainSectors: number;
  /** In sectors; 0 when the file has no embedded descriptor (an extent of a twoGb… set). */
  descriptorOffset: number;
  descriptorSectors: number;
}

export const SPARSE_HEADER_BYTES = 64;

/** Reads the header from the first bytes of a file; null when it is not a hosted sparse extent. */
export function parseSparseHeader(bytes: Uint8Array): SparseHeader | null {
  if (bytes.length < 44) return null;
  const magic = String.fromCharCode(bytes[0] ?? 0, bytes[1] ?? 0, bytes[2] ?? 0, bytes[3] ?? 0);
  if (magic !== 'KDMV') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u64 = (at: number) => Number(view.getBigUint64(at, true));
  return {
    version: view.getUint32(4, true),
    capacitySectors: u64(12),
    grainSectors: u64(20),
    descriptorOffset: u64(28),
    descriptorSectors: u64(36),
  };
}

export type VmdkSubformat = 'monolithicSparse' | 'monolithicFlat' | 'twoGbMaxExtentSparse' | 'twoGbMaxExtentFlat' | 'streamOptimized';
export type VmdkAdapter = 'ide' | 'lsilogic' | 'buslogic' | 'legacyESX';

const SUBFORMATS: VmdkSubformat[] = ['monolithicSparse', 'monolithicFlat', 'twoGbMaxExtentSparse', 'twoGbMaxExtentFlat', 'streamOptimized'];
const ADAPTERS: VmdkAdapter[] = ['ide', 'lsilogic', 'buslogic', 'legacyESX'];
/** ESXi datastore layouts that are one preallocated data file, like monolithicFlat. */
const ESX_FLAT = ['vmfs', 'vmfsthin', 'vmfspreallocated', 'vmfseagerzeroedthick'];

/**
 * qemu-img `-o` options for a vmdk that matches this one. The hardware version always goes as
 * `hwversion=N`, never `compat6`: qemu refuses both together, and hwversion=6 writes exactly what
 * compat6 does (checked on QEMU 7.2), so one knob round-trips every version.
 */
export interface VmdkConvertOptions {
  subformat: VmdkSubformat;
  adapter_type?: VmdkAdapter;
  hwversion?: string;
  /** What could not be carried over exactly. */
  warnings: string[];
}

export function convertOptionsFromDescriptor(desc: VmdkDescriptor): VmdkConvertOptions {
  const warnings: string[] = [];
  const type = desc.createType.toLowerCase();
  let subformat = SUBFORMATS.find((s) => s.toLowerCase() === type);
  if (!subformat && ESX_FLAT.includes(type)) {
    subformat = 'monolithicFlat';
    warnings.push(`The ESXi layout ${desc.createType} becomes monolithicFlat (descriptor plus one -flat.vmdk), which ESXi imports with vmkfstools.`);
  }
  if (!subformat) {
    throw new UserError(
      `qemu-img cannot write a vmdk of type ${desc.createType}.`,
      `Choose the output subformat yourself (one of ${SUBFORMATS.join(', ')}).`,
    );
  }
  const out: VmdkConvertOptions = { subformat, warnings };
  const adapter = desc.ddb.adapterType;
  if (adapter !== undefined) {
    const known = ADAPTERS.find((a) => a.toLowerCase() === adapter.toLowerCase());
    if (known) out.adapter_type = known;
    else warnings.push(`qemu-img cannot write the adapter type ${adapter}; the copy gets qemu's default (ide).`);
  }
  const hw = desc.ddb.virtualHWVersion;
  if (hw !== undefined) {
    if (/^\d+$/.test(hw)) out.hwversion = hw;
    else warnings.push(`The hardware version "${hw}" is not a number and is left out.`);
  }
  return out;
}

/** The options as qemu-img create/convert `-o` entries (without the warnings). */
export function vmdkOptionRecord(o: VmdkConvertOptions): Record<string, string> {
  const rec: Record<string, string> = { subformat: o.subformat };
  if (o.adapter_type) rec.adapter_type = o.adapter_type;
  if (o.hwversion) rec.hwversion = o.hwversion;
  return rec;
}
