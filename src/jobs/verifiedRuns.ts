/**
 * Which backup images virtdeck last read whole and found matching their manifest's sha256, and
 * what stat said about each file then (device, inode, size, mtime, ctime, to the nanosecond).
 * Instant recovery must start a guest in seconds, so it hashes only an image this record does not
 * vouch for: one never verified, or changed since in any way stat can see. Rewriting a file or
 * putting an old mtime back both move its ctime, which no one but the kernel sets; what the record
 * cannot see is rot beneath an unchanged inode, which `backup verify` still reads for. Starting
 * QEMU on a run (instant recovery, a drill) lets libvirt give the images to its QEMU user, which
 * moves their ctime too: the next instant recovery of that run hashes it once more, and records it.
 * Written by a backup run (as it checksums what it wrote), `backup verify`, a whole restore (the
 * images it copied and checked) and instant recovery itself when it had to hash.
 *
 * Kept in the state directory (0700, the file 0600, written atomically), believed only when ours
 * and private (trust.ts) and in this shape (zod); anything else is no record, so the run is hashed.
 */
import { mkdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import { writeFileAtomic } from './atomicFile.js';
import { parseStateJson } from './stateSchemas.js';

export const VERIFIED_RUNS_FILE = 'verified-runs.json';
/** Enough for years of nightly runs of a small office's guests; the oldest entries go first. */
const MAX_ENTRIES = 4096;

const entrySchema = z.object({
  /** The libvirt URI of the host whose files these are (a remote host's /srv is not ours). */
  uri: z.string(),
  path: z.string().startsWith('/'),
  /** `stat -c %d:%i:%s:%.9Y:%.9Z` when the hash was taken. */
  identity: z.string().regex(/^\d+:\d+:\d+:\d+(\.\d+)?:\d+(\.\d+)?$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.string(),
});
export type VerifiedEntry = z.infer<typeof entrySchema>;

const fileSchema = z.object({ version: z.literal(1), entries: z.array(entrySchema) });

/** Where this record lives: in the state directory, beside the journals. */
export interface VerifiedStore {
  stateDir: string;
  uri: string;
}

/** Pure: whether the record vouches for this file as it is now, with this checksum. */
export function vouches(entries: VerifiedEntry[], uri: string, path: string, identity: string, sha256: string | null): boolean {
  if (!sha256 || identity === '') return false;
  return entries.some((e) => e.uri === uri && e.path === path && e.identity === identity && e.sha256 === sha256);
}

/** Pure: `entries` with `add` in place of any entry for the same file, newest last, at most MAX_ENTRIES. */
export function mergeEntries(entries: VerifiedEntry[], add: VerifiedEntry[]): VerifiedEntry[] {
  const key = (e: VerifiedEntry) => `${e.uri}\0${e.path}`;
  const replaced = new Set(add.map(key));
  return [...entries.filter((e) => !replaced.has(key(e))), ...add].slice(-MAX_ENTRIES);
}

/** The record's entries; none when it is missing or not in its shape. Throws when the directory or file is not ours and private. */
export function readVerified(stateDir: string): VerifiedEntry[] {
  if (!isAbsolute(stateDir) || !assertTrustedDir(stateDir, 'state directory')) return [];
  const text = readTrustedFile(join(stateDir, VERIFIED_RUNS_FILE), 'record of verified backup images');
  return (text === null ? null : parseStateJson(fileSchema, text))?.entries ?? [];
}

/**
 * Adds files just hashed and found matching. Best effort by design: a record that cannot be
 * written only means the next instant recovery hashes again, so the job never fails for it.
 */
export function recordVerified(store: VerifiedStore, files: { path: string; identity: string; sha256: string }[]): void {
  const usable = files.filter((f) => f.identity !== '');
  if (usable.length === 0 || !isAbsolute(store.stateDir)) return;
  try {
    mkdirSync(store.stateDir, { recursive: true, mode: 0o700 });
    const at = new Date().toISOString();
    const entries = mergeEntries(readVerified(store.stateDir), usable.map((f) => ({ uri: store.uri, path: f.path, identity: f.identity, sha256: f.sha256, at })));
    writeFileAtomic(join(store.stateDir, VERIFIED_RUNS_FILE), `${JSON.stringify({ version: 1, entries })}\n`, 0o600);
  } catch {
    // See above: the worst outcome is one more hash.
  }
}
