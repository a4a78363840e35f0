/**
 * Reads a backup destination: every guest's runs with their manifests, in one process whatever
 * the number of runs (find prints each manifest after a marker line), so the Backups pane opens
 * fast on a disk holding years of runs, locally or over SSH.
 */
import type { Executor } from '../host/exec.js';
import { HostError } from '../host/errors.js';
import {
  type CatalogRun,
  MANIFEST_NAME,
  PARTIAL_SUFFIX,
  parseManifest,
  parseRunDirName,
} from '../model/backupManifest.js';
import { UserError } from '../model/userError.js';

export interface GuestBackups {
  guest: string;
  /** Complete runs, oldest first. */
  runs: CatalogRun[];
  /** Run directories left by an interrupted backup (RUN.partial): never shown as good. */
  partials: string[];
  /** Run directories whose manifest could not be read, with the reason. */
  damaged: { name: string; reason: string }[];
}

const MARK = '\u0001virtdeck-manifest\u0001';

/** Pure: the output of the catalog `find` → per-guest runs. */
export function parseCatalogListing(dest: string, listing: string): GuestBackups[] {
  const guests = new Map<string, GuestBackups>();
  const entry = (guest: string) => {
    let g = guests.get(guest);
    if (!g) {
      g = { guest, runs: [], partials: [], damaged: [] };
      guests.set(guest, g);
    }
    return g;
  };
  const chunks = listing.split(MARK).slice(1);
  for (const chunk of chunks) {
    const nl = chunk.indexOf('\n');
    const header = chunk.slice(0, nl === -1 ? undefined : nl);
    const body = nl === -1 ? '' : chunk.slice(nl + 1);
    const [kind, rel] = [header.slice(0, 1), header.slice(2)];
    const parts = rel.split('/');
    const guest = parts[0];
    const run = parts[1];
    if (!guest || !run) continue;
    if (kind === 'd') {
      if (run.endsWith(PARTIAL_SUFFIX)) entry(guest).partials.push(run);
      continue;
    }
    if (!parseRunDirName(run)) continue;
    try {
      entry(guest).runs.push({ name: run, manifest: parseManifest(body, `${dest}/${rel}`) });
    } catch (e) {
      entry(guest).damaged.push({ name: run, reason: e instanceof UserError ? e.sentence : String(e) });
    }
  }
  for (const g of guests.values()) g.runs.sort((a, b) => a.name.localeCompare(b.name));
  return [...guests.values()].sort((a, b) => a.guest.localeCompare(b.guest));
}

/** Every guest's backups under DEST; a missing destination is a UserError naming it. */
export async function readCatalog(exec: Executor, dest: string, signal?: AbortSignal): Promise<GuestBackups[]> {
  try {
    const r = await exec.run(
      [
        'find',
        dest,
        '-mindepth',
        '2',
        '-maxdepth',
        '3',
        '(',
        '-type',
        'd',
        '-name',
        `*${PARTIAL_SUFFIX}`,
        '-printf',
        `${MARK}d %P\\n`,
        ')',
        '-o',
        '(',
        '-type',
        'f',
        '-name',
        MANIFEST_NAME,
        '-printf',
        `${MARK}f %P\\n`,
        '-exec',
        'cat',
        '{}',
        ';',
        ')',
      ],
      { signal, timeoutMs: 120_000 },
    );
    return parseCatalogListing(dest, r.stdout);
  } catch (e) {
    if (e instanceof HostError && /No such file or directory/.test(e.stderr)) {
      throw new UserError(`The backup destination ${dest} does not exist.`, 'Mount the backup disk, or choose another directory.');
    }
    throw e;
  }
}
