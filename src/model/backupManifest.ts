/**
 * A backup set is self-describing: one directory per guest per run holding the disk images, the
 * domain XML and this manifest. Everything virtdeck knows about a run (its chain, its checksums,
 * whether it was verified) is read from here, so a backup disk carried to another host restores
 * without virtdeck's state directory.
 *
 * Layout:  DEST/GUEST/RUN/{manifest.json, domain.xml, vda.qcow2, …}
 *          RUN = 20261125T203000Z-full | 20261125T203000Z-inc   (UTC, sortable)
 *          A run being written is RUN.partial; it is renamed only when complete.
 */
import { z } from 'zod';
import { UserError } from './userError.js';

export const MANIFEST_NAME = 'manifest.json';
export const DOMAIN_XML_NAME = 'domain.xml';
export const PARTIAL_SUFFIX = '.partial';

export type BackupKind = 'full' | 'incremental';
/** How the disks were read; decides the consistency an admin can expect. */
export type BackupMethod = 'backup-api' | 'snapshot-copy' | 'offline-copy';
export type Consistency = 'offline' | 'quiesced' | 'crash-consistent';

const diskSchema = z.object({
  /** Guest device name: vda, sda, hdc. */
  target: z.string().min(1),
  /** Image file name inside the run directory. */
  file: z.string().min(1),
  format: z.string().min(1),
  sourcePath: z.string(),
  sourceFormat: z.string(),
  virtualSize: z.number().int().nonnegative(),
  /** Bytes actually written for this run (an incremental writes only what changed). */
  bytesWritten: z.number().int().nonnegative(),
  /** sha256 of the image file as written (after rebasing), so verify can detect bit rot. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  /** For incremental images: the backing file, relative to this run directory (../RUN/vda.qcow2). */
  backing: z.string().nullable(),
});

const verifySchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  /** One sentence per finding; empty when ok. */
  findings: z.array(z.string()),
  /** A test restore was done and compared equal. */
  testRestore: z.boolean(),
});

export const manifestSchema = z.object({
  version: z.literal(1),
  guest: z.string().min(1),
  uuid: z.string(),
  /** ISO time the disks were frozen (the point in time the run restores to). */
  createdAt: z.string(),
  finishedAt: z.string(),
  kind: z.enum(['full', 'incremental']),
  /** Run directory name of the run this one builds on; null for a full run. */
  parent: z.string().nullable(),
  /** libvirt checkpoint created with this run (the next incremental starts from it). */
  checkpoint: z.string().nullable(),
  method: z.enum(['backup-api', 'snapshot-copy', 'offline-copy']),
  consistency: z.enum(['offline', 'quiesced', 'crash-consistent']),
  hostname: z.string(),
  uri: z.string(),
  disks: z.array(diskSchema),
  /** Why this run is full when an incremental was possible (checkpoint drift…), for the admin. */
  note: z.string().nullable().default(null),
  verified: verifySchema.nullable().default(null),
});

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupDisk = z.infer<typeof diskSchema>;
export type VerifyResult = z.infer<typeof verifySchema>;

export function parseManifest(text: string, where: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`The backup manifest ${where} is not valid JSON.`, 'The run is damaged: verify it, and prune or delete it if it cannot be read.');
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UserError(
      `The backup manifest ${where} has a bad value at ${issue?.path.join('.') || 'the top level'}.`,
      'The run was written by another program or is damaged: verify it before relying on it.',
    );
  }
  return r.data;
}

export function serializeManifest(m: BackupManifest): string {
  return `${JSON.stringify(manifestSchema.parse(m), null, 2)}\n`;
}

const RUN_NAME = /^(\d{8}T\d{6}Z)-(full|inc)$/;

/** 20261125T203000Z-full: sorts by time as text, readable in `ls`. */
export function runDirName(at: Date, kind: BackupKind): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${kind === 'full' ? 'full' : 'inc'}`;
}

/** The time and kind a run directory's name says, or null for anything else in the directory. */
export function parseRunDirName(name: string): { at: Date; kind: BackupKind } | null {
  const m = RUN_NAME.exec(name);
  if (!m) return null;
  const s = m[1] as string;
  const iso = `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`;
  return { at: new Date(iso), kind: m[2] === 'full' ? 'full' : 'incremental' };
}

export interface CatalogRun {
  /** Run directory name. */
  name: string;
  manifest: BackupManifest;
}

/** The runs a run needs to be restored, oldest (the full) first; throws when a parent is missing. */
export function chainOf(runs: CatalogRun[], name: string): CatalogRun[] {
  const byName = new Map(runs.map((r) => [r.name, r]));
  const chain: CatalogRun[] = [];
  let cur = byName.get(name);
  const seen = new Set<string>();
  while (cur) {
    if (seen.has(cur.name)) throw new UserError(`The backup chain of ${name} loops at ${cur.name}.`, 'The manifests are damaged; restore from a full run.');
    seen.add(cur.name);
    chain.unshift(cur);
    if (cur.manifest.parent === null) return chain;
    const parent = byName.get(cur.manifest.parent);
    if (!parent) {
      throw new UserError(
        `The backup ${name} builds on ${cur.manifest.parent}, which is missing.`,
        'Restore from an older complete chain or a full run; take a full backup now.',
      );
    }
    cur = parent;
  }
  throw new UserError(`There is no backup run named ${name}.`, 'List the runs with `virtdeck backup list`.');
}

/** Runs that build on `name`, directly or through others (they die with it). */
export function dependentsOf(runs: CatalogRun[], name: string): CatalogRun[] {
  const out: CatalogRun[] = [];
  const frontier = [name];
  while (frontier.length > 0) {
    const p = frontier.pop() as string;
    for (const r of runs) {
      if (r.manifest.parent === p && !out.includes(r)) {
        out.push(r);
        frontier.push(r.name);
      }
    }
  }
  return out;
}
