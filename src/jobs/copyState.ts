/**
 * Which runs have verified copies where: STATE/copies.json, 0600, written whole (temp + rename).
 * A run enters it only after its copy was verified on the target, so an interrupted copy is never
 * listed; retention on a target removes the run from the target first and from here after.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { stateDir as defaultStateDir } from '../config/paths.js';
import type { CopyRecord } from '../model/copyTarget.js';
import { writeFileAtomic } from './atomicFile.js';

const recordSchema = z
  .object({
    guest: z.string().min(1).max(256),
    run: z.string().regex(/^\d{8}T\d{6}Z-(full|inc)$/),
    parent: z.string().regex(/^\d{8}T\d{6}Z-(full|inc)$/).nullable(),
    at: z.string().max(64),
    bytes: z.number().int().nonnegative(),
    snapshot: z.string().regex(/^[0-9a-f]{8,64}$/).optional(),
  })
  .strict();
const stateSchema = z.object({ version: z.literal(1), targets: z.record(z.string(), z.array(recordSchema)) }).strict();
type CopyState = z.infer<typeof stateSchema>;

export function copyStateFile(stateDir = defaultStateDir()): string {
  return join(stateDir, 'copies.json');
}

function load(file: string): CopyState {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { version: 1, targets: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = null;
  }
  const r = stateSchema.safeParse(raw);
  // A damaged record file must not stop copies: the runs are copied (and verified) again.
  return r.success ? r.data : { version: 1, targets: {} };
}

/** Every target's verified copies. */
export function readCopies(stateDir?: string): Record<string, CopyRecord[]> {
  return load(copyStateFile(stateDir)).targets;
}

export function copiesOn(target: string, stateDir?: string): CopyRecord[] {
  return readCopies(stateDir)[target] ?? [];
}

function update(stateDir: string | undefined, change: (s: CopyState) => void): void {
  const file = copyStateFile(stateDir);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const s = load(file);
  change(s);
  writeFileAtomic(file, `${JSON.stringify(s, null, 2)}\n`, 0o600);
}

export function recordCopy(target: string, rec: CopyRecord, stateDir?: string): void {
  update(stateDir, (s) => {
    const list = (s.targets[target] ?? []).filter((r) => !(r.guest === rec.guest && r.run === rec.run));
    s.targets[target] = [...list, rec].sort((a, b) => a.guest.localeCompare(b.guest) || a.run.localeCompare(b.run));
  });
}

export function forgetCopy(target: string, guest: string, run: string, stateDir?: string): void {
  update(stateDir, (s) => {
    s.targets[target] = (s.targets[target] ?? []).filter((r) => !(r.guest === guest && r.run === run));
  });
}

/** Per guest/run: the targets holding a verified copy (for `backup list` and the Backups pane). */
export function copyIndex(stateDir?: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [target, recs] of Object.entries(readCopies(stateDir))) {
    for (const r of recs) out.set(`${r.guest}/${r.run}`, [...(out.get(`${r.guest}/${r.run}`) ?? []), target]);
  }
  return out;
}
