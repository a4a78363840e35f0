/**
 * The file browser's view of one backup run: a single path tree, whatever number of filesystems
 * the run's disks hold, so the browser never has to know about devices.
 */
import type { FsInfo } from '../../jobs/fileRestore.js';
import { UserError } from '../../model/userError.js';

export interface BackupFsEntry {
  name: string;
  type: 'dir' | 'file' | 'link' | 'other';
  size: number;
}

/** A read-only look into the filesystems of one backup run (libguestfs behind it). */
export interface BackupFs {
  list(path: string): Promise<BackupFsEntry[]>;
  /** Copies the paths into hostDir; the host paths written. `onNote`: what was dropped or made safe. */
  extract(paths: string[], hostDir: string, onNote?: (line: string) => void): Promise<string[]>;
  close(): Promise<void>;
  /** How a copy target's run was reached (restic mount, or restored first), said when it opens. */
  source?: string;
}

/** The restore engineer's filesystem API (device + path) as one tree: with several filesystems each is a top directory. */
interface DeviceFs {
  filesystems(): Promise<Pick<FsInfo, 'device' | 'type' | 'mountable'>[]>;
  list(device: string, path: string): Promise<{ name: string; type: string; sizeBytes: number }[]>;
  extract(device: string, paths: string[], toDir: string, onNote?: (line: string) => void): Promise<string[]>;
  close(): Promise<void>;
}

export async function pathsOverFilesystems(dfs: DeviceFs): Promise<BackupFs> {
  const fss = (await dfs.filesystems()).filter((f) => f.mountable);
  const single = fss.length === 1 ? fss[0] : undefined;
  const dirName = (device: string) => device.replace(/^\/dev\//, '').replace(/\//g, '-');
  const locate = (path: string): { device: string; path: string } | null => {
    if (single) return { device: single.device, path };
    const [, top, ...rest] = path.split('/');
    const fsInfo = fss.find((f) => dirName(f.device) === top);
    return fsInfo ? { device: fsInfo.device, path: `/${rest.join('/')}` } : null;
  };
  const kind = (t: string): BackupFsEntry['type'] => (t === 'dir' ? 'dir' : t === 'file' ? 'file' : t === 'symlink' ? 'link' : 'other');
  return {
    async list(path) {
      if (!single && path === '/') return fss.map((f) => ({ name: dirName(f.device), type: 'dir' as const, size: 0 }));
      const at = locate(path);
      if (!at) return [];
      return (await dfs.list(at.device, at.path)).map((e) => ({ name: e.name, type: kind(e.type), size: e.sizeBytes }));
    },
    async extract(paths, hostDir, onNote) {
      // One copy-out per filesystem; a path outside every filesystem (the top level) is refused first.
      const byDevice = new Map<string, string[]>();
      for (const p of paths) {
        const at = locate(p);
        if (!at || (!single && at.path === '/')) throw new UserError(`${p} is a whole filesystem, not a file or directory in one.`, 'Open it (Enter) and mark what is inside.');
        byDevice.set(at.device, [...(byDevice.get(at.device) ?? []), at.path]);
      }
      const written: string[] = [];
      for (const [device, list] of byDevice) written.push(...(await dfs.extract(device, list, hostDir, onNote)));
      return written;
    },
    close: () => dfs.close(),
  };
}
