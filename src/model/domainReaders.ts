/**
 * How virtdeck reads a guest's vCPUs, memory and disk buses from domain XML. The guest list
 * (domainSummary.ts, a fast read of hundreds of guests) and the edit form (domainXml.ts, the
 * lossless tree) parse differently but read these the same way, so they never disagree about
 * one guest. Lenient: the XML may come from a remote host, and one odd value must not hide the
 * rest of a guest list.
 */
import { libvirtScaledToBytes } from './units.js';

export interface VcpuCount {
  /** vCPUs online: <vcpu current='N'>, else all of them. What the list and the form show. */
  current: number;
  /** vCPUs configured (hot-pluggable up to): the text of <vcpu>. */
  maximum: number;
}

function wholeNumber(text: string | null | undefined): number | null {
  const t = text?.trim() ?? '';
  return /^\d+$/.test(t) && Number(t) > 0 ? Number(t) : null;
}

/** <vcpu current='2'>4</vcpu> is 2 of 4; a `current` above the maximum (libvirt refuses it) reads as the maximum. */
export function readVcpus(text: string | null | undefined, currentAttr: string | null | undefined): VcpuCount {
  const maximum = wholeNumber(text) ?? 1;
  const current = Math.min(wholeNumber(currentAttr) ?? maximum, maximum);
  return { current, maximum };
}

/** A <memory> or <currentMemory> size in KiB (libvirt's default unit); 0 when it cannot be read. */
export function readMemoryKiB(text: string | null | undefined, unit: string | null | undefined): number {
  if (text === null || text === undefined) return 0;
  try {
    return Math.round(libvirtScaledToBytes(text, unit ?? undefined) / 1024);
  } catch {
    return 0;
  }
}

/** The bus a disk is on: its <target bus>, else the one libvirt assumes from the target name. */
export function readDiskBus(busAttr: string | null | undefined, dev: string): string {
  if (busAttr) return busAttr;
  if (dev.startsWith('vd')) return 'virtio';
  if (dev.startsWith('hd')) return 'ide';
  if (dev.startsWith('fd')) return 'fdc';
  if (dev.startsWith('sd')) return 'scsi';
  return 'unknown';
}
