/**
 * Windows registry hive files on the host (downloaded out of a guest with guestfish), through
 * hivexregedit — the hivex tool Debian ships with libwin-hivex-perl. hivexsh and hivexget live in
 * another package (libhivex-bin) that is usually absent, so listing a key's children uses the same
 * Perl binding hivexregedit is written in, with a fixed script and the paths as arguments.
 */

import { HKLM_SYSTEM, parseReg, type RegSection } from '../model/mergeide.js';
import { HostError, toHostError } from './errors.js';
import type { Executor } from './exec.js';

export const HIVEXREGEDIT = 'hivexregedit';

export function exportArgv(hive: string, key: string, prefix = HKLM_SYSTEM): string[] {
  return [HIVEXREGEDIT, '--export', '--prefix', prefix, hive, key];
}

export function mergeArgv(hive: string, prefix = HKLM_SYSTEM): string[] {
  // No .reg file argument: hivexregedit reads it from stdin, which works over ssh as well.
  return [HIVEXREGEDIT, '--merge', '--prefix', prefix, hive];
}

function notFound(e: unknown): boolean {
  return e instanceof HostError && /path not found in this hive/.test(e.stderr);
}

/** The key and everything below it as .reg text (prefixed); null when the hive has no such key. */
export async function exportKeyText(exec: Executor, hive: string, key: string, signal?: AbortSignal): Promise<string | null> {
  try {
    return (await exec.run(exportArgv(hive, key), { signal, timeoutMs: 300_000 })).stdout;
  } catch (e) {
    if (notFound(e)) return null;
    throw hiveError(e, hive);
  }
}

export async function exportKey(exec: Executor, hive: string, key: string, signal?: AbortSignal): Promise<RegSection[]> {
  const text = await exportKeyText(exec, hive, key, signal);
  return text === null ? [] : parseReg(text);
}

/** Merges .reg text into the hive file in place; every key's parent must exist or come earlier in the text. */
export async function mergeReg(exec: Executor, hive: string, regText: string, signal?: AbortSignal): Promise<void> {
  try {
    await exec.run(mergeArgv(hive), { input: regText, signal, timeoutMs: 300_000 });
  } catch (e) {
    throw hiveError(e, hive);
  }
}

const LIST_SCRIPT = [
  'use strict; use Win::Hivex;',
  'my ($file, @path) = @ARGV; my $h = Win::Hivex->open($file);',
  'my $n = $h->root();',
  'for my $p (@path) { $n = $h->node_get_child($n, $p); die "path not found in this hive\\n" unless $n; }',
  'print $h->node_name($_), "\\n" for $h->node_children($n);',
].join(' ');

export function listSubkeysArgv(hive: string, path: string[]): string[] {
  return ['perl', '-e', LIST_SCRIPT, hive, ...path];
}

/** Names of a key's direct children (path from the hive root, e.g. [] for the root). */
export async function listSubkeys(exec: Executor, hive: string, path: string[] = [], signal?: AbortSignal): Promise<string[]> {
  try {
    const r = await exec.run(listSubkeysArgv(hive, path), { signal });
    return r.stdout.split('\n').filter(Boolean);
  } catch (e) {
    if (notFound(e)) return [];
    throw hiveError(e, hive);
  }
}

function hiveError(e: unknown, hive: string): HostError {
  const h = toHostError(e);
  if (h.code === 'not-installed') return h;
  if (/Can't locate Win\/Hivex|hivex_open|Not a Windows Registry hive|not a registry/i.test(h.stderr)) {
    return new HostError({
      sentence: `${hive} could not be read as a Windows registry hive.`,
      fix: 'Check that the file is a SYSTEM hive and that libwin-hivex-perl is installed (bash scripts/setup-host.sh).',
      command: h.command,
      stderr: h.stderr,
      code: 'bad-hive',
    });
  }
  return h;
}
