import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BackupManifest, runDirName, serializeManifest } from '../../src/model/backupManifest.js';

/**
 * Backup runs written by hand (no engine): a run directory with images, domain.xml and a manifest
 * that passes the schema. Used by the restore, prune and file-restore tests.
 */

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface HandDisk {
  target: string;
  /** Image already placed in the run directory under `${target}.qcow2`. */
  sourcePath: string;
  sourceFormat?: string;
  virtualSize: number;
  /** Relative backing file for an incremental (../PARENT/vda.qcow2). */
  backing?: string | null;
}

export function writeRun(
  dest: string,
  guest: string,
  o: { at: Date; kind: 'full' | 'incremental'; parent?: string | null; disks: HandDisk[]; domainXml?: string; uuid?: string; partial?: boolean },
): { name: string; dir: string } {
  const name = runDirName(o.at, o.kind);
  const dir = join(dest, guest, o.partial ? `${name}.partial` : name);
  mkdirSync(dir, { recursive: true });
  const disks = o.disks.map((d) => {
    const file = `${d.target}.qcow2`;
    const path = join(dir, file);
    let hash: string | null = null;
    try {
      hash = sha256(path);
    } catch {
      hash = null;
    }
    return {
      target: d.target,
      file,
      format: 'qcow2',
      sourcePath: d.sourcePath,
      sourceFormat: d.sourceFormat ?? 'qcow2',
      virtualSize: d.virtualSize,
      bytesWritten: 0,
      sha256: hash,
      backing: d.backing ?? null,
    };
  });
  const manifest: BackupManifest = {
    version: 1,
    guest,
    uuid: o.uuid ?? '00000000-0000-0000-0000-000000000000',
    createdAt: o.at.toISOString(),
    finishedAt: new Date(o.at.getTime() + 60_000).toISOString(),
    kind: o.kind,
    parent: o.parent ?? null,
    checkpoint: null,
    method: 'offline-copy',
    consistency: 'offline',
    hostname: 'test',
    uri: 'qemu:///system',
    disks,
    note: null,
    verified: null,
  };
  writeFileSync(join(dir, 'manifest.json'), serializeManifest(manifest));
  writeFileSync(join(dir, 'domain.xml'), o.domainXml ?? `<domain type='qemu'><name>${guest}</name></domain>\n`);
  return { name, dir };
}

/** The run directory a run will have, so images can be put there before the manifest is written. */
export function runDir(dest: string, guest: string, at: Date, kind: 'full' | 'incremental'): string {
  const dir = join(dest, guest, runDirName(at, kind));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8' });
}

export function qemuIo(image: string, command: string, format = 'qcow2'): void {
  execFileSync('qemu-io', ['-f', format, '-c', command, image], { encoding: 'utf8' });
}
