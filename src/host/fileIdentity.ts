/**
 * Which file each path is (model/fileIdentity.ts compares the answers). On this machine Node's
 * own stat and realpath answer, so a check costs no process however many guests there are; on a
 * remote host one `stat` answers for every path (one SSH round trip).
 */
import { realpath, stat } from 'node:fs/promises';
import { type FileIdentity, type FileKind, type IdentityMap, identityKey, parseIdentityRecords, splitDev } from '../model/fileIdentity.js';
import type { Executor } from './exec.js';

/**
 * One `stat` for every path: `-L` follows symlinks (a guest may name its disk through
 * /dev/disk/by-id/…); a missing path prints nothing and makes stat exit 1. The real path is left
 * out ("-"): it only names the file in messages, and would cost a process per path.
 */
export function identityArgv(paths: string[]): string[] {
  return ['stat', '-L', '--printf', '%F\\t%d\\t%i\\t%t\\t%T\\t-\\t%n\\0', '--', ...paths];
}

function kindOf(s: { isFile(): boolean; isDirectory(): boolean; isBlockDevice(): boolean }): FileKind {
  return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isBlockDevice() ? 'block' : 'other';
}

async function localIdentity(path: string): Promise<FileIdentity | null> {
  try {
    // bigint: inode numbers of xfs and btrfs can pass 2^53.
    const s = await stat(path, { bigint: true });
    const kind = kindOf(s);
    const { major, minor } = splitDev(s.rdev);
    return { kind, key: identityKey(kind, s.dev, s.ino, major, minor), realPath: await realpath(path).catch(() => null) };
  } catch {
    return null;
  }
}

/** Identity of each absolute path that exists (others are absent from the map); non-absolute ones are skipped. */
export async function fileIdentities(exec: Executor, paths: string[], signal?: AbortSignal): Promise<IdentityMap> {
  const unique = [...new Set(paths.filter((p) => p.startsWith('/')))];
  if (unique.length === 0) return new Map();
  if (exec.local) {
    const found: IdentityMap = new Map();
    const ids = await Promise.all(unique.map(localIdentity));
    unique.forEach((p, i) => {
      const id = ids[i];
      if (id) found.set(p, id);
    });
    return found;
  }
  const r = await exec.run(identityArgv(unique), { signal, okExitCodes: [1] });
  const parsed = parseIdentityRecords(r.stdout);
  // Only the paths asked about: a host that answers for others is not believed.
  return new Map([...parsed].filter(([p]) => unique.includes(p)));
}
