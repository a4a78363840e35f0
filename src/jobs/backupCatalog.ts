/**
 * Reads a backup destination: every guest's runs with their manifests, in one process whatever
 * the number of runs (find prints each manifest after a marker line), so the Backups pane opens
 * fast on a disk holding years of runs, locally or over SSH.
 */
import { randomBytes } from 'node:crypto';
import { HostError } from '../host/errors.js';
import type { Executor } from '../host/exec.js';
import {
  type CatalogRun,
  MANIFEST_NAME,
  PARTIAL_SUFFIX,
  parseManifest,
  parseRunDirName,
} from '../model/backupManifest.js';
import { shown } from '../model/shown.js';
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

/**
 * Splits find's output into entries. It holds outside names (guest and run directories) and
 * outside bytes (manifests), so the marker carries a nonce nobody can plant in advance, and each
 * manifest comes base64-encoded: no manifest can end its own entry and forge a run.
 */
function newMark(): string {
  return `\u0001virtdeck-${randomBytes(8).toString('hex')}\u0001`;
}

function damagedRun(g: GuestBackups, name: string, reason: string): void {
  if (!g.damaged.some((d) => d.name === name)) g.damaged.push({ name, reason });
}

/** Pure: the output of the catalog `find` → per-guest runs. */
export function parseCatalogListing(dest: string, listing: string, mark: string): GuestBackups[] {
  const guests = new Map<string, GuestBackups>();
  const entry = (guest: string) => {
    let g = guests.get(guest);
    if (!g) {
      g = { guest, runs: [], partials: [], damaged: [] };
      guests.set(guest, g);
    }
    return g;
  };
  /** Run directories seen, and those whose manifest was read (good or not). */
  const runDirs = new Map<string, Set<string>>();
  const withManifest = new Set<string>();
  for (const chunk of listing.split(mark).slice(1)) {
    const nl = chunk.indexOf('\n');
    const header = chunk.slice(0, nl === -1 ? undefined : nl);
    const body = nl === -1 ? '' : chunk.slice(nl + 1).trim();
    const m = /^(d|f ([a-zA-Z])) (.*)$/s.exec(header);
    if (!m) continue;
    const parts = (m[3] as string).split('/');
    const [guest, run] = parts;
    if (!guest || !run) continue;
    if (m[1] === 'd') {
      if (parts.length !== 2) continue;
      if (run.endsWith(PARTIAL_SUFFIX)) entry(guest).partials.push(run);
      else if (parseRunDirName(run)) runDirs.set(guest, (runDirs.get(guest) ?? new Set()).add(run));
      continue;
    }
    if (parts.length !== 3 || !parseRunDirName(run)) continue;
    const where = `${dest}/${guest}/${run}/${MANIFEST_NAME}`;
    withManifest.add(`${guest}/${run}`);
    if (m[2] !== 'f') {
      damagedRun(entry(guest), run, `The backup manifest ${shown(where)} is not a regular file (a symlink or a device), so virtdeck does not read it.`);
      continue;
    }
    try {
      entry(guest).runs.push({ name: run, manifest: parseManifest(Buffer.from(body, 'base64').toString('utf8'), shown(where)) });
    } catch (e) {
      damagedRun(entry(guest), run, e instanceof UserError ? e.sentence : `The backup manifest ${shown(where)} cannot be read.`);
    }
  }
  for (const [guest, runs] of runDirs) {
    for (const run of runs) {
      if (!withManifest.has(`${guest}/${run}`)) damagedRun(entry(guest), run, `The run directory ${shown(`${dest}/${guest}/${run}`)} has no ${MANIFEST_NAME} (or it cannot be read).`);
    }
  }
  for (const g of guests.values()) {
    g.runs.sort((a, b) => a.name.localeCompare(b.name));
    g.damaged.sort((a, b) => a.name.localeCompare(b.name));
  }
  return [...guests.values()].sort((a, b) => a.guest.localeCompare(b.guest));
}

/** Every guest's backups under DEST; a missing destination is a UserError naming it. */
export async function readCatalog(exec: Executor, dest: string, signal?: AbortSignal): Promise<GuestBackups[]> {
  const mark = newMark();
  // find exits 1 when one entry could not be read (a manifest it may not open): the rest still counts.
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
      '-printf',
      `${mark}d %P\\n`,
      ')',
      '-o',
      '(',
      '-name',
      MANIFEST_NAME,
      '-printf',
      `${mark}f %y %P\\n`,
      '-type',
      'f',
      '-exec',
      'base64',
      '-w',
      '0',
      '--',
      '{}',
      ';',
      ')',
    ],
    { signal, timeoutMs: 120_000, okExitCodes: [1] },
  );
  if (r.exitCode !== 0 && r.stdout === '' && /No such file or directory|Not a directory/.test(r.stderr)) {
    throw new UserError(`The backup destination ${dest} does not exist.`, 'Mount the backup disk, or choose another directory.');
  }
  if (r.exitCode !== 0 && r.stdout === '') {
    throw new HostError({ sentence: `The backup destination ${dest} cannot be read.`, fix: 'Check that it is mounted and readable by root.', command: r.argv, stderr: r.stderr });
  }
  return parseCatalogListing(dest, r.stdout, mark);
}
