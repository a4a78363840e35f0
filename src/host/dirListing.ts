/**
 * One directory of the host as a picker shows it (through sysExec, so a remote host is listed over
 * SSH): `ls -1Ap` read into directories first, then files, each sorted; ".." on top except at /.
 */
import type { HostContext } from './hostContext.js';

export interface DirEntry {
  name: string;
  dir: boolean;
}

export function parseListing(stdout: string, dir: string): DirEntry[] {
  const entries = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => (l.endsWith('/') ? { name: l.slice(0, -1), dir: true } : { name: l, dir: false }));
  entries.sort((a, b) => (a.dir === b.dir ? a.name.localeCompare(b.name) : a.dir ? -1 : 1));
  return dir === '/' ? entries : [{ name: '..', dir: true }, ...entries];
}

export function joinPath(dir: string, name: string): string {
  if (name === '..') return dir.replace(/\/[^/]*$/, '') || '/';
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export async function listDirectory(host: HostContext, dir: string): Promise<DirEntry[]> {
  const r = await host.sysExec.run(['ls', '-1Ap', '--', dir]);
  return parseListing(r.stdout, dir);
}

/** What a path is, as far as a picker cares. */
export type PathKind = 'dir' | 'file' | 'missing' | 'unreadable';

function stderrOf(e: unknown): string {
  if (e && typeof e === 'object' && 'stderr' in e && typeof e.stderr === 'string') return e.stderr;
  return e instanceof Error ? e.message : String(e);
}

/**
 * `ls -dL` says whether the path is there and a directory (through symlinks); opening a file for 0 bytes (`head -c 0`)
 * says whether it can be read by this user (root on root-squashed NFS cannot, whatever the mode).
 */
export async function describePath(host: HostContext, path: string): Promise<PathKind> {
  let shown: string;
  try {
    shown = (await host.sysExec.run(['ls', '-1ApdL', '--', path])).stdout.trim();
  } catch (e) {
    return /Permission denied/i.test(stderrOf(e)) ? 'unreadable' : 'missing';
  }
  if (shown.endsWith('/')) return 'dir';
  try {
    await host.sysExec.run(['head', '-c', '0', '--', path]);
    return 'file';
  } catch {
    return 'unreadable';
  }
}

/** The host's $HOME (the remote one over SSH), or / when it has none. */
export async function homeDir(host: HostContext): Promise<string> {
  try {
    const home = (await host.sysExec.run(['printenv', 'HOME'])).stdout.trim();
    return home.startsWith('/') ? home : '/';
  } catch {
    return '/';
  }
}

/** Why a directory could not be listed, as one sentence. */
export function listingRefusal(dir: string, e: unknown): string {
  const err = stderrOf(e);
  if (/Permission denied/i.test(err)) return `${dir} is not readable.`;
  if (/No such file or directory/i.test(err)) return `${dir} does not exist.`;
  if (/Not a directory/i.test(err)) return `${dir} is not a directory.`;
  return `${dir} could not be listed: ${err.trim().split('\n')[0] ?? ''}`;
}
