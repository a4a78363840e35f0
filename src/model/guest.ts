/**
 * A guest as the host reports it (state, hardware, snapshots): the shapes host/ fills and model/
 * plans read, kept here so pure code needs nothing from host/.
 */
import type { GuestDisk, GuestNic } from './domainSummary.js';

export type { GuestDisk, GuestNic };

export type GuestState = 'running' | 'idle' | 'paused' | 'in shutdown' | 'shut off' | 'crashed' | 'pmsuspended' | 'unknown';

/**
 * libvirt's "active": the guest has a QEMU process, which holds its disks open. Only 'shut off'
 * has none. A crashed guest kept for inspection (on_crash preserve) still has its process, and a
 * state that could not be read counts as active, so nothing touches the disks of a guest that
 * may be using them.
 */
export function isActive(state: GuestState | (string & {})): boolean {
  return state !== 'shut off';
}

export interface GuestRow {
  name: string;
  uuid: string;
  id: number | null; // libvirt domain id while running
  state: GuestState;
  vcpus: number;
  memoryKiB: number;
  disks: GuestDisk[];
  nics: GuestNic[];
  /** VNC: a port, 'auto' before start with autoport, or null without VNC graphics. */
  vnc: { port: number | 'auto'; listen: string | null } | null;
  autostart: boolean;
  persistent: boolean;
  osType: string | null; // from libosinfo metadata when present, e.g. win2k3, debian12
  hasSerial: boolean;
  /** The guest agent's channel (model/domainSummary.ts); absent when the guest has none. */
  agentChannel?: 'present' | 'connected' | 'disconnected';
}

export type SnapshotLocation = 'internal' | 'external';

export interface SnapshotDisk {
  target: string;
  /** internal: in the qcow2 itself; external: writes since went to `overlay`; no: not part of it. */
  snapshot: 'internal' | 'external' | 'no';
  /** The overlay made when the snapshot was taken (external only). */
  overlay: string | null;
  /** The file the snapshot froze: the disk's source when it was taken. */
  base: string | null;
  baseFormat: string | null;
}

export interface SnapshotInfo {
  name: string;
  description: string;
  /** Guest state when taken: running, shutoff, disk-snapshot, paused… */
  state: string;
  parent: string | null;
  createdAt: Date;
  location: SnapshotLocation;
  /** Memory state saved with it (internal snapshots of a running guest). */
  withMemory: boolean;
  disks: SnapshotDisk[];
  current: boolean;
}
