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
import { shown } from './shown.js';
import { UserError } from './userError.js';

export const MANIFEST_NAME = 'manifest.json';
export const DOMAIN_XML_NAME = 'domain.xml';
export const PARTIAL_SUFFIX = '.partial';

export type BackupKind = 'full' | 'incremental';
/** How the disks were read; decides the consistency an admin can expect. */
export type BackupMethod = 'backup-api' | 'snapshot-copy' | 'offline-copy';
export type Consistency = 'offline' | 'quiesced' | 'crash-consistent';

/**
 * A manifest is outside input (it may have sat on a NAS for a year, or been written by whoever can
 * write there), so every field is as narrow as what virtdeck writes: image files are plain names
 * directly inside the run directory, formats are the two a backup writes, names carry no control
 * characters. Unknown keys are refused (strict), so a field virtdeck would ignore cannot hide there.
 */

/** vda, sda, hdc, xvdb: a guest device name as libvirt writes it. */
const TARGET = /^[a-z][a-z0-9]{1,31}$/;
/**
 * An image file name directly inside the run directory: no slash, no leading dot (so neither `.`,
 * `..` nor a hidden file), no leading dash, nothing a shell or qemu would read as more than a name
 * (qemu takes `json:` and `nbd:` prefixes, hence no colon).
 */
export const RUN_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/;
const RUN_DIR_NAME = /^\d{8}T\d{6}Z-(full|inc)$/;
/** An incremental's backing file as virtdeck writes it: ../RUN/FILE. */
const BACKING = /^\.\.\/\d{8}T\d{6}Z-(full|inc)\/[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/;
const NO_CONTROL = /^[^\u0000-\u001f\u007f-\u009f]*$/;
const text = (max: number) => z.string().max(max).regex(NO_CONTROL);
/** Where the guest's disk was: an absolute, normalised path (no `.` or `..` segment), or '' for a disk that was no file. */
const SOURCE_PATH = z
  .string()
  .max(4096)
  .regex(NO_CONTROL)
  .refine((p) => p === '' || (p.startsWith('/') && !p.split('/').some((seg) => seg === '.' || seg === '..')), 'an absolute path without . or .. segments');

const diskSchema = z
  .object({
    /** Guest device name: vda, sda, hdc. */
    target: z.string().regex(TARGET),
    /** Image file name inside the run directory. */
    file: z.string().regex(RUN_FILE_NAME),
    /** What a backup writes: raw stays raw, everything else becomes qcow2 (see copyFormat). */
    format: z.string().refine((f): boolean => ['qcow2', 'raw'].includes(f), 'qcow2 or raw'),
    sourcePath: SOURCE_PATH,
    sourceFormat: z.string().regex(/^[a-z0-9]{0,16}$/),
    virtualSize: z.number().int().nonnegative(),
    /** Bytes actually written for this run (an incremental writes only what changed). */
    bytesWritten: z.number().int().nonnegative(),
    /** sha256 of the image file as written (after rebasing), so verify can detect bit rot. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
    /** For incremental images: the backing file, relative to this run directory (../RUN/vda.qcow2). */
    backing: z.string().regex(BACKING).nullable(),
  })
  .strict();

const verifySchema = z
  .object({
    at: text(64),
    ok: z.boolean(),
    /** One sentence per finding; empty when ok. */
    findings: z.array(z.string().max(4096)),
    /** A test restore was done and compared equal. */
    testRestore: z.boolean(),
  })
  .strict();

export const manifestSchema = z
  .object({
    version: z.literal(1),
    guest: text(256).min(1),
    uuid: text(64),
    /** ISO time the disks were frozen (the point in time the run restores to). */
    createdAt: text(64),
    finishedAt: text(64),
    kind: z.enum(['full', 'incremental']),
    /** Run directory name of the run this one builds on; null for a full run. */
    parent: z.string().regex(RUN_DIR_NAME).nullable(),
    /** libvirt checkpoint created with this run (the next incremental starts from it). */
    checkpoint: text(256).nullable(),
    method: z.enum(['backup-api', 'snapshot-copy', 'offline-copy']),
    consistency: z.enum(['offline', 'quiesced', 'crash-consistent']),
    hostname: text(256),
    uri: text(1024),
    disks: z.array(diskSchema).max(64),
    /** Why this run is full when an incremental was possible (checkpoint drift…), for the admin. */
    note: z.string().max(4096).nullable().default(null),
    verified: verifySchema.nullable().default(null),
  })
  .strict()
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    for (const [i, d] of m.disks.entries()) {
      if (seen.has(d.target) || seen.has(d.file)) ctx.addIssue({ code: 'custom', path: ['disks', i], message: 'a disk target or file named twice' });
      seen.add(d.target);
      seen.add(d.file);
    }
  });

export type BackupManifest = z.infer<typeof manifestSchema>;
export type BackupDisk = z.infer<typeof diskSchema>;
export type VerifyResult = z.infer<typeof verifySchema>;

/** A manifest is a few KiB; anything this large is not one, and is not read into the schema. */
const MAX_MANIFEST_CHARS = 4 << 20;

/** The manifest at `where` (named in the sentence), or a UserError saying what is wrong with it. */
export function parseManifest(text: string, where: string): BackupManifest {
  const fix = 'The run is damaged or was not written by virtdeck: restore from another run (virtdeck backup list), and prune or delete this one.';
  if (typeof text !== 'string' || text.length > MAX_MANIFEST_CHARS) throw new UserError(`The backup manifest ${where} is too large to be a manifest.`, fix);
  if (text.trim() === '') throw new UserError(`The backup manifest ${where} is empty.`, fix);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UserError(`The backup manifest ${where} is not valid JSON.`, fix);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue?.path.map(String).join('.') || 'the top level';
    throw new UserError(`The backup manifest ${where} has a bad value at ${shown(at.slice(0, 120))}${issue?.message ? ` (${shown(issue.message.slice(0, 160))})` : ''}.`, fix);
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
