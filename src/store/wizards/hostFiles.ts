/**
 * Picking a file on the host (the import wizard's .vmx): the directory shown, its entries, the
 * cursor. Pure steps; the listing itself is read by the wizard's store (readDir) so a key that
 * opens a directory acts on the store at once and the entries follow when the host answers.
 */
import { type DirEntry, joinPath, listDirectory } from '../../host/dirListing.js';
import type { HostContext } from '../../host/hostContext.js';

export interface HostFiles {
  dir: string;
  /** Null while the directory is being read. */
  entries: DirEntry[] | null;
  cursor: number;
  error: string;
  /** Files the picker offers (the others are shown dimmed). */
  accept: RegExp;
}

export function openDir(files: Omit<HostFiles, 'entries' | 'cursor' | 'error'> & Partial<HostFiles>, dir: string): HostFiles {
  return { ...files, dir, entries: null, cursor: 0, error: '' };
}

export function pickable(files: HostFiles, e: DirEntry): boolean {
  return e.dir || files.accept.test(e.name);
}

/** The directory as read, or its error with only ".." to go back. */
export async function readDir(host: HostContext, files: HostFiles): Promise<HostFiles> {
  try {
    return { ...files, entries: await listDirectory(host, files.dir), cursor: 0, error: '' };
  } catch (e) {
    return { ...files, entries: [{ name: '..', dir: true }], cursor: 0, error: e instanceof Error ? e.message : String(e) };
  }
}

export type FilesMove = { files: HostFiles; open?: string; pick?: string };

/** A routed key on the browser: the cursor moved, a directory to open, or a file picked. */
export function filesKey(files: HostFiles, action: string, key: string, page: number): FilesMove {
  const { entries, cursor, dir } = files;
  if (!entries) return { files };
  const move = (to: number): FilesMove => ({ files: { ...files, cursor: Math.max(0, Math.min(entries.length - 1, to)) } });
  switch (action) {
    case 'itemDown':
      return move(cursor + 1);
    case 'itemUp':
      return move(cursor - 1);
    case 'pageDown':
      return move(cursor + page);
    case 'pageUp':
      return move(cursor - page);
    case 'browseParent':
      return { files, open: joinPath(dir, '..') };
    case 'browseRoot':
      return { files, open: '/' };
    case 'browseOpen': {
      const e = entries[cursor];
      if (!e) return { files };
      if (e.dir) return { files, open: joinPath(dir, e.name) };
      // → only opens directories; Enter picks a file the picker accepts.
      return key === 'enter' && files.accept.test(e.name) ? { files, pick: joinPath(dir, e.name) } : { files };
    }
    default:
      return { files };
  }
}
