/**
 * "A name from the config file or a libvirt URI" → the options a host context is made from. One
 * set of rules for `--connect` / `$LIBVIRT_DEFAULT_URI` (CLI) and `:host` / the host picker
 * (console):
 * - a config host's name brings its entry (URI, ssh route) and is trusted like the file;
 * - a URI written in the config file brings its entry too, so it is trusted the same way;
 * - any other URI is outside text, checked as such by createHostContext (`where` names it);
 * - any other name is refused with how to add it.
 * A broken config file refuses a name (the name could only come from it) but never a plain URI:
 * `--connect qemu:///system` must work while the file is being repaired.
 */

import { shown } from '../model/shown.js';
import { UserError } from '../model/userError.js';
import type { HostEntry } from './config.js';
import { loadConfig } from './config.js';
import type { HostOptions } from './connect.js';

/** The config file's hosts, or why the file could not be read. */
export type ConfigHosts = readonly HostEntry[] | UserError;

/** Pure: `wanted` is a config name or a URI; the answer is the host to connect to, or the refusal. */
export function resolveHost(wanted: string, hosts: ConfigHosts, where: string): HostOptions | UserError {
  const text = wanted.trim();
  const entries = hosts instanceof UserError ? [] : hosts;
  const named = entries.find((h) => h.name === text);
  if (named) return fromEntry(named.uri, named);
  if (!text.includes(':')) {
    if (hosts instanceof UserError) return hosts;
    return new UserError(
      `There is no host "${shown(text)}" in the config file.`,
      `Add it under "hosts" (name, uri), or give a URI such as qemu+ssh://root@${shown(text)}/system.`,
    );
  }
  const written = entries.find((h) => h.uri === text);
  return written ? fromEntry(text, written) : { uri: text, where };
}

function fromEntry(uri: string, entry: HostEntry): HostOptions {
  return { uri, name: entry.name, fromConfig: true, ...(entry.ssh ? { ssh: entry.ssh } : {}) };
}

/** The hosts of the config file (I/O: reads it); a file that cannot be read or is refused is its UserError. */
export function configHosts(file?: string): ConfigHosts {
  try {
    return loadConfig(file).hosts;
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
}
