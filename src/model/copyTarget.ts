/**
 * Offsite copies: a backup destination's runs sent on to a copy target named in config.json
 * (`backup.copyTargets`): another directory, another host over ssh (the same DEST/GUEST/RUN
 * layout there), or a restic repository (deduplicated and encrypted). Pure: the targets' schema,
 * which runs to send, which to drop under the target's own retention, and the record of what
 * arrived where (kept in a private state file, see jobs/copyState.ts).
 */
import { z } from 'zod';
import { type CatalogRun, chainOf, parseRunDirName } from './backupManifest.js';
import { checkSshDestination } from './sshDestination.js';
import { UserError } from './userError.js';

/** A target's name: what `--to` takes and the pane shows. */
export const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ABS_PATH = z
  .string()
  .max(4096)
  .regex(/^\/[^\u0000-\u001f\u007f]*$/, 'must be an absolute path')
  .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not have . or .. segments');

/**
 * A restic repository as `restic -r` takes it: a local absolute path, `sftp:…` or an S3-compatible
 * `s3:https://…` URL. Nothing that restic could read as an option (a leading dash), no control
 * characters, and none of restic's other backends (`rclone:` runs a program named in the URL).
 */
export const RESTIC_REPO = /^(\/|sftp:[A-Za-z0-9_][A-Za-z0-9._@-]*:|s3:https?:\/\/[A-Za-z0-9])[^\u0000-\u0020\u007f]*$/;

const keep = z.number().int().min(1).optional();

const dirTarget = z
  .object({ name: z.string().regex(TARGET_NAME), type: z.literal('dir'), path: ABS_PATH, keepLast: keep })
  .strict();
const sshTarget = z
  .object({
    name: z.string().regex(TARGET_NAME),
    type: z.literal('ssh'),
    /** user@host or host, checked like every ssh destination virtdeck uses. */
    host: z.string().max(300).refine((h) => {
      try {
        checkSshDestination(h);
        return true;
      } catch {
        return false;
      }
    }, 'must be user@host or host'),
    port: z.number().int().min(1).max(65535).optional(),
    identityFile: ABS_PATH.optional(),
    /** The offsite host's key pinned in a file of its own (ssh's UserKnownHostsFile); default: root's known_hosts. */
    knownHostsFile: ABS_PATH.refine((p) => !/\s/.test(p), 'must not hold a space (ssh would read two files)').optional(),
    path: ABS_PATH,
    keepLast: keep,
  })
  .strict();
const resticTarget = z
  .object({
    name: z.string().regex(TARGET_NAME),
    type: z.literal('restic'),
    repository: z.string().max(2048).regex(RESTIC_REPO, 'must be an absolute path, sftp:user@host:/path or s3:https://host/bucket'),
    /** The repository password is read by restic from this file (RESTIC_PASSWORD_FILE), never from argv or an env value. */
    passwordFile: ABS_PATH,
    /** How much of the repository's data `restic check --read-data-subset` reads after a copy (default 10%). */
    checkSubset: z.string().regex(/^([1-9][0-9]?(\.[0-9]+)?%|100%|[1-9][0-9]*\/[1-9][0-9]*)$/, 'a percentage such as 10% or n/t').optional(),
    keepLast: keep,
  })
  .strict();

export const copyTargetSchema = z.discriminatedUnion('type', [dirTarget, sshTarget, resticTarget]);
export type CopyTarget = z.infer<typeof copyTargetSchema>;
export type DirTarget = z.infer<typeof dirTarget>;
export type SshCopyTarget = z.infer<typeof sshTarget>;
export type ResticTarget = z.infer<typeof resticTarget>;

export const copyTargetsSchema = z.array(copyTargetSchema).max(32).superRefine((ts, ctx) => {
  const seen = new Set<string>();
  for (const [i, t] of ts.entries()) {
    if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `the name ${t.name} is used twice` });
    seen.add(t.name);
  }
});

/** Where a target is, for sentences and the pane. */
export function describeTarget(t: CopyTarget): string {
  if (t.type === 'dir') return t.path;
  if (t.type === 'ssh') return `${t.host}:${t.path}`;
  return `restic ${t.repository}`;
}

/** The configured target called `name`; unknown is a UserError listing the known ones. */
export function findTarget(targets: CopyTarget[], name: string): CopyTarget {
  const t = targets.find((x) => x.name === name);
  if (t) return t;
  throw new UserError(
    targets.length === 0 ? `There is no copy target named ${name}: none is configured.` : `There is no copy target named ${name} (configured: ${targets.map((x) => x.name).join(', ')}).`,
    'Add it to backup.copyTargets in config.json, e.g. {"name": "nas", "type": "dir", "path": "/mnt/nas/backup"}.',
  );
}

/** A run that arrived on a target and was verified there. */
export interface CopyRecord {
  guest: string;
  run: string;
  /** The run it builds on (null for a full), so the target's retention keeps chains whole. */
  parent: string | null;
  /** ISO time the copy was verified. */
  at: string;
  bytes: number;
  /** restic's snapshot id of this run. */
  snapshot?: string;
}

export interface CopyPick {
  guest: string;
  run: CatalogRun;
}

/**
 * The runs to send, oldest first per guest so a parent always arrives before what builds on it:
 * complete runs not yet on the target whose chain is whole locally (a run whose parent is missing
 * or damaged is no use anywhere). `runs` are a destination catalog's complete runs; partial and
 * damaged ones never get here.
 */
export function runsToCopy(guests: { guest: string; runs: CatalogRun[] }[], copied: CopyRecord[], only?: string[]): { picks: CopyPick[]; skipped: { guest: string; run: string; reason: string }[] } {
  const have = new Set(copied.map((c) => `${c.guest}/${c.run}`));
  const picks: CopyPick[] = [];
  const skipped: { guest: string; run: string; reason: string }[] = [];
  for (const g of guests) {
    if (only && only.length > 0 && !only.includes(g.guest)) continue;
    for (const run of [...g.runs].sort((a, b) => a.name.localeCompare(b.name))) {
      if (have.has(`${g.guest}/${run.name}`)) continue;
      try {
        chainOf(g.runs, run.name);
      } catch (e) {
        skipped.push({ guest: g.guest, run: run.name, reason: e instanceof UserError ? e.sentence : 'its chain is broken' });
        continue;
      }
      picks.push({ guest: g.guest, run });
    }
  }
  return { picks, skipped };
}

/**
 * The target's own retention, per guest: the newest `keepLast` runs stay, and so does every run
 * one of them builds on (dropping a full would make its incrementals useless). Returns the
 * records to delete, oldest first.
 */
export function copiesToDrop(records: CopyRecord[], keepLast: number | undefined): CopyRecord[] {
  if (keepLast === undefined) return [];
  const drop: CopyRecord[] = [];
  const byGuest = new Map<string, CopyRecord[]>();
  for (const r of records) byGuest.set(r.guest, [...(byGuest.get(r.guest) ?? []), r]);
  for (const runs of byGuest.values()) {
    const sorted = [...runs].sort((a, b) => b.run.localeCompare(a.run));
    const byName = new Map(sorted.map((r) => [r.run, r]));
    const kept = new Set<string>();
    for (const r of sorted.slice(0, keepLast)) {
      let cur: CopyRecord | undefined = r;
      while (cur && !kept.has(cur.run)) {
        kept.add(cur.run);
        cur = cur.parent ? byName.get(cur.parent) : undefined;
      }
    }
    drop.push(...sorted.filter((r) => !kept.has(r.run)).reverse());
  }
  return drop;
}

/** The chain of `run` among a target's records, full first; a missing link is a UserError naming it. */
export function recordChain(records: CopyRecord[], guest: string, run: string, target: string): CopyRecord[] {
  const mine = records.filter((r) => r.guest === guest);
  const byName = new Map(mine.map((r) => [r.run, r]));
  const chain: CopyRecord[] = [];
  let cur = byName.get(run);
  if (!cur) {
    throw new UserError(`The copy target ${target} has no copy of ${guest}/${run}.`, `List what it holds with \`virtdeck backup copy --list --to ${target}\`.`);
  }
  while (cur) {
    if (chain.includes(cur)) break;
    chain.unshift(cur);
    if (cur.parent === null) return chain;
    const parent: CopyRecord | undefined = byName.get(cur.parent);
    if (!parent) throw new UserError(`The copy of ${guest}/${run} on ${target} builds on ${cur.parent}, which the target does not hold.`, 'Restore a run whose whole chain was copied, or copy the chain again.');
    cur = parent;
  }
  return chain;
}

/** The latest run of `guest` among the records (for `latest`), or null. */
export function latestRecord(records: CopyRecord[], guest: string): CopyRecord | null {
  const mine = records.filter((r) => r.guest === guest && parseRunDirName(r.run)).sort((a, b) => a.run.localeCompare(b.run));
  return mine.at(-1) ?? null;
}
