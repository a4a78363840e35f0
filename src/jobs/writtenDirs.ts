/**
 * The private list of directories virtdeck wrote images to, per host, so the Disks pane keeps
 * scanning them (model/imageDirs.ts says why). A small JSON file in the state directory, 0600,
 * written whole (atomicFile.ts) by every job that creates, keeps or lets go of an image. It is read
 * like every state file (trust.ts: ours and private), and believed only in its shape with sane
 * entries: anything else is ignored, because a lost entry only hides a directory again.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { assertTrustedDir, readTrustedFile } from '../config/trust.js';
import { cleanDir, dirOfImage, withWrittenDirs } from '../model/imageDirs.js';
import type { Plan } from '../model/plan.js';
import { writeFileAtomic } from './atomicFile.js';
import { parseStateJson } from './stateSchemas.js';

export const WRITTEN_DIRS_FILE = 'image-dirs.json';

/**
 * Jobs whose plan's images are files that stay on the host afterwards: what they made, the original
 * they kept beside it, or (detach) a disk no guest names any more. 'backup-restore' is restore.ts's
 * RESTORE_JOB_KIND (and 'backup-instant…' instant.ts's kinds: overlays, disks moved home), spelled
 * out: those modules run plans, so importing them here would be a cycle.
 */
export const IMAGE_WRITING_KINDS: ReadonlySet<string> = new Set(['convert', 'disk-create', 'disk-detach', 'expand', 'backup-restore', 'backup-instant', 'backup-instant-finish', 'import-vmware', 'p2v', 'new-guest']);

/** Larger than any list virtdeck writes (64 directories per host, a few hosts): a bigger file is not ours. */
const MAX_FILE_BYTES = 256 * 1024;

const fileSchema = z.object({ version: z.literal(1), hosts: z.record(z.string(), z.array(z.string())) });
type WrittenDirsFile = z.infer<typeof fileSchema>;

export function writtenDirsFile(stateDir: string): string {
  return join(stateDir, WRITTEN_DIRS_FILE);
}

/** Pure: the file's content, or an empty one when the text is not this shape. */
export function parseWrittenDirs(text: string): WrittenDirsFile {
  const parsed = text.length <= MAX_FILE_BYTES ? parseStateJson(fileSchema, text) : null;
  return parsed ?? { version: 1, hosts: {} };
}

function readFile(file: string): WrittenDirsFile {
  try {
    if (!assertTrustedDir(dirname(file), 'state directory')) return { version: 1, hosts: {} };
    const text = readTrustedFile(file, 'list of image directories');
    return text === null ? { version: 1, hosts: {} } : parseWrittenDirs(text);
  } catch {
    // Not ours, not private, not readable: scanning without it only shows fewer directories.
    return { version: 1, hosts: {} };
  }
}

/** The directories recorded for the host with this executor label, cleaned, newest first. */
export function readWrittenDirs(file: string, label: string): string[] {
  const dirs = readFile(file).hosts[label] ?? [];
  return withWrittenDirs([], dirs.map(cleanDir).filter((d): d is string => d !== null));
}

/** Adds the directories of `paths` to the host's list. Best effort: a job never fails over it. */
export function recordWrittenDirs(file: string, label: string, paths: string[]): void {
  const dirs = paths.map(dirOfImage).filter((d): d is string => d !== null);
  if (dirs.length === 0) return;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    assertTrustedDir(dirname(file), 'state directory');
    const content = readFile(file);
    const before = content.hosts[label] ?? [];
    const after = withWrittenDirs(before, dirs);
    if (after.length === before.length && after.every((d, i) => d === before[i])) return;
    content.hosts[label] = after;
    writeFileAtomic(file, `${JSON.stringify(content)}\n`, 0o600);
  } catch {
    // A read-only or untrusted state directory: the images are still there, only less easy to find.
  }
}

/** Records the image directories of a plan that writes images (see IMAGE_WRITING_KINDS), before it runs. */
export function recordPlanDirs(stateDir: string, label: string, plan: Plan): void {
  if (IMAGE_WRITING_KINDS.has(plan.kind)) recordWrittenDirs(writtenDirsFile(stateDir), label, plan.targets?.images ?? []);
}
