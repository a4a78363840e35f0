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
