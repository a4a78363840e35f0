/**
 * Changes to the config file made from the console (the backup destination `d` saves). The file
 * is the admin's: only the key being set changes, every other key (and any virtdeck does not know)
 * is kept; the result must still be a valid config; it is written whole, 0600, to a temp file that
 * is fsynced and renamed over the old one, so a crash leaves the old file or the new, never half.
 * A file that cannot be read as JSON is not overwritten: the admin's text would be lost.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { backupConfigOf } from '../model/backupConfig.js';
import { UserError } from '../model/userError.js';
import { parseConfig } from './config.js';
import { configFile } from './paths.js';
import { assertTrustedDir, readTrustedFile } from './trust.js';

type Json = Record<string, unknown>;

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  // Whatever sits at the temp name (a leftover, a planted link) is removed, never written through.
  rmSync(tmp, { force: true });
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** Reads the file (trusted like loadConfig), lets `edit` change the parsed object, checks and writes it. */
export function updateConfigFile(edit: (config: Json) => void, file: string = configFile()): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  assertTrustedDir(dirname(file), 'config directory');
  const text = readTrustedFile(file, 'config file');
  let config: Json = {};
  if (text !== null && text.trim() !== '') {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new UserError(`The config file ${file} is not valid JSON (${(e as Error).message}), so it is not changed.`, 'Fix its syntax first, or choose "this session only".');
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new UserError(`The config file ${file} does not hold a JSON object, so it is not changed.`, 'Fix it first, or choose "this session only".');
    }
    config = raw as Json;
  }
  edit(config);
  const out = `${JSON.stringify(config, null, 2)}\n`;
  // The whole result must load again, the backup key included: never write a file virtdeck then refuses.
  backupConfigOf(parseConfig(out, file), file);
  writeAtomic(file, out);
}

/**
 * Makes `dir` the backup destination a new session starts on (backup.defaultDestination), and
 * lists it under backup.destinations. Returns the file written, for the confirmation line.
 */
export function saveBackupDestination(dir: string, file: string = configFile()): string {
  if (!dir.startsWith('/')) throw new UserError(`The backup destination ${dir} is not an absolute path.`, 'Give the full path, e.g. /mnt/backup.');
  updateConfigFile((config) => {
    const current = config.backup;
    const backup: Json = typeof current === 'object' && current !== null && !Array.isArray(current) ? (current as Json) : {};
    const listed = Array.isArray(backup.destinations) ? (backup.destinations as unknown[]) : [];
    backup.destinations = listed.includes(dir) ? listed : [...listed, dir];
    backup.defaultDestination = dir;
    config.backup = backup;
  }, file);
  return file;
}
