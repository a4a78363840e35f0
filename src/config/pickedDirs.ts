/**
 * The directory a file was last picked from, per host, so the next pick starts there. Kept in the
 * state directory (it is not configuration), 0600 in a 0700 directory: paths say what an admin
 * works on. A file that is missing or not ours to read is as good as none.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const FILE = 'picked-dirs.json';
const Schema = z.object({ dirs: z.record(z.string(), z.string().startsWith('/')) });

function read(stateDir: string): Record<string, string> {
  try {
    return Schema.parse(JSON.parse(readFileSync(join(stateDir, FILE), 'utf8'))).dirs;
  } catch {
    return {};
  }
}

export function lastPickedDir(stateDir: string, hostName: string): string | null {
  return read(stateDir)[hostName] ?? null;
}

export function rememberPickedDir(stateDir: string, hostName: string, dir: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const dirs = { ...read(stateDir), [hostName]: dir };
  const path = join(stateDir, FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ dirs }, null, 2)}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
